//! What enrollment groups and individual enrollments have in common on the command line:
//! certificate files in, attestation summaries out.

use crate::settings::EffectiveSettings;
use anyhow::Context;
use dps_protocol::models::{
    AttestationMechanism, AttestationType, EnrollmentGroup, IndividualEnrollment,
    X509CertificateWithInfo,
};
use serde::Serialize;
use std::path::Path;

/// The key `--output json` adds to enrollment groups and enrollments: the settings with the
/// service's defaults filled in, as the table shows them.
pub const EFFECTIVE_SETTINGS: &str = "effectiveSettings";

/// A record as the service returned it, followed by the `effectiveSettings` dps-cli computes
/// (the table shows defaults the service leaves out; JSON carries them too, without touching
/// the service's own fields).
#[derive(Debug, Serialize)]
pub struct WithSettings<'a, T: Serialize> {
    /// The service's record, verbatim.
    #[serde(flatten)]
    pub record: &'a T,
    /// The settings in effect.
    #[serde(rename = "effectiveSettings")]
    pub effective_settings: EffectiveSettings,
}

impl<'a> WithSettings<'a, EnrollmentGroup> {
    /// An enrollment group with its effective settings.
    pub fn group(g: &'a EnrollmentGroup) -> Self {
        Self {
            record: g,
            effective_settings: EffectiveSettings::of(
                g.provisioning_status.as_ref(),
                g.iot_hubs.as_ref(),
                g.allocation_policy.as_ref(),
                g.capabilities.as_ref(),
                g.reprovision_policy.as_ref(),
            ),
        }
    }
}

impl<'a> WithSettings<'a, IndividualEnrollment> {
    /// An individual enrollment with its effective settings.
    pub fn enrollment(e: &'a IndividualEnrollment) -> Self {
        Self {
            record: e,
            effective_settings: EffectiveSettings::of(
                e.provisioning_status.as_ref(),
                e.iot_hubs.as_ref(),
                e.allocation_policy.as_ref(),
                e.capabilities.as_ref(),
                e.reprovision_policy.as_ref(),
            ),
        }
    }
}

/// Reads the first certificate of a PEM or DER file (`.pem`, `.cer`) as PEM text for upload.
/// `flag` names the option in errors; a PKCS#12 or a key file is refused in words
/// (`credentials` tells the kind by content).
pub fn read_certificate(path: &Path, flag: &str) -> anyhow::Result<String> {
    let certs = crate::credentials::upload_certificates(path, flag)?;
    let first = certs
        .first()
        .with_context(|| format!("{flag} {}: no certificate", path.display()))?;
    if certs.len() > 1 {
        crate::output::eprint_note(
            "note: ",
            &format!(
                "{} holds {} certificates; the first one is used",
                path.display(),
                certs.len()
            ),
        );
    }
    Ok(dps_certgen::pem_cert(first))
}

/// A one-line summary of an attestation for list tables: `x509 CN=...`,
/// `x509 ca-reference NAME`, `symmetricKey`, `tpm`.
pub fn attestation_summary(a: &AttestationMechanism) -> String {
    match (&a.attestation_type, &a.x509) {
        (AttestationType::X509, Some(x)) => {
            let certs = x
                .signing_certificates
                .as_ref()
                .or(x.client_certificates.as_ref());
            if let Some(primary) = certs.and_then(|c| c.primary.as_ref()) {
                return format!("x509 {}", cert_subject(primary));
            }
            if let Some(name) = x.ca_references.as_ref().and_then(|r| r.primary.as_ref()) {
                return format!("x509 ca-reference {name}");
            }
            "x509".to_owned()
        }
        (t, _) => t.to_string(),
    }
}

fn cert_subject(c: &X509CertificateWithInfo) -> String {
    c.info
        .as_ref()
        .map_or_else(|| "(certificate)".to_owned(), |i| i.subject_name.clone())
}

/// The attestation as `name  value` lines for `show`, keys included (the service returns them
/// to the owner policy).
pub fn attestation_fields(a: &AttestationMechanism) -> Vec<(&'static str, String)> {
    let mut out = vec![("attestation", a.attestation_type.to_string())];
    if let Some(x) = &a.x509 {
        let certs = x
            .signing_certificates
            .as_ref()
            .or(x.client_certificates.as_ref());
        if let Some(c) = certs {
            for (label, cert) in [("primary", &c.primary), ("secondary", &c.secondary)] {
                let Some(cert) = cert else { continue };
                out.push((
                    if label == "primary" {
                        "primary cert"
                    } else {
                        "secondary cert"
                    },
                    cert_subject(cert),
                ));
                if let Some(i) = &cert.info {
                    out.push(("  issuer", i.issuer_name.clone()));
                    out.push(("  sha1", i.sha1_thumbprint.clone()));
                    out.push(("  sha256", i.sha256_thumbprint.clone()));
                    out.push((
                        "  valid",
                        format!(
                            "{} to {}",
                            crate::output::date(Some(&i.not_before_utc)),
                            crate::output::date(Some(&i.not_after_utc))
                        ),
                    ));
                }
            }
        }
        if let Some(r) = &x.ca_references {
            if let Some(p) = &r.primary {
                out.push(("ca reference", p.clone()));
            }
            if let Some(s) = &r.secondary {
                out.push(("secondary ca reference", s.clone()));
            }
        }
    }
    if let Some(k) = &a.symmetric_key {
        out.push(("primary key", crate::output::dash(k.primary_key.as_ref())));
        out.push((
            "secondary key",
            crate::output::dash(k.secondary_key.as_ref()),
        ));
    }
    if let Some(t) = &a.tpm {
        out.push(("endorsement key", t.endorsement_key.clone()));
        if let Some(srk) = &t.storage_root_key {
            out.push(("storage root key", srk.clone()));
        }
    }
    out
}
