//! Device registration runtime API (`https://global.azure-devices-provisioning.net`):
//! `PUT /{idScope}/registrations/{id}/register` and
//! `GET /{idScope}/registrations/{id}/operations/{operationId}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attestation::TpmAttestation;
use super::registration::{RegistrationStatus, Substatus};
use super::timestamp::Timestamp;
use super::x509::X509CertificateInfo;

/// The register request body: `{"registrationId", "tpm"?, "payload"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistration {
    /// Must equal the registration id in the path.
    pub registration_id: String,
    /// TPM keys, on the first (unauthenticated) TPM register call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmAttestation>,
    /// Any JSON, forwarded to the custom-allocation webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Fields this version does not model (e.g. a later version's `csr`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeviceRegistration {
    /// A request with just the registration id, as X.509 and symmetric-key devices send it.
    pub fn new(registration_id: impl Into<String>) -> Self {
        Self {
            registration_id: registration_id.into(),
            tpm: None,
            payload: None,
            extra: Map::new(),
        }
    }
}

/// The register and operation-status response: 202 while `assigning` (poll again after
/// `Retry-After`), 200 when final (`assigned`, `failed` or `disabled`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationOperationStatus {
    /// Opaque id to poll with.
    pub operation_id: String,
    /// Where the registration stands; see [`RegistrationStatus::is_final`].
    pub status: RegistrationStatus,
    /// The result; complete once the status is final.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_state: Option<DeviceRegistrationResult>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A registration as the device API reports it: the service API's registration state plus the
/// attestation block that matched (`x509`, `symmetricKey` or `tpm`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistrationResult {
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
    /// Opaque entity tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// What the custom-allocation webhook returned for the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Generation id of the IoT Hub device identity (read by the C# client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<String>,
    /// X.509 result, for certificate attestation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509: Option<X509RegistrationResult>,
    /// Symmetric-key result, for key attestation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symmetric_key: Option<SymmetricKeyRegistrationResult>,
    /// TPM result, for TPM attestation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmRegistrationResult>,
    /// Fields this version does not model (e.g. a later version's `issuedCertificateChain`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeviceRegistrationResult {
    /// A result with only an id and a status, like the pending
    /// `{"registrationId":"…","status":"assigning"}`.
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
            generation_id: None,
            x509: None,
            symmetric_key: None,
            tpm: None,
            extra: Map::new(),
        }
    }

    /// [`Self::error_code`] as a typed code, when there is one.
    pub fn code(&self) -> Option<crate::codes::ErrorCode> {
        self.error_code
            .and_then(|c| crate::codes::ErrorCode::try_from(c).ok())
    }
}

/// The X.509 part of a registration result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509RegistrationResult {
    /// The device's leaf certificate.
    pub certificate_info: X509CertificateInfo,
    /// The group that matched, for group enrollments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_group_id: Option<String>,
    /// The CA certificate that matched, for group enrollments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_certificate_info: Option<X509CertificateInfo>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The symmetric-key part of a registration result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymmetricKeyRegistrationResult {
    /// The group that matched, for group enrollments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_group_id: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The TPM part of a registration result; the same shape is the body of the 401 TPM challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TpmRegistrationResult {
    /// The key, encrypted to the TPM, that the device activates to sign its SAS token.
    pub authentication_key: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
