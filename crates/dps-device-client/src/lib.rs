//! Register a device with the Azure IoT Hub Device Provisioning Service (DPS) over HTTPS, MQTT
//! or MQTT over WebSocket, and learn its assigned IoT hub.
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
//! [`DeviceClientOptions::transport`] chooses the protocol ([`Transport`]); the API, the
//! results and the errors are the same for all three:
//! * HTTPS (the default): the device API's REST requests.
//! * MQTT 3.1.1 over TLS (port 8883) and over a secure WebSocket (port 443, subprotocol `mqtt`,
//!   path `/$iothub/websocket`), as the official device SDKs speak it: client id = registration
//!   id, the SAS token as password, requests on `$dps/registrations/PUT/iotdps-register/` and
//!   `$dps/registrations/GET/iotdps-get-operationstatus/`, responses on
//!   `$dps/registrations/res/{status}/`. A SAS token refused at CONNECT is
//!   [`ErrorKind::Unauthorized`] like an HTTP 401; the connection ends with DISCONNECT.
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
//!
//! The same device over MQTT, against the emulator (its `emulator.json` names the
//! `mqttEndpoint`; the MQTT transports trust only the CAs they are given):
//!
//! ```no_run
//! use dps_device_client::{DeviceClientOptions, ProvisioningDeviceClient, Transport};
//! # async fn demo(auth: dps_device_client::DeviceAuth) -> dps_device_client::Result<()> {
//! let options = DeviceClientOptions {
//!     transport: Transport::Mqtt,
//!     trusted_ca_pem: vec![std::fs::read("/tmp/dps/tls/emulator-ca.cert.pem").unwrap_or_default()],
//!     trust_only_custom_ca: true,
//!     ..DeviceClientOptions::default()
//! };
//! let client = ProvisioningDeviceClient::new(
//!     "mqtts://localhost:8883",
//!     "0ne00000000",
//!     "my-device",
//!     auth,
//!     Some(options),
//! )?;
//! let result = client.register(None).await?;
//! # Ok(()) }
//! ```

mod client;
mod error;
mod https;
mod mqtt;
mod mqtt_wire;
mod tls;
mod transport;

pub use client::{
    DeviceAuth, DeviceClientOptions, GLOBAL_ENDPOINT, ProvisioningDeviceClient, RegisterOptions,
    RegistrationStatusOptions,
};
pub use dps_protocol::codes;
pub use dps_protocol::models::DeviceRegistrationResult;
pub use error::{Error, ErrorKind, Result};
pub use transport::{MQTT_PORT, Transport, UnknownTransport, WEBSOCKET_PATH, WEBSOCKET_PORT};
