//! CA certificates of a DPS resource (ARM, `…/provisioningServices/{dps}/certificates`), used by
//! enrollment groups through `caReferences` once verified by proof of possession.
//!
//! ARM dates (`expiry`, `created`, `updated`) are RFC 1123 text in the service's examples
//! (`Sat, 31 Dec 2039 23:59:59 GMT`), so they are kept as plain strings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The ARM resource type of a DPS CA certificate.
pub const CERTIFICATE_RESOURCE_TYPE: &str = "Microsoft.Devices/ProvisioningServices/Certificates";

/// One CA certificate resource (Get, CreateOrUpdate and Verify responses; List items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateResponse {
    /// Full ARM resource id, ending in `/certificates/{name}`.
    pub id: String,
    /// The certificate name, as used in `caReferences`.
    pub name: String,
    /// Resource type, [`CERTIFICATE_RESOURCE_TYPE`].
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Opaque entity tag (e.g. `AAAAAAExpNs=`); required as `If-Match` on delete, on
    /// generateVerificationCode and on verify. Changes on every write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The certificate's properties.
    pub properties: CertificateProperties,
    /// Fields this version does not model (e.g. `systemData`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `properties` of a [`CertificateResponse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateProperties {
    /// Subject DN, e.g. `CN=testdevice1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// End of validity (RFC 1123 text in the service's examples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// SHA-1 thumbprint, 40 upper-case hex characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// Whether proof of possession succeeded (or was waived on upload).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_verified: Option<bool>,
    /// The certificate (base64 DER or PEM text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Creation time (RFC 1123 text in the service's examples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last update time (RFC 1123 text in the service's examples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The List response: `{"value":[…],"nextLink"?}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateListDescription {
    /// The certificates.
    #[serde(default)]
    pub value: Vec<CertificateResponse>,
    /// URL of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// The generateVerificationCode response: the certificate plus a fresh code, which must be
/// the subject CN of the verification certificate signed by the CA's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCodeResponse {
    /// The certificate name.
    pub name: String,
    /// The new entity tag; send it as `If-Match` on verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Full ARM resource id.
    pub id: String,
    /// Resource type, [`CERTIFICATE_RESOURCE_TYPE`].
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The code and the certificate's properties.
    pub properties: VerificationCodeProperties,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `properties` of a [`VerificationCodeResponse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCodeProperties {
    /// The code the verification certificate's subject CN must equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    /// Subject DN of the CA certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// End of validity (RFC 1123 text in the service's examples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// SHA-1 thumbprint, 40 upper-case hex characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// Whether the certificate is already verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_verified: Option<bool>,
    /// The certificate (base64 DER or PEM text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last update time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The certificate to upload: `{"certificate", "isVerified"?}`. This is the flat PUT body of
/// older ARM versions and the `properties` of the current wrapped one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateBodyDescription {
    /// Base64 DER (`.cer`) or PEM text.
    pub certificate: String,
    /// `true` skips proof of possession.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_verified: Option<bool>,
}

/// The current CreateOrUpdate body: `{"properties":{"certificate","isVerified"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCreateOrUpdateRequest {
    /// The certificate to upload.
    pub properties: CertificateBodyDescription,
}

impl CertificateCreateOrUpdateRequest {
    /// A wrapped upload body.
    pub fn new(certificate: impl Into<String>, is_verified: Option<bool>) -> Self {
        Self {
            properties: CertificateBodyDescription {
                certificate: certificate.into(),
                is_verified,
            },
        }
    }
}

/// A CreateOrUpdate body in either shape, for servers that accept both: the wrapped form is
/// tried first, then the flat one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CertificateUpload {
    /// `{"properties":{…}}` (current ARM versions).
    Wrapped(CertificateCreateOrUpdateRequest),
    /// `{"certificate", "isVerified"?}` (older ARM versions).
    Flat(CertificateBodyDescription),
}

impl CertificateUpload {
    /// The certificate and flag, whichever shape they came in.
    pub fn into_body(self) -> CertificateBodyDescription {
        match self {
            Self::Wrapped(wrapped) => wrapped.properties,
            Self::Flat(flat) => flat,
        }
    }
}

/// The verify body: `{"certificate": "<base64 or PEM verification certificate>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCodeRequest {
    /// The verification certificate, whose subject CN is the verification code.
    pub certificate: String,
}

/// An ARM error response: `{"error":{"code","message",…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmErrorResponse {
    /// The error.
    pub error: ArmErrorDetail,
}

/// The `error` object of an [`ArmErrorResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmErrorDetail {
    /// A PascalCase error code, e.g. `PreconditionFailed`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// What the error is about (a resource name or field), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ArmErrorDetail>>,
    /// Further fields (e.g. `additionalInfo`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
