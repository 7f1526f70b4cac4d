//! The test side of the wire: an emulator with MQTT on, enrollments made through the service
//! client, SAS tokens in every SDK's spelling, certificate chains, and a raw MQTT connection
//! (TLS or WebSocket) whose packets are encoded and decoded by rumqttc's `mqttbytes`, a
//! different codebase from the server's codec.

pub(crate) use super::conn::{Conn, assert_assigning, assert_dps_error, encode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::auth::{SasToken, Secret};
use dps_protocol::models::{
    DeviceRegistrationState, EnrollmentGroup, IndividualEnrollment, SymmetricKeyAttestation,
};
use dps_service_client::{ClientOptions, ErrorKind, ProvisioningServiceClient};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, Login};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// How long any single expected event may take before the test fails. Generous: only a broken
/// server ever waits this long, and no test asserts a duration.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// The api-version Python, Node and C# put in the CONNECT user name.
pub(crate) const API_2019: &str = "2019-03-31";
/// The api-version of the C SDK.
pub(crate) const API_2021: &str = "2021-06-01";
/// What the emulator's tests configure as `retry_after_secs`, to see it echoed.
pub(crate) const RETRY_AFTER: u64 = 3;

/// The register topic for `rid`.
pub(crate) fn register_topic(rid: &str) -> String {
    format!("$dps/registrations/PUT/iotdps-register/?$rid={rid}")
}

/// The poll topic for `rid` and `operation_id`.
pub(crate) fn poll_topic(rid: &str, operation_id: &str) -> String {
    format!(
        "$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={operation_id}"
    )
}

/// The filter every SDK subscribes to.
pub(crate) const RESPONSE_FILTER: &str = "$dps/registrations/res/#";

/// A fresh random UUID (v4 form), as Python and Node use for `$rid`.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).expect("random bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A deterministic base64 key of 32 bytes for `seed`.
pub(crate) fn key_for(seed: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
    BASE64.encode(digest.as_ref())
}

/// Percent-encodes all but `A-Z a-z 0-9 - . _ ~` (Python's `quote`, Node's
/// `encodeURIComponent` for these inputs).
pub(crate) fn url_encode(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

/// Base64 HMAC-SHA256 of `"{sr}\n{se}"` under the base64 `key`, percent-encoded for the token.
fn signature(sr: &str, se: u64, key: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &BASE64.decode(key).expect("base64 key"),
    );
    let tag = aws_lc_rs::hmac::sign(&key, format!("{sr}\n{se}").as_bytes());
    url_encode(&BASE64.encode(tag.as_ref()))
}

/// The ways the SDKs spell a device SAS token.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SasForm {
    /// Python: `sr` percent-encoded, signed as encoded, no `skn`.
    Python,
    /// Node: `sr` raw, signed raw, `skn=registration` before `se`.
    Node,
    /// C and C#: `sr` encoded, signed encoded, with `skn` (dps-protocol's own generator).
    CSharp,
    /// The C/C# fields in another order: `se`, `skn`, `sig`, `sr`.
    Reordered,
    /// `sr` percent-encoded with lower-case hex digits (`%2f`), signed as written.
    LowerHex,
}

/// A device SAS token for `{scope}/registrations/{id}` signed with the base64 `key`.
pub(crate) fn sas(form: SasForm, scope: &str, id: &str, key: &str, expiry: u64) -> String {
    let resource = format!("{scope}/registrations/{id}");
    let encoded = url_encode(&resource);
    match form {
        SasForm::Python => format!(
            "SharedAccessSignature sr={encoded}&sig={}&se={expiry}",
            signature(&encoded, expiry, key)
        ),
        SasForm::Node => format!(
            "SharedAccessSignature sr={resource}&sig={}&skn=registration&se={expiry}",
            signature(&resource, expiry, key)
        ),
        SasForm::CSharp => {
            SasToken::generate(&resource, &Secret::from(key), Some("registration"), expiry)
                .expect("token")
        }
        SasForm::LowerHex => {
            let lower = encoded.replace("%2F", "%2f");
            format!(
                "SharedAccessSignature sr={lower}&sig={}&se={expiry}&skn=registration",
                signature(&lower, expiry, key)
            )
        }
        SasForm::Reordered => format!(
            "SharedAccessSignature se={expiry}&skn=registration&sig={}&sr={encoded}",
            signature(&encoded, expiry, key)
        ),
    }
}

/// An hour from now, in unix seconds.
pub(crate) fn in_an_hour() -> u64 {
    dps_protocol::auth::unix_now() + 3600
}

/// `{scope}/registrations/{id}/api-version={v}[&ClientVersion={agent, percent-encoded}]`.
pub(crate) fn username(scope: &str, id: &str, api_version: &str, agent: Option<&str>) -> String {
    let mut name = format!("{scope}/registrations/{id}/api-version={api_version}");
    if let Some(agent) = agent {
        name.push_str("&ClientVersion=");
        name.push_str(&url_encode(agent));
    }
    name
}

/// A CONNECT as the SDKs send it: client id `id`, clean session, keep-alive 60 s.
pub(crate) fn connect_packet(username: String, id: &str, password: Option<String>) -> Connect {
    let mut c = Connect::new(id);
    c.keep_alive = 60;
    c.clean_session = true;
    c.login = Some(Login::new(username, password.unwrap_or_default()));
    c
}

/// A TLS client identity: the certificate chain (leaf first) and the leaf's key.
pub(crate) struct Identity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl Identity {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone().into())
    }
}

fn spec(common_name: &str, profile: Profile) -> CertSpec<'_> {
    CertSpec {
        common_name,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    }
}

/// A root and an intermediate CA (ECDSA P-256) in memory, the root also in a file for
/// `EmulatorConfig::ca_certificates`.
pub(crate) struct Pki {
    root: Credential,
    intermediate: Credential,
    root_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let root =
            Credential::self_signed(&spec("mqtt-wire test root", Profile::RootCa)).expect("root");
        let intermediate = root
            .sign(&spec(
                "mqtt-wire test intermediate",
                Profile::IntermediateCa,
            ))
            .expect("intermediate");
        let dir = tempfile::tempdir().expect("temp dir");
        let root_file = dir.path().join("root.pem");
        std::fs::write(&root_file, root.cert_pem()).expect("write root");
        Self {
            root,
            intermediate,
            root_file,
            _dir: dir,
        }
    }

    /// The intermediate CA certificate, PEM.
    pub(crate) fn intermediate_pem(&self) -> String {
        self.intermediate.cert_pem()
    }

    /// A device certificate with CN `id`, signed by the intermediate, presented with it.
    pub(crate) fn device(&self, id: &str) -> Identity {
        let leaf = self
            .intermediate
            .sign(&spec(id, Profile::Leaf))
            .expect("leaf");
        Identity {
            chain: vec![leaf.der().clone(), self.intermediate.der().clone()],
            key: leaf.key().serialized_der().to_vec(),
        }
    }

    /// A device certificate with CN `id` presented with the whole chain, root included, as
    /// the Python SDK sends its certificate file.
    pub(crate) fn device_with_root(&self, id: &str) -> Identity {
        let mut identity = self.device(id);
        identity.chain.push(self.root.der().clone());
        identity
    }
}

/// A self-signed device certificate with CN `id`, and its PEM (for individual enrollments,
/// or as a rogue certificate).
pub(crate) fn self_signed_device(id: &str) -> (Identity, String) {
    let leaf = Credential::self_signed(&spec(id, Profile::Leaf)).expect("self-signed leaf");
    let pem = leaf.cert_pem();
    (
        Identity {
            chain: vec![leaf.der().clone()],
            key: leaf.key().serialized_der().to_vec(),
        },
        pem,
    )
}

/// An emulator with MQTT on 127.0.0.1:0 and a service client for it.
///
/// Tests run on a multi-threaded runtime so that, while dropping the emulator waits for its
/// HTTPS connections to end, the service client's pooled connection (dropped first) can close.
pub(crate) struct Env {
    pub(crate) service: ProvisioningServiceClient,
    pub(crate) emulator: Emulator,
    _dir: tempfile::TempDir,
}

impl Env {
    /// Starts an emulator after `tweak` adjusts the configuration.
    pub(crate) fn start_with(tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EmulatorConfig {
            mqtt_listen: Some("127.0.0.1:0".parse().expect("address")),
            retry_after_secs: RETRY_AFTER,
            ..EmulatorConfig::for_tests(dir.path().join("data"))
        };
        tweak(&mut config);
        let emulator = Emulator::spawn(config).expect("emulator starts");
        let options = ClientOptions {
            trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..ClientOptions::default()
        };
        let service = ProvisioningServiceClient::from_connection_string(
            &emulator.service_connection_string(),
            Some(options),
        )
        .expect("service client");
        Self {
            emulator,
            service,
            _dir: dir,
        }
    }

    /// Starts an emulator with test defaults.
    pub(crate) fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Starts an emulator whose CA store holds `pki`'s root, verified.
    pub(crate) fn with_root(pki: &Pki) -> Self {
        Self::start_with(|c| c.ca_certificates = vec![("root".into(), pki.root_file.clone())])
    }

    pub(crate) fn scope(&self) -> &str {
        self.emulator.id_scope()
    }

    /// Creates an individual symmetric-key enrollment for `id`; returns its primary key.
    pub(crate) async fn individual_key(&self, id: &str) -> String {
        let key = key_for(id);
        let keys = SymmetricKeyAttestation::new(key.clone(), key_for(&format!("{id}/2")));
        self.service
            .create_or_update_enrollment(&IndividualEnrollment::symmetric_key(id, Some(keys)), None)
            .await
            .expect("symmetric enrollment");
        key
    }

    /// Creates a symmetric-key group after `tweak`; returns its primary key.
    pub(crate) async fn group_key(
        &self,
        group_id: &str,
        tweak: impl FnOnce(&mut EnrollmentGroup),
    ) -> String {
        let key = key_for(group_id);
        let keys = SymmetricKeyAttestation::new(key.clone(), key_for(&format!("{group_id}/2")));
        let mut group = EnrollmentGroup::symmetric_key(group_id, Some(keys));
        tweak(&mut group);
        self.service
            .create_or_update_enrollment_group(&group, None)
            .await
            .expect("symmetric group");
        key
    }

    /// Creates an X.509 group on `pki`'s intermediate.
    pub(crate) async fn x509_group(&self, pki: &Pki, group_id: &str) {
        let group = EnrollmentGroup::x509_signing(group_id, pki.intermediate_pem(), None);
        self.service
            .create_or_update_enrollment_group(&group, None)
            .await
            .expect("X.509 group");
    }

    /// The registration state the service keeps for `id`.
    pub(crate) async fn registration(&self, id: &str) -> DeviceRegistrationState {
        self.service
            .get_registration_state(id, None)
            .await
            .expect("registration state")
    }

    /// Asserts that the service has no registration state for `id`.
    pub(crate) async fn assert_no_registration(&self, id: &str) {
        match self.service.get_registration_state(id, None).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            other => panic!("{id} has a registration state: {other:?}"),
        }
    }

    /// A TLS client configuration that trusts only the emulator's CA.
    pub(crate) fn tls_config(
        &self,
        identity: Option<&Identity>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in dps_certgen::certs_from_bytes(self.emulator.ca_pem().as_bytes()).expect("CA") {
            roots.add(cert).expect("CA certificate");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("protocol versions")
            .with_root_certificates(roots);
        let config = match identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key())
                .expect("client certificate"),
            None => builder.with_no_client_auth(),
        };
        Arc::new(config)
    }

    /// A TLS connection to `addr` under `server_name`.
    pub(crate) async fn tls(
        &self,
        addr: SocketAddr,
        server_name: ServerName<'static>,
        config: Arc<rustls::ClientConfig>,
    ) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(addr).await.expect("TCP connect");
        tokio_rustls::TlsConnector::from(config)
            .connect(server_name, tcp)
            .await
            .expect("TLS handshake")
    }

    /// MQTT over TLS to the MQTT listener as `localhost`, presenting `identity` if any.
    pub(crate) async fn mqtt(&self, identity: Option<&Identity>) -> Conn {
        let config = self.tls_config(identity, rustls::DEFAULT_VERSIONS);
        let addr = self.emulator.mqtt_addr().expect("MQTT is on");
        Conn::tls(self.tls(addr, localhost(), config).await)
    }

    /// MQTT over WebSocket on the HTTPS listener at `path`, subprotocol `mqtt`; returns the
    /// connection and the 101 response.
    pub(crate) async fn mqtt_ws(
        &self,
        path: &str,
        identity: Option<&Identity>,
    ) -> (
        Conn,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ) {
        let config = self.tls_config(identity, rustls::DEFAULT_VERSIONS);
        self.mqtt_ws_with(path, config).await
    }

    /// [`Self::mqtt_ws`] with a TLS configuration of the test's own.
    pub(crate) async fn mqtt_ws_with(
        &self,
        path: &str,
        config: Arc<rustls::ClientConfig>,
    ) -> (
        Conn,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ) {
        let tls = self.tls(self.emulator.addr(), localhost(), config).await;
        let url = format!("wss://localhost:{}{path}", self.emulator.addr().port());
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("header"));
        let (ws, response) = tokio_tungstenite::client_async(request, tls)
            .await
            .expect("WebSocket handshake");
        (Conn::ws(ws), response)
    }

    /// A connected, subscribed symmetric-key device that has not registered yet: a bystander
    /// that must still be served after another connection misbehaves.
    pub(crate) async fn bystander(&self) -> Bystander {
        Bystander {
            conn: self.sas_device("bystander-device").await,
        }
    }

    /// A connected device with an individual symmetric key (C# SAS form), not subscribed.
    pub(crate) async fn connected(&self, id: &str) -> Conn {
        let key = self.individual_key(id).await;
        self.connected_with_key(id, &key).await
    }

    async fn connected_with_key(&self, id: &str, key: &str) -> Conn {
        let token = sas(SasForm::CSharp, self.scope(), id, key, in_an_hour());
        let mut conn = self.mqtt(None).await;
        let user = username(self.scope(), id, API_2019, None);
        conn.connect_ok(connect_packet(user, id, Some(token))).await;
        conn
    }

    /// A connected, subscribed device with an individual symmetric key (C# SAS form).
    pub(crate) async fn sas_device(&self, id: &str) -> Conn {
        let mut conn = self.connected(id).await;
        conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
        conn
    }

    /// A connected, subscribed device signing with `key` (a group-derived key).
    pub(crate) async fn group_device(&self, id: &str, key: &str) -> Conn {
        let mut conn = self.connected_with_key(id, key).await;
        conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
        conn
    }
}

/// The server name `localhost`.
pub(crate) fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("server name")
}

/// A device connected before another connection misbehaved.
pub(crate) struct Bystander {
    conn: Conn,
}

impl Bystander {
    /// Asserts that its connection is still served: it registers and is assigned.
    pub(crate) async fn assert_still_served(mut self) {
        let state = self.conn.provision(b"").await;
        assert_eq!(state["status"], "assigned", "{state}");
        assert_eq!(state["deviceId"], "bystander-device", "{state}");
    }
}

/// Asserts a final `registrationState` assigns `id` to the default hub, and that the service
/// keeps the same.
pub(crate) async fn assert_assigned(env: &Env, state: &Value, id: &str) {
    let hub = dps_emulator::config::DEFAULT_IOT_HUB;
    assert_eq!(state["registrationId"], id, "{state}");
    assert_eq!(state["status"], "assigned", "{state}");
    assert_eq!(state["assignedHub"], hub, "{state}");
    assert_eq!(state["deviceId"], id, "{state}");
    for field in [
        "createdDateTimeUtc",
        "lastUpdatedDateTimeUtc",
        "etag",
        "substatus",
    ] {
        assert!(state[field].is_string(), "no {field}: {state}");
    }
    let kept = env.registration(id).await;
    assert_eq!(
        (
            kept.status,
            kept.assigned_hub.as_deref(),
            kept.device_id.as_deref()
        ),
        (
            dps_protocol::models::RegistrationStatus::Assigned,
            Some(hub),
            Some(id)
        )
    );
}

/// Reads an HTTP/1.1 response head from `tls`; returns it and the bytes read after it.
pub(crate) async fn read_http_head(tls: &mut TlsStream<TcpStream>) -> (String, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, tls.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before the response: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
            return (head, bytes[end + 4..].to_vec());
        }
    }
}
