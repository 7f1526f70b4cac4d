//! [`ProvisioningDeviceClient`]: one registration, polled to its end.

use crate::error::{Error, ErrorKind, Result};
use dps_protocol::auth::{
    DEVICE_KEY_NAME, SasToken, Secret, derive_device_key, device_resource, unix_now,
};
use dps_protocol::errors::ErrorClass;
use dps_protocol::models::{
    DeviceRegistrationResult, RegistrationOperationStatus, RegistrationStatus,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant};

/// Azure's global device provisioning endpoint.
pub const GLOBAL_ENDPOINT: &str = "https://global.azure-devices-provisioning.net";

/// How the device proves its identity.
#[derive(Clone)]
#[non_exhaustive]
pub enum DeviceAuth {
    /// An X.509 certificate chain (PEM, leaf first, then every intermediate) and its private
    /// key (PEM, PKCS#8, PKCS#1 or SEC1), presented as the TLS client certificate.
    X509 {
        /// Leaf and intermediates, PEM.
        certificate_chain_pem: Vec<u8>,
        /// The leaf's private key, PEM.
        private_key_pem: Secret,
    },
    /// The individual enrollment's symmetric key (base64).
    SymmetricKey(Secret),
    /// An enrollment group's symmetric key (base64); the device key is derived from it and
    /// the registration id.
    GroupKey(Secret),
}

impl DeviceAuth {
    /// X.509 from PEM bytes.
    pub fn x509(certificate_chain_pem: Vec<u8>, private_key_pem: Vec<u8>) -> Self {
        DeviceAuth::X509 {
            certificate_chain_pem,
            private_key_pem: Secret::from(String::from_utf8_lossy(&private_key_pem).into_owned()),
        }
    }
}

impl fmt::Debug for DeviceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceAuth::X509 { .. } => "X509 { key: <redacted> }",
            DeviceAuth::SymmetricKey(_) => "SymmetricKey(<redacted>)",
            DeviceAuth::GroupKey(_) => "GroupKey(<redacted>)",
        })
    }
}

/// Options of [`ProvisioningDeviceClient`].
#[derive(Debug, Clone)]
pub struct DeviceClientOptions {
    /// The `api-version` sent (default `2021-10-01`).
    pub api_version: String,
    /// Extra CA certificates (PEM) to trust, e.g. the emulator's.
    pub trusted_ca_pem: Vec<Vec<u8>>,
    /// Trust only `trusted_ca_pem`, not the system roots.
    pub trust_only_custom_ca: bool,
    /// HTTP(S) proxy URL.
    pub proxy: Option<String>,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Upper bound of the whole registration, polls included.
    pub total_timeout: Duration,
    /// Wait between polls when the service sends no `Retry-After`.
    pub default_poll_interval: Duration,
    /// Cap on a single wait, whatever `Retry-After` says.
    pub max_poll_interval: Duration,
}

impl Default for DeviceClientOptions {
    fn default() -> Self {
        Self {
            api_version: "2021-10-01".to_owned(),
            trusted_ca_pem: Vec::new(),
            trust_only_custom_ca: false,
            proxy: None,
            request_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            default_poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(30),
        }
    }
}

/// Optional parameters of [`ProvisioningDeviceClient::register`].
///
/// ```
/// use dps_device_client::RegisterOptions;
/// let options = RegisterOptions::default().with_payload(serde_json::json!({"site": "lab"}));
/// assert!(options.payload.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RegisterOptions {
    /// Custom data for the allocation webhook, sent as the registration's `payload`.
    pub payload: Option<Value>,
}

impl RegisterOptions {
    /// These options with `payload`.
    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// Optional parameters of [`ProvisioningDeviceClient::registration_status`]. None yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistrationStatusOptions {}

/// Registers one device.
#[derive(Debug, Clone)]
pub struct ProvisioningDeviceClient {
    http: reqwest::Client,
    endpoint: url::Url,
    id_scope: String,
    registration_id: String,
    auth: DeviceAuth,
    options: DeviceClientOptions,
}

impl ProvisioningDeviceClient {
    /// A client for `registration_id` in `id_scope` at `endpoint` ([`GLOBAL_ENDPOINT`] for Azure,
    /// the emulator's `deviceEndpoint` offline).
    pub fn new(
        endpoint: &str,
        id_scope: &str,
        registration_id: &str,
        auth: DeviceAuth,
        options: Option<DeviceClientOptions>,
    ) -> Result<Self> {
        let options = options.unwrap_or_default();
        let invalid = |m: String| Error::new(ErrorKind::InvalidInput, m);
        let endpoint = url::Url::parse(
            if endpoint.contains("://") {
                endpoint.to_owned()
            } else {
                format!("https://{endpoint}")
            }
            .as_str(),
        )
        .map_err(|e| invalid(format!("invalid endpoint {endpoint:?}: {e}")))?;
        dps_protocol::check_registration_id(registration_id).map_err(|e| invalid(e.to_string()))?;
        if id_scope.is_empty() || !id_scope.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(format!("invalid ID scope {id_scope:?}")));
        }
        let mut b = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .user_agent(concat!("dps-rs-device/", env!("CARGO_PKG_VERSION")));
        let mut certs = Vec::new();
        for pem in &options.trusted_ca_pem {
            certs.extend(
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    invalid(format!("a trusted CA certificate is not valid PEM: {e}"))
                })?,
            );
        }
        b = if options.trust_only_custom_ca {
            b.tls_certs_only(certs)
        } else {
            b.tls_certs_merge(certs)
        };
        if let Some(p) = &options.proxy {
            b = b
                .proxy(reqwest::Proxy::all(p).map_err(|e| invalid(format!("invalid proxy: {e}")))?);
        }
        if let DeviceAuth::X509 {
            certificate_chain_pem,
            private_key_pem,
        } = &auth
        {
            let mut pem = private_key_pem.expose().as_bytes().to_vec();
            pem.push(b'\n');
            pem.extend_from_slice(certificate_chain_pem);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                invalid(format!(
                    "the certificate chain and key cannot be used for TLS: {e}"
                ))
            })?;
            b = b.identity(identity);
        }
        let http = b
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            id_scope: id_scope.to_owned(),
            registration_id: registration_id.to_owned(),
            auth,
            options,
        })
    }

    fn url(&self, tail: &str) -> url::Url {
        let mut u = self.endpoint.clone();
        u.set_path(&format!(
            "{}/{}/registrations/{}{tail}",
            self.endpoint.path().trim_end_matches('/'),
            self.id_scope,
            self.registration_id
        ));
        u.query_pairs_mut()
            .append_pair("api-version", &self.options.api_version);
        u
    }

    fn authorization(&self) -> Result<Option<String>> {
        let key = match &self.auth {
            DeviceAuth::X509 { .. } => return Ok(None),
            DeviceAuth::SymmetricKey(k) => k.clone(),
            DeviceAuth::GroupKey(g) => derive_device_key(g, &self.registration_id)
                .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("group key: {e}")))?,
        };
        let resource = device_resource(&self.id_scope, &self.registration_id);
        SasToken::generate(&resource, &key, Some(DEVICE_KEY_NAME), unix_now() + 3600)
            .map(Some)
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("cannot sign the SAS token: {e}"),
                )
            })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        tail: &str,
        body: &Value,
    ) -> Result<(u16, HeaderMap, Vec<u8>)> {
        let mut req = self
            .http
            .request(method, self.url(tail))
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body.to_string());
        if let Some(a) = self.authorization()? {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await.map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("cannot reach {}: {}", self.endpoint, chain(&e)),
            )
            .with_source(e)
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("reading the response: {}", chain(&e)),
            )
            .with_source(e)
        })?;
        Ok((status, headers, body.to_vec()))
    }

    /// Registers the device (with `options.payload`, custom data for the allocation webhook),
    /// polls until the service decides, and returns the assignment. A `failed` or `disabled`
    /// outcome is an error carrying the service's code and message.
    pub async fn register(
        &self,
        options: Option<RegisterOptions>,
    ) -> Result<DeviceRegistrationResult> {
        let options = options.unwrap_or_default();
        let started = Instant::now();
        let mut body = json!({"registrationId": self.registration_id});
        if let Some(p) = options.payload {
            body["payload"] = p;
        }
        let (mut op, mut hint) = loop {
            let (status, headers, bytes) =
                self.send(reqwest::Method::PUT, "/register", &body).await?;
            if let Some(wait) = self.transient_wait(status, &headers, started)? {
                tokio::time::sleep(wait).await;
                continue;
            }
            break (
                self.operation(status, &headers, &bytes)?,
                retry_after(&headers),
            );
        };
        tracing::debug!(operation = %op.operation_id, status = %op.status, "registration accepted");
        let tail = format!("/operations/{}", op.operation_id);
        while matches!(
            op.status,
            RegistrationStatus::Assigning | RegistrationStatus::Unassigned
        ) {
            let wait = self.poll_wait(hint);
            self.check_budget(started, wait)?;
            tokio::time::sleep(wait).await;
            let (status, headers, bytes) =
                self.send(reqwest::Method::GET, &tail, &json!({})).await?;
            hint = retry_after(&headers);
            if self.transient_wait(status, &headers, started)?.is_some() {
                continue;
            }
            op = self.operation(status, &headers, &bytes)?;
        }
        finish(op)
    }

    /// Asks for the device's current registration (`POST {idScope}/registrations/{id}`).
    pub async fn registration_status(
        &self,
        options: Option<RegistrationStatusOptions>,
    ) -> Result<DeviceRegistrationResult> {
        let _ = options;
        let body = json!({"registrationId": self.registration_id});
        let (status, headers, bytes) = self.send(reqwest::Method::POST, "", &body).await?;
        if !(200..300).contains(&status) {
            return Err(Error::from_response(status, &bytes, request_id(&headers)));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("unexpected registration status: {e}"),
            )
        })
    }

    fn operation(
        &self,
        status: u16,
        headers: &HeaderMap,
        bytes: &[u8],
    ) -> Result<RegistrationOperationStatus> {
        if !(200..300).contains(&status) {
            return Err(Error::from_response(status, bytes, request_id(headers)));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("unexpected operation status (HTTP {status}): {e}"),
            )
        })
    }

    /// For 429 and 5xx: how long to wait before trying again, within the budget.
    fn transient_wait(
        &self,
        status: u16,
        headers: &HeaderMap,
        started: Instant,
    ) -> Result<Option<Duration>> {
        if status == 429 || (500..=599).contains(&status) {
            let wait = self.poll_wait(retry_after(headers));
            if started.elapsed() + wait > self.options.total_timeout {
                return Err(Error::new(
                    ErrorClass::from_status(status).into(),
                    format!(
                        "the service kept answering HTTP {status} until the time budget ran out"
                    ),
                ));
            }
            return Ok(Some(wait));
        }
        Ok(None)
    }

    fn poll_wait(&self, hint: Option<Duration>) -> Duration {
        hint.unwrap_or(self.options.default_poll_interval)
            .min(self.options.max_poll_interval)
    }

    fn check_budget(&self, started: Instant, wait: Duration) -> Result<()> {
        if started.elapsed() + wait > self.options.total_timeout {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the registration did not finish within {:?}",
                    self.options.total_timeout
                ),
            ));
        }
        Ok(())
    }
}

/// The server's retry hint in any of its forms ([`dps_protocol::retry_after::delay`], as the
/// service client reads it).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    dps_protocol::retry_after::delay(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        std::time::SystemTime::now(),
    )
}

/// `x-ms-request-id`, which stands in for a missing `trackingId`.
fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-ms-request-id").and_then(|v| v.to_str().ok())
}

fn finish(op: RegistrationOperationStatus) -> Result<DeviceRegistrationResult> {
    let state = op.registration_state.ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "the operation ended ({}) without a registration state",
                op.status
            ),
        )
    })?;
    match &op.status {
        RegistrationStatus::Assigned => Ok(state),
        RegistrationStatus::Disabled => Err(Error::new(
            ErrorKind::Disabled,
            state
                .error_message
                .clone()
                .unwrap_or_else(|| "the enrollment is disabled".into()),
        )
        .with_code(state.error_code)),
        other => Err(Error::new(
            ErrorKind::Failed,
            state
                .error_message
                .clone()
                .unwrap_or_else(|| format!("registration ended with status {other}")),
        )
        .with_code(state.error_code)),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}
