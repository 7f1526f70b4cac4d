//! Requests and their answers: SUBSCRIBE grants, register and poll publishes at QoS 0 and 1
//! with every SDK's body, the response topics (`$rid` first and exact, `retry-after`), the
//! bodies, and a custom payload that travels to the webhook and back.

use super::support::{
    Env, RESPONSE_FILTER, RETRY_AFTER, assert_assigned, assert_assigning, assert_dps_error,
    poll_topic, register_topic, uuid,
};
use axum::Json;
use axum::extract::State;
use dps_protocol::auth::{Secret, derive_device_key};
use dps_protocol::models::{AllocationPolicy, CustomAllocationDefinition};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Packet, SubscribeReasonCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn subscribe_at_qos_1_is_granted_qos_1() {
    let env = Env::start();
    let id = "dev-sub-1";
    let mut conn = env.connected(id).await;
    let ack = conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    assert_eq!(
        ack.return_codes,
        [SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    let state = conn.provision(b"").await;
    assert_assigned(&env, &state, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn subscribe_at_qos_2_is_granted_qos_1() {
    let env = Env::start();
    let id = "dev-sub-2";
    let mut conn = env.connected(id).await;
    let ack = conn.subscribe(RESPONSE_FILTER, QoS::ExactlyOnce).await;
    assert_eq!(
        ack.return_codes,
        [SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    let state = conn.provision(b"").await;
    assert_assigned(&env, &state, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn register_at_qos_0_is_answered_without_a_puback() {
    let env = Env::start();
    let id = "dev-qos0";
    let mut conn = env.sas_device(id).await;
    let rid = uuid();
    // `request` at QoS 0 reads the next packet as the answer: a PUBACK would fail it.
    let accepted = conn
        .request(&register_topic(&rid), &rid, QoS::AtMostOnce, b"")
        .await;
    let op = assert_assigning(&accepted);
    let rid = uuid();
    let done = conn
        .request(&poll_topic(&rid, &op), &rid, QoS::AtMostOnce, b" ")
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_assigned(&env, &done.body["registrationState"], id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn register_at_qos_1_gets_a_puback_then_the_answer() {
    let env = Env::start();
    let id = "dev-qos1";
    let mut conn = env.sas_device(id).await;
    let rid = uuid();
    // `request` at QoS 1 asserts the PUBACK with the request's packet id first.
    let accepted = conn
        .request(&register_topic(&rid), &rid, QoS::AtLeastOnce, b"")
        .await;
    let op = assert_assigning(&accepted);
    let done = conn.poll(&op).await;
    assert_ne!(
        done.pkid, accepted.pkid,
        "each response has its own packet id"
    );
    assert_assigned(&env, &done.body["registrationState"], id).await;
}

/// Registers `id` with `body` and asserts it is assigned.
async fn body_is_accepted(id: &str, body: &[u8]) {
    let env = Env::start();
    let mut conn = env.sas_device(id).await;
    let state = conn.provision(body).await;
    assert_assigned(&env, &state, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn register_body_of_python_with_a_null_payload() {
    body_is_accepted(
        "dev-body-python",
        br#"{"payload": null, "registrationId": "dev-body-python"}"#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn register_body_of_node_with_a_payload() {
    body_is_accepted(
        "dev-body-node",
        br#"{"registrationId": "dev-body-node", "payload": {"model": "m1"}}"#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn register_body_of_csharp_is_empty() {
    body_is_accepted("dev-body-csharp", b"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn register_body_of_a_single_space() {
    body_is_accepted("dev-body-space", b" ").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_registration_id_in_the_body_other_than_connects_is_refused_as_over_https() {
    let env = Env::start();
    let id = "dev-body-id";
    env.individual_key("someone-else").await;
    let mut conn = env.sas_device(id).await;
    for body in [
        &br#"{"payload": null, "registrationId": "someone-else"}"#[..],
        br#"{"registrationId": 5}"#,
    ] {
        let rid = uuid();
        let answer = conn
            .request(&register_topic(&rid), &rid, QoS::AtLeastOnce, body)
            .await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_dps_error(&answer.body, dps_protocol::codes::BAD_REQUEST);
    }
    env.assert_no_registration(id).await;
    env.assert_no_registration("someone-else").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn poll_bodies_blank_and_empty() {
    let env = Env::start();
    let id = "dev-poll-bodies";
    let mut conn = env.sas_device(id).await;
    let op = assert_assigning(&conn.register(b"").await);
    for body in [&b" "[..], b""] {
        let rid = uuid();
        let done = conn
            .request(&poll_topic(&rid, &op), &rid, QoS::AtLeastOnce, body)
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_assigned(&env, &done.body["registrationState"], id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn answers_202_with_retry_after_until_done_then_200_with_the_registration_state() {
    let env = Env::start_with(|c| c.pending_polls = 1);
    let id = "dev-answers";
    let mut conn = env.sas_device(id).await;
    let accepted = conn.register(b"").await;
    let op = assert_assigning(&accepted);
    assert_eq!(
        accepted.body.get("registrationState"),
        None,
        "{}",
        accepted.body
    );
    let waiting = conn.poll(&op).await;
    assert_eq!(
        (waiting.status, waiting.retry_after),
        (202, Some(RETRY_AFTER)),
        "{}",
        waiting.body
    );
    assert_eq!(
        waiting.body,
        json!({"operationId": op, "status": "assigning",
               "registrationState": {"registrationId": id, "status": "assigning"}})
    );
    let done = conn.poll(&op).await;
    assert_eq!(
        (done.status, done.retry_after),
        (200, None),
        "{}",
        done.body
    );
    assert_eq!(done.body["operationId"], op.as_str());
    assert_eq!(done.body["status"], "assigned");
    assert_assigned(&env, &done.body["registrationState"], id).await;
    let pkids = [accepted.pkid, waiting.pkid, done.pkid];
    assert!(pkids[0] < pkids[1] && pkids[1] < pkids[2], "{pkids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn numeric_request_ids_like_the_c_sdks_are_echoed_exactly() {
    let env = Env::start();
    let id = "dev-numeric-rid";
    let mut conn = env.sas_device(id).await;
    // `request` asserts the answer's topic carries `$rid` first and exactly as sent.
    let accepted = conn
        .request(&register_topic("1"), "1", QoS::AtMostOnce, b"")
        .await;
    let op = assert_assigning(&accepted);
    for rid in ["2", "65535", "0042"] {
        let done = conn
            .request(&poll_topic(rid, &op), rid, QoS::AtMostOnce, b"")
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
    }
    // And the register topic without the `/` before `?`, as some clients write it.
    let rid = uuid();
    let again = conn
        .request(
            &format!("$dps/registrations/PUT/iotdps-register?$rid={rid}"),
            &rid,
            QoS::AtLeastOnce,
            b"",
        )
        .await;
    assert_assigning(&again);
}

type Seen = Arc<Mutex<Vec<Value>>>;

/// The custom-allocation webhook: the last linked hub, and a payload echoing the device's.
async fn allocate(State(seen): State<Seen>, Json(request): Json<Value>) -> Json<Value> {
    seen.lock().expect("lock").push(request.clone());
    Json(json!({
        "iotHubHostName": dps_emulator::config::DEFAULT_IOT_HUB,
        "payload": {"echo": request["deviceRuntimeContext"]["payload"]},
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_custom_payload_travels_to_the_webhook_and_back() {
    let seen = Seen::default();
    let router = axum::Router::new()
        .route("/allocate", axum::routing::post(allocate))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/allocate",
        listener.local_addr().expect("address")
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let env = Env::start();
    let group_key = env
        .group_key("custom-group", |g| {
            g.allocation_policy = Some(AllocationPolicy::Custom);
            g.custom_allocation_definition =
                Some(CustomAllocationDefinition::new(url, "2021-10-01"));
        })
        .await;
    let bodies = [
        // Node: registration id and payload; C#: the payload alone; Python: a null payload.
        (
            "node-payload",
            json!({"registrationId": "node-payload", "payload": {"model": "thermostat", "fw": 3}}),
        ),
        ("csharp-payload", json!({"payload": {"model": "meter"}})),
        (
            "python-payload",
            json!({"payload": null, "registrationId": "python-payload"}),
        ),
    ];
    for (id, body) in bodies {
        let key = derive_device_key(&Secret::from(group_key.as_str()), id).expect("derived key");
        let mut conn = env.group_device(id, key.expose()).await;
        let state = conn.provision(body.to_string().as_bytes()).await;
        assert_assigned(&env, &state, id).await;
        let returned = json!({"echo": body["payload"]});
        assert_eq!(state["payload"], returned, "{id}: {state}");
        let kept = env.registration(id).await;
        assert_eq!(kept.payload.as_ref(), Some(&returned), "{id}");
        let sent = seen
            .lock()
            .expect("lock")
            .pop()
            .expect("the webhook was called");
        assert_eq!(sent["deviceRuntimeContext"]["registrationId"], id);
        assert_eq!(
            sent["deviceRuntimeContext"]["payload"], body["payload"],
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn pingreq_and_unsubscribe_are_answered() {
    let env = Env::start();
    let mut conn = env.sas_device("dev-ping").await;
    conn.send(Packet::PingReq).await;
    assert_eq!(conn.recv().await, Packet::PingResp);
    let mut unsubscribe = rumqttc::mqttbytes::v4::Unsubscribe::new(RESPONSE_FILTER);
    unsubscribe.pkid = conn.next_pkid();
    let pkid = unsubscribe.pkid;
    conn.send(Packet::Unsubscribe(unsubscribe)).await;
    match conn.recv().await {
        Packet::UnsubAck(ack) => assert_eq!(ack.pkid, pkid),
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
    conn.send(Packet::Disconnect).await;
    conn.expect_closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_throttled_request_is_answered_429_with_retry_after_and_the_dps_body() {
    let env = Env::start_with(|c| {
        c.quotas = Some(dps_emulator::Quotas {
            operations_per_minute: 1000,
            registrations_per_minute: 1,
        });
    });
    let id = "dev-throttled";
    let mut conn = env.sas_device(id).await;
    let op = assert_assigning(&conn.register(b"").await);
    let throttled = conn.poll(&op).await;
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    let retry_after = throttled.retry_after.expect("retry-after in the topic");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_dps_error(&throttled.body, dps_protocol::codes::THROTTLED);
}
