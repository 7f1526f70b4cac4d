//! The options of the `enrollment` commands, and the attestation they describe.

use super::import::ImportMode;
use crate::records::read_certificate;
use crate::settings::SettingsArgs;
use dps_protocol::models::{
    AttestationMechanism, SymmetricKeyAttestation, TpmAttestation, X509Attestation,
};
use std::path::PathBuf;

/// How the device attests. On create exactly one of --cert, --symmetric-key and
/// --endorsement-key; on update, any of them replaces the attestation.
#[derive(Debug, Clone, clap::Args)]
pub struct EnrollmentAttestationArgs {
    /// The device's own certificate, PEM or DER (.pem, .cer); CN = registration id.
    #[arg(long = "cert", alias = "certificate", value_name = "FILE", conflicts_with_all = ["symmetric_key", "endorsement_key"])]
    pub certificate: Option<PathBuf>,
    /// A second device certificate, for rolling over.
    #[arg(long = "secondary-cert", alias = "secondary-certificate", value_name = "FILE", requires = "certificate", conflicts_with_all = ["symmetric_key", "endorsement_key"])]
    pub secondary_certificate: Option<PathBuf>,
    /// Symmetric-key attestation; the service generates the keys unless --primary-key and
    /// --secondary-key are given.
    #[arg(long, conflicts_with = "endorsement_key")]
    pub symmetric_key: bool,
    /// The primary key (base64).
    #[arg(long, value_name = "KEY", requires = "symmetric_key", conflicts_with_all = ["certificate", "endorsement_key"])]
    pub primary_key: Option<String>,
    /// The secondary key (base64).
    #[arg(long, value_name = "KEY", requires = "symmetric_key", conflicts_with_all = ["certificate", "endorsement_key"])]
    pub secondary_key: Option<String>,
    /// TPM attestation: the TPM's endorsement key (base64).
    #[arg(long, value_name = "B64")]
    pub endorsement_key: Option<String>,
    /// The TPM's storage root key (base64).
    #[arg(long, value_name = "B64", requires = "endorsement_key", conflicts_with_all = ["certificate", "symmetric_key"])]
    pub storage_root_key: Option<String>,
}

impl EnrollmentAttestationArgs {
    /// The attestation the flags describe, or `None` when none is given.
    pub fn build(&self) -> anyhow::Result<Option<AttestationMechanism>> {
        if let Some(p) = &self.certificate {
            let primary = read_certificate(p, "--cert")?;
            let secondary = self
                .secondary_certificate
                .as_ref()
                .map(|s| read_certificate(s, "--secondary-cert"))
                .transpose()?;
            return Ok(Some(AttestationMechanism::x509(X509Attestation::client(
                primary, secondary,
            ))));
        }
        if self.symmetric_key {
            return Ok(Some(AttestationMechanism::symmetric_key(
                SymmetricKeyAttestation {
                    primary_key: self.primary_key.clone(),
                    secondary_key: self.secondary_key.clone(),
                    ..SymmetricKeyAttestation::default()
                },
            )));
        }
        if let Some(ek) = &self.endorsement_key {
            let mut tpm = TpmAttestation::new(ek);
            tpm.storage_root_key = self.storage_root_key.clone();
            return Ok(Some(AttestationMechanism::tpm(tpm)));
        }
        Ok(None)
    }
}

/// The options of `enrollment create`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("attestation")
        .required(true)
        .args(["certificate", "symmetric_key", "endorsement_key"])
))]
pub struct CreateArgs {
    /// The device's registration id.
    #[arg(long, value_name = "ID")]
    pub registration_id: String,
    /// The IoT Hub device id [service default: the registration id].
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,
    /// Attestation.
    #[command(flatten)]
    pub attestation: EnrollmentAttestationArgs,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// The options of `enrollment update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The device's registration id.
    #[arg(long, value_name = "ID")]
    pub registration_id: String,
    /// The IoT Hub device id.
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,
    /// Replace the attestation.
    #[command(flatten)]
    pub attestation: EnrollmentAttestationArgs,
    /// Settings to change.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Write only if the enrollment's ETag is still this [default: the ETag just read].
    #[arg(long, value_name = "ETAG")]
    pub if_match: Option<String>,
}

/// `--registration-id`.
#[derive(Debug, clap::Args)]
pub struct IdArgs {
    /// The device's registration id.
    #[arg(long, value_name = "ID")]
    pub registration_id: String,
}

/// The options of `enrollment list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Records per request (the service's default when absent); every page is read.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

/// The options of `enrollment delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The device's registration id.
    #[arg(long, value_name = "ID")]
    pub registration_id: String,
    /// Delete only if the enrollment's ETag is still this.
    #[arg(long, value_name = "ETAG")]
    pub if_match: Option<String>,
}

/// The options of `enrollment import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file to import: .csv (columns below) or .json (an array of enrollments, as
    /// `export` writes).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What to do with each row.
    #[arg(long, value_enum, default_value = "create")]
    pub mode: ImportMode,
}
