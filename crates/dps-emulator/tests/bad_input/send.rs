//! Sending a row: an emulator on 127.0.0.1, reqwest trusting its CA (HTTP/1.1), hand-written
//! HTTP/1.1 over TLS for framing rows, and the credentials and certificates rows name.

use super::table::{Auth, ClientCert, Row, Sent, Text, Via};
use base64::Engine;
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::auth::{SasToken, Secret, unix_now};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long any one answer may take before the test gives up (generous; never asserted).
const WAIT: Duration = Duration::from_secs(30);

/// A running emulator and what the rows need of it.
pub(crate) struct Env {
    client: reqwest::Client,
    emulator: Option<Emulator>,
    /// A self-signed CA certificate (DER), for certificate rows.
    ca_der: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Got {
    /// HTTP status.
    pub(crate) status: u16,
    /// `Content-Type`.
    pub(crate) content_type: Option<String>,
    /// `x-ms-error-code`.
    pub(crate) error_code_header: Option<String>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

/// An HTTPS client trusting only `ca_pem`, HTTP/1.1, presenting `identity` (key + cert PEM).
pub(crate) fn client(ca_pem: &str, identity: Option<&[u8]>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM");
    let mut b = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .http1_only()
        .timeout(WAIT);
    if let Some(pem) = identity {
        b = b.identity(reqwest::Identity::from_pem(pem).expect("identity PEM"));
    }
    b.build().expect("client")
}

/// A self-signed end-entity certificate with common name `cn`, as key + certificate PEM.
pub(crate) fn identity_pem(cn: &str) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    format!("{}\n{}", key.serialize_pem(), cert.pem()).into_bytes()
}

impl Env {
    /// An in-memory emulator on 127.0.0.1:0, after `tweak`.
    pub(crate) async fn start(tweak: impl FnOnce(&mut EmulatorConfig) + Send + 'static) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EmulatorConfig::for_tests(dir.path());
        tweak(&mut config);
        let emulator = tokio::task::spawn_blocking(move || Emulator::spawn(config))
            .await
            .expect("spawn task")
            .expect("emulator starts");
        let ca = dps_certgen::Credential::self_signed(&dps_certgen::CertSpec {
            common_name: "Bad Input Test CA",
            profile: dps_certgen::Profile::RootCa,
            algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
            days: 30,
        })
        .expect("CA");
        Self {
            client: client(emulator.ca_pem(), None),
            ca_der: ca.der().to_vec(),
            emulator: Some(emulator),
            _dir: dir,
        }
    }

    /// The emulator.
    pub(crate) fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("running")
    }

    /// Stops the emulator (off the runtime's threads, as it blocks).
    pub(crate) async fn stop(mut self) {
        let emulator = self.emulator.take();
        drop(self.client);
        if let Some(e) = emulator {
            tokio::task::spawn_blocking(move || e.shutdown())
                .await
                .expect("shutdown");
        }
    }

    fn key(connection_string: &str) -> Secret {
        Secret::from(
            connection_string
                .rsplit_once("SharedAccessKey=")
                .map(|(_, k)| k.to_owned())
                .expect("key"),
        )
    }

    /// The `Authorization` value of `auth` for `path`, if any.
    pub(crate) fn authorization(&self, auth: Auth) -> Option<String> {
        let e = self.emulator();
        let owner = Self::key(&e.service_connection_string());
        let other = Secret::from(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        let owner_policy = Some(dps_emulator::config::OWNER_POLICY);
        let sas = |host: &str, key: &Secret, policy, expiry| {
            SasToken::generate(host, key, policy, expiry).expect("token")
        };
        let hour = unix_now() + 3600;
        Some(match auth {
            Auth::None | Auth::Anonymous => return None,
            Auth::Owner => sas(&e.host(), &owner, owner_policy, hour),
            Auth::WrongKey => sas(&e.host(), &other, owner_policy, hour),
            Auth::Expired => sas(&e.host(), &owner, owner_policy, unix_now() - 3600),
            Auth::OtherAudience => sas("evil.example.com", &owner, owner_policy, hour),
            Auth::Garbage => "SharedAccessSignature garbage".into(),
            Auth::Bearer => "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.x".into(),
            Auth::ReadOnly => sas(
                &e.host(),
                &Self::key(&e.read_only_connection_string()),
                Some(dps_emulator::config::READ_POLICY),
                hour,
            ),
            Auth::DeviceWrongKey => sas(
                &format!("{}/registrations/dev-1", e.id_scope()),
                &other,
                Some("registration"),
                hour,
            ),
        })
    }

    /// The bytes a [`Text`] sends.
    pub(crate) fn bytes(&self, text: &Text) -> Vec<u8> {
        match &text.sent {
            Sent::Bytes(b) => b.clone(),
            Sent::CertWithTrailingBytes { template, junk } => {
                let mut der = self.ca_der.clone();
                der.extend_from_slice(junk);
                let b64 = base64::engine::general_purpose::STANDARD.encode(der);
                template.replace("{cert}", &b64).into_bytes()
            }
        }
    }

    /// Sends a row and reads the answer.
    pub(crate) async fn send(&self, row: &Row) -> Got {
        match row.via {
            Via::Reqwest => self.send_reqwest(row).await,
            Via::RawHttp1 => self.send_raw(row).await,
        }
    }

    async fn send_reqwest(&self, row: &Row) -> Got {
        let e = self.emulator();
        let client = match row.cert {
            ClientCert::None => self.client.clone(),
            ClientCert::CommonNameOf(n) => client(e.ca_pem(), Some(&identity_pem(&"a".repeat(n)))),
        };
        let path = String::from_utf8(self.bytes(&row.path)).expect("UTF-8 path");
        let method = reqwest::Method::from_bytes(row.method.as_bytes()).expect("method");
        let mut req = client.request(method, format!("https://{}{path}", e.host()));
        if let Some(a) = self.authorization(row.auth) {
            req = req.header("authorization", a);
        }
        for (n, v) in &row.headers {
            req = req.header(*n, *v);
        }
        if row.default_content_type() {
            req = req.header("content-type", "application/json");
        }
        if !row.body.is_empty() {
            req = req.body(self.bytes(&row.body));
        }
        let resp = req.send().await.expect("request sent");
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Got {
            status: resp.status().as_u16(),
            content_type: header("content-type"),
            error_code_header: header("x-ms-error-code"),
            body: resp.bytes().await.expect("body").to_vec(),
        }
    }

    /// Writes the row by hand: request line, `Host`, the SAS, the row's headers, and
    /// `Content-Length` only when there is a body and the row names none.
    async fn send_raw(&self, row: &Row) -> Got {
        let e = self.emulator();
        let path = String::from_utf8(self.bytes(&row.path)).expect("UTF-8 path");
        let body = self.bytes(&row.body);
        let mut head = format!("{} {path} HTTP/1.1\r\nHost: {}\r\n", row.method, e.host());
        if let Some(a) = self.authorization(row.auth) {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        for (n, v) in &row.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty()
            && !row
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        raw_exchange(e, &bytes).await
    }

    /// `GET path?api-version=…` with the owner's SAS.
    pub(crate) async fn get(&self, path: &str) -> Got {
        let row = super::table::row("", "", "GET", &format!("{path}?api-version=2021-10-01"));
        self.send(&row).await
    }
}

/// Sends `request` over a new TLS connection to the emulator's HTTPS listener and reads one
/// response (by its `Content-Length`, or chunked).
pub(crate) async fn raw_exchange(emulator: &Emulator, request: &[u8]) -> Got {
    let mut roots = rustls::RootCertStore::empty();
    for cert in dps_certgen::certs_from_bytes(emulator.ca_pem().as_bytes()).expect("CA") {
        roots.add(cert).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(emulator.addr())
        .await
        .expect("TCP connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    tls.write_all(request).await.expect("write");
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = async {
        loop {
            if let Some(got) = parse_response(&bytes) {
                return got;
            }
            let n = tls.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return parse_response(&bytes).unwrap_or(Got {
                    status: 0,
                    content_type: None,
                    error_code_header: None,
                    body: bytes.clone(),
                });
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("an answer in time")
}

/// One whole HTTP/1.1 response in `bytes`, if it has arrived.
fn parse_response(bytes: &[u8]) -> Option<Got> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let rest = &bytes[end + 4..];
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else {
        let len: usize = header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        rest.get(..len)?.to_vec()
    };
    Some(Got {
        status,
        content_type: header("content-type"),
        error_code_header: header("x-ms-error-code"),
        body,
    })
}

/// A whole chunked body, if it has arrived.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&rest[..line_end])
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}
