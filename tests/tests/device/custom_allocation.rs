//! Custom allocation through a webhook: a tiny axum server on 127.0.0.1 picks the hub and a
//! payload, and records what the emulator sent it.

use super::common::{HUB_A, HUB_B, assert_refused, symmetric_group};
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use dps_device_client::{DeviceAuth, ErrorKind, RegisterOptions};
use dps_e2e::{TestEmulator, rt};
use dps_protocol::auth::Secret;
use dps_protocol::codes;
use dps_protocol::models::{
    AllocationPolicy, CustomAllocationDefinition, RegistrationStatus, Substatus,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

type Seen = Arc<Mutex<Vec<Value>>>;

/// Answers with the hub the device asked for in `payload.wantHub`, else the last linked hub,
/// and a payload echoing the device's.
async fn allocate(State(seen): State<Seen>, Json(request): Json<Value>) -> Json<Value> {
    seen.lock().expect("lock").push(request.clone());
    let context = &request["deviceRuntimeContext"];
    let hub = context["payload"]["wantHub"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            request["linkedHubs"]
                .as_array()
                .and_then(|l| l.last())
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Json(json!({
        "iotHubHostName": hub,
        "payload": {"chosenBy": "test-webhook", "echo": context["payload"]},
    }))
}

/// Starts the webhook on the current runtime; returns its URL and the requests it receives.
async fn webhook() -> (String, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/api/allocate", post(allocate))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{addr}/api/allocate?code=function-key"),
        seen,
    )
}

#[test]
fn the_webhook_chooses_the_hub_and_the_returned_payload() {
    let t = TestEmulator::start_with(|c| c.iot_hubs = vec![HUB_A.into(), HUB_B.into()]);
    let service = t.client();
    rt().block_on(async {
        let (url, seen) = webhook().await;
        let key = symmetric_group(&service, "custom-group", |g| {
            g.allocation_policy = Some(AllocationPolicy::Custom);
            g.custom_allocation_definition =
                Some(CustomAllocationDefinition::new(url, "2021-10-01"));
        })
        .await;
        let device = t.device(
            "custom-device",
            DeviceAuth::GroupKey(Secret::from(key.clone())),
        );
        let payload = json!({"model": "thermostat", "firmware": 3});
        let r = device
            .register(Some(
                RegisterOptions::default().with_payload(payload.clone()),
            ))
            .await
            .expect("assigned");
        assert_eq!(r.assigned_hub.as_deref(), Some(HUB_B));
        assert_eq!(
            (r.status, r.substatus),
            (
                RegistrationStatus::Assigned,
                Some(Substatus::InitialAssignment)
            )
        );
        assert_eq!(r.device_id.as_deref(), Some("custom-device"));
        let returned = json!({"chosenBy": "test-webhook", "echo": payload});
        assert_eq!(r.payload.as_ref(), Some(&returned));
        let state = service
            .get_registration_state("custom-device", None)
            .await
            .expect("state");
        assert_eq!(
            (state.assigned_hub.as_deref(), state.payload.as_ref()),
            (Some(HUB_B), Some(&returned))
        );

        let requests = seen.lock().expect("lock").clone();
        assert_eq!(requests.len(), 1, "{requests:?}");
        let sent = &requests[0];
        let context = &sent["deviceRuntimeContext"];
        assert_eq!(context["registrationId"], "custom-device");
        assert_eq!(context["payload"], payload);
        assert!(context["symmetricKey"].is_object(), "{context}");
        assert_eq!(sent["linkedHubs"], json!([HUB_A, HUB_B]));
        assert_eq!(sent["enrollmentGroup"]["enrollmentGroupId"], "custom-group");

        // On re-registration the webhook learns the current assignment; moving hubs migrates.
        let r = device
            .register(Some(
                RegisterOptions::default().with_payload(json!({"wantHub": HUB_A})),
            ))
            .await
            .expect("moved");
        assert_eq!(
            (r.assigned_hub.as_deref(), r.substatus),
            (Some(HUB_A), Some(Substatus::DeviceDataMigrated))
        );
        let second = seen.lock().expect("lock")[1].clone();
        assert_eq!(
            second["deviceRuntimeContext"]["currentIotHubHostName"],
            HUB_B
        );

        // A hub outside the linked list fails the registration with the webhook named.
        let e = device
            .register(Some(
                RegisterOptions::default()
                    .with_payload(json!({"wantHub": "rogue.azure-devices.net"})),
            ))
            .await
            .expect_err("failed");
        assert_refused(
            &e,
            ErrorKind::Failed,
            codes::BAD_REQUEST,
            &[
                "custom allocation webhook http://127.0.0.1:",
                "\"rogue.azure-devices.net\", which is not one of the linked hubs",
            ],
        );
        let state = service
            .get_registration_state("custom-device", None)
            .await
            .expect("state");
        assert_eq!(
            (state.status, state.error_code),
            (
                RegistrationStatus::Failed,
                Some(i64::from(codes::BAD_REQUEST))
            )
        );
    });
}
