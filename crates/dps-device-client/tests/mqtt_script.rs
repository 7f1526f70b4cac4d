//! The MQTT transport against a scripted broker on 127.0.0.1:0 (TLS, packets through the
//! `mqtt-proto` codec): every field the device sends is checked against the wire facts of
//! DPS provisioning over MQTT, and the broker answers what a test needs (stray responses,
//! 429, assigning, refusals), which the emulator never does on purpose.

use dps_device_client::{
    DeviceAuth, DeviceClientOptions, ErrorKind, ProvisioningDeviceClient, RegisterOptions,
    Transport,
};
use dps_protocol::auth::{SasToken, Secret};
use mqtt_proto::v3::{Connack, ConnectReturnCode, Packet, Publish, Suback, SubscribeReturnCode};
use mqtt_proto::{Pid, Protocol, QoS, QosPid, TopicName};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

const SCOPE: &str = "0ne00000001";
const KEY: &str = "ZGV2aWNlIGtleSBmb3IgdGhlIHNjcmlwdGVkIGJyb2tlcg==";

type Stream = TlsStream<tokio::net::TcpStream>;

/// A broker: the listener, its TLS acceptor, and the CA (its own certificate) to trust.
struct Broker {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ca_pem: String,
}

impl Broker {
    async fn start() -> Self {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server config");
        Self {
            listener: TcpListener::bind("127.0.0.1:0").await.expect("bind"),
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_pem: cert.pem(),
        }
    }

    fn client(&self, registration_id: &str, timeout: Duration) -> ProvisioningDeviceClient {
        let port = self.listener.local_addr().expect("address").port();
        ProvisioningDeviceClient::new(
            &format!("mqtts://127.0.0.1:{port}"),
            SCOPE,
            registration_id,
            DeviceAuth::SymmetricKey(Secret::from(KEY)),
            Some(DeviceClientOptions {
                transport: Transport::Mqtt,
                trusted_ca_pem: vec![self.ca_pem.clone().into_bytes()],
                trust_only_custom_ca: true,
                default_poll_interval: Duration::from_millis(10),
                request_timeout: Duration::from_secs(10),
                total_timeout: timeout,
                ..DeviceClientOptions::default()
            }),
        )
        .expect("client")
    }

    async fn accept(&self) -> Stream {
        let (tcp, _) = self.listener.accept().await.expect("accept");
        self.acceptor.accept(tcp).await.expect("TLS handshake")
    }
}

async fn read(s: &mut Stream) -> Packet {
    Packet::decode_async(s).await.expect("a packet")
}

async fn write(s: &mut Stream, p: Packet) {
    p.encode_async(s).await.expect("written");
}

async fn connack(s: &mut Stream, code: ConnectReturnCode) {
    write(s, Packet::Connack(Connack::new(false, code))).await;
}

/// Publishes a response at QoS 1 with packet id `pid` and checks the device acknowledges it.
async fn respond(s: &mut Stream, pid: u16, topic: &str, body: &Value) {
    let pid = Pid::try_from(pid).expect("pid");
    let publish = Publish::new(
        QosPid::Level1(pid),
        TopicName::try_from(topic).expect("topic"),
        body.to_string().into_bytes().into(),
    );
    write(s, Packet::Publish(publish)).await;
    assert_eq!(
        read(s).await,
        Packet::Puback(pid),
        "the device acks {topic}"
    );
}

/// Reads a QoS 1 request publish, acknowledges it, and returns its topic's query and body.
async fn request(s: &mut Stream, prefix: &str) -> (String, Vec<u8>) {
    let Packet::Publish(p) = read(s).await else {
        panic!("expected a publish to {prefix}");
    };
    let topic = p.topic_name.to_string();
    let query = topic
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{topic} does not start with {prefix}"))
        .to_owned();
    let QosPid::Level1(pid) = p.qos_pid else {
        panic!("{topic}: not QoS 1");
    };
    assert!(!p.retain, "{topic}: retained");
    write(s, Packet::Puback(pid)).await;
    (query, p.payload.to_vec())
}

/// The `$rid` of a request query (`$rid=...` first).
fn rid(query: &str) -> String {
    let first = query.split('&').next().expect("a parameter");
    let rid = first.strip_prefix("$rid=").expect("$rid first");
    assert!(!rid.is_empty() && !rid.contains('$'), "{rid:?}");
    rid.to_owned()
}

const REGISTER: &str = "$dps/registrations/PUT/iotdps-register/?";
const POLL: &str = "$dps/registrations/GET/iotdps-get-operationstatus/?";

fn assigned(id: &str) -> Value {
    json!({
        "operationId": "op-1",
        "status": "assigned",
        "registrationState": {
            "registrationId": id,
            "status": "assigned",
            "assignedHub": "hub.azure-devices.net",
            "deviceId": id,
            "payload": {"hello": "device"},
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_speaks_as_the_device_sdks_do() {
    let broker = Broker::start().await;
    let client = broker.client("dev-1", Duration::from_secs(30));
    let device = tokio::spawn(async move {
        client
            .register(Some(
                RegisterOptions::default().with_payload(json!({"site": "lab"})),
            ))
            .await
    });
    let mut s = broker.accept().await;

    // CONNECT: client id, username, the SAS as password, a clean 3.1.1 session.
    let Packet::Connect(c) = read(&mut s).await else {
        panic!("CONNECT first");
    };
    assert_eq!(c.protocol, Protocol::V311);
    assert!(c.clean_session);
    assert_eq!(c.keep_alive, 60);
    assert_eq!(&*c.client_id, "dev-1");
    let agent = format!("dps-rs-device%2F{}", env!("CARGO_PKG_VERSION"));
    let username =
        format!("{SCOPE}/registrations/dev-1/api-version=2019-03-31&ClientVersion={agent}");
    assert_eq!(c.username.as_deref(), Some(username.as_str()));
    let password = String::from_utf8(c.password.expect("a password").to_vec()).expect("text");
    let token = SasToken::parse(&password).expect("a SAS token");
    token
        .verify(
            &[&Secret::from(KEY)],
            &format!("{SCOPE}/registrations/dev-1"),
            dps_protocol::auth::unix_now(),
            0,
        )
        .expect("signed with the device key for its registration");
    assert!(c.last_will.is_none());
    connack(&mut s, ConnectReturnCode::Accepted).await;

    // SUBSCRIBE to every response at QoS 1.
    let Packet::Subscribe(sub) = read(&mut s).await else {
        panic!("SUBSCRIBE second");
    };
    let filters: Vec<(String, QoS)> = sub
        .topics
        .iter()
        .map(|(f, q)| (f.to_string(), *q))
        .collect();
    assert_eq!(
        filters,
        [("$dps/registrations/res/#".to_owned(), QoS::Level1)]
    );
    let suback = Suback::new(sub.pid, vec![SubscribeReturnCode::MaxLevel1]);
    write(&mut s, Packet::Suback(suback)).await;

    // The register request, answered first with 429 (the device tries again)...
    let (query, body) = request(&mut s, REGISTER).await;
    let body: Value = serde_json::from_slice(&body).expect("JSON body");
    assert_eq!(
        body,
        json!({"registrationId": "dev-1", "payload": {"site": "lab"}})
    );
    let first = rid(&query);
    assert_eq!(query, format!("$rid={first}"));
    respond(
        &mut s,
        1,
        &format!("$dps/registrations/res/429/?$rid={first}&retry-after=0"),
        &json!({}),
    )
    .await;

    // ... then a stray response to another request (ignored), then "assigning".
    let (query, _) = request(&mut s, REGISTER).await;
    let second = rid(&query);
    assert_ne!(second, first, "a fresh $rid per request");
    respond(
        &mut s,
        2,
        "$dps/registrations/res/200/?$rid=not-yours",
        &assigned("someone-else"),
    )
    .await;
    let assigning = json!({"operationId": "op-1", "status": "assigning"});
    respond(
        &mut s,
        3,
        &format!("$dps/registrations/res/202/?$rid={second}&retry-after=0"),
        &assigning,
    )
    .await;

    // The poll names the operation; its answer ends the registration.
    let (query, body) = request(&mut s, POLL).await;
    let third = rid(&query);
    assert_eq!(query, format!("$rid={third}&operationId=op-1"));
    assert!(
        body.iter().all(u8::is_ascii_whitespace),
        "poll body {body:?}"
    );
    respond(
        &mut s,
        4,
        &format!("$dps/registrations/res/200/?$rid={third}"),
        &assigned("dev-1"),
    )
    .await;

    // DISCONNECT closes the connection cleanly.
    assert_eq!(read(&mut s).await, Packet::Disconnect);
    let r = device.await.expect("joined").expect("assigned");
    assert_eq!(r.device_id.as_deref(), Some("dev-1"));
    assert_eq!(r.assigned_hub.as_deref(), Some("hub.azure-devices.net"));
    assert_eq!(r.payload, Some(json!({"hello": "device"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_response_is_the_dps_error_and_the_device_disconnects() {
    let broker = Broker::start().await;
    let client = broker.client("dev-2", Duration::from_secs(30));
    let device = tokio::spawn(async move { client.register(None).await });
    let mut s = broker.accept().await;
    assert!(matches!(read(&mut s).await, Packet::Connect(_)));
    connack(&mut s, ConnectReturnCode::Accepted).await;
    let Packet::Subscribe(sub) = read(&mut s).await else {
        panic!("SUBSCRIBE");
    };
    write(
        &mut s,
        Packet::Suback(Suback::new(sub.pid, vec![SubscribeReturnCode::MaxLevel1])),
    )
    .await;
    let (query, _) = request(&mut s, REGISTER).await;
    let code = dps_protocol::codes::UNAUTHORIZED;
    let error = json!({
        "errorCode": code.get(),
        "trackingId": "track-1",
        "message": "Invalid certificate.",
        "timestampUtc": "2024-01-01T00:00:00Z",
    });
    respond(
        &mut s,
        1,
        &format!("$dps/registrations/res/401/?{query}"),
        &error,
    )
    .await;
    assert_eq!(read(&mut s).await, Packet::Disconnect);
    let e = device.await.expect("joined").expect_err("refused");
    assert_eq!(
        (e.kind(), e.status(), e.code(), e.tracking_id()),
        (
            ErrorKind::Unauthorized,
            Some(401),
            Some(code),
            Some("track-1")
        )
    );
    assert_eq!(e.message(), "Invalid certificate.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connack_refusals_become_error_kinds() {
    for (code, kind) in [
        (ConnectReturnCode::NotAuthorized, ErrorKind::Unauthorized),
        (
            ConnectReturnCode::BadUserNameOrPassword,
            ErrorKind::Unauthorized,
        ),
        (ConnectReturnCode::ServerUnavailable, ErrorKind::Server),
    ] {
        let broker = Arc::new(Broker::start().await);
        // Unavailable is tried again within the budget: every connection gets the same answer.
        // The budget is short, yet long enough for a first TLS handshake on a loaded machine
        // (50 ms was not, once, in CI: the error was then a plain timeout).
        let client = broker.client("dev-3", Duration::from_millis(1500));
        let server = broker.clone();
        let refuser = tokio::spawn(async move {
            let mut connects = 0;
            loop {
                let mut s = server.accept().await;
                assert!(matches!(read(&mut s).await, Packet::Connect(_)));
                connects += 1;
                connack(&mut s, code).await;
                if code != ConnectReturnCode::ServerUnavailable {
                    return connects;
                }
            }
        });
        let e = client.register(None).await.expect_err("refused");
        assert_eq!(e.kind(), kind, "{code:?}: {e}");
        assert!(e.message().contains("refused the MQTT CONNECT"), "{e}");
        assert_eq!(e.status(), None);
        if code == ConnectReturnCode::ServerUnavailable {
            assert!(e.message().contains("until the time budget ran out"), "{e}");
            refuser.abort();
        } else {
            assert!(e.message().contains("the emulator's log"), "{e}");
            assert_eq!(
                refuser.await.expect("joined"),
                1,
                "refused once, not retried"
            );
        }
    }
}
