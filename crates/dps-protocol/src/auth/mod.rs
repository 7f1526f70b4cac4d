//! Connection strings, SAS tokens and derived device keys.
//!
//! * [`Secret`] holds keys and tokens, redacted in `Debug` and `Display`.
//! * [`ConnectionString`] parses `HostName=...;SharedAccessKeyName=...;SharedAccessKey=...`.
//! * [`SasToken`] creates (`generate`), parses and verifies `SharedAccessSignature` tokens, in
//!   the formats of every official client.
//! * [`device_resource`] and [`derive_device_key`] serve device SAS for symmetric-key
//!   enrollments.
//!
//! Errors never contain keys or signatures.

mod audience;
mod connection_string;
mod device;
mod sas;
mod secret;

pub use connection_string::{
    ConnectionString, ConnectionStringError, Credential, DEFAULT_POLICY_NAME, IotHubKind,
};
pub use device::{DEVICE_KEY_NAME, derive_device_key, device_resource};
pub use sas::{DEFAULT_SKEW_SECS, SAS_PREFIX, SasError, SasToken, unix_now};
pub use secret::Secret;
