//! MQTT over WebSocket on the HTTPS listener (both paths the SDKs use, the 101 response,
//! packets split across and combined within messages, X.509 through the TLS handshake), and
//! the TLS details the SDKs rely on: TLS 1.2 alone, and a server certificate for `localhost`
//! and `127.0.0.1`.

use super::support::{
    API_2019, Conn, Env, Pki, RESPONSE_FILTER, SasForm, assert_assigned, assert_assigning,
    connect_packet, encode, in_an_hour, localhost, poll_topic, read_http_head, register_topic, sas,
    username, uuid,
};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet, Publish, Subscribe};
use rustls::pki_types::ServerName;

/// An individual symmetric-key enrollment for `id` and its CONNECT (Python SAS form).
async fn sas_connect(env: &Env, id: &str) -> Connect {
    let key = env.individual_key(id).await;
    let token = sas(SasForm::Python, env.scope(), id, &key, in_an_hour());
    connect_packet(username(env.scope(), id, API_2019, None), id, Some(token))
}

/// CONNECT, SUBSCRIBE, register, poll on `conn`: assigned.
async fn provisions(env: &Env, conn: &mut Conn, connect: Connect) {
    let id = connect.client_id.clone();
    conn.connect_ok(connect).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let state = conn.provision(b"").await;
    assert_assigned(env, &state, &id).await;
}

/// Provisions over WebSocket at `path`, checking the 101 response.
async fn provisions_over_websocket(path: &str) {
    let env = Env::start();
    let id = "dev-ws";
    let connect = sas_connect(&env, id).await;
    let (mut conn, response) = env.mqtt_ws(path, None).await;
    assert_eq!(response.status().as_u16(), 101);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("sec-websocket-protocol").as_deref(), Some("mqtt"));
    assert!(
        header("connection").is_some_and(|v| v.eq_ignore_ascii_case("upgrade")),
        "{response:?}"
    );
    assert!(header("sec-websocket-accept").is_some(), "{response:?}");
    provisions(&env, &mut conn, connect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn mqtt_over_websocket_on_the_iothub_websocket_path() {
    provisions_over_websocket("/$iothub/websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn mqtt_over_websocket_on_the_root_path() {
    provisions_over_websocket("/").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_packet_split_across_two_websocket_messages() {
    let env = Env::start();
    let id = "dev-ws-split";
    let connect = sas_connect(&env, id).await;
    let (mut conn, _) = env.mqtt_ws("/$iothub/websocket", None).await;
    // CONNECT in two messages, split inside its fixed header; the register split in its body.
    let bytes = encode(&Packet::Connect(connect));
    conn.send_raw(&bytes[..1]).await;
    conn.send_raw(&bytes[1..]).await;
    match conn.recv().await {
        Packet::ConnAck(ack) => assert_eq!(ack.code, ConnectReturnCode::Success),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let rid = uuid();
    let publish = Publish::new(
        register_topic(&rid),
        QoS::AtMostOnce,
        br#"{"payload": null}"#,
    );
    let bytes = encode(&Packet::Publish(publish));
    let half = bytes.len() / 2;
    conn.send_raw(&bytes[..half]).await;
    conn.send_raw(&bytes[half..]).await;
    let op = assert_assigning(&conn.answer(&rid).await);
    let done = conn.poll(&op).await;
    assert_assigned(&env, &done.body["registrationState"], id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_packets_in_one_websocket_message() {
    let env = Env::start();
    let id = "dev-ws-combined";
    let connect = sas_connect(&env, id).await;
    let (mut conn, _) = env.mqtt_ws("/", None).await;
    // CONNECT and SUBSCRIBE in one message.
    let mut subscribe = Subscribe::new(RESPONSE_FILTER, QoS::AtLeastOnce);
    subscribe.pkid = conn.next_pkid();
    let mut bytes = encode(&Packet::Connect(connect));
    bytes.extend(encode(&Packet::Subscribe(subscribe)));
    conn.send_raw(&bytes).await;
    assert!(
        matches!(conn.recv().await, Packet::ConnAck(a) if a.code == ConnectReturnCode::Success)
    );
    assert!(matches!(conn.recv().await, Packet::SubAck(_)));
    // The register and a PINGREQ in one message, then the poll and another PINGREQ.
    let rid = uuid();
    let publish = Publish::new(register_topic(&rid), QoS::AtMostOnce, Vec::new());
    let mut bytes = encode(&Packet::Publish(publish));
    bytes.extend(encode(&Packet::PingReq));
    conn.send_raw(&bytes).await;
    let op = assert_assigning(&conn.answer(&rid).await);
    assert_eq!(conn.recv().await, Packet::PingResp);
    let rid = uuid();
    let publish = Publish::new(poll_topic(&rid, &op), QoS::AtMostOnce, b" ".to_vec());
    let mut bytes = encode(&Packet::Publish(publish));
    bytes.extend(encode(&Packet::PingReq));
    conn.send_raw(&bytes).await;
    let done = conn.answer(&rid).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_assigned(&env, &done.body["registrationState"], id).await;
    assert_eq!(conn.recv().await, Packet::PingResp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_x509_device_over_websocket_presents_its_chain_in_the_tls_handshake() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    env.x509_group(&pki, "ws-group").await;
    let id = "dev-ws-x509";
    let device = pki.device(id);
    let (mut conn, _) = env.mqtt_ws("/$iothub/websocket", Some(&device)).await;
    let user = username(env.scope(), id, API_2019, None);
    conn.connect_ok(connect_packet(user, id, None)).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let state = conn.provision(b"").await;
    assert_assigned(&env, &state, id).await;
    assert_eq!(state["x509"]["enrollmentGroupId"], "ws-group", "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_tls_1_2_only_client_provisions() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    env.x509_group(&pki, "tls12-group").await;
    let tls12: &[&'static rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
    let addr = env.emulator.mqtt_addr().expect("MQTT is on");
    // Symmetric key, as the Python SDK sends it.
    let connect = sas_connect(&env, "dev-tls12").await;
    let config = env.tls_config(None, tls12);
    let mut conn = Conn::tls(env.tls(addr, localhost(), config).await);
    assert_eq!(
        conn.tls_state().protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    provisions(&env, &mut conn, connect).await;
    // X.509, with the chain in the TLS 1.2 handshake.
    let id = "dev-tls12-x509";
    let device = pki.device(id);
    let config = env.tls_config(Some(&device), tls12);
    let mut conn = Conn::tls(env.tls(addr, localhost(), config).await);
    let user = username(env.scope(), id, API_2019, None);
    provisions(&env, &mut conn, connect_packet(user, id, None)).await;
    // And over WebSocket on the HTTPS listener, X.509 and symmetric key.
    let id = "dev-tls12-ws-x509";
    let device = pki.device(id);
    let config = env.tls_config(Some(&device), tls12);
    let (mut conn, _) = env.mqtt_ws_with("/$iothub/websocket", config).await;
    assert_eq!(
        conn.tls_state().protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    let user = username(env.scope(), id, API_2019, None);
    provisions(&env, &mut conn, connect_packet(user, id, None)).await;
    let connect = sas_connect(&env, "dev-tls12-ws").await;
    let config = env.tls_config(None, tls12);
    let (mut conn, _) = env.mqtt_ws_with("/$iothub/websocket", config).await;
    provisions(&env, &mut conn, connect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_server_certificate_is_valid_for_localhost_and_127_0_0_1() {
    let env = Env::start();
    let addr = env.emulator.mqtt_addr().expect("MQTT is on");
    let ip = ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
    for (i, name) in [localhost(), ip].into_iter().enumerate() {
        let connect = sas_connect(&env, &format!("dev-name-{i}")).await;
        let config = env.tls_config(None, rustls::DEFAULT_VERSIONS);
        let mut conn = Conn::tls(env.tls(addr, name, config).await);
        // A client that offers TLS 1.3 (Node) gets it.
        assert_eq!(
            conn.tls_state().protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        provisions(&env, &mut conn, connect).await;
    }
    // A name the certificate does not carry fails the handshake.
    let config = env.tls_config(None, rustls::DEFAULT_VERSIONS);
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("TCP connect");
    let other = ServerName::try_from("example.invalid").expect("name");
    let refused = tokio_rustls::TlsConnector::from(config)
        .connect(other, tcp)
        .await;
    assert!(refused.is_err(), "the certificate names example.invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn mqtt_over_websocket_is_recognised_by_its_upgrade_header_not_its_path() {
    provisions_over_websocket("/some/other/path").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_101_response_has_plain_header_lines_as_paho_reads_them() {
    let env = Env::start();
    let id = "dev-ws-raw";
    let connect = sas_connect(&env, id).await;
    let config = env.tls_config(None, rustls::DEFAULT_VERSIONS);
    let mut tls = env.tls(env.emulator.addr(), localhost(), config).await;
    let request = format!(
        "GET /$iothub/websocket HTTP/1.1\r\nHost: localhost:{}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
        env.emulator.addr().port()
    );
    tokio::io::AsyncWriteExt::write_all(&mut tls, request.as_bytes())
        .await
        .expect("write");
    let (head, rest) = read_http_head(&mut tls).await;
    assert!(rest.is_empty(), "{rest:?}");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    assert!(status.starts_with("HTTP/1.1 101"), "{head}");
    // `Name: value`, as paho splits them; the accept value is RFC 6455's for this key.
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (name, value) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("not `Name: value`: {l:?}"));
            (name.to_ascii_lowercase(), value.to_owned())
        })
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name}: {head}"))
    };
    assert!(get("connection").eq_ignore_ascii_case("upgrade"), "{head}");
    assert!(get("upgrade").eq_ignore_ascii_case("websocket"), "{head}");
    assert_eq!(get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(get("sec-websocket-protocol"), "mqtt");
    let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        tls,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    provisions(&env, &mut Conn::ws(ws), connect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_mqtt_client_offering_alpn_mqtt_is_served() {
    let env = Env::start();
    let connect = sas_connect(&env, "dev-alpn").await;
    let mut config = (*env.tls_config(None, rustls::DEFAULT_VERSIONS)).clone();
    config.alpn_protocols = vec![b"mqtt".to_vec()];
    let addr = env.emulator.mqtt_addr().expect("MQTT is on");
    let mut conn = Conn::tls(env.tls(addr, localhost(), config.into()).await);
    provisions(&env, &mut conn, connect).await;
}
