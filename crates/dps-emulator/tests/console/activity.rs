//! The Device activity page and its live feed: a device registered over each transport shows
//! with its outcome and transport; a refused X.509 device shows the exact reason it was given
//! (which certificate, which rule); the server-sent event stream delivers an attempt made
//! after subscribing and resumes after `Last-Event-ID`; a registration id with markup renders
//! as text.

use crate::support::Console;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient, Transport};
use dps_protocol::auth::Secret;
use dps_protocol::models::EnrollmentGroup;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// How long an expected event may take before the test fails (only a broken server waits).
const WAIT: Duration = Duration::from_secs(10);

/// Creates a symmetric-key group through the service API; returns its primary key.
async fn symmetric_group(c: &Console, id: &str) -> Secret {
    let g = c
        .service()
        .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key(id, None), None)
        .await
        .expect("group");
    Secret::from(
        g.attestation
            .symmetric_key
            .and_then(|k| k.primary_key)
            .expect("generated key"),
    )
}

/// A device client for `id` speaking `transport` to this emulator.
fn device(
    c: &Console,
    transport: Transport,
    id: &str,
    auth: DeviceAuth,
) -> ProvisioningDeviceClient {
    let endpoint = match transport {
        Transport::Mqtt => c.emulator.mqtt_endpoint().expect("MQTT on"),
        _ => c.emulator.device_endpoint(),
    };
    ProvisioningDeviceClient::new(
        &endpoint,
        c.emulator.id_scope(),
        id,
        auth,
        Some(DeviceClientOptions {
            transport,
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

/// Registers `id` over `transport` with the group key; returns the hub it was assigned.
async fn register(c: &Console, transport: Transport, id: &str, key: &Secret) -> String {
    device(c, transport, id, DeviceAuth::GroupKey(key.clone()))
        .register(None)
        .await
        .expect("registered")
        .assigned_hub
        .expect("assigned")
}

/// The `#activity` table's rows for `id` (`<tr data-seq=.. data-id="id">` up to `</tr>`).
fn rows<'a>(html: &'a str, id: &str) -> Vec<&'a str> {
    let table = html
        .find("id=\"activity\"")
        .map(|at| &html[at..])
        .expect("the #activity table");
    table
        .match_indices("<tr data-seq=")
        .map(|(at, _)| &table[at..])
        .map(|rest| &rest[..rest.find("</tr>").expect("row end")])
        .filter(|row| row.contains(&format!("data-id=\"{id}\"")))
        .collect()
}

/// `text` as maud escapes it in HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn a_device_registered_over_each_transport_shows_assigned_with_its_transport() {
    let mut c = Console::start_with(|config| {
        config.mqtt_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let empty = c.get("/portal/activity").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty
            .text
            .contains("id=\"activity-empty\">No device has tried to register yet"),
        "{}",
        empty.text
    );
    assert!(!empty.text.contains("<tr data-seq="), "{}", empty.text);

    let key = symmetric_group(&c, "activity-group").await;
    let mut hubs = Vec::new();
    for (transport, id) in [
        (Transport::Https, "dev-https"),
        (Transport::Mqtt, "dev-mqtt"),
        (Transport::MqttWebSocket, "dev-mqtt-ws"),
    ] {
        hubs.push(register(&c, transport, id, &key).await);
    }
    let page = c.get("/portal/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("aria-current=\"page\">Device activity"));
    for ((label, id), hub) in [
        ("HTTPS", "dev-https"),
        ("MQTT", "dev-mqtt"),
        ("MQTT over WebSocket", "dev-mqtt-ws"),
    ]
    .into_iter()
    .zip(&hubs)
    {
        let found = rows(&page.text, id);
        assert_eq!(found.len(), 1, "one attempt of {id}: {}", page.text);
        let row = found[0];
        assert!(
            row.contains(&format!("data-label=\"Transport\">{label}</td>")),
            "{row}"
        );
        assert!(
            row.contains("<span class=\"badge ok\">Assigned</span>"),
            "{row}"
        );
        assert!(row.contains(hub.as_str()), "{row}");
    }
    // Newest first: the WebSocket device registered last.
    let first = page.text.find("data-id=\"dev-mqtt-ws\"").expect("ws row");
    let last = page.text.find("data-id=\"dev-https\"").expect("https row");
    assert!(first < last, "not newest first");
    assert!(
        page.text.contains("id=\"activity-empty\" hidden>"),
        "{}",
        page.text
    );
}

/// A root and intermediate CA, and a device certificate the intermediate signed.
fn x509_device(id: &str) -> (String, DeviceAuth) {
    let spec = |cn, profile| CertSpec {
        common_name: cn,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    };
    let root = Credential::self_signed(&spec("activity test root", Profile::RootCa)).expect("root");
    let intermediate = root
        .sign(&spec("activity test intermediate", Profile::IntermediateCa))
        .expect("intermediate");
    let leaf = intermediate.sign(&spec(id, Profile::Leaf)).expect("leaf");
    let chain = format!("{}{}", leaf.cert_pem(), intermediate.cert_pem());
    let auth = DeviceAuth::x509(chain.into_bytes(), leaf.key().serialize_pem().into_bytes());
    (intermediate.cert_pem(), auth)
}

#[tokio::test]
async fn a_refused_x509_device_shows_the_reason_it_was_given_naming_the_certificate() {
    let mut c = Console::start().await;
    let id = "refused-x509";
    let (intermediate_pem, auth) = x509_device(id);
    // The group's certificate is the intermediate, and no CA is verified.
    c.service()
        .create_or_update_enrollment_group(
            &EnrollmentGroup::x509_signing("x509-group", intermediate_pem, None),
            None,
        )
        .await
        .expect("group");
    let refused = device(&c, Transport::Https, id, auth)
        .register(None)
        .await
        .expect_err("refused: no verified CA");
    let reason = refused.message().to_owned();
    assert!(
        reason.contains("is not a verified CA certificate"),
        "{reason}"
    );
    assert!(reason.contains("activity test intermediate"), "{reason}");

    let page = c.get("/portal/activity").await;
    let found = rows(&page.text, id);
    assert_eq!(found.len(), 1, "{}", page.text);
    let row = found[0];
    assert!(
        row.contains("<span class=\"badge bad\">Refused</span>"),
        "{row}"
    );
    assert!(row.contains("data-label=\"Code\">401002</td>"), "{row}");
    assert!(
        row.contains(&format!(">{}</td>", escaped(&reason))),
        "the row does not carry the exact reason {reason:?}: {row}"
    );
}

#[tokio::test]
async fn a_registration_id_with_markup_renders_as_text() {
    let mut c = Console::start().await;
    let hostile = "<script>alert(1)</script>";
    // An unknown ID scope is refused before the id's form is checked, so the engine records
    // the id as the device sent it.
    let path = format!(
        "/not-this-scope/registrations/{}/register?api-version=2021-06-01",
        percent_encoding::utf8_percent_encode(hostile, percent_encoding::NON_ALPHANUMERIC)
    );
    let client = crate::support::https_client(&c.emulator);
    let response = client
        .put(format!("{}{path}", c.emulator.device_endpoint()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    drop(client);

    let page = c.get("/portal/activity").await;
    assert!(!page.text.contains(hostile), "{}", page.text);
    let shown = escaped(hostile);
    assert!(
        page.text.contains(&format!("data-id=\"{shown}\"")),
        "{}",
        page.text
    );
    assert!(page.text.contains(&format!("<code>{shown}</code>")));
    assert!(page.text.contains("unknown ID scope"), "{}", page.text);
}

/// Reads server-sent events from `response` until one whose data has `needle`; returns its
/// `id:` and its data as JSON.
async fn event_with(response: &mut reqwest::Response, needle: &str) -> (u64, Value) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for event in text.split("\n\n") {
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if data.contains(needle) {
                let id = event
                    .lines()
                    .find_map(|l| l.strip_prefix("id:"))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("an event id");
                return (id, serde_json::from_str(&data).expect("JSON data"));
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event with {needle:?} within {WAIT:?}: {text}"))
            .expect("stream")
            .expect("stream still open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_feed_delivers_a_later_attempt_and_resumes_after_last_event_id() {
    let c = Console::start().await;
    let key = symmetric_group(&c, "live-group").await;
    register(&c, Transport::Https, "before-subscribing", &key).await;

    let mut feed = c
        .request(reqwest::Method::GET, "/portal/activity/events")
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), StatusCode::OK);
    let content_type = feed
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert!(feed.headers().get("content-security-policy").is_some());

    let hub = register(&c, Transport::Https, "after-subscribing", &key).await;
    let (id, row) = event_with(&mut feed, "after-subscribing").await;
    assert_eq!(row["seq"], id);
    assert_eq!(row["registrationId"], "after-subscribing");
    assert_eq!(row["transport"], "HTTPS");
    assert_eq!(row["outcome"], "Assigned");
    assert_eq!(row["ok"], true);
    assert_eq!(row["detail"], hub.as_str());
    assert_eq!(row["code"], Value::Null);
    assert!(
        row["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{row}"
    );
    drop(feed);

    // A reconnecting browser sends the last id it saw: the kept attempts after it come first.
    let mut resumed = c
        .request(reqwest::Method::GET, "/portal/activity/events")
        .header("last-event-id", (id - 1).to_string())
        .send()
        .await
        .expect("feed");
    let (again, row) = event_with(&mut resumed, "\"registrationId\":\"").await;
    assert_eq!(again, id, "{row}");
    assert_eq!(row["registrationId"], "after-subscribing");
}

#[tokio::test]
async fn a_visitor_without_a_session_gets_no_feed() {
    // Beyond loopback the console needs a sign-in; the feed is behind the same guard.
    let c = Console::start_beyond_loopback().await;
    let response = c
        .request(reqwest::Method::GET, "/portal/activity/events")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/portal/sign-in")
    );
}
