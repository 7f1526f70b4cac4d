//! Service connection strings:
//! `HostName=<host>;SharedAccessKeyName=<policy>;SharedAccessKey=<base64>`.

use super::Secret;
use super::sas::{SasError, SasToken, decode_key};
use super::secret::REDACTED;
use std::fmt;
use std::str::FromStr;

/// The default shared access policy of a DPS instance.
pub const DEFAULT_POLICY_NAME: &str = "provisioningserviceowner";

/// Why a connection string was rejected. No message contains a key, a signature or any other
/// value from the string (a missing `;` could put a key inside another value); only field
/// names and segment positions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionStringError {
    /// A non-empty segment has no `=`.
    #[error("connection string segment {0} is not `Name=value`")]
    MalformedSegment(usize),
    /// A known field has an empty value.
    #[error("connection string field `{0}` is empty")]
    EmptyValue(&'static str),
    /// A known field appears twice (field names are compared ignoring case).
    #[error("connection string field `{0}` appears more than once")]
    DuplicateKey(&'static str),
    /// `HostName` is absent.
    #[error("connection string has no `HostName`")]
    MissingHostName,
    /// `SharedAccessKey` is present but `SharedAccessKeyName` is not.
    #[error("connection string has no `SharedAccessKeyName`")]
    MissingKeyName,
    /// Neither `SharedAccessKey` nor `SharedAccessSignature` is present.
    #[error("connection string has no `SharedAccessKey` (or `SharedAccessSignature`)")]
    MissingKey,
    /// Both `SharedAccessKey` and `SharedAccessSignature` are present.
    #[error("connection string has both `SharedAccessKey` and `SharedAccessSignature`; keep one")]
    ConflictingCredentials,
    /// `HostName` has characters outside `[A-Za-z0-9_.-]`, or a bad `:port`.
    #[error(
        "connection string `HostName` must be [A-Za-z0-9_.-]+ with an optional :port (1-65535)"
    )]
    InvalidHostName,
    /// `SharedAccessKeyName` has characters outside `[A-Za-z0-9_.@-]`.
    #[error("connection string `SharedAccessKeyName` must be [A-Za-z0-9_.@-]+")]
    InvalidKeyName,
    /// `SharedAccessKey` is not standard base64.
    #[error("connection string `SharedAccessKey` is not valid base64")]
    InvalidKey,
    /// `SharedAccessSignature` is not a SAS token.
    #[error("connection string `SharedAccessSignature` is not a valid SAS token")]
    InvalidSharedAccessSignature(#[source] SasError),
    /// The string is an IoT Hub connection string (a device's, a module's or a hub policy's),
    /// a common mix-up: DPS needs the service connection string of one of the DPS's own shared
    /// access policies.
    #[error(
        "this is an IoT Hub connection string ({kind}), not a DPS one: DPS needs the service \
         connection string from the DPS's Shared access policies \
         (HostName=<dps>.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=...)"
    )]
    IotHub {
        /// Which IoT Hub connection string it is.
        kind: IotHubKind,
    },
}

/// Which IoT Hub connection string was given where a DPS service connection string belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IotHubKind {
    /// A device's: it has `DeviceId`.
    Device,
    /// A module's: it has `DeviceId` and `ModuleId`.
    Module,
    /// A hub's shared access policy: its `HostName` is an IoT hub's (`*.azure-devices.net`).
    SharedAccessPolicy,
}

impl fmt::Display for IotHubKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IotHubKind::Device => "a device's: it has DeviceId",
            IotHubKind::Module => "a module's: it has DeviceId and ModuleId",
            IotHubKind::SharedAccessPolicy => {
                "a hub's shared access policy: its HostName is an IoT hub's (*.azure-devices.net)"
            }
        })
    }
}

/// Host name suffixes of IoT hubs (public and national clouds). A DPS's service host is
/// `*.azure-devices-provisioning.net` (or the national clouds' equivalent), never one of these.
const IOT_HUB_SUFFIXES: [&str; 4] = [
    ".azure-devices.net",
    ".azure-devices.cn",
    ".azure-devices.us",
    ".azure-devices.de",
];

/// Whether `host_name` (with an optional `:port`) is an IoT hub's.
fn is_iot_hub_host(host_name: &str) -> bool {
    let host = host_name
        .split_once(':')
        .map_or(host_name, |(h, _)| h)
        .to_ascii_lowercase();
    IOT_HUB_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// How a connection string authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// `SharedAccessKey`: a base64 key that signs a fresh token per request.
    SharedAccessKey(Secret),
    /// `SharedAccessSignature`: a ready-made token (`SharedAccessSignature sr=...`), used verbatim.
    SharedAccessSignature(Secret),
}

/// A parsed service connection string.
///
/// Parsing splits on `;` and each segment at its first `=` (base64 keys end in `=`). Field
/// names are matched ignoring ASCII case; whitespace around names and values and empty
/// segments (a trailing `;`) are ignored. **Unknown fields are accepted and dropped**: a typo
/// in a required field still fails as a missing field, and strings from other tools keep
/// working. Instead of `SharedAccessKey` the string may carry `SharedAccessSignature=<token>`
/// (as C# accepts); then `SharedAccessKeyName` is optional.
///
/// An IoT Hub connection string (one with `DeviceId`, or whose `HostName` is an IoT hub's
/// `*.azure-devices.net`) is refused as [`ConnectionStringError::IotHub`]: it is the most common
/// mix-up, and it would otherwise fail later as a missing field or an unreachable host.
///
/// [`Display`](fmt::Display) writes the canonical string **including the key or token**; use
/// [`redacted`](Self::redacted) for logs. [`Debug`] redacts.
///
/// ```
/// use dps_protocol::auth::{ConnectionString, SasToken};
/// let cs: ConnectionString = "HostName=localhost:8443;SharedAccessKeyName=provisioningserviceowner;\
///     SharedAccessKey=ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=;".parse()?;
/// assert_eq!(cs.host_name(), "localhost:8443");
/// assert_eq!(cs.key_name(), Some("provisioningserviceowner"));
/// assert_eq!(
///     cs.redacted(),
///     "HostName=localhost:8443;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=<redacted>"
/// );
/// let header = cs.sas_token(1700000000)?;
/// assert!(SasToken::parse(&header)?.policy_name() == Some("provisioningserviceowner"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    host_name: String,
    key_name: Option<String>,
    credential: Credential,
}

impl ConnectionString {
    /// Builds a key-based connection string, with the same checks as parsing.
    pub fn new(
        host_name: impl Into<String>,
        key_name: impl Into<String>,
        key: Secret,
    ) -> Result<Self, ConnectionStringError> {
        let cs = Self {
            host_name: host_name.into(),
            key_name: Some(key_name.into()),
            credential: Credential::SharedAccessKey(key),
        };
        cs.validate()?;
        Ok(cs)
    }

    /// `HostName`, with its `:port` if it has one.
    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// `SharedAccessKeyName` (always present with a key).
    pub fn key_name(&self) -> Option<&str> {
        self.key_name.as_deref()
    }

    /// The key or token.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// `SharedAccessKey`, if the string has one.
    pub fn shared_access_key(&self) -> Option<&Secret> {
        match &self.credential {
            Credential::SharedAccessKey(key) => Some(key),
            Credential::SharedAccessSignature(_) => None,
        }
    }

    /// The `Authorization` header value for a service request: a token for `HostName` signed
    /// with the key and valid until `expiry` (unix seconds), or the stored token verbatim
    /// (`expiry` is then ignored).
    pub fn sas_token(&self, expiry: u64) -> Result<String, SasError> {
        match &self.credential {
            Credential::SharedAccessKey(key) => {
                SasToken::generate(&self.host_name, key, self.key_name.as_deref(), expiry)
            }
            Credential::SharedAccessSignature(token) => Ok(token.expose().to_owned()),
        }
    }

    /// The canonical string with the key or token replaced by `<redacted>`, for logs.
    pub fn redacted(&self) -> String {
        self.write(true)
    }

    fn write(&self, redact: bool) -> String {
        let mut out = format!("HostName={}", self.host_name);
        if let Some(name) = &self.key_name {
            out.push_str(";SharedAccessKeyName=");
            out.push_str(name);
        }
        let (field, secret) = match &self.credential {
            Credential::SharedAccessKey(key) => ("SharedAccessKey", key),
            Credential::SharedAccessSignature(token) => ("SharedAccessSignature", token),
        };
        out.push(';');
        out.push_str(field);
        out.push('=');
        out.push_str(if redact { REDACTED } else { secret.expose() });
        out
    }

    fn validate(&self) -> Result<(), ConnectionStringError> {
        if is_iot_hub_host(&self.host_name) {
            return Err(ConnectionStringError::IotHub {
                kind: IotHubKind::SharedAccessPolicy,
            });
        }
        if !valid_host_name(&self.host_name) {
            return Err(ConnectionStringError::InvalidHostName);
        }
        if let Some(name) = &self.key_name {
            let allowed =
                |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@' | b'.');
            if name.is_empty() || !name.bytes().all(allowed) {
                return Err(ConnectionStringError::InvalidKeyName);
            }
        }
        match &self.credential {
            Credential::SharedAccessKey(key) => {
                if self.key_name.is_none() {
                    return Err(ConnectionStringError::MissingKeyName);
                }
                decode_key(key).map_err(|_| ConnectionStringError::InvalidKey)?;
            }
            Credential::SharedAccessSignature(token) => {
                SasToken::parse(token.expose())
                    .map_err(ConnectionStringError::InvalidSharedAccessSignature)?;
            }
        }
        Ok(())
    }
}

/// `[A-Za-z0-9_.-]+` (as C# checks) with an optional `:port` in 1..=65535.
fn valid_host_name(host_name: &str) -> bool {
    let (host, port) = match host_name.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_name, None),
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    !host.is_empty()
        && host.bytes().all(allowed)
        && port.is_none_or(|p| {
            p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n != 0)
        })
}

impl FromStr for ConnectionString {
    type Err = ConnectionStringError;

    fn from_str(s: &str) -> Result<Self, ConnectionStringError> {
        let [mut host, mut name, mut key, mut sas] = [None::<&str>; 4];
        let (mut device_id, mut module_id) = (false, false);
        for (index, segment) in s.split(';').enumerate() {
            let segment = segment.trim();
            if segment.is_empty() {
                continue;
            }
            let (field, value) = segment
                .split_once('=')
                .ok_or(ConnectionStringError::MalformedSegment(index + 1))?;
            let (slot, field) = match field.trim() {
                f if f.eq_ignore_ascii_case("HostName") => (&mut host, "HostName"),
                f if f.eq_ignore_ascii_case("SharedAccessKeyName") => {
                    (&mut name, "SharedAccessKeyName")
                }
                f if f.eq_ignore_ascii_case("SharedAccessKey") => (&mut key, "SharedAccessKey"),
                f if f.eq_ignore_ascii_case("SharedAccessSignature") => {
                    (&mut sas, "SharedAccessSignature")
                }
                f => {
                    // IoT Hub's own fields: the string is a device's or a module's.
                    device_id |= f.eq_ignore_ascii_case("DeviceId");
                    module_id |= f.eq_ignore_ascii_case("ModuleId");
                    continue;
                }
            };
            let value = value.trim();
            if value.is_empty() {
                return Err(ConnectionStringError::EmptyValue(field));
            }
            if slot.replace(value).is_some() {
                return Err(ConnectionStringError::DuplicateKey(field));
            }
        }
        if device_id {
            let kind = if module_id {
                IotHubKind::Module
            } else {
                IotHubKind::Device
            };
            return Err(ConnectionStringError::IotHub { kind });
        }
        let host_name = host.ok_or(ConnectionStringError::MissingHostName)?;
        let credential = match (key, sas) {
            (Some(_), Some(_)) => return Err(ConnectionStringError::ConflictingCredentials),
            (None, None) => return Err(ConnectionStringError::MissingKey),
            (Some(key), None) => Credential::SharedAccessKey(Secret::from(key)),
            (None, Some(sas)) => Credential::SharedAccessSignature(Secret::from(sas)),
        };
        let cs = Self {
            host_name: host_name.to_owned(),
            key_name: name.map(str::to_owned),
            credential,
        };
        cs.validate()?;
        Ok(cs)
    }
}

impl fmt::Display for ConnectionString {
    /// Writes the canonical connection string, **including the key or token**.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.write(false))
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("host_name", &self.host_name)
            .field("key_name", &self.key_name)
            .field("credential", &self.credential)
            .finish()
    }
}

#[cfg(test)]
mod tests;
