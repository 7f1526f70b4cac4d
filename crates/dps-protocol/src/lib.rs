//! Wire-level facts of the Azure IoT Hub Device Provisioning Service (DPS) that every other
//! crate of dps-rs shares, so that each rule has exactly one definition.
//!
//! Today this holds the registration-id rule ([`id`]) and certificate thumbprints
//! ([`thumbprint`]). The service models, connection strings and SAS tokens join it as the
//! service SDK is built.

pub mod id;
pub mod thumbprint;

pub use id::{IdError, IdKind, IdWarning, check_common_name, check_registration_id};
pub use thumbprint::Thumbprints;
