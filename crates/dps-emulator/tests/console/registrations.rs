//! The Registration records page: devices registered over HTTPS appear with their assigned
//! hub (per group, per individual enrollment, and in the list of every device); a refused
//! device shows its error; Delete with the confirmed ETag makes the API answer 404, a stale
//! ETag is shown as a conflict; a read-only console cannot delete; markup is escaped.

use crate::support::Console;
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient};
use dps_protocol::auth::Secret;
use dps_protocol::models::{EnrollmentGroup, IndividualEnrollment, ProvisioningStatus};
use reqwest::StatusCode;
use std::time::Duration;

/// Creates a symmetric-key group through the service API; returns its primary key.
async fn symmetric_group(c: &Console, id: &str, disabled: bool) -> Secret {
    let mut g = EnrollmentGroup::symmetric_key(id, None);
    if disabled {
        g.provisioning_status = Some(ProvisioningStatus::Disabled);
    }
    let g = c
        .service()
        .create_or_update_enrollment_group(&g, None)
        .await
        .expect("group");
    Secret::from(
        g.attestation
            .symmetric_key
            .and_then(|k| k.primary_key)
            .expect("generated key"),
    )
}

/// A device client for `id` over HTTPS to this emulator.
fn device(c: &Console, id: &str, auth: DeviceAuth) -> ProvisioningDeviceClient {
    ProvisioningDeviceClient::new(
        &c.emulator.device_endpoint(),
        c.emulator.id_scope(),
        id,
        auth,
        Some(DeviceClientOptions {
            trusted_ca_pem: vec![c.emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            default_poll_interval: Duration::from_millis(10),
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            ..Default::default()
        }),
    )
    .expect("device client")
}

/// Registers `id` with the group key; returns the hub it was assigned.
async fn register(c: &Console, id: &str, group_key: &Secret) -> String {
    let r = device(c, id, DeviceAuth::GroupKey(group_key.clone()))
        .register(None)
        .await
        .expect("registered");
    r.assigned_hub.expect("assigned")
}

/// The `<tr data-id="id">` row of a page, up to its end.
fn row<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let at = html.find(&format!("<tr data-id=\"{id}\""))?;
    let rest = &html[at..];
    Some(&rest[..rest.find("</tr>")?])
}

/// The value of the hidden `etag` input of a page.
fn etag_of(html: &str) -> String {
    let marker = "name=\"etag\" value=\"";
    let at = html.find(marker).expect("etag field") + marker.len();
    let rest = &html[at..];
    rest[..rest.find('"').expect("end")].to_owned()
}

#[tokio::test]
async fn a_registered_device_shows_in_its_group_and_delete_makes_the_api_answer_404() {
    let mut c = Console::start().await;
    let key = symmetric_group(&c, "Fleet", false).await;
    let hub = register(&c, "fleet-dev-1", &key).await;
    register(&c, "fleet-dev-2", &key).await;

    let page = c.get("/portal/registrations?group=Fleet").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("id=\"registrations\""), "{}", page.text);
    assert!(
        page.text
            .contains("href=\"/portal/enrollments/groups/Fleet\""),
        "{}",
        page.text
    );
    let r = row(&page.text, "fleet-dev-1").expect("row of fleet-dev-1");
    assert!(r.contains(&hub), "{r}");
    assert!(r.contains("assigned"), "{r}");
    assert!(r.contains(">fleet-dev-1<"), "device id: {r}");
    assert!(row(&page.text, "fleet-dev-2").is_some());

    // Paging by registration id.
    let page = c
        .get("/portal/registrations?group=fleet&after=fleet-dev-1")
        .await;
    assert!(row(&page.text, "fleet-dev-1").is_none(), "{}", page.text);
    assert!(row(&page.text, "fleet-dev-2").is_some(), "{}", page.text);
    assert!(page.text.contains("First page"), "{}", page.text);

    // Every device, with the form that picks one group or enrollment.
    let page = c.get("/portal/registrations").await;
    assert!(page.text.contains("name=\"group\""), "{}", page.text);
    assert!(page.text.contains("name=\"enrollment\""), "{}", page.text);
    let r = row(&page.text, "fleet-dev-1").expect("listed among every device");
    assert!(r.contains("/portal/registrations?group=fleet"), "{r}");

    // Delete: the confirmation page carries the ETag the API checks.
    let confirm = c
        .get("/portal/registrations/fleet-dev-1/delete?group=Fleet")
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    let etag = etag_of(&confirm.text);
    let service = c.service();
    let state = service
        .get_registration_state("fleet-dev-1", None)
        .await
        .expect("state");
    assert_eq!(state.etag.as_deref(), Some(etag.as_str()));

    // A stale ETag: refused as a conflict, nothing deleted.
    let stale = c
        .post(
            "/portal/registrations/fleet-dev-1/delete",
            &[
                ("etag", "\"not-the-etag\""),
                ("confirm", "yes"),
                ("group", "Fleet"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER, "{}", stale.text);
    let page = c.get(stale.location.as_deref().expect("back")).await;
    assert!(page.text.contains("notice failed"), "{}", page.text);
    assert!(page.text.contains("ETag conflict"), "{}", page.text);
    assert!(row(&page.text, "fleet-dev-1").is_some());

    // Without the confirmation field: nothing deleted either.
    let unconfirmed = c
        .post(
            "/portal/registrations/fleet-dev-1/delete",
            &[("etag", &etag), ("group", "Fleet")],
        )
        .await;
    assert_eq!(unconfirmed.status, StatusCode::SEE_OTHER);
    service
        .get_registration_state("fleet-dev-1", None)
        .await
        .expect("still there");

    let done = c
        .post(
            "/portal/registrations/fleet-dev-1/delete",
            &[("etag", &etag), ("confirm", "yes"), ("group", "Fleet")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(
        done.location.as_deref(),
        Some("/portal/registrations?group=Fleet")
    );
    let e = service
        .get_registration_state("fleet-dev-1", None)
        .await
        .expect_err("deleted");
    assert_eq!(e.status(), Some(404), "{e}");
    let page = c.get("/portal/registrations?group=Fleet").await;
    assert!(page.text.contains("notice done"), "{}", page.text);
    assert!(row(&page.text, "fleet-dev-1").is_none(), "{}", page.text);
    assert!(row(&page.text, "fleet-dev-2").is_some());

    // The device registers afresh afterwards.
    register(&c, "fleet-dev-1", &key).await;
}

#[tokio::test]
async fn an_individual_enrollment_record_and_a_refused_device_with_its_error() {
    let mut c = Console::start().await;
    let solo = c
        .service()
        .create_or_update_enrollment(&IndividualEnrollment::symmetric_key("solo", None), None)
        .await
        .expect("enrollment");
    let key = solo
        .attestation
        .symmetric_key
        .and_then(|k| k.primary_key)
        .expect("key");
    device(&c, "solo", DeviceAuth::SymmetricKey(Secret::from(key)))
        .register(None)
        .await
        .expect("registered");
    let page = c.get("/portal/registrations?enrollment=solo").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(row(&page.text, "solo").is_some(), "{}", page.text);
    assert!(
        page.text
            .contains("href=\"/portal/enrollments/individual/solo\""),
        "{}",
        page.text
    );
    let page = c.get("/portal/registrations?enrollment=nobody").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("has not registered yet"),
        "{}",
        page.text
    );

    // A device of a disabled group: its record says why.
    let key = symmetric_group(&c, "off", true).await;
    let _ = device(&c, "off-dev", DeviceAuth::GroupKey(key))
        .register(None)
        .await;
    let page = c.get("/portal/registrations?group=off").await;
    let r = row(&page.text, "off-dev").expect("recorded");
    assert!(r.contains("disabled"), "{r}");
    assert!(r.contains("badge bad"), "{r}");
    assert!(r.contains("is disabled"), "error message: {r}");
}

#[tokio::test]
async fn a_read_only_console_shows_no_delete_and_refuses_one() {
    let mut c = crate::support::Console::start_read_only().await;
    let key = symmetric_group(&c, "ro", false).await;
    register(&c, "ro-dev", &key).await;
    let page = c.get("/portal/registrations?group=ro").await;
    let r = row(&page.text, "ro-dev").expect("listed");
    assert!(!r.contains("Delete"), "{r}");
    let confirm = c.get("/portal/registrations/ro-dev/delete").await;
    assert!(!confirm.text.contains("name=\"etag\""), "{}", confirm.text);
    let etag = c
        .service()
        .get_registration_state("ro-dev", None)
        .await
        .expect("state")
        .etag
        .expect("etag");
    let refused = c
        .post(
            "/portal/registrations/ro-dev/delete",
            &[("etag", &etag), ("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    c.service()
        .get_registration_state("ro-dev", None)
        .await
        .expect("still there");
}

#[tokio::test]
async fn markup_in_a_query_is_shown_as_text() {
    let mut c = Console::start().await;
    let page = c
        .get("/portal/registrations?group=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(
        page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.text
    );
    let page = c.get("/portal/registrations/%3Cscript%3E/delete").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.text);
    assert!(!page.text.contains("<script>"), "{}", page.text);
}
