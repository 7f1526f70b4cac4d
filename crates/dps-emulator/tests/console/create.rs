//! The "Add enrollment group" form: groups from a symmetric key, an uploaded certificate and a
//! verified CA, read back through the service API; the API's refusals (bad id, bad
//! certificate, existing group, quota) shown above the form with the visitor's inputs kept;
//! markup in inputs escaped; a read-only console cannot create.

use crate::support::Console;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use reqwest::StatusCode;
use serde_json::Value;

const NEW: &str = "/portal/enrollments/new-group";
const CREATE: &str = "/portal/enrollments/groups";

/// A fresh self-signed CA certificate with CN `cn`.
fn ca(cn: &str) -> Credential {
    Credential::self_signed(&CertSpec {
        common_name: cn,
        profile: Profile::RootCa,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    })
    .expect("CA certificate")
}

/// The group `id` as the service API returns it, as JSON; `None` when it does not exist.
async fn group(c: &Console, id: &str) -> Option<Value> {
    match c.service().get_enrollment_group(id, None).await {
        Ok(g) => Some(serde_json::to_value(g).expect("JSON")),
        Err(e) if e.status() == Some(404) => None,
        Err(e) => panic!("get {id}: {e}"),
    }
}

#[tokio::test]
async fn a_symmetric_key_group_made_in_the_form_is_readable_through_the_api_with_keys() {
    let mut c = Console::start().await;
    let form = c.get(NEW).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("enctype=\"multipart/form-data\""));
    assert!(form.text.contains("name=\"csrf\""));
    // The linked hub is offered.
    let hub = c.emulator.info().iot_hubs[0].clone();
    assert!(
        form.text.contains(&format!("<option value=\"{hub}\"")),
        "{}",
        form.text
    );

    let page = c
        .upload(
            CREATE,
            &[
                ("id", "Console-Keys"),
                ("attestation", "symmetricKey"),
                ("hub", &hub),
                ("status", "disabled"),
                ("edge", "on"),
                ("tags", r#"{"environment": "lab", "floor": 3}"#),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    assert_eq!(
        page.location.as_deref(),
        Some("/portal/enrollments/groups/Console-Keys")
    );
    let g = group(&c, "console-keys").await.expect("created");
    assert_eq!(g["enrollmentGroupId"], "Console-Keys");
    assert_eq!(g["attestation"]["type"], "symmetricKey");
    for k in ["primaryKey", "secondaryKey"] {
        let key = g["attestation"]["symmetricKey"][k]
            .as_str()
            .unwrap_or_default();
        assert!(key.len() >= 24, "{k} generated: {g}");
    }
    assert_eq!(g["provisioningStatus"], "disabled");
    assert_eq!(g["capabilities"]["iotEdge"], true);
    assert_eq!(g["iotHubs"], serde_json::json!([hub]));
    assert_eq!(g["initialTwin"]["tags"]["environment"], "lab");
    assert_eq!(g["initialTwin"]["tags"]["floor"], 3);
    // The notice follows the redirect (to whatever page shows it next).
    let next = c.get("/portal/").await;
    assert!(next.text.contains("class=\"notice done\""), "{}", next.text);
    assert!(next.text.contains("Console-Keys"), "{}", next.text);
}

#[tokio::test]
async fn a_group_from_an_uploaded_certificate_pem_or_der() {
    let mut c = Console::start().await;
    let root = ca("Console Upload Root");
    let page = c
        .upload(
            CREATE,
            &[("id", "from-pem"), ("attestation", "certificate")],
            &[("certificate", "root.pem", root.cert_pem().into_bytes())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let g = group(&c, "from-pem").await.expect("created");
    let info = &g["attestation"]["x509"]["signingCertificates"]["primary"]["info"];
    assert!(
        info["subjectName"]
            .as_str()
            .is_some_and(|s| s.contains("Console Upload Root")),
        "{g}"
    );

    // A binary .cer is the same certificate.
    let page = c
        .upload(
            CREATE,
            &[("id", "from-der"), ("attestation", "certificate")],
            &[("certificate", "root.cer", root.der().to_vec())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let g = group(&c, "from-der").await.expect("created");
    assert_eq!(
        g["attestation"]["x509"]["signingCertificates"]["primary"]["info"]["sha256Thumbprint"],
        info["sha256Thumbprint"]
    );

    // Not a certificate: the API's own message, the form again with the inputs kept.
    let page = c
        .upload(
            CREATE,
            &[("id", "from-junk"), ("attestation", "certificate")],
            &[("certificate", "junk.pem", b"not a certificate".to_vec())],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(
        page.text.contains("the certificate cannot be parsed"),
        "{}",
        page.text
    );
    assert!(page.text.contains("value=\"from-junk\""), "{}", page.text);
    assert!(page.text.contains("Choose the file again"), "{}", page.text);
    assert!(group(&c, "from-junk").await.is_none());

    // No file at all.
    let page = c
        .upload(
            CREATE,
            &[("id", "no-file"), ("attestation", "certificate")],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("Choose the certificate file"));
}

#[tokio::test]
async fn a_group_from_a_verified_ca_and_only_verified_cas_are_offered() {
    let dir = tempfile::tempdir().expect("dir");
    let verified = ca("Console Verified Root");
    let path = dir.path().join("verified.pem");
    std::fs::write(&path, verified.cert_pem()).expect("written");
    let mut c = Console::start_with(|config| {
        config.ca_certificates = vec![("console-verified".to_owned(), path.clone())];
    })
    .await;
    let certificates = dps_service_client::CertificateClient::for_emulator(
        &c.emulator.service_connection_string(),
        Some(c.client_options().into()),
    )
    .expect("certificate client");
    certificates
        .create_or_update(
            "console-unverified",
            ca("Console Unverified Root").cert_pem().as_bytes(),
            None,
        )
        .await
        .expect("uploaded");

    let form = c.get(NEW).await;
    assert!(
        form.text.contains("<option value=\"console-verified\""),
        "{}",
        form.text
    );
    assert!(!form.text.contains("console-unverified"), "{}", form.text);

    let page = c
        .upload(
            CREATE,
            &[
                ("id", "from-ca"),
                ("attestation", "ca"),
                ("ca", "console-verified"),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let g = group(&c, "from-ca").await.expect("created");
    assert_eq!(g["attestation"]["type"], "x509");
    assert_eq!(
        g["attestation"]["x509"]["caReferences"]["primary"],
        "console-verified"
    );

    // CA chosen as the attestation but none picked.
    let page = c
        .upload(CREATE, &[("id", "no-ca"), ("attestation", "ca")], &[])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("Choose a verified CA"), "{}", page.text);
}

#[tokio::test]
async fn an_existing_id_is_not_overwritten_and_says_it_already_exists() {
    let mut c = Console::start().await;
    let fields = [("id", "twice"), ("attestation", "symmetricKey")];
    let first = c.upload(CREATE, &fields, &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
    let before = group(&c, "twice").await.expect("created");
    let again = c
        .upload(
            CREATE,
            &[
                ("id", "TWICE"),
                ("attestation", "symmetricKey"),
                ("status", "disabled"),
            ],
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.text.contains("already exists"), "{}", again.text);
    assert!(again.text.contains("value=\"TWICE\""), "{}", again.text);
    let after = group(&c, "twice").await.expect("still there");
    assert_eq!(before["etag"], after["etag"], "not overwritten");
    assert_eq!(after["provisioningStatus"], "enabled");
}

#[tokio::test]
async fn invalid_twin_json_keeps_the_inputs_and_creates_nothing() {
    let mut c = Console::start().await;
    let page = c
        .upload(
            CREATE,
            &[
                ("id", "bad-twin"),
                ("attestation", "symmetricKey"),
                ("hub", "other-hub.example"),
                ("status", "disabled"),
                ("edge", "on"),
                ("tags", r#"{"environment": "#),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(page.text.contains("not valid JSON"), "{}", page.text);
    for kept in [
        "value=\"bad-twin\"",
        "value=\"other-hub.example\"",
        "{&quot;environment&quot;:</textarea>",
        "value=\"disabled\" selected",
        "value=\"on\" checked",
    ] {
        assert!(page.text.contains(kept), "{kept}: {}", page.text);
    }
    assert!(group(&c, "bad-twin").await.is_none());
}

#[tokio::test]
async fn markup_in_an_id_or_a_tag_is_shown_as_text() {
    let mut c = Console::start().await;
    let page = c
        .upload(
            CREATE,
            &[
                ("id", "<script>alert(1)</script>"),
                ("attestation", "symmetricKey"),
                (
                    "tags",
                    r#"{"note": "</textarea><script>alert(2)</script>"}"#,
                ),
            ],
            &[],
        )
        .await;
    // The API refuses the id; its message and the inputs come back escaped.
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(!page.text.contains("</textarea><script>"), "{}", page.text);
    assert!(
        page.text
            .contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;"),
        "{}",
        page.text
    );

    // A tag with markup is data: stored as sent.
    let page = c
        .upload(
            CREATE,
            &[
                ("id", "tagged"),
                ("attestation", "symmetricKey"),
                ("tags", r#"{"note": "<script>alert(3)</script>"}"#),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let g = group(&c, "tagged").await.expect("created");
    assert_eq!(
        g["initialTwin"]["tags"]["note"],
        "<script>alert(3)</script>"
    );
}

#[tokio::test]
async fn the_api_quota_is_shown_with_its_message() {
    let mut c = Console::start_with(|config| config.limits.max_groups_per_type = 1).await;
    let first = c
        .upload(
            CREATE,
            &[("id", "one"), ("attestation", "symmetricKey")],
            &[],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
    let second = c
        .upload(
            CREATE,
            &[("id", "two"), ("attestation", "symmetricKey")],
            &[],
        )
        .await;
    assert_eq!(second.status, StatusCode::FORBIDDEN, "{}", second.text);
    assert!(
        second
            .text
            .contains("the limit of 1 symmetricKey enrollment groups"),
        "{}",
        second.text
    );
    assert!(group(&c, "two").await.is_none());
}

#[tokio::test]
async fn a_read_only_console_shows_no_form_and_refuses_a_create() {
    let mut c = Console::start_read_only().await;
    let page = c.get(NEW).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("id=\"create-group\""), "{}", page.text);
    assert!(page.text.contains("read-only"), "{}", page.text);
    let page = c
        .upload(
            CREATE,
            &[("id", "sneaky"), ("attestation", "symmetricKey")],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    assert!(group(&c, "sneaky").await.is_none());
}
