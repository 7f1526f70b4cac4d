//! Enrollment records: [`IndividualEnrollment`] (one device) and [`EnrollmentGroup`] (every
//! device that shares a signing CA or a group key).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attestation::{AttestationMechanism, SymmetricKeyAttestation, TpmAttestation};
use super::policy::{
    AllocationPolicy, CustomAllocationDefinition, DeviceCapabilities, ProvisioningStatus,
    ReprovisionPolicy,
};
use super::registration::DeviceRegistrationState;
use super::timestamp::Timestamp;
use super::twin::{InitialTwin, TwinCollection};
use super::x509::X509Attestation;

/// An individual enrollment (`/enrollments/{registrationId}`): one device and how it attests.
///
/// PUT is an upsert; the response is the stored record with `etag` and timestamps. Fields the
/// service adds in later API versions land in [`Self::extra`] and are sent back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndividualEnrollment {
    /// The registration id (1–128 characters, case-insensitive; see [`crate::id`]).
    pub registration_id: String,
    /// The IoT Hub device id; the registration id is used when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Read-only: the device's registration, on GET (absent from PUT responses and queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_state: Option<DeviceRegistrationState>,
    /// How the device proves its identity.
    pub attestation: AttestationMechanism,
    /// Device capabilities (IoT Edge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<DeviceCapabilities>,
    /// A fixed IoT hub host name (allocation `static`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iot_hub_host_name: Option<String>,
    /// The twin the device starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_twin: Option<InitialTwin>,
    /// Opaque entity tag; changes on every write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Whether the device may provision (service default `enabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Behaviour on re-registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reprovision_policy: Option<ReprovisionPolicy>,
    /// Read-only: creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date_time_utc: Option<Timestamp>,
    /// Read-only: last update time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_date_time_utc: Option<Timestamp>,
    /// How the hub is chosen among `iotHubs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_policy: Option<AllocationPolicy>,
    /// Host names of the linked hubs this device may be assigned to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iot_hubs: Option<Vec<String>>,
    /// The webhook for allocation policy `custom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_allocation_definition: Option<CustomAllocationDefinition>,
    /// Free-form device information stored with the enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional_device_information: Option<TwinCollection>,
    /// Credential policy of a linked Azure Device Registry (api-version 2026-04-01).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_policy_name: Option<String>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IndividualEnrollment {
    /// An enrollment with only the required fields; set the public optional fields as needed.
    pub fn new(registration_id: impl Into<String>, attestation: AttestationMechanism) -> Self {
        Self {
            registration_id: registration_id.into(),
            device_id: None,
            registration_state: None,
            attestation,
            capabilities: None,
            iot_hub_host_name: None,
            initial_twin: None,
            etag: None,
            provisioning_status: None,
            reprovision_policy: None,
            created_date_time_utc: None,
            last_updated_date_time_utc: None,
            allocation_policy: None,
            iot_hubs: None,
            custom_allocation_definition: None,
            optional_device_information: None,
            credential_policy_name: None,
            extra: Map::new(),
        }
    }

    /// An X.509 enrollment for one device certificate (PEM text or base64 DER) in
    /// `attestation.x509.clientCertificates.primary.certificate`.
    pub fn x509_client(
        registration_id: impl Into<String>,
        certificate_pem: impl Into<String>,
    ) -> Self {
        Self::new(
            registration_id,
            AttestationMechanism::x509(X509Attestation::client(certificate_pem, None)),
        )
    }

    /// A symmetric-key enrollment. With `None` the service generates both keys; read them back
    /// from the PUT response or the `attestationmechanism` call.
    pub fn symmetric_key(
        registration_id: impl Into<String>,
        keys: Option<SymmetricKeyAttestation>,
    ) -> Self {
        Self::new(
            registration_id,
            AttestationMechanism::symmetric_key(keys.unwrap_or_default()),
        )
    }

    /// A TPM enrollment from the device's base64 endorsement key.
    pub fn tpm(registration_id: impl Into<String>, endorsement_key: impl Into<String>) -> Self {
        Self::new(
            registration_id,
            AttestationMechanism::tpm(TpmAttestation::new(endorsement_key)),
        )
    }
}

/// An enrollment group (`/enrollmentGroups/{id}`): every device that chains to a signing or
/// referenced CA certificate, or that holds a key derived from the group's symmetric key.
///
/// Fields the service adds in later API versions land in [`Self::extra`] and are sent back
/// unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentGroup {
    /// The group id (same character rule as registration ids).
    pub enrollment_group_id: String,
    /// How member devices prove their identity (`x509` or `symmetricKey` only).
    pub attestation: AttestationMechanism,
    /// Device capabilities (IoT Edge) given to member devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<DeviceCapabilities>,
    /// A fixed IoT hub host name (allocation `static`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iot_hub_host_name: Option<String>,
    /// The twin member devices start with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_twin: Option<InitialTwin>,
    /// Opaque entity tag; changes on every write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Whether member devices may provision (service default `enabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_status: Option<ProvisioningStatus>,
    /// Behaviour on re-registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reprovision_policy: Option<ReprovisionPolicy>,
    /// Read-only: creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date_time_utc: Option<Timestamp>,
    /// Read-only: last update time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_date_time_utc: Option<Timestamp>,
    /// How the hub is chosen among `iotHubs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_policy: Option<AllocationPolicy>,
    /// Host names of the linked hubs member devices may be assigned to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iot_hubs: Option<Vec<String>>,
    /// The webhook for allocation policy `custom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_allocation_definition: Option<CustomAllocationDefinition>,
    /// Credential policy of a linked Azure Device Registry (api-version 2026-04-01).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_policy_name: Option<String>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EnrollmentGroup {
    /// A group with only the required fields; set the public optional fields as needed.
    pub fn new(enrollment_group_id: impl Into<String>, attestation: AttestationMechanism) -> Self {
        Self {
            enrollment_group_id: enrollment_group_id.into(),
            attestation,
            capabilities: None,
            iot_hub_host_name: None,
            initial_twin: None,
            etag: None,
            provisioning_status: None,
            reprovision_policy: None,
            created_date_time_utc: None,
            last_updated_date_time_utc: None,
            allocation_policy: None,
            iot_hubs: None,
            custom_allocation_definition: None,
            credential_policy_name: None,
            extra: Map::new(),
        }
    }

    /// An X.509 group with an embedded signing (root or intermediate CA) certificate, PEM text
    /// or base64 DER, and an optional secondary for rollover.
    pub fn x509_signing(
        enrollment_group_id: impl Into<String>,
        primary_pem: impl Into<String>,
        secondary_pem: Option<String>,
    ) -> Self {
        Self::new(
            enrollment_group_id,
            AttestationMechanism::x509(X509Attestation::signing(primary_pem, secondary_pem)),
        )
    }

    /// An X.509 group that references CA certificates uploaded to the DPS resource by name.
    pub fn x509_ca_references(
        enrollment_group_id: impl Into<String>,
        primary: impl Into<String>,
        secondary: Option<String>,
    ) -> Self {
        Self::new(
            enrollment_group_id,
            AttestationMechanism::x509(X509Attestation::ca_references(primary, secondary)),
        )
    }

    /// A symmetric-key group. With `None` the service generates both group keys; devices sign
    /// with keys derived from them and their registration ids.
    pub fn symmetric_key(
        enrollment_group_id: impl Into<String>,
        keys: Option<SymmetricKeyAttestation>,
    ) -> Self {
        Self::new(
            enrollment_group_id,
            AttestationMechanism::symmetric_key(keys.unwrap_or_default()),
        )
    }
}
