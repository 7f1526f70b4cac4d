//! [`ProvisioningDeviceClient`]: one registration, polled to its end.

use crate::error::{Error, ErrorKind, Result};
use crate::https::{Call, HttpsTransport};
use crate::mqtt::{MqttSession, MqttTransport};
use crate::transport::{Reply, Target, Transport};
use dps_protocol::auth::{
    DEVICE_KEY_NAME, SasToken, Secret, derive_device_key, device_resource, unix_now,
};
use dps_protocol::errors::ErrorClass;
use dps_protocol::models::{
    DeviceRegistrationResult, RegistrationOperationStatus, RegistrationStatus,
};
use serde_json::{Value, json};
use std::fmt;
use std::time::{Duration, Instant};

/// The agent the client names itself with: the HTTP `User-Agent`, and the MQTT username's
/// `ClientVersion`.
pub(crate) const USER_AGENT: &str = concat!("dps-rs-device/", env!("CARGO_PKG_VERSION"));

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
    /// The protocol: HTTPS (the default), MQTT or MQTT over WebSocket. How the endpoint is read
    /// for each is on [`Transport`].
    pub transport: Transport,
    /// The `api-version` sent over HTTPS (default `2021-10-01`). MQTT sends `2019-03-31` in
    /// its username, as the official device SDKs do.
    pub api_version: String,
    /// Extra CA certificates (PEM) to trust, e.g. the emulator's.
    pub trusted_ca_pem: Vec<Vec<u8>>,
    /// Trust only `trusted_ca_pem`, not the system roots (on every transport).
    pub trust_only_custom_ca: bool,
    /// HTTP(S) proxy URL (HTTPS transport only; the MQTT transports refuse one).
    pub proxy: Option<String>,
    /// Timeout of one request: an HTTP exchange, or an MQTT connection or response.
    pub request_timeout: Duration,
    /// Upper bound of the whole registration, polls included.
    pub total_timeout: Duration,
    /// Wait between polls when the service sends no `Retry-After` (over MQTT: no
    /// `retry-after` in the response topic), and between CONNECTs refused as unavailable.
    pub default_poll_interval: Duration,
    /// Cap on a single wait, whatever `Retry-After` says.
    pub max_poll_interval: Duration,
}

impl Default for DeviceClientOptions {
    fn default() -> Self {
        Self {
            transport: Transport::Https,
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
///
/// Over HTTPS every request is its own exchange; over MQTT one connection carries the
/// registration and its polls and is closed with DISCONNECT when the outcome is known.
#[derive(Debug, Clone)]
pub struct ProvisioningDeviceClient {
    inner: Inner,
    id_scope: String,
    registration_id: String,
    auth: DeviceAuth,
    options: DeviceClientOptions,
}

#[derive(Debug, Clone)]
enum Inner {
    Https(HttpsTransport),
    Mqtt(MqttTransport),
}

/// The connection of one registration.
enum Session<'a> {
    Https(&'a HttpsTransport),
    Mqtt(Box<MqttSession>),
}

impl ProvisioningDeviceClient {
    /// A client for `registration_id` in `id_scope` at `endpoint` ([`GLOBAL_ENDPOINT`] for Azure,
    /// the emulator's `deviceEndpoint` offline, or its `mqttEndpoint` for MQTT), speaking
    /// `options.transport` ([`Transport`] says how each reads the endpoint).
    pub fn new(
        endpoint: &str,
        id_scope: &str,
        registration_id: &str,
        auth: DeviceAuth,
        options: Option<DeviceClientOptions>,
    ) -> Result<Self> {
        let options = options.unwrap_or_default();
        let invalid = |m: String| Error::new(ErrorKind::InvalidInput, m);
        let target = crate::transport::resolve(endpoint, options.transport).map_err(invalid)?;
        dps_protocol::check_registration_id(registration_id).map_err(|e| invalid(e.to_string()))?;
        if id_scope.is_empty() || !id_scope.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(format!("invalid ID scope {id_scope:?}")));
        }
        let inner = match target {
            Target::Https(url) => Inner::Https(HttpsTransport::new(
                url,
                device_resource(id_scope, registration_id),
                &auth,
                &options,
            )?),
            mqtt => {
                if options.proxy.is_some() {
                    return Err(invalid(format!(
                        "a proxy is supported over HTTPS only, not over {}",
                        options.transport
                    )));
                }
                let tls = crate::tls::client_config(&options, &auth)?;
                Inner::Mqtt(MqttTransport::new(
                    mqtt,
                    tls,
                    id_scope,
                    registration_id,
                    options.request_timeout,
                ))
            }
        };
        Ok(Self {
            inner,
            id_scope: id_scope.to_owned(),
            registration_id: registration_id.to_owned(),
            auth,
            options,
        })
    }

    /// The SAS token of a symmetric-key device (`None` for X.509): signed with the individual
    /// key or the key derived from the group's, `skn=registration`, valid for an hour.
    fn sas_token(&self) -> Result<Option<String>> {
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

    /// Opens the registration's connection: nothing over HTTPS; over MQTT, CONNECT (tried
    /// again while the server answers "unavailable", within the budget) and the subscription.
    /// When the budget runs out during an attempt that follows a refusal, the refusal is
    /// what the caller learns (the server kept saying unavailable), not a bare timeout.
    async fn open(
        &self,
        started: Instant,
        deadline: tokio::time::Instant,
        out_of_time: impl Fn() -> Error,
    ) -> Result<Session<'_>> {
        let mqtt = match &self.inner {
            Inner::Https(h) => return Ok(Session::Https(h)),
            Inner::Mqtt(m) => m,
        };
        let gave_up = |e: &Error| {
            Error::new(
                ErrorKind::Server,
                format!("{}, until the time budget ran out", e.message()),
            )
        };
        let mut refused: Option<Error> = None;
        loop {
            match tokio::time::timeout_at(deadline, mqtt.connect(self.sas_token()?)).await {
                Err(_) => return Err(refused.as_ref().map_or_else(&out_of_time, gave_up)),
                Ok(Err(e)) if e.kind() == ErrorKind::Server => {
                    let wait = self.poll_wait(None);
                    if started.elapsed() + wait > self.options.total_timeout {
                        return Err(gave_up(&e));
                    }
                    refused = Some(e);
                    tokio::time::sleep(wait).await;
                }
                Ok(other) => return other.map(|s| Session::Mqtt(Box::new(s))),
            }
        }
    }

    async fn send(&self, session: &mut Session<'_>, call: Call<'_>) -> Result<Reply> {
        match session {
            Session::Https(h) => h.send(call, self.sas_token()?).await,
            Session::Mqtt(m) => match call {
                Call::Register(body) => m.register(body.to_string().into_bytes()).await,
                Call::Poll(op) => m.poll(op).await,
                Call::Status(_) => Err(no_status_over_mqtt()),
            },
        }
    }

    async fn wait(session: &mut Session<'_>, duration: Duration) -> Result<()> {
        match session {
            Session::Https(_) => {
                tokio::time::sleep(duration).await;
                Ok(())
            }
            Session::Mqtt(m) => m.idle(duration).await,
        }
    }

    /// Registers the device (with `options.payload`, custom data for the allocation webhook),
    /// polls until the service decides, and returns the assignment. A `failed` or `disabled`
    /// outcome is an error carrying the service's code and message.
    ///
    /// Over MQTT a SAS token the service refuses ends the registration at CONNECT: the error
    /// is [`ErrorKind::Unauthorized`] with no status or code, since the device learns nothing
    /// more.
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
        // No single wait (connect, response, poll interval) may outlast the whole budget.
        let deadline = tokio::time::Instant::from_std(started + self.options.total_timeout);
        let out_of_time = || {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "no registration result within the time budget of {:?}",
                    self.options.total_timeout
                ),
            )
        };
        let mut session = self.open(started, deadline, out_of_time).await?;
        let outcome = tokio::time::timeout_at(deadline, self.run(&mut session, &body, started))
            .await
            .unwrap_or_else(|_| Err(out_of_time()));
        if let Session::Mqtt(m) = session {
            m.close().await;
        }
        outcome
    }

    async fn run(
        &self,
        session: &mut Session<'_>,
        body: &Value,
        started: Instant,
    ) -> Result<DeviceRegistrationResult> {
        let (mut op, mut hint) = loop {
            let reply = self.send(session, Call::Register(body)).await?;
            if let Some(wait) = self.transient_wait(&reply, started)? {
                Self::wait(session, wait).await?;
                continue;
            }
            break (operation(&reply)?, reply.retry_after);
        };
        tracing::debug!(operation = %op.operation_id, status = %op.status, "registration accepted");
        while matches!(
            op.status,
            RegistrationStatus::Assigning | RegistrationStatus::Unassigned
        ) {
            let wait = self.poll_wait(hint);
            self.check_budget(started, wait)?;
            Self::wait(session, wait).await?;
            let reply = self.send(session, Call::Poll(&op.operation_id)).await?;
            hint = reply.retry_after;
            if self.transient_wait(&reply, started)?.is_some() {
                continue;
            }
            op = operation(&reply)?;
        }
        finish(op)
    }

    /// Asks for the device's current registration (`POST {idScope}/registrations/{id}`).
    ///
    /// HTTPS only: DPS has no such request over MQTT, so the MQTT transports answer
    /// [`ErrorKind::InvalidInput`] without connecting.
    pub async fn registration_status(
        &self,
        options: Option<RegistrationStatusOptions>,
    ) -> Result<DeviceRegistrationResult> {
        let _ = options;
        let Inner::Https(https) = &self.inner else {
            return Err(no_status_over_mqtt());
        };
        let body = json!({"registrationId": self.registration_id});
        let reply = https.send(Call::Status(&body), self.sas_token()?).await?;
        if !(200..300).contains(&reply.status) {
            return Err(Error::from_response(
                reply.status,
                &reply.body,
                reply.request_id.as_deref(),
            ));
        }
        serde_json::from_slice(&reply.body).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("unexpected registration status: {e}"),
            )
        })
    }

    /// The endpoint this client talks to, as the transport reads it (e.g.
    /// `wss://localhost:8443/$iothub/websocket` for MQTT over WebSocket).
    pub fn endpoint(&self) -> String {
        match &self.inner {
            Inner::Https(h) => h.endpoint().to_string(),
            Inner::Mqtt(m) => m.endpoint(),
        }
    }

    /// The transport this client speaks.
    pub fn transport(&self) -> Transport {
        self.options.transport
    }

    /// For 429 and 5xx: how long to wait before trying again, within the budget.
    fn transient_wait(&self, reply: &Reply, started: Instant) -> Result<Option<Duration>> {
        let status = reply.status;
        if status == 429 || (500..=599).contains(&status) {
            let wait = self.poll_wait(reply.retry_after);
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

fn no_status_over_mqtt() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "DPS answers a registration-status request over HTTPS only: use Transport::Https",
    )
}

/// The operation a 2xx reply carries; any other status is the service's error.
fn operation(reply: &Reply) -> Result<RegistrationOperationStatus> {
    let status = reply.status;
    if !(200..300).contains(&status) {
        return Err(Error::from_response(
            status,
            &reply.body,
            reply.request_id.as_deref(),
        ));
    }
    serde_json::from_slice(&reply.body).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("unexpected operation status (status {status}): {e}"),
        )
    })
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
