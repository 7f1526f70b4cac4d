//! Allocation and lifecycle settings shared by individual enrollments and enrollment groups.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::wire_enum::wire_enum;

wire_enum! {
    /// How DPS picks an IoT hub among `iotHubs` (`allocationPolicy`, data-plane camelCase
    /// spelling; the ARM resource uses PascalCase and would be kept as [`AllocationPolicy::Other`]).
    pub enum AllocationPolicy {
        /// Devices are spread evenly by a stable hash (`hashed`).
        Hashed => "hashed",
        /// The hub with the lowest latency to the device (`geoLatency`).
        GeoLatency => "geoLatency",
        /// The hub named in the enrollment (`static`).
        Static => "static",
        /// A webhook chooses, see [`CustomAllocationDefinition`] (`custom`).
        Custom => "custom",
    }
}

wire_enum! {
    /// Whether devices may provision through an enrollment (`provisioningStatus`).
    /// The service's default is `enabled`.
    #[derive(Default)]
    pub enum ProvisioningStatus {
        /// Devices may provision (`enabled`).
        #[default]
        Enabled => "enabled",
        /// Devices are refused with registration status `disabled` (`disabled`).
        Disabled => "disabled",
    }
}

fn default_true() -> bool {
    true
}

/// What happens when an already-provisioned device registers again (`reprovisionPolicy`).
///
/// Both flags default to `true` when the object is sent without them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReprovisionPolicy {
    /// Re-evaluate the hub assignment on re-registration; `false` keeps the current hub.
    #[serde(default = "default_true")]
    pub update_hub_assignment: bool,
    /// On a hub change, migrate twin and device data (`true`) or reset them to the
    /// enrollment's initial twin (`false`).
    #[serde(default = "default_true")]
    pub migrate_device_data: bool,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ReprovisionPolicy {
    /// The service default: `{"updateHubAssignment":true,"migrateDeviceData":true}`.
    fn default() -> Self {
        Self {
            update_hub_assignment: true,
            migrate_device_data: true,
            extra: Map::new(),
        }
    }
}

/// Device capabilities set on the IoT Hub device identity (`capabilities`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCapabilities {
    /// Whether the device is an IoT Edge device (default `false`).
    #[serde(default)]
    pub iot_edge: bool,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The webhook DPS calls when `allocationPolicy` is `custom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomAllocationDefinition {
    /// The webhook URL (typically an Azure Function with its key).
    pub webhook_url: String,
    /// The API version of the records sent to the webhook (at least `2018-09-01-preview`).
    pub api_version: String,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CustomAllocationDefinition {
    /// A webhook definition.
    pub fn new(webhook_url: impl Into<String>, api_version: impl Into<String>) -> Self {
        Self {
            webhook_url: webhook_url.into(),
            api_version: api_version.into(),
            extra: Map::new(),
        }
    }
}
