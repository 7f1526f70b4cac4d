//! The outcome of a device's registration as the service API reports it:
//! [`DeviceRegistrationState`], [`RegistrationStatus`] and [`Substatus`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::timestamp::Timestamp;
use super::wire_enum::wire_enum;

wire_enum! {
    /// Where a registration stands (`status`), in the service API and the device API alike.
    pub enum RegistrationStatus {
        /// Enrolled but never registered (`unassigned`).
        Unassigned => "unassigned",
        /// Registration in progress; devices keep polling (`assigning`).
        Assigning => "assigning",
        /// Assigned to an IoT hub (`assigned`).
        Assigned => "assigned",
        /// Registration failed; see `errorCode` and `errorMessage` (`failed`).
        Failed => "failed",
        /// The enrollment or group is disabled (`disabled`).
        Disabled => "disabled",
    }
}

impl RegistrationStatus {
    /// Whether a device should stop polling: `assigned`, `failed` and `disabled` are final,
    /// `assigning` and `unassigned` are not. Unknown values count as final so that a
    /// client never polls forever on a status it cannot interpret.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Assigning | Self::Unassigned)
    }
}

wire_enum! {
    /// How an `assigned` device got its hub (`substatus`).
    pub enum Substatus {
        /// First assignment (`initialAssignment`).
        InitialAssignment => "initialAssignment",
        /// Moved to another hub with its data migrated (`deviceDataMigrated`).
        DeviceDataMigrated => "deviceDataMigrated",
        /// Moved to another hub with its data reset to the initial twin (`deviceDataReset`).
        DeviceDataReset => "deviceDataReset",
        /// Re-provisioned back to a hub it had before (`reprovisionedToInitialAssignment`).
        ReprovisionedToInitialAssignment => "reprovisionedToInitialAssignment",
    }
}

/// A device registration record, as read through the service API (`/registrations/{id}`, the
/// registrations query of a group, and `registrationState` of an individual enrollment).
///
/// Every field is set by the service. It carries no attestation blocks; those appear only in
/// the device API's [`super::DeviceRegistrationResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistrationState {
    /// The registration id.
    pub registration_id: String,
    /// When the registration was first created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date_time_utc: Option<Timestamp>,
    /// Host name of the assigned IoT hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_hub: Option<String>,
    /// The IoT Hub device id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Where the registration stands.
    pub status: RegistrationStatus,
    /// How the hub was assigned, for `assigned` registrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substatus: Option<Substatus>,
    /// Six-digit DPS error code of a `failed` registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// Error message of a `failed` registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// When the registration last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_date_time_utc: Option<Timestamp>,
    /// Opaque entity tag, for `If-Match` on delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The custom-allocation webhook's payload returned to the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeviceRegistrationState {
    /// A state with only an id and a status, like the `registrationState` of a never-registered
    /// enrollment (`{"registrationId":"…","status":"unassigned"}`).
    pub fn new(registration_id: impl Into<String>, status: RegistrationStatus) -> Self {
        Self {
            registration_id: registration_id.into(),
            created_date_time_utc: None,
            assigned_hub: None,
            device_id: None,
            status,
            substatus: None,
            error_code: None,
            error_message: None,
            last_updated_date_time_utc: None,
            etag: None,
            payload: None,
            extra: Map::new(),
        }
    }

    /// [`Self::error_code`] as a typed code, when there is one.
    pub fn code(&self) -> Option<crate::codes::ErrorCode> {
        self.error_code
            .and_then(|c| crate::codes::ErrorCode::try_from(c).ok())
    }
}
