//! Wire-level facts of the Azure IoT Hub Device Provisioning Service (DPS) that every other
//! crate of dps-rs shares, so that each rule has exactly one definition.
//!
//! * [`id`]: the registration-id rule.
//! * [`thumbprint`]: SHA-1 and SHA-256 certificate thumbprints.
//! * [`models`]: serde models of every request and response of the service API.
//! * [`auth`]: connection strings, SAS tokens (creation and verification), derived device keys.
//! * [`codes`]: the table of DPS error codes (`401002`, …); no other crate spells one out.
//! * [`errors`]: error bodies (DPS and ARM) read into one type, and the class of a failure.
//! * [`json`]: the depth bound on JSON from outside, and the parser that applies it.
//! * [`retry_after`]: the server's retry hint (`Retry-After`, `retry-after-ms`, …).
//! * [`emulator_info`]: `emulator.json`, what a running emulator publishes.
//! * [`shell`]: the quoting of commands printed for people to paste.

pub mod auth;
pub mod codes;
pub mod emulator_info;
pub mod errors;
pub mod id;
pub mod json;
pub mod models;
pub mod retry_after;
pub mod shell;
pub mod thumbprint;

pub use codes::ErrorCode;
pub use emulator_info::EmulatorInfo;
pub use errors::{ErrorClass, ErrorResponse};

pub use id::{
    IdError, IdKind, IdWarning, check_common_name, check_registration_id, same_registration_id,
};
pub use thumbprint::Thumbprints;
