//! Session rules a broker keeps and a careless device could trip on: answers only to a
//! subscribed device, no second operation for a redelivered request, MQTT 3.1.1 only, no
//! subscription beyond the response filter, an empty password beside a certificate, and
//! listeners that close connections which never finish their handshake.

use super::support::{
    API_2019, Env, Pki, RESPONSE_FILTER, WAIT, assert_assigning, connect_packet, register_topic,
    username, uuid,
};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{ConnectReturnCode, Packet, Publish};
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_device_that_has_not_subscribed_gets_no_answer() {
    let env = Env::start();
    let mut conn = env.connected("unsubscribed").await;
    let mut publish = Publish::new(register_topic(&uuid()), QoS::AtLeastOnce, b"".to_vec());
    publish.pkid = conn.next_pkid();
    conn.send(Packet::Publish(publish)).await;
    assert!(matches!(conn.recv().await, Packet::PubAck(_)));
    // The session answers in order: had it published an answer, it would come before this.
    conn.send(Packet::PingReq).await;
    match conn.recv().await {
        Packet::PingResp => {}
        other => panic!("expected no answer before PINGRESP, got {other:?}"),
    }
    // Once subscribed, the next request is answered.
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let rid = uuid();
    let answer = conn
        .request(&register_topic(&rid), &rid, QoS::AtLeastOnce, b"")
        .await;
    assert_assigning(&answer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_redelivered_request_gets_the_same_answer_not_a_second_operation() {
    let env = Env::start();
    let mut conn = env.sas_device("redelivered").await;
    let rid = uuid();
    let first = conn
        .request(&register_topic(&rid), &rid, QoS::AtLeastOnce, b"")
        .await;
    let operation = assert_assigning(&first);
    // The same packet id again, DUP set, as a client resends after a lost PUBACK.
    let mut again = Publish::new(register_topic(&rid), QoS::AtLeastOnce, b"".to_vec());
    again.pkid = conn.pkid_of_last_request();
    again.dup = true;
    conn.send(Packet::Publish(again)).await;
    assert!(matches!(conn.recv().await, Packet::PubAck(_)));
    let second = conn.answer(&rid).await;
    assert_eq!(assert_assigning(&second), operation, "{:?}", second.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn mqtt_3_1_is_refused_with_return_code_1() {
    let env = Env::start();
    let mut conn = env.mqtt(None).await;
    // CONNECT, protocol "MQIsdp" level 3 (MQTT 3.1), clean session, keep-alive 60, id "dev".
    let mut bytes = vec![0x10, 17, 0, 6];
    bytes.extend_from_slice(b"MQIsdp");
    bytes.extend_from_slice(&[3, 0x02, 0, 60, 0, 3]);
    bytes.extend_from_slice(b"dev");
    conn.send_raw(&bytes).await;
    match conn.recv().await {
        Packet::ConnAck(ack) => assert_eq!(ack.code, ConnectReturnCode::RefusedProtocolVersion),
        other => panic!("expected CONNACK 1, got {other:?}"),
    }
    conn.expect_closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_subscription_to_another_filter_is_refused_with_0x80() {
    let env = Env::start();
    for filter in [
        "$dps/registrations/res/+/#",
        "devices/x/messages/devicebound/#",
    ] {
        let mut conn = env.connected("curious").await;
        let ack = conn.subscribe(filter, QoS::AtLeastOnce).await;
        assert_eq!(
            ack.return_codes,
            [rumqttc::mqttbytes::v4::SubscribeReasonCode::Failure]
        );
        // The connection goes on.
        conn.send(Packet::PingReq).await;
        assert_eq!(conn.recv().await, Packet::PingResp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_empty_password_beside_a_certificate_is_an_x509_device() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    env.x509_group(&pki, "x509-group").await;
    let id = "empty-password";
    let device = pki.device(id);
    let mut conn = env.mqtt(Some(&device)).await;
    let user = username(env.scope(), id, API_2019, None);
    conn.connect_ok(connect_packet(user, id, Some(String::new())))
        .await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let state = conn.provision(b"").await;
    assert_eq!(state["status"], "assigned", "{state}");
    // Without a certificate, an empty password is a SAS that fails.
    let mut bare = env.mqtt(None).await;
    let user = username(env.scope(), id, API_2019, None);
    bare.connect_refused(
        connect_packet(user, id, Some(String::new())),
        ConnectReturnCode::NotAuthorized,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn connections_that_never_finish_their_handshake_are_closed() {
    let env = Env::start_with(|c| {
        c.limits.mqtt_connect_timeout = Duration::from_millis(300);
        c.limits.tls_handshake_timeout = Duration::from_millis(300);
        c.limits.http_header_timeout = Duration::from_millis(300);
    });
    for addr in [
        env.emulator.addr(),
        env.emulator.mqtt_addr().expect("MQTT on"),
    ] {
        // TCP only: no TLS ClientHello ever comes.
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(WAIT, tcp.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "{addr}: still open after {WAIT:?}: {read:?}"
        );
    }
    // TLS done, then no HTTP request on the HTTPS listener.
    let config = env.tls_config(None, rustls::DEFAULT_VERSIONS);
    let mut tls = env
        .tls(env.emulator.addr(), super::support::localhost(), config)
        .await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, tls.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "still open: {read:?}");
}
