//! JSON depth: every outside input is bounded by `dps_protocol::json::MAX_DEPTH`, so whatever
//! is accepted (and stored, wrapped in the emulator's own documents) reads back.

use crate::Raw;
use axum::extract::State;
use dps_device_client::{
    DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient, RegisterOptions,
};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::auth::Secret;
use dps_protocol::json::MAX_DEPTH;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `{"a": {"a": ... 1}}`, `levels` objects deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!({ "a": inner }))
}

/// How deeply the webhook nests the payload it answers.
type PayloadDepth = Arc<Mutex<usize>>;

async fn webhook(State(depth): State<PayloadDepth>) -> axum::Json<Value> {
    let levels = *depth.lock().unwrap();
    axum::Json(json!({
        "iotHubHostName": dps_emulator::config::DEFAULT_IOT_HUB,
        "payload": nested(levels),
    }))
}

/// Serves the custom-allocation webhook on 127.0.0.1; returns its URL.
async fn serve_webhook(depth: PayloadDepth) -> String {
    let router = axum::Router::new()
        .route("/allocate", axum::routing::post(webhook))
        .with_state(depth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/allocate", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// A symmetric-key group allocating through `url`; returns its primary key.
async fn custom_group(raw: &Raw, url: &str) -> Secret {
    let group = json!({
        "enrollmentGroupId": "custom",
        "attestation": {"type": "symmetricKey"},
        "allocationPolicy": "custom",
        "customAllocationDefinition": {"webhookUrl": url, "apiVersion": "2021-10-01"},
    });
    let (status, body) = raw
        .send(
            reqwest::Method::PUT,
            "/enrollmentGroups/custom",
            Some(group.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    Secret::from(
        body["attestation"]["symmetricKey"]["primaryKey"]
            .as_str()
            .unwrap(),
    )
}

async fn register(
    e: &Emulator,
    group_key: &Secret,
    id: &str,
    payload: Option<Value>,
) -> dps_device_client::Result<dps_protocol::models::DeviceRegistrationResult> {
    let client = ProvisioningDeviceClient::new(
        &e.device_endpoint(),
        e.id_scope(),
        id,
        DeviceAuth::GroupKey(group_key.clone()),
        Some(DeviceClientOptions {
            trusted_ca_pem: vec![e.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            default_poll_interval: Duration::from_millis(10),
            request_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            ..Default::default()
        }),
    )
    .unwrap();
    let options = payload.map(|p| RegisterOptions::default().with_payload(p));
    client.register(options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_payload_too_deep_to_read_back_is_refused_and_the_device_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let e = Emulator::spawn(EmulatorConfig::for_tests(dir.path())).unwrap();
    let depth = PayloadDepth::new(Mutex::new(126));
    let url = serve_webhook(depth.clone()).await;
    let raw = Raw::new(&e);
    let key = custom_group(&raw, &url).await;

    // 126 levels: stored as it was, the operation could never be read again.
    let err = register(&e, &key, "deep-device", None)
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("custom allocation webhook")
            && message.contains(&format!("more than {MAX_DEPTH} levels")),
        "{message}"
    );
    // The refusal is stored and reads back: the registration state says why.
    let (status, state) = raw
        .send(reqwest::Method::GET, "/registrations/deep-device", None)
        .await;
    assert_eq!(
        (status, state["status"].as_str()),
        (200, Some("failed")),
        "{state}"
    );

    // The deepest payload the answer may carry is stored and reads back whole.
    *depth.lock().unwrap() = MAX_DEPTH - 1;
    let done = register(&e, &key, "deep-device", None).await.unwrap();
    assert_eq!(done.payload, Some(nested(MAX_DEPTH - 1)));
    let (status, state) = raw
        .send(reqwest::Method::GET, "/registrations/deep-device", None)
        .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["payload"], nested(MAX_DEPTH - 1));

    // A device payload past the limit is refused with 400 before any webhook call.
    let err = register(&e, &key, "deep-device", Some(nested(MAX_DEPTH)))
        .await
        .expect_err("refused");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("levels"), "{err}");
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_nested_past_the_limit_is_refused_with_400() {
    let dir = tempfile::tempdir().unwrap();
    let e = Emulator::spawn(EmulatorConfig::for_tests(dir.path())).unwrap();
    let raw = Raw::new(&e);
    // The body nests the tags two levels down: {"initialTwin": {"tags": ...}}.
    let twin = |levels: usize| json!({"initialTwin": {"tags": nested(levels - 2)}});
    let (status, body) = raw.put_enrollment("deep", twin(MAX_DEPTH)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = raw
        .send(reqwest::Method::GET, "/enrollments/deep", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["initialTwin"]["tags"], nested(MAX_DEPTH - 2));

    let (status, body) = raw.put_enrollment("deeper", twin(MAX_DEPTH + 1)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errorCode"],
        json!(dps_protocol::codes::BAD_REQUEST),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("at most {MAX_DEPTH} levels")),
        "{message}"
    );
    e.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_operation_that_cannot_be_read_back_does_not_break_its_device() {
    let tmp = tempfile::tempdir().unwrap();
    let key = "c3RhdGUtaW50ZWdyaXR5LWRldmljZS1rZXktMDAwMDA=";
    let enrollment = json!({"attestation": {"type": "symmetricKey",
        "symmetricKey": {"primaryKey": key, "secondaryKey": key}}});
    let register = |e: &Emulator| {
        let client = ProvisioningDeviceClient::new(
            &e.device_endpoint(),
            e.id_scope(),
            "stuck-device",
            DeviceAuth::SymmetricKey(Secret::from(key)),
            Some(DeviceClientOptions {
                trusted_ca_pem: vec![e.ca_pem().as_bytes().to_vec()],
                trust_only_custom_ca: true,
                default_poll_interval: Duration::from_millis(10),
                total_timeout: Duration::from_secs(10),
                ..Default::default()
            }),
        )
        .unwrap();
        async move { client.register(None).await }
    };
    let e = Emulator::spawn(crate::on_disk(tmp.path())).unwrap();
    let (status, body) = Raw::new(&e)
        .put_enrollment("stuck-device", enrollment)
        .await;
    assert_eq!(status, 200, "{body}");
    register(&e).await.unwrap();
    e.shutdown();
    // As an older emulator could store it: an operation nested past what its reader reads.
    let deep = "[".repeat(200) + &"]".repeat(200);
    let db = rusqlite::Connection::open(tmp.path().join("state.db")).unwrap();
    let n = db
        .execute(
            "UPDATE records SET body = ?1 WHERE kind = 'operation'",
            [&deep],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(db);

    let e = Emulator::spawn(crate::on_disk(tmp.path())).unwrap();
    let done = register(&e).await.expect("registers again");
    assert_eq!(done.registration_id, "stuck-device");
    let (status, body) = Raw::new(&e)
        .send(reqwest::Method::DELETE, "/registrations/stuck-device", None)
        .await;
    assert_eq!(status, 204, "{body}");
    register(&e).await.expect("registers after the delete");
    e.shutdown();
}
