//! Wire-level facts of the Azure IoT Hub Device Provisioning Service (DPS) that every other
//! crate of dps-rs shares, so that each rule has exactly one definition.
//!
//! * [`id`]: the registration-id rule.
//! * [`thumbprint`]: SHA-1 and SHA-256 certificate thumbprints.
//! * [`models`]: serde models of every request and response of the service API.
//! * [`auth`]: connection strings, SAS tokens (creation and verification), derived device keys.

pub mod auth;
pub mod id;
pub mod models;
pub mod thumbprint;

pub use id::{IdError, IdKind, IdWarning, check_common_name, check_registration_id};
pub use thumbprint::Thumbprints;
