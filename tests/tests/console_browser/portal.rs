//! The portal steps: Manage enrollments, registration records, device activity (live and
//! refused), proof of possession and Delete, each checked through the service API.

use super::{browser, click_button, click_link, derived_key};
use dps_certgen::Signer;
use dps_e2e::browser::{Browser, Tools};
use dps_e2e::{TestChain, TestEmulator, rt, symmetric_group};
use dps_protocol::auth::Secret;
use fantoccini::Locator;

/// "Click Manage enrollments, notice that your group appears under the Enrollment Groups
/// tab": a group created through the SDK, found by the tab and by an id-prefix search.
#[test]
fn a_group_created_through_the_sdk_appears_under_the_enrollment_groups_tab() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let service = t.client();
    rt().block_on(async {
        symmetric_group(&service, "sdk-group", |_| {}).await;
        symmetric_group(&service, "other-group", |_| {}).await;
        let b = browser(&tools, &t).await;
        b.goto(&t.console("")).await.expect("overview");
        click_link(&b, "nav", "Manage enrollments").await;
        click_link(&b, "main", "Enrollment Groups").await;
        let row = b
            .wait_for(r#"#groups tr[data-id="sdk-group"]"#)
            .await
            .expect("the group's row");
        let text = row.text().await.expect("row text");
        assert!(
            text.contains("sdk-group") && text.contains("Enabled"),
            "{text}"
        );

        let prefix = b.wait_for("#prefix").await.expect("the search box");
        prefix.send_keys("sdk").await.expect("typed");
        click_button(&b, "main", "Search").await;
        b.wait_for_text("#list-summary", "sdk")
            .await
            .expect("the search ran");
        b.wait_for(r#"#groups tr[data-id="sdk-group"]"#)
            .await
            .expect("found by prefix");
        assert!(
            b.client
                .find(Locator::Css(r#"#groups tr[data-id="other-group"]"#))
                .await
                .is_err(),
            "the search shows a group whose id does not start with the prefix"
        );
        b.close().await;
    });
}

/// A device registered over HTTPS while the activity page is open appears there without a
/// reload (server-sent events), then in its group's registration records.
#[test]
fn a_registered_device_appears_live_in_the_activity_feed_and_in_the_group_records() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let service = t.client();
    rt().block_on(async {
        let group_key = symmetric_group(&service, "live-group", |_| {}).await;
        let b = browser(&tools, &t).await;
        b.goto(&t.console("activity")).await.expect("activity page");
        b.wait_for("#activity").await.expect("the activity feed");
        // Marks this page load: a reload would lose it.
        b.js("window.dpsMarker = 'same page'; return true;")
            .await
            .expect("marker");

        let device_key = derived_key(&group_key, "live-device");
        let r = t
            .device(
                "live-device",
                dps_device_client::DeviceAuth::SymmetricKey(Secret::from(device_key)),
            )
            .register(None)
            .await
            .expect("the device registers over HTTPS");
        let hub = r.assigned_hub.expect("a hub");

        let row = b
            .wait_for_text("#activity tr", "live-device")
            .await
            .expect("the attempt appears live");
        let text = row.text().await.expect("row text");
        assert!(text.to_lowercase().contains("https"), "{text}");
        assert_eq!(
            b.js("return window.dpsMarker || null;")
                .await
                .expect("marker"),
            serde_json::json!("same page"),
            "the feed updated by reloading the page, not live"
        );

        b.goto(&t.console("enrollments?tab=groups"))
            .await
            .expect("groups");
        click_link(
            &b,
            r#"#groups tr[data-id="live-group"]"#,
            "Registration records",
        )
        .await;
        let record = b
            .wait_for(r#"#registrations tr[data-id="live-device"]"#)
            .await
            .expect("the device's record");
        let text = record.text().await.expect("record text");
        assert!(text.contains(&hub) && text.contains("assigned"), "{text}");
        b.close().await;
    });
}

/// A refused X.509 device (its group's CA is not verified) shows why in the activity feed:
/// which certificate and which rule, as the device was told.
#[test]
fn a_refused_device_shows_its_reason_in_the_activity_feed() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let chain = TestChain::new();
    let t = TestEmulator::start_console();
    let device = chain.device("refused-device", Signer::Intermediate);
    rt().block_on(async {
        t.certificate_client()
            .create_or_update(
                "unproven-root",
                chain.root_pem().as_bytes(),
                Some(
                    dps_service_client::CertificateUploadOptions::default().with_is_verified(false),
                ),
            )
            .await
            .expect("uploaded");
        t.client()
            .create_x509_enrollment_group(
                "x509-group",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        let e = t
            .device("refused-device", device.full_chain())
            .register(None)
            .await
            .expect_err("refused: no verified CA");
        let rule = "is not a verified CA certificate";
        assert!(e.message().contains(rule), "{e}");

        let b = browser(&tools, &t).await;
        b.goto(&t.console("activity")).await.expect("activity page");
        let row = b
            .wait_for_text("#activity tr", "refused-device")
            .await
            .expect("the refused attempt");
        let text = row.text().await.expect("row text");
        assert!(
            text.contains(rule) && text.contains("Intermediate"),
            "the row does not say which certificate and rule: {text}"
        );
        b.close().await;
    });
}

/// Proof of possession on the Certificates page: upload the root, Generate verification
/// code, upload the certificate signed with that code, see Verified; the API agrees.
#[test]
fn proof_of_possession_through_the_certificates_page_turns_a_ca_verified() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let chain = TestChain::new();
    let t = TestEmulator::start_console();
    let files = tempfile::tempdir().expect("temp dir");
    let root_file = files.path().join("root.cert.pem");
    std::fs::write(&root_file, chain.root_pem()).expect("write root");
    rt().block_on(async {
        let b = browser(&tools, &t).await;
        b.goto(&t.console("")).await.expect("overview");
        click_link(&b, "nav", "Certificates").await;
        let name = b
            .wait_for(r#"form input[name="name"]"#)
            .await
            .expect("the name field");
        name.send_keys("browser-root").await.expect("typed");
        b.wait_for(r#"form input[type="file"]"#)
            .await
            .expect("the file field")
            .send_keys(&root_file.display().to_string())
            .await
            .expect("file chosen");
        click_button(&b, "main", "Upload").await;
        b.wait_for_text("p.notice", "browser-root")
            .await
            .expect("the upload's notice");
        let row = r#"#certificates tr[data-id="browser-root"]"#;
        b.wait_for_text(row, "Unverified")
            .await
            .expect("uploaded, unverified");

        // The portal's controls may be on the row or on the certificate's own page.
        if b.button(row, "Generate verification code").await.is_err() {
            click_link(&b, row, "browser-root").await;
        }
        click_button(&b, "main", "Generate verification code").await;
        let code = wait_for_code(&b).await;
        let verification = files.path().join("verification.cert.pem");
        std::fs::write(&verification, chain.verification_pem(&code, Signer::Root))
            .expect("write verification certificate");
        let verify_form = b.button("main", "Verify").await.expect("the Verify button");
        let form = verify_form
            .find(Locator::XPath("./ancestor::form"))
            .await
            .expect("its form");
        form.find(Locator::Css(r#"input[type="file"]"#))
            .await
            .expect("its file field")
            .send_keys(&verification.display().to_string())
            .await
            .expect("file chosen");
        verify_form.click().await.expect("Verify");
        b.wait_for_text("p.notice", "verified")
            .await
            .expect("the page says so");
        b.goto(&t.console("certificates")).await.expect("the list");
        let badge = b
            .wait_for_text(&format!("{row} .badge.ok"), "Verified")
            .await
            .expect("Verified");
        assert_eq!(badge.text().await.expect("text"), "Verified");
        let api = t
            .certificate_client()
            .get("browser-root", None)
            .await
            .expect("the certificate");
        assert_eq!(api.properties.is_verified, Some(true));
        b.close().await;
    });
}

/// The verification code the page shows (`#verification-code`): 48 upper-case hex digits.
async fn wait_for_code(b: &Browser) -> String {
    let code = b
        .wait_for("#verification-code")
        .await
        .expect("the verification code")
        .text()
        .await
        .expect("its text");
    assert!(
        code.len() == 48
            && code
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "not a verification code: {code:?}"
    );
    code
}

/// "Select the group and click Delete": from the group's page, through its confirmation;
/// the API then answers 404.
#[test]
fn delete_from_the_console_makes_the_api_answer_404() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let service = t.client();
    rt().block_on(async {
        symmetric_group(&service, "doomed-group", |_| {}).await;
        let b = browser(&tools, &t).await;
        b.goto(&t.console("enrollments?tab=groups"))
            .await
            .expect("groups");
        click_link(&b, r#"#groups tr[data-id="doomed-group"]"#, "doomed-group").await;
        click_link(&b, "main", "Delete").await;
        b.wait_for_text("main", "cannot be undone")
            .await
            .expect("the confirmation");
        click_button(&b, "main", "Delete").await;
        b.wait_for_text("p.notice", "doomed-group")
            .await
            .expect("the notice");
        b.wait_for("#groups, #list-empty").await.expect("the list");
        assert!(
            b.client
                .find(Locator::Css(r#"#groups tr[data-id="doomed-group"]"#))
                .await
                .is_err(),
            "the deleted group is still listed"
        );
        let e = service
            .get_enrollment_group("doomed-group", None)
            .await
            .expect_err("deleted");
        assert_eq!(e.status(), Some(404), "{e}");
        b.close().await;
    });
}
