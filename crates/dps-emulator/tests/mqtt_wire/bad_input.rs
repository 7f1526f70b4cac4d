//! Bad input, each its own test: the documented refusal, a bystander connection still served,
//! and no registration state for the misbehaving device (which is enrolled, so a state could
//! have been written).

use super::support::{
    API_2019, Conn, Env, RESPONSE_FILTER, SasForm, assert_dps_error, connect_packet, encode,
    in_an_hour, poll_topic, register_topic, sas, username, uuid,
};
use dps_protocol::codes;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet, Publish};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The misbehaving device of every test.
const ID: &str = "dev-bad";

/// An emulator (after `tweak`) with `ID` enrolled, a connected bystander, and `ID`'s CONNECT.
async fn setup(
    tweak: impl FnOnce(&mut dps_emulator::EmulatorConfig),
) -> (Env, super::support::Bystander, Connect) {
    let env = Env::start_with(tweak);
    let key = env.individual_key(ID).await;
    let bystander = env.bystander().await;
    let token = sas(SasForm::Python, env.scope(), ID, &key, in_an_hour());
    let connect = connect_packet(username(env.scope(), ID, API_2019, None), ID, Some(token));
    (env, bystander, connect)
}

/// The bystander is served and `ID` has no registration state.
async fn unharmed(env: &Env, bystander: super::support::Bystander) {
    bystander.assert_still_served().await;
    env.assert_no_registration(ID).await;
}

/// `ID` connected and subscribed.
async fn connected(env: &Env, connect: Connect) -> Conn {
    let mut conn = env.mqtt(None).await;
    conn.connect_ok(connect).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn garbage_before_connect_closes_without_a_connack() {
    let (env, bystander, connect) = setup(|_| {}).await;
    let garbage: [&[u8]; 3] = [
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0x30, 0x03, 0x00, 0x01, b'x'],
    ];
    for bytes in garbage {
        let mut conn = env.mqtt(None).await;
        conn.send_raw(bytes).await;
        conn.expect_closed().await;
    }
    // Garbage right after a valid CONNECT, before its CONNACK is read, closes too.
    let mut conn = env.mqtt(None).await;
    let mut bytes = encode(&Packet::Connect(connect));
    bytes.extend_from_slice(&[0xff; 8]);
    conn.send_raw(&bytes).await;
    assert!(matches!(conn.recv().await, Packet::ConnAck(_)));
    conn.expect_closed().await;
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_second_connect_closes_the_connection() {
    let (env, bystander, connect) = setup(|_| {}).await;
    let mut conn = connected(&env, connect.clone()).await;
    conn.send(Packet::Connect(connect)).await;
    conn.expect_closed().await;
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_unknown_packet_type_closes_the_connection() {
    let (env, bystander, connect) = setup(|_| {}).await;
    // Types 0 and 15 are reserved in MQTT 3.1.1.
    for bytes in [[0x00u8, 0x00], [0xf0, 0x00]] {
        let mut conn = connected(&env, connect.clone()).await;
        conn.send_raw(&bytes).await;
        conn.expect_closed().await;
    }
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_packet_only_a_server_sends_closes_the_connection() {
    let (env, bystander, connect) = setup(|_| {}).await;
    let mut conn = connected(&env, connect).await;
    conn.send(Packet::PingResp).await;
    conn.expect_closed().await;
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_publish_to_an_unknown_topic_closes_the_connection() {
    let (env, bystander, connect) = setup(|_| {}).await;
    for topic in [
        "devices/dev-bad/messages/events/",
        "$dps/registrations/POST/iotdps-register/?$rid=1",
    ] {
        let mut conn = connected(&env, connect.clone()).await;
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, b"{}".to_vec());
        publish.pkid = conn.next_pkid();
        conn.send(Packet::Publish(publish)).await;
        // No PUBACK: the publish is refused as a whole.
        conn.expect_closed().await;
    }
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_register_with_a_malformed_rid_closes_the_connection() {
    let (env, bystander, connect) = setup(|_| {}).await;
    let long = "7".repeat(129);
    let topics = [
        "$dps/registrations/PUT/iotdps-register/".to_owned(),
        "$dps/registrations/PUT/iotdps-register/?$rid=".to_owned(),
        "$dps/registrations/PUT/iotdps-register/?$rid=a$b".to_owned(),
        "$dps/registrations/PUT/iotdps-register/?rid=1".to_owned(),
        register_topic(&long),
    ];
    for topic in topics {
        let mut conn = connected(&env, connect.clone()).await;
        conn.send(Packet::Publish(Publish::new(
            topic,
            QoS::AtMostOnce,
            Vec::new(),
        )))
        .await;
        conn.expect_closed().await;
    }
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_poll_for_an_unknown_operation_is_answered_404() {
    let (env, bystander, connect) = setup(|_| {}).await;
    // Another device's operation is as unknown to this one as a made-up id.
    let mut owner = env.sas_device("dev-owner").await;
    let owned = super::support::assert_assigning(&owner.register(b"").await);
    let mut conn = connected(&env, connect).await;
    for operation_id in ["4.0123abcd.00000000-0000-0000-0000-000000000000", &owned] {
        let rid = uuid();
        let topic = poll_topic(&rid, operation_id);
        let answer = conn.request(&topic, &rid, QoS::AtLeastOnce, b" ").await;
        assert_eq!(
            (answer.status, answer.retry_after),
            (404, None),
            "{}",
            answer.body
        );
        assert_dps_error(&answer.body, codes::NOT_FOUND);
    }
    // The owner's operation is intact.
    let done = owner.poll(&owned).await;
    assert_eq!(done.status, 200, "{}", done.body);
    // The connection is still served.
    conn.send(Packet::PingReq).await;
    assert_eq!(conn.recv().await, Packet::PingResp);
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_register_body_that_is_not_a_json_object_is_answered_400() {
    let (env, bystander, connect) = setup(|_| {}).await;
    let mut conn = connected(&env, connect).await;
    for body in [&b"{"[..], b"[1]", b"\xff\xfe"] {
        let rid = uuid();
        let answer = conn
            .request(&register_topic(&rid), &rid, QoS::AtLeastOnce, body)
            .await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_dps_error(&answer.body, codes::BAD_REQUEST);
    }
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_client_id_other_than_the_user_names_gets_connack_2() {
    let (env, bystander, mut connect) = setup(|_| {}).await;
    connect.client_id = "someone-else".into();
    let mut conn = env.mqtt(None).await;
    conn.connect_refused(connect, ConnectReturnCode::BadClientId)
        .await;
    unharmed(&env, bystander).await;
    env.assert_no_registration("someone-else").await;
}

/// Sends a raw HTTP/1.1 request over TLS to the HTTPS listener; returns status and body.
async fn raw_http(env: &Env, request: &str) -> (u16, serde_json::Value) {
    let config = env.tls_config(None, rustls::DEFAULT_VERSIONS);
    let mut tls = env
        .tls(env.emulator.addr(), super::support::localhost(), config)
        .await;
    tls.write_all(request.as_bytes()).await.expect("write");
    let (head, mut bytes) = super::support::read_http_head(&mut tls).await;
    let mut chunk = [0u8; 4096];
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line: {head}"));
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    while bytes.len() < length {
        let n = tls.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed inside the body");
        bytes.extend_from_slice(&chunk[..n]);
    }
    let body = &bytes[..length];
    let json = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)));
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_websocket_upgrade_without_the_mqtt_subprotocol_is_answered_400() {
    let (env, bystander, _) = setup(|_| {}).await;
    let port = env.emulator.addr().port();
    for (path, protocol) in [
        ("/$iothub/websocket", None),
        ("/", None),
        ("/$iothub/websocket", Some("AMQPWSB10")),
    ] {
        let protocol = protocol
            .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{protocol}\r\n"
        );
        let (status, body) = raw_http(&env, &request).await;
        assert_eq!(status, 400, "{path} {protocol}: {body}");
        assert_dps_error(&body, codes::BAD_REQUEST);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("mqtt"), "{body}");
    }
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_oversized_packet_closes_the_connection() {
    let (env, bystander, connect) = setup(|c| c.limits.max_mqtt_packet_bytes = 1024).await;
    let body = format!("{{\"payload\": \"{}\"}}", "x".repeat(2000));
    let mut conn = connected(&env, connect.clone()).await;
    // Not a DPS request (an oversized register request is answered 413: tests/connections).
    let topic = format!("devices/{ID}/messages/events/");
    let mut publish = Publish::new(topic, QoS::AtLeastOnce, body.clone());
    publish.pkid = conn.next_pkid();
    conn.send(Packet::Publish(publish.clone())).await;
    conn.expect_closed().await;
    // Over WebSocket too.
    let (mut ws, _) = env.mqtt_ws("/$iothub/websocket", None).await;
    ws.connect_ok(connect).await;
    ws.send(Packet::Publish(publish)).await;
    ws.expect_closed().await;
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn no_connect_within_the_connect_timeout_closes_the_connection() {
    let default = dps_emulator::Limits::default().mqtt_connect_timeout;
    assert_eq!(default, std::time::Duration::from_secs(10));
    let (env, bystander, connect) =
        setup(|c| c.limits.mqtt_connect_timeout = std::time::Duration::from_millis(300)).await;
    // Nothing at all...
    let mut silent = env.mqtt(None).await;
    silent.expect_closed().await;
    // ...or a CONNECT that never ends.
    let mut partial = env.mqtt(None).await;
    let bytes = encode(&Packet::Connect(connect));
    partial.send_raw(&bytes[..bytes.len() / 2]).await;
    partial.expect_closed().await;
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn keep_alive_is_enforced_and_0_means_no_limit() {
    let (env, bystander, mut connect) = setup(|_| {}).await;
    let unlimited_id = "dev-keepalive-0";
    let key = env.individual_key(unlimited_id).await;
    let token = sas(SasForm::Node, env.scope(), unlimited_id, &key, in_an_hour());
    let user = username(env.scope(), unlimited_id, API_2019, None);
    let mut unlimited = connect_packet(user, unlimited_id, Some(token));
    unlimited.keep_alive = 0;
    let mut unlimited = connected(&env, unlimited).await;
    connect.keep_alive = 1;
    let mut conn = connected(&env, connect).await;
    // Silence past one and a half keep-alive periods: closed (no duration is asserted)...
    conn.expect_closed().await;
    // ...while the connection with keep-alive 0, as silent and for longer, is still served.
    unlimited.send(Packet::PingReq).await;
    assert_eq!(unlimited.recv().await, Packet::PingResp);
    unharmed(&env, bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_qos_2_publish_closes_the_connection() {
    let (env, bystander, connect) = setup(|_| {}).await;
    let mut conn = connected(&env, connect).await;
    let mut publish = Publish::new(register_topic(&uuid()), QoS::ExactlyOnce, Vec::new());
    publish.pkid = conn.next_pkid();
    conn.send(Packet::Publish(publish)).await;
    conn.expect_closed().await;
    unharmed(&env, bystander).await;
}
