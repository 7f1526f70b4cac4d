//! `enrollment export`: every enrollment as the JSON array `enrollment import` reads.

use crate::output::{OutputFormat, print_line, print_serialized};
use anyhow::Context;
use dps_protocol::models::{AttestationType, IndividualEnrollment};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

pub(super) const LONG_ABOUT: &str = "\
Write every individual enrollment (following paging to the end) as a JSON array of
IndividualEnrollment objects, as the service returns them: the file `dps-cli enrollment import`
reads back. Without --out the array goes to stdout, whatever --output says.

Symmetric keys and TPM endorsement keys are included: keep the file private. X.509 enrollments
re-import only with their certificates: the service returns a certificate's info (subject,
thumbprints, validity), never the certificate itself, so these records re-import with --mode
update onto the DPS they came from, and with --mode create only after their
attestation.x509.clientCertificates.primary.certificate is filled in again (import refuses them
clearly otherwise).";

/// The options of `enrollment export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write the array to this file instead of stdout (created with owner-only permissions).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Records per request; every page is read.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

/// Writes the array to `--out` or stdout; with `--out`, stdout gets a summary (table) or
/// `{"exported","path","x509WithoutCertificate"}` (json).
pub(super) fn write(
    list: &[IndividualEnrollment],
    args: &ExportArgs,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let Some(path) = &args.out else {
        return print_serialized(list);
    };
    let mut text = serde_json::to_vec_pretty(list)?;
    text.push(b'\n');
    write_private(path, &text).with_context(|| format!("writing {}", path.display()))?;
    let x509 = list
        .iter()
        .filter(|e| e.attestation.attestation_type == AttestationType::X509)
        .count();
    match format {
        OutputFormat::Json => print_serialized(&json!({
            "exported": list.len(),
            "path": path,
            "x509WithoutCertificate": x509,
        })),
        OutputFormat::Table => {
            print_line(format_args!(
                "exported {} enrollments to {}",
                list.len(),
                path.display()
            ))?;
            if x509 > 0 {
                print_line(format_args!(
                    "{x509} X.509 enrollment(s) carry their certificate's info only: they \
                     re-import with --mode update onto this DPS, or with --mode create once \
                     their certificates are put back"
                ))?;
            }
            Ok(())
        }
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.flush()
}
