//! The file format: one [`Manifest`] per file, with the service's own JSON field names.
//!
//! Every struct refuses fields it does not know (a misspelt field is an error, never ignored).
//! Where the service's JSON holds certificate or key material, the file holds a reference
//! instead: [`CertificateRef`] (a file, or a thumbprint for what the service only describes) and
//! [`SecretRef`] (`${VARIABLE}` or a file). Fields of the service this format does not model go
//! under [`Enrollment::pass_through`] / [`EnrollmentGroup::pass_through`], sent as they are.

use crate::known::Known;
use crate::secret_ref::SecretRef;
use dps_protocol::models::{AllocationPolicy, AttestationType, ProvisioningStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// One file: CA certificates, enrollment groups and individual enrollments. Several files (and
/// the files of a directory) compose into one desired state; an id may appear only once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// The JSON Schema this file follows, for editors (not read by dps-cli).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// CA certificates of the DPS (verified ones are what `caReferences` name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CaCertificate>,
    /// Enrollment groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enrollment_groups: Vec<EnrollmentGroup>,
    /// Individual enrollments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enrollments: Vec<Enrollment>,
}

/// A CA certificate of the DPS (`az iot dps certificate`; on Azure a Resource Manager resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaCertificate {
    /// The certificate's name in the DPS (what `caReferences` use).
    pub name: String,
    /// The certificate: a PEM or DER file, or the SHA-1 `thumbprint` the service shows.
    pub certificate: CertificateRef,
    /// Whether the certificate is verified. `true` without `proofOfPossession` uploads it as
    /// verified, as the service allows; with `proofOfPossession`, possession is proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_verified: Option<bool>,
    /// Prove possession of the CA's private key, as `dps-cli certificate prove` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_of_possession: Option<ProofOfPossession>,
}

/// The CA's private key, to sign the verification certificate for the service's code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProofOfPossession {
    /// The CA's private key file (PEM, PKCS#8 or PKCS#1, encrypted or not), relative to this
    /// file.
    pub key: PathBuf,
    /// The key's password, for an encrypted key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// A certificate: a file (PEM or DER, relative to the declaring file), or the thumbprint of
/// one the service already holds (what `export` writes, since the service returns only a
/// certificate's info). Enrollment certificates are matched by SHA-256 (the service's
/// `info.sha256Thumbprint`), CA certificates by SHA-1 (their `thumbprint`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateRef {
    /// A PEM or DER certificate file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Upper- or lower-case hex SHA-256 of the certificate's DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256_thumbprint: Option<String>,
    /// Upper- or lower-case hex SHA-1 of the certificate's DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1_thumbprint: Option<String>,
    /// The certificate's subject, for people (`export` writes it; not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
}

/// How devices attest: the service's `attestation` object, with references for material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attestation {
    /// `x509`, `symmetricKey` or `tpm` (individual enrollments only).
    #[serde(rename = "type")]
    pub attestation_type: Known<AttestationType>,
    /// X.509 certificates (with `type: x509`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509: Option<X509>,
    /// Symmetric keys (with `type: symmetricKey`). Without keys, the service generates them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetric_key: Option<SymmetricKey>,
    /// A TPM's endorsement key (with `type: tpm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<Tpm>,
}

/// X.509 attestation: exactly one of the three members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct X509 {
    /// The device's own certificate (individual enrollments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificates: Option<CertificatePair>,
    /// The signing CA certificate (enrollment groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_certificates: Option<CertificatePair>,
    /// Names of verified CA certificates of the DPS (enrollment groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_references: Option<CaReferences>,
}

/// A primary certificate and an optional secondary one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificatePair {
    /// The primary certificate.
    pub primary: CertificateRef,
    /// The secondary certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<CertificateRef>,
}

/// CA certificate names (`certificates[].name`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaReferences {
    /// The primary CA's name.
    pub primary: String,
    /// The secondary CA's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<String>,
}

/// Symmetric keys, never inline: `${VARIABLE}` or `{file: PATH}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SymmetricKey {
    /// The primary key (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<SecretRef>,
    /// The secondary key (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_key: Option<SecretRef>,
}

/// A TPM's public keys (not secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tpm {
    /// The endorsement key (base64).
    pub endorsement_key: String,
    /// The storage root key (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_root_key: Option<String>,
}

/// The twin devices start with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitialTwin {
    /// Twin tags.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub tags: Map<String, Value>,
    /// Desired properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<TwinProperties>,
}

/// `initialTwin.properties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TwinProperties {
    /// Desired properties.
    #[serde(default)]
    pub desired: Map<String, Value>,
}

/// What happens when a provisioned device registers again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReprovisionPolicy {
    /// Whether the device may move to another hub (service default `true`).
    #[serde(default = "yes")]
    pub update_hub_assignment: bool,
    /// Whether the twin moves with it (service default `true`).
    #[serde(default = "yes")]
    pub migrate_device_data: bool,
}

fn yes() -> bool {
    true
}

/// Device capabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capabilities {
    /// Whether the device is an IoT Edge device.
    pub iot_edge: bool,
}

/// The webhook of allocation policy `custom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomAllocation {
    /// The webhook's URL. A URL with a function key is a secret: give it as `${VARIABLE}`.
    pub webhook_url: SecretRef,
    /// The webhook's API version (e.g. `2021-10-01`).
    pub api_version: String,
}

/// Settings an enrollment group and an individual enrollment share. A field left out is not
/// managed: the service's value stays as it is.
macro_rules! settings_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// How devices attest.
            pub attestation: Attestation,
            /// `enabled` or `disabled` (service default `enabled`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub provisioning_status: Option<Known<ProvisioningStatus>>,
            /// `hashed`, `geoLatency`, `static` or `custom`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub allocation_policy: Option<Known<AllocationPolicy>>,
            /// Host names of the linked hubs devices may be assigned to.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub iot_hubs: Option<Vec<String>>,
            /// A fixed hub (older API versions' `static` allocation).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub iot_hub_host_name: Option<String>,
            /// The webhook of allocation policy `custom`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub custom_allocation_definition: Option<CustomAllocation>,
            /// The twin devices start with.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub initial_twin: Option<InitialTwin>,
            /// What happens when a provisioned device registers again.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub reprovision_policy: Option<ReprovisionPolicy>,
            /// Device capabilities (IoT Edge).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub capabilities: Option<Capabilities>,
            /// Credential policy of a linked Azure Device Registry.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub credential_policy_name: Option<String>,
            /// Fields of the service this format does not model, sent as they are (a newer
            /// service's fields survive an apply; `export` writes them here).
            #[serde(default, skip_serializing_if = "Map::is_empty")]
            pub pass_through: Map<String, Value>,
        }
    };
}

settings_struct! {
    /// An enrollment group: every device whose chain reaches its CA, or that holds a key
    /// derived from its group key.
    pub struct EnrollmentGroup {
        /// The group's id.
        pub enrollment_group_id: String,
    }
}

settings_struct! {
    /// An individual enrollment: one device.
    pub struct Enrollment {
        /// The device's registration id.
        pub registration_id: String,
        /// The IoT Hub device id (the registration id when left out).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub device_id: Option<String>,
        /// Free-form device information stored with the enrollment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub optional_device_information: Option<Map<String, Value>>,
    }
}
