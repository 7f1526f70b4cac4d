//! The Certificates page: the list, upload (PEM and DER), delete with the ETag the page showed,
//! the API's refusals in the API's words, escaping, and what a read-only session may not do;
//! proof of possession is in [`proof`]. Results are checked through the certificate API's
//! client.

mod proof;

use crate::support::{Console, Page};
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_service_client::{CertificateClient, CertificateUploadOptions, ErrorKind};
use reqwest::StatusCode;

const LIST: &str = "/portal/certificates";

/// A fresh root CA with common name `cn`.
fn ca(cn: &str) -> Credential {
    Credential::self_signed(&CertSpec {
        common_name: cn,
        profile: Profile::RootCa,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    })
    .expect("CA certificate")
}

/// A leaf with common name `cn` signed by `signer`: a verification certificate when `cn` is
/// the code.
fn signed(signer: &Credential, cn: &str) -> Credential {
    signer
        .sign(&CertSpec {
            common_name: cn,
            profile: Profile::Leaf,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        })
        .expect("leaf certificate")
}

/// The certificate API's client, with the owner policy.
fn certificates(c: &Console) -> CertificateClient {
    CertificateClient::for_emulator(
        &c.emulator.service_connection_string(),
        Some(c.client_options().into()),
    )
    .expect("certificate client")
}

/// Follows a 303 (dropping any `#fragment`) and returns the page it leads to.
async fn follow(c: &mut Console, page: &Page) -> Page {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let to = page.location.clone().expect("a Location");
    let to = to.split('#').next().unwrap_or_default().to_owned();
    c.get(&to).await
}

/// The value of the first hidden `etag` field of a page.
fn etag_field(page: &Page) -> String {
    let marker = "name=\"etag\" value=\"";
    let at = page.text.find(marker).expect("an etag field") + marker.len();
    let rest = &page.text[at..];
    rest[..rest.find('"').expect("quoted")].to_owned()
}

/// The text of the element with `id`, up to its first tag.
fn by_id(page: &Page, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = page.text.find(&marker)? + marker.len();
    let rest = &page.text[at..];
    let start = rest.find('>')? + 1;
    let rest = &rest[start..];
    Some(rest[..rest.find('<')?].to_owned())
}

/// The HTML of the table row `data-id="{id}"` of the certificates table.
fn row<'a>(page: &'a Page, id: &str) -> Option<&'a str> {
    let table = page.text.find("id=\"certificates\"")?;
    let text = &page.text[table..];
    let start = text.find(&format!("<tr data-id=\"{id}\""))?;
    let rest = &text[start..];
    Some(&rest[..rest.find("</tr>")?])
}

/// Uploads `ca` as `name` through the console's form and returns the list it leads to.
async fn upload(c: &mut Console, name: &str, ca: &Credential) -> Page {
    let page = c
        .upload(
            LIST,
            &[("name", name)],
            &[("certificate", "ca.pem", ca.cert_pem().into_bytes())],
        )
        .await;
    follow(c, &page).await
}

/// Generates a verification code on `name`'s page; returns the page that shows it and the code.
async fn generate(c: &mut Console, name: &str) -> (Page, String) {
    let detail = c.get(&format!("{LIST}/{name}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    let etag = etag_field(&detail);
    let posted = c
        .post(
            &format!("{LIST}/{name}/verification-code"),
            &[("etag", &etag)],
        )
        .await;
    let page = follow(c, &posted).await;
    let code = by_id(&page, "verification-code").expect("the code on the page");
    (page, code)
}

/// Posts `cert` to the Verify form of `page` (a certificate's page showing a pending code).
async fn verify(c: &mut Console, name: &str, page: &Page, cert: &Credential) -> Page {
    let etag = etag_field(page);
    c.upload(
        &format!("{LIST}/{name}/verify"),
        &[("etag", &etag)],
        &[(
            "certificate",
            "verification.pem",
            cert.cert_pem().into_bytes(),
        )],
    )
    .await
}

/// Whether the API says `name` is verified.
async fn api_verified(c: &Console, name: &str) -> Option<bool> {
    certificates(c)
        .get(name, None)
        .await
        .expect("the certificate")
        .properties
        .is_verified
}
#[tokio::test]
async fn an_upload_through_the_page_is_what_the_api_lists() {
    let mut c = Console::start().await;
    let root = ca("Console Upload Root");
    let list = upload(&mut c, "console-root", &root).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.text.contains("Uploaded CA certificate"),
        "{}",
        list.text
    );
    let r = row(&list, "console-root").expect("a row");
    let thumbprints = dps_protocol::Thumbprints::of_der(root.der());
    assert!(r.contains("CN=Console Upload Root"), "{r}");
    assert!(r.contains(&thumbprints.sha1), "{r}");
    assert!(r.contains(&thumbprints.sha256), "{r}");
    assert!(
        r.contains("<span class=\"badge bad\">Unverified</span>"),
        "{r}"
    );
    assert!(r.contains("Generate verification code"), "{r}");

    let api = certificates(&c)
        .get("console-root", None)
        .await
        .expect("the API has it");
    assert_eq!(api.properties.is_verified, Some(false));
    assert_eq!(
        api.properties.thumbprint.as_deref(),
        Some(thumbprints.sha1.as_str())
    );
    // The expiry, as the console shows dates: ISO 8601 UTC in whole seconds.
    let expiry = api.properties.expiry.expect("expiry");
    assert!(
        r.contains(&dps_protocol::models::Timestamp::for_people(&expiry)),
        "{r}"
    );

    // A DER (.cer) file, marked verified on upload as the API's isVerified does.
    let der_root = ca("Console DER Root");
    let page = c
        .upload(
            LIST,
            &[("name", "der-root"), ("verified", "on")],
            &[("certificate", "root.cer", der_root.der().to_vec())],
        )
        .await;
    let list = follow(&mut c, &page).await;
    let r = row(&list, "der-root").expect("a row");
    assert!(
        r.contains("<span class=\"badge ok\">Verified</span>"),
        "{r}"
    );
    assert!(!r.contains("Generate verification code"), "{r}");
    assert_eq!(api_verified(&c, "der-root").await, Some(true));
}

#[tokio::test]
async fn upload_refusals_are_the_apis() {
    let mut c = Console::start_with(|config| config.limits.max_ca_certificates = 2).await;
    let root = ca("Refusal Root");
    let _ = upload(&mut c, "taken", &root).await;
    let file = || vec![("certificate", "ca.pem", root.cert_pem().into_bytes())];

    // The same name again: refused (the API's PUT without If-Match), not replaced.
    let before = certificates(&c).get("taken", None).await.expect("there");
    let page = c.upload(LIST, &[("name", "taken")], &file()).await;
    assert_eq!(
        page.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        page.text
    );
    assert!(
        page.text.contains("exists; updating it needs If-Match"),
        "{}",
        page.text
    );
    assert!(page.text.contains("value=\"taken\""), "refilled");
    let after = certificates(&c).get("taken", None).await.expect("there");
    assert_eq!(before.etag, after.etag, "not replaced");

    // The name rule.
    let page = c.upload(LIST, &[("name", "no spaces")], &file()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(
        page.text.contains("must be 1 to 64 letters, digits"),
        "{}",
        page.text
    );

    // Not a CA.
    let leaf = signed(&root, "just-a-device");
    let page = c
        .upload(
            LIST,
            &[("name", "leaf")],
            &[("certificate", "leaf.pem", leaf.cert_pem().into_bytes())],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(
        page.text.contains("is not a CA certificate"),
        "{}",
        page.text
    );

    // Not a certificate at all, and no file.
    let page = c
        .upload(
            LIST,
            &[("name", "junk")],
            &[("certificate", "junk.pem", b"hello".to_vec())],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(
        page.text.contains("the certificate cannot be parsed"),
        "{}",
        page.text
    );
    let page = c.upload(LIST, &[("name", "nofile")], &[]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("Choose the CA certificate file"));

    // The quota.
    let _ = upload(&mut c, "second", &ca("Second Root")).await;
    let page = c.upload(LIST, &[("name", "third")], &file()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(
        page.text
            .contains("the limit of 2 CA certificates is reached"),
        "{}",
        page.text
    );
    let names: Vec<String> = certificates(&c)
        .list(None)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["second", "taken"]);
}

#[tokio::test]
async fn delete_asks_first_uses_the_pages_etag_and_the_api_then_answers_404() {
    let mut c = Console::start().await;
    let _ = upload(&mut c, "doomed", &ca("Doomed Root")).await;
    let detail = c.get(&format!("{LIST}/doomed")).await;
    let etag = by_id(&detail, "etag").expect("the ETag");
    let confirm = c
        .get(&format!("{LIST}/doomed/delete?etag={}", enc(&etag)))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text.contains("Delete the CA certificate"));
    assert_eq!(etag_field(&confirm), etag);

    // Changed meanwhile (a code generated by the API): the page's ETag is refused as such.
    let code = certificates(&c)
        .generate_verification_code("doomed", &etag, None)
        .await
        .expect("a code");
    let stale = c
        .post(&format!("{LIST}/doomed/delete"), &[("etag", &etag)])
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    assert!(stale.text.contains("id=\"conflict\""), "{}", stale.text);
    certificates(&c)
        .get("doomed", None)
        .await
        .expect("still there");
    // The confirmation page with the old ETag says so and offers no Delete button.
    let confirm = c
        .get(&format!("{LIST}/doomed/delete?etag={}", enc(&etag)))
        .await;
    assert!(confirm.text.contains("id=\"conflict\""), "{}", confirm.text);
    assert!(!confirm.text.contains("name=\"etag\""), "{}", confirm.text);

    let current = code.etag.expect("etag");
    let done = c
        .post(&format!("{LIST}/doomed/delete"), &[("etag", &current)])
        .await;
    let list = follow(&mut c, &done).await;
    assert!(list.text.contains("Deleted the CA certificate"));
    assert!(row(&list, "doomed").is_none());
    let e = certificates(&c)
        .get("doomed", None)
        .await
        .expect_err("deleted");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // Its page is now a 404 that names it.
    let gone = c.get(&format!("{LIST}/doomed")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn markup_in_a_subject_renders_as_text() {
    let mut c = Console::start().await;
    let hostile = ca("<script>alert(1)</script>");
    certificates(&c)
        .create_or_update("hostile", hostile.cert_pem().as_bytes(), None)
        .await
        .expect("uploaded");
    for path in [LIST.to_owned(), format!("{LIST}/hostile")] {
        let page = c.get(&path).await;
        assert!(
            page.text
                .contains("CN=&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            page.text
        );
        assert!(!page.text.contains("<script>alert"), "{path}");
    }
    // An unknown name in the URL is shown as text too.
    let page = c.get(&format!("{LIST}/%3Cb%3Ebold")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text.contains("&lt;b&gt;bold"), "{}", page.text);
}

#[tokio::test]
async fn a_read_only_session_sees_no_write_controls_and_is_refused() {
    let mut c = Console::start_beyond_loopback().await;
    let root = ca("Read Only Root");
    let certs = certificates(&c);
    let up = certs
        .create_or_update(
            "ro-root",
            root.cert_pem().as_bytes(),
            Some(CertificateUploadOptions::default()),
        )
        .await
        .expect("uploaded");
    let code = certs
        .generate_verification_code("ro-root", up.etag.as_deref().expect("etag"), None)
        .await
        .expect("a code");
    let code_value = code.properties.verification_code.expect("code");
    let etag = code.etag.expect("etag");

    c.sign_in_read_only().await;

    let list = c.get(LIST).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(row(&list, "ro-root").is_some(), "{}", list.text);
    for control in [
        "id=\"upload\"",
        ">Upload<",
        "Generate verification code",
        ">Delete<",
    ] {
        assert!(!list.text.contains(control), "{control}: {}", list.text);
    }
    let detail = c.get(&format!("{LIST}/ro-root")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        !detail.text.contains(&code_value),
        "the code is not shown to a reader"
    );
    assert!(!detail.text.contains("id=\"verify\""));
    assert!(!detail.text.contains(">Delete<"));

    let page = c
        .upload(
            LIST,
            &[("name", "sneaky")],
            &[(
                "certificate",
                "ca.pem",
                ca("Sneaky").cert_pem().into_bytes(),
            )],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    assert!(page.text.contains("read-only"), "{}", page.text);
    let page = c
        .post(
            &format!("{LIST}/ro-root/verification-code"),
            &[("etag", &etag)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    let page = c
        .upload(
            &format!("{LIST}/ro-root/verify"),
            &[("etag", &etag)],
            &[(
                "certificate",
                "v.pem",
                signed(&root, &code_value).cert_pem().into_bytes(),
            )],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    let page = c
        .post(&format!("{LIST}/ro-root/delete"), &[("etag", &etag)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);

    let after = certs.get("ro-root", None).await.expect("still there");
    assert_eq!(after.etag.as_deref(), Some(etag.as_str()), "unchanged");
    assert_eq!(after.properties.is_verified, Some(false));
    assert!(certs.get("sneaky", None).await.is_err(), "not uploaded");
}

/// `text` percent-encoded for a query value.
fn enc(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
