//! Register a device with the Azure IoT Hub Device Provisioning Service (DPS) over HTTPS and
//! learn its assigned IoT hub.
//!
//! Two attestations:
//! * X.509: the device's certificate chain (leaf first, then every intermediate) and key are
//!   presented as the TLS client certificate; the registration id is the leaf's CN.
//! * Symmetric key: a SAS token over `{idScope}/registrations/{registrationId}`, signed with
//!   the individual enrollment's key or with a key derived from an enrollment group's key.
//!
//! [`ProvisioningDeviceClient::register`] sends the registration, polls the operation while the
//! service says `assigning` (honouring `Retry-After` in seconds or as a date, and
//! `retry-after-ms`), and returns the final registration result or an [`Error`] carrying the
//! service's code (compare it with the constants of [`codes`]) and message.
//!
//! ```no_run
//! use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient};
//! # async fn demo() -> dps_device_client::Result<()> {
//! let auth = DeviceAuth::x509(
//!     std::fs::read("certs/certs/my-device-full-chain.cert.pem").unwrap_or_default(),
//!     std::fs::read("certs/private/my-device.key.pem").unwrap_or_default(),
//! );
//! let client = ProvisioningDeviceClient::new(
//!     dps_device_client::GLOBAL_ENDPOINT,
//!     "0ne00000000",
//!     "my-device",
//!     auth,
//!     None,
//! )?;
//! let result = client.register(None).await?;
//! println!("assigned to {:?} as {:?}", result.assigned_hub, result.device_id);
//! # Ok(()) }
//! ```

mod client;
mod error;

pub use client::{
    DeviceAuth, DeviceClientOptions, GLOBAL_ENDPOINT, ProvisioningDeviceClient, RegisterOptions,
    RegistrationStatusOptions,
};
pub use dps_protocol::codes;
pub use dps_protocol::models::DeviceRegistrationResult;
pub use error::{Error, ErrorKind, Result};
