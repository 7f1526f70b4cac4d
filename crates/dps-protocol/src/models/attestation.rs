//! How a device proves its identity: [`AttestationMechanism`] and its TPM and symmetric-key
//! members (the X.509 member lives in [`super::x509`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::wire_enum::wire_enum;
use super::x509::X509Attestation;

wire_enum! {
    /// The kind of attestation (`attestation.type`).
    pub enum AttestationType {
        /// No attestation (`none`); not accepted by the service for real enrollments.
        None => "none",
        /// A TPM endorsement key (`tpm`); individual enrollments only.
        Tpm => "tpm",
        /// X.509 certificates (`x509`).
        X509 => "x509",
        /// Shared symmetric keys (`symmetricKey`).
        SymmetricKey => "symmetricKey",
    }
}

/// The attestation of an enrollment or enrollment group: a `type` plus the one matching member.
///
/// This is also the body of the `.../attestationmechanism` calls, the only dedicated way to
/// read back symmetric keys and TPM endorsement keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationMechanism {
    /// Which member below is meaningful.
    #[serde(rename = "type")]
    pub attestation_type: AttestationType,
    /// TPM attestation, when `type` is `tpm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<TpmAttestation>,
    /// X.509 attestation, when `type` is `x509`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509: Option<X509Attestation>,
    /// Symmetric-key attestation, when `type` is `symmetricKey`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symmetric_key: Option<SymmetricKeyAttestation>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AttestationMechanism {
    fn of(attestation_type: AttestationType) -> Self {
        Self {
            attestation_type,
            tpm: None,
            x509: None,
            symmetric_key: None,
            extra: Map::new(),
        }
    }

    /// A TPM attestation (`{"type":"tpm","tpm":{...}}`).
    pub fn tpm(tpm: TpmAttestation) -> Self {
        Self {
            tpm: Some(tpm),
            ..Self::of(AttestationType::Tpm)
        }
    }

    /// An X.509 attestation (`{"type":"x509","x509":{...}}`).
    pub fn x509(x509: X509Attestation) -> Self {
        Self {
            x509: Some(x509),
            ..Self::of(AttestationType::X509)
        }
    }

    /// A symmetric-key attestation (`{"type":"symmetricKey","symmetricKey":{...}}`).
    /// Pass [`SymmetricKeyAttestation::default()`] to let the service generate both keys.
    pub fn symmetric_key(keys: SymmetricKeyAttestation) -> Self {
        Self {
            symmetric_key: Some(keys),
            ..Self::of(AttestationType::SymmetricKey)
        }
    }

    /// An attestation of type `none` with no member.
    pub fn none() -> Self {
        Self::of(AttestationType::None)
    }
}

/// TPM attestation: the device's endorsement key (and optionally its storage root key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TpmAttestation {
    /// The TPM endorsement key, base64.
    pub endorsement_key: String,
    /// The TPM storage root key, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_root_key: Option<String>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TpmAttestation {
    /// A TPM attestation with only the endorsement key.
    pub fn new(endorsement_key: impl Into<String>) -> Self {
        Self {
            endorsement_key: endorsement_key.into(),
            storage_root_key: None,
            extra: Map::new(),
        }
    }
}

/// Symmetric-key attestation: a primary and a secondary base64 key.
///
/// When both are omitted the service generates them; the stored keys come back in PUT responses
/// and from the `attestationmechanism` call. A group's keys are not used by devices directly:
/// each device signs with a key derived from its registration id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymmetricKeyAttestation {
    /// The primary key, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// The secondary key, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_key: Option<String>,
    /// Fields this version does not model, kept so a read-modify-write loses nothing.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SymmetricKeyAttestation {
    /// Both keys given explicitly (base64).
    pub fn new(primary_key: impl Into<String>, secondary_key: impl Into<String>) -> Self {
        Self {
            primary_key: Some(primary_key.into()),
            secondary_key: Some(secondary_key.into()),
            extra: Map::new(),
        }
    }
}
