//! X.509 attestation: certificates embedded in enrollments, references to uploaded CA
//! certificates, and the certificate summary ([`X509CertificateInfo`]) the service returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::timestamp::Timestamp;

/// X.509 attestation: exactly one of the three members is used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Attestation {
    /// The device's own (leaf) certificates; individual enrollments only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificates: Option<X509Certificates>,
    /// A root or intermediate CA embedded in the record; enrollment groups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_certificates: Option<X509Certificates>,
    /// Names of verified CA certificates uploaded to the DPS resource; enrollment groups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_references: Option<X509CAReferences>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl X509Attestation {
    /// Client (leaf) certificates for an individual enrollment, from PEM text or base64 DER.
    pub fn client(primary: impl Into<String>, secondary: Option<String>) -> Self {
        Self {
            client_certificates: Some(X509Certificates::new(primary, secondary)),
            ..Self::default()
        }
    }

    /// Signing (CA) certificates for an enrollment group, from PEM text or base64 DER.
    pub fn signing(primary: impl Into<String>, secondary: Option<String>) -> Self {
        Self {
            signing_certificates: Some(X509Certificates::new(primary, secondary)),
            ..Self::default()
        }
    }

    /// References, by name, to CA certificates uploaded to the DPS resource.
    pub fn ca_references(primary: impl Into<String>, secondary: Option<String>) -> Self {
        Self {
            ca_references: Some(X509CAReferences {
                primary: Some(primary.into()),
                secondary,
                extra: Map::new(),
            }),
            ..Self::default()
        }
    }
}

/// A primary and an optional secondary certificate (the secondary allows rolling over).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Certificates {
    /// The primary certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<X509CertificateWithInfo>,
    /// The secondary certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary: Option<X509CertificateWithInfo>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl X509Certificates {
    /// A primary certificate and an optional secondary, both as input text.
    pub fn new(primary: impl Into<String>, secondary: Option<String>) -> Self {
        Self {
            primary: Some(X509CertificateWithInfo::from_certificate(primary)),
            secondary: secondary.map(X509CertificateWithInfo::from_certificate),
            extra: Map::new(),
        }
    }
}

/// One certificate: the input text and/or the service's summary of it.
///
/// The service never echoes `certificate`; it returns only `info`. A record read back and
/// PUT unchanged therefore carries `info` alone, and the service keeps the stored certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509CertificateWithInfo {
    /// Input only: the whole PEM text (header and newlines included) or base64 of the DER.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Output only: the service's summary of the stored certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<X509CertificateInfo>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl X509CertificateWithInfo {
    /// A certificate to upload (PEM text or base64 DER), without info.
    pub fn from_certificate(certificate: impl Into<String>) -> Self {
        Self {
            certificate: Some(certificate.into()),
            ..Self::default()
        }
    }
}

/// The service's summary of a certificate; every field is present in responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509CertificateInfo {
    /// Subject distinguished name, e.g. `CN=enroll_cert_c47537a6`.
    pub subject_name: String,
    /// SHA-1 thumbprint: upper-case hex, no separators.
    pub sha1_thumbprint: String,
    /// SHA-256 thumbprint: upper-case hex, no separators.
    pub sha256_thumbprint: String,
    /// Issuer distinguished name.
    pub issuer_name: String,
    /// Start of validity, in whole seconds (`2023-05-19T23:10:43Z`).
    pub not_before_utc: Timestamp,
    /// End of validity, in whole seconds.
    pub not_after_utc: Timestamp,
    /// Serial number: upper-case hex.
    pub serial_number: String,
    /// X.509 version (3 for v3 certificates).
    pub version: i32,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// References, by name, to CA certificates uploaded to the DPS resource (see
/// [`super::certificate`]). Only verified certificates can be used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509CAReferences {
    /// Name of the primary CA certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Name of the secondary CA certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary: Option<String>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
