//! Shared setup of the end-to-end tests: an emulator on an ephemeral 127.0.0.1 port in its own
//! temp folder, and clients that trust its CA.

pub mod browser;
pub mod interop;

use dps_emulator::{Emulator, EmulatorConfig};
use dps_service_client::{ClientOptions, ProvisioningServiceClient, RetryOptions};
use std::time::Duration;

/// An emulator with its temp folder; both go away on drop.
pub struct TestEmulator {
    /// The running emulator.
    pub emulator: Emulator,
    /// Its data folder.
    pub dir: tempfile::TempDir,
}

impl TestEmulator {
    /// Starts an in-memory emulator with test defaults.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Starts an emulator after `tweak` adjusts the test configuration.
    pub fn start_with(tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EmulatorConfig::for_tests(dir.path());
        tweak(&mut config);
        let emulator = Emulator::spawn(config).expect("emulator starts");
        Self { emulator, dir }
    }

    /// Client options that trust the emulator's CA and retry quickly.
    pub fn options(&self) -> ClientOptions {
        ClientOptions {
            trusted_ca_pem: vec![self.emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            retry: RetryOptions {
                initial_delay: Duration::from_millis(5),
                max_retries: 4,
                max_delay: Duration::from_millis(200),
            },
            ..ClientOptions::default()
        }
    }

    /// A service client with the owner policy.
    pub fn client(&self) -> ProvisioningServiceClient {
        ProvisioningServiceClient::from_connection_string(
            &self.emulator.service_connection_string(),
            Some(self.options()),
        )
        .expect("client")
    }

    /// A service client with the read-only policy.
    pub fn read_only_client(&self) -> ProvisioningServiceClient {
        ProvisioningServiceClient::from_connection_string(
            &self.emulator.read_only_connection_string(),
            Some(self.options()),
        )
        .expect("client")
    }
}

/// A tokio runtime for a test body.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// Raw HTTPS, SAS tokens and certificate chains, for the suites that look at the wire.

/// The api-version of raw requests unless a test says otherwise.
pub const API_VERSION: &str = "2021-10-01";

/// A raw HTTP response, read to the end.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): HTTP {} {}", self.status, self.text()))
    }
}

/// Sends a request and reads the whole response; panics on transport errors.
pub async fn send(request: reqwest::RequestBuilder) -> RawResponse {
    let resp = request.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("body read").to_vec();
    RawResponse {
        status,
        headers,
        body,
    }
}

/// An HTTPS client that trusts only `ca_pem`.
pub fn https_client(ca_pem: &str) -> reqwest::Client {
    let certs = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).expect("CA PEM");
    reqwest::Client::builder()
        .tls_certs_only(certs)
        .build()
        .expect("HTTP client")
}

/// Percent-encodes everything but `A-Z a-z 0-9 - . _ ~`, as Python's `quote_plus` and Node's
/// `encodeURIComponent` do for host names and base64 signatures.
pub fn url_encode(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

/// Base64 HMAC-SHA256 of `"{sr}\n{se}"` under the base64 `key`: the signature of a SAS token
/// whose `sr` is written exactly as `sr`.
pub fn sas_signature(sr: &str, se: u64, key: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &b64.decode(key).expect("base64 key"),
    );
    b64.encode(aws_lc_rs::hmac::sign(&key, format!("{sr}\n{se}").as_bytes()).as_ref())
}

/// Now, in unix seconds.
pub fn unix_now() -> u64 {
    dps_protocol::auth::unix_now()
}

impl TestEmulator {
    /// An HTTPS client that trusts the emulator's CA.
    pub fn https(&self) -> reqwest::Client {
        https_client(self.emulator.ca_pem())
    }

    /// `https://localhost:<port>{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.emulator.service_endpoint())
    }

    /// The key of the owner policy.
    pub fn owner_key(&self) -> String {
        key_of(&self.emulator.service_connection_string())
    }

    /// The key of the read-only policy.
    pub fn read_key(&self) -> String {
        key_of(&self.emulator.read_only_connection_string())
    }

    /// A valid owner SAS token for this emulator, as the SDK makes it.
    pub fn owner_token(&self) -> String {
        let key = dps_protocol::auth::Secret::from(self.owner_key());
        dps_protocol::auth::SasToken::generate(
            &self.emulator.host(),
            &key,
            Some(dps_emulator::config::OWNER_POLICY),
            unix_now() + 3600,
        )
        .expect("token")
    }

    /// A request to `path` (which may carry a query) with `api-version=2021-10-01` appended and
    /// the owner's SAS.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.request_exact(method, &format!("{path}{sep}api-version={API_VERSION}"))
    }

    /// A request to `path_and_query` exactly as given, with the owner's SAS.
    pub fn request_exact(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        self.https()
            .request(method, self.url(path_and_query))
            .header("authorization", self.owner_token())
    }

    /// Stops this emulator and starts a persistent one on the same data folder, after `tweak`.
    pub fn restart(self, tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let Self { emulator, dir } = self;
        emulator.shutdown();
        let mut config = EmulatorConfig::for_tests(dir.path());
        config.in_memory = false;
        tweak(&mut config);
        let emulator = Emulator::spawn(config).expect("emulator restarts");
        Self { emulator, dir }
    }
}

fn key_of(connection_string: &str) -> String {
    let cs: dps_protocol::auth::ConnectionString =
        connection_string.parse().expect("connection string");
    cs.shared_access_key()
        .expect("a shared access key")
        .expose()
        .to_owned()
}

/// A certGen.sh-style root and intermediate (ECDSA P-256, unencrypted keys) in a temp folder.
pub struct TestChain {
    /// The folder; removed on drop.
    pub dir: tempfile::TempDir,
    /// The certGen.sh layout inside it.
    pub certs: dps_certgen::CertDir,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    /// Makes a fresh chain.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let certs = dps_certgen::CertDir::new(dir.path());
        certs
            .create_root_and_intermediate(&dps_certgen::ChainOptions {
                algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
                password: None,
                ..Default::default()
            })
            .expect("chain");
        Self { dir, certs }
    }

    /// Options of leaf certificates signed by `signer`.
    pub fn leaf_options(signer: dps_certgen::Signer) -> dps_certgen::LeafOptions {
        dps_certgen::LeafOptions {
            algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
            password: None,
            signer,
            pfx: false,
            ..Default::default()
        }
    }

    /// The root CA certificate, PEM.
    pub fn root_pem(&self) -> String {
        read_text(&self.certs.cert_path(dps_certgen::ROOT_PREFIX))
    }

    /// The intermediate CA certificate, PEM.
    pub fn intermediate_pem(&self) -> String {
        read_text(&self.certs.cert_path(dps_certgen::INTERMEDIATE_PREFIX))
    }

    /// A proof-of-possession certificate with CN `code`, signed by `signer`, PEM.
    pub fn verification_pem(&self, code: &str, signer: dps_certgen::Signer) -> String {
        let out = self
            .certs
            .create_verification_certificate(code, &Self::leaf_options(signer))
            .expect("verification certificate");
        read_text(&out.issued[0].cert_path)
    }

    /// A device certificate with CN `name`, signed by the intermediate, PEM.
    pub fn device_pem(&self, name: &str) -> String {
        let out = self
            .certs
            .create_device_certificates(
                &[name.to_owned()],
                &Self::leaf_options(dps_certgen::Signer::Intermediate),
                &|_, _| {},
            )
            .expect("device certificate");
        read_text(&out.issued[0].cert_path)
    }
}

/// The DER of the first certificate in a PEM text.
pub fn der_of(pem: &str) -> Vec<u8> {
    dps_certgen::certs_from_bytes(pem.as_bytes())
        .expect("PEM")
        .first()
        .expect("a certificate")
        .to_vec()
}

fn read_text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl TestEmulator {
    /// A CA-certificate client for this emulator's certificate API, with the owner policy's key
    /// and a resource path of arbitrary names (the emulator ignores them).
    pub fn certificate_client(&self) -> dps_service_client::CertificateClient {
        let base = format!(
            "{}/subscriptions/s/resourceGroups/r/providers/Microsoft.Devices/provisioningServices/n",
            self.emulator.service_endpoint()
        );
        let credential = dps_service_client::Credential::SharedAccessKey {
            key_name: dps_emulator::config::OWNER_POLICY.to_owned(),
            key: dps_protocol::auth::Secret::from(self.owner_key()),
        };
        dps_service_client::CertificateClient::new(&base, credential, Some(self.options().into()))
            .expect("certificate client")
    }
}

// ---------------------------------------------------------------------------------------------
// Device end to end (tests/tests/device.rs): device certificates from a `TestChain`, device
// clients and raw device-API requests against a `TestEmulator`.
// ---------------------------------------------------------------------------------------------

/// A device certificate made from a [`TestChain`]: leaf, key and the CAs above it, all PEM.
#[derive(Debug, Clone)]
pub struct DeviceCert {
    /// The common name (the registration id when it is a valid one).
    pub name: String,
    /// The leaf certificate.
    pub leaf_pem: String,
    /// The leaf's private key.
    pub key_pem: String,
    /// The CA certificates above the leaf, nearest first (intermediate then root, or root).
    pub issuers_pem: Vec<String>,
}

impl DeviceCert {
    /// The leaf followed by the first `issuers` CA certificates, PEM.
    pub fn chain_pem(&self, issuers: usize) -> String {
        let mut pem = self.leaf_pem.clone();
        for issuer in self.issuers_pem.iter().take(issuers) {
            pem.push_str(issuer);
        }
        pem
    }

    /// X.509 auth presenting the leaf and the first `issuers` CA certificates.
    pub fn auth_with(&self, issuers: usize) -> dps_device_client::DeviceAuth {
        dps_device_client::DeviceAuth::x509(
            self.chain_pem(issuers).into_bytes(),
            self.key_pem.clone().into_bytes(),
        )
    }

    /// X.509 auth presenting the whole chain (leaf, intermediate, root).
    pub fn full_chain(&self) -> dps_device_client::DeviceAuth {
        self.auth_with(self.issuers_pem.len())
    }

    /// X.509 auth presenting the leaf alone.
    pub fn leaf_only(&self) -> dps_device_client::DeviceAuth {
        self.auth_with(0)
    }

    /// Key and chain (leaf + `issuers` CAs) as one PEM, for `reqwest::Identity::from_pem`.
    pub fn identity_pem(&self, issuers: usize) -> Vec<u8> {
        format!("{}\n{}", self.key_pem, self.chain_pem(issuers)).into_bytes()
    }
}

impl TestChain {
    fn issuers_of(&self, signer: dps_certgen::Signer) -> Vec<String> {
        match signer {
            dps_certgen::Signer::Intermediate => vec![self.intermediate_pem(), self.root_pem()],
            dps_certgen::Signer::Root => vec![self.root_pem()],
        }
    }

    /// A device certificate (30 days) with CN `name`, made by `create_device_certificates`.
    pub fn device(&self, name: &str, signer: dps_certgen::Signer) -> DeviceCert {
        self.device_for_days(name, signer, dps_certgen::DEFAULT_VALIDITY_DAYS)
    }

    /// A device certificate valid for `days` from now.
    pub fn device_for_days(
        &self,
        name: &str,
        signer: dps_certgen::Signer,
        days: u32,
    ) -> DeviceCert {
        let options = dps_certgen::LeafOptions {
            days,
            ..Self::leaf_options(signer)
        };
        let issued = self
            .certs
            .create_device_certificates(&[name.to_owned()], &options, &|_, _| {})
            .expect("device certificate")
            .issued
            .remove(0);
        DeviceCert {
            name: name.to_owned(),
            leaf_pem: read_text(&issued.cert_path),
            key_pem: read_text(&issued.key_path),
            issuers_pem: self.issuers_of(signer),
        }
    }

    /// A device certificate whose CN is not checked against the registration-id rule (e.g.
    /// `"bad device"`), signed directly with the loaded CA.
    pub fn device_unchecked(&self, common_name: &str, signer: dps_certgen::Signer) -> DeviceCert {
        let ca = self.certs.load_ca(signer, None).expect("CA loads");
        let leaf = ca
            .sign(&dps_certgen::CertSpec {
                common_name,
                profile: dps_certgen::Profile::Leaf,
                algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
                days: dps_certgen::DEFAULT_VALIDITY_DAYS,
            })
            .expect("leaf");
        DeviceCert {
            name: common_name.to_owned(),
            leaf_pem: leaf.cert_pem(),
            key_pem: dps_certgen::key_to_pem(leaf.key(), None).expect("key PEM"),
            issuers_pem: self.issuers_of(signer),
        }
    }
}

impl TestEmulator {
    /// Device client options: trust only the emulator's CA, poll quickly, short budget.
    pub fn device_options(&self) -> dps_device_client::DeviceClientOptions {
        dps_device_client::DeviceClientOptions {
            trusted_ca_pem: vec![self.emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            default_poll_interval: Duration::from_millis(10),
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            ..Default::default()
        }
    }

    /// A device client for `registration_id` in this emulator's ID scope.
    pub fn device(
        &self,
        registration_id: &str,
        auth: dps_device_client::DeviceAuth,
    ) -> dps_device_client::ProvisioningDeviceClient {
        dps_device_client::ProvisioningDeviceClient::new(
            &self.emulator.device_endpoint(),
            self.emulator.id_scope(),
            registration_id,
            auth,
            Some(self.device_options()),
        )
        .expect("device client")
    }

    /// A raw HTTPS client for the device API that trusts the emulator's CA and presents
    /// `identity` (key + chain PEM) as its TLS client certificate, if any.
    pub fn device_https(&self, identity: Option<&[u8]>) -> reqwest::Client {
        let certs = reqwest::Certificate::from_pem_bundle(self.emulator.ca_pem().as_bytes())
            .expect("CA PEM");
        let mut b = reqwest::Client::builder().tls_certs_only(certs);
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem).expect("identity PEM"));
        }
        b.build().expect("HTTP client")
    }

    /// `https://localhost:<port>/{idScope}/registrations/{path_id}{tail}?api-version=...`;
    /// `path_id` is put in the path as given (encode it yourself).
    pub fn device_url(&self, path_id: &str, tail: &str) -> String {
        format!(
            "{}/{}/registrations/{path_id}{tail}?api-version={API_VERSION}",
            self.emulator.device_endpoint(),
            self.emulator.id_scope()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Devices over MQTT (tests/tests/device_mqtt.rs): an emulator with its MQTT listener on
// 127.0.0.1:0 beside HTTPS, and device clients over each transport.
// ---------------------------------------------------------------------------------------------

impl TestEmulator {
    /// Starts an in-memory emulator with MQTT over TLS on a free 127.0.0.1 port (MQTT over
    /// WebSocket is always on its HTTPS listener).
    pub fn start_mqtt() -> Self {
        Self::start_mqtt_with(|_| {})
    }

    /// [`Self::start_mqtt`] after `tweak` adjusts the test configuration.
    pub fn start_mqtt_with(tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        Self::start_with(|c| {
            c.mqtt_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
            tweak(c);
        })
    }

    /// The endpoint a device client of `transport` is given: `mqtts://localhost:<mqtt port>`
    /// for MQTT (panics when MQTT is off), the HTTPS device endpoint otherwise (MQTT over
    /// WebSocket is served on it, and the client adds the path).
    pub fn device_endpoint_for(&self, transport: dps_device_client::Transport) -> String {
        match transport {
            dps_device_client::Transport::Mqtt => self
                .emulator
                .mqtt_endpoint()
                .expect("this emulator runs with MQTT on"),
            _ => self.emulator.device_endpoint(),
        }
    }

    /// A device client for `registration_id` speaking `transport`, with
    /// [`Self::device_options`].
    pub fn device_over(
        &self,
        transport: dps_device_client::Transport,
        registration_id: &str,
        auth: dps_device_client::DeviceAuth,
    ) -> dps_device_client::ProvisioningDeviceClient {
        dps_device_client::ProvisioningDeviceClient::new(
            &self.device_endpoint_for(transport),
            self.emulator.id_scope(),
            registration_id,
            auth,
            Some(dps_device_client::DeviceClientOptions {
                transport,
                ..self.device_options()
            }),
        )
        .expect("device client")
    }
}

/// Creates a symmetric-key enrollment group (service-generated keys) after `tweak`; returns
/// its primary key.
pub async fn symmetric_group(
    service: &ProvisioningServiceClient,
    id: &str,
    tweak: impl FnOnce(&mut dps_protocol::models::EnrollmentGroup),
) -> String {
    let mut group = dps_protocol::models::EnrollmentGroup::symmetric_key(id, None);
    tweak(&mut group);
    service
        .create_or_update_enrollment_group(&group, None)
        .await
        .expect("symmetric group");
    service
        .get_enrollment_group_attestation_mechanism(id, None)
        .await
        .expect("group keys")
        .symmetric_key
        .and_then(|k| k.primary_key)
        .expect("a primary key")
}

/// Creates a symmetric-key individual enrollment (service-generated keys) after `tweak`;
/// returns its (primary, secondary) key.
pub async fn symmetric_enrollment(
    service: &ProvisioningServiceClient,
    id: &str,
    tweak: impl FnOnce(&mut dps_protocol::models::IndividualEnrollment),
) -> (String, String) {
    let mut enrollment = dps_protocol::models::IndividualEnrollment::symmetric_key(id, None);
    tweak(&mut enrollment);
    service
        .create_or_update_enrollment(&enrollment, None)
        .await
        .expect("symmetric enrollment");
    let keys = service
        .get_enrollment_attestation_mechanism(id, None)
        .await
        .expect("enrollment keys")
        .symmetric_key
        .expect("symmetric keys");
    (
        keys.primary_key.expect("primary"),
        keys.secondary_key.expect("secondary"),
    )
}
