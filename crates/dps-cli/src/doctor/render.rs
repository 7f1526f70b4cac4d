//! A [`ChainError`] as a finding of the checklist: a stable check name, the error's own
//! message as the detail, and the `dps-cli` command (or file) that fixes it. The advice lives
//! here, in the CLI; `dps_chain` only states the facts.

use super::checks::{GroupCandidate, GroupCert};
use super::leaf::sanitize;
use super::{Check, Status};
use dps_chain::{Cert, ChainError, Role};
use std::path::{Path, PathBuf};

/// What a fix may refer to.
pub(crate) struct FixContext<'a> {
    /// The --cert file, to name the certGen full-chain file beside it.
    pub(crate) cert_path: &'a Path,
    /// The device certificate's CN.
    pub(crate) device_name: Option<&'a str>,
    /// Certificate files doctor has seen, to name the one that holds a missing certificate.
    pub(crate) files: &'a [(PathBuf, Cert)],
    /// What the device sends, leaf first.
    pub(crate) presented: &'a [Cert],
    /// The enrollment groups' certificates doctor knows, to name the group a fix updates.
    pub(crate) groups: &'a [GroupCandidate],
}

/// The check a refusal belongs to. Stable names, documented in JSON.md.
pub(crate) fn check_name(e: &ChainError) -> &'static str {
    match e {
        ChainError::NoCertificate => "leaf",
        ChainError::Unparseable { position: 0, .. } => "leaf",
        ChainError::CommonNameMismatch { .. } => "registration-id",
        ChainError::NotYetValid { .. } | ChainError::Expired { .. } => "validity",
        ChainError::LeafIsCa { .. } => "leaf-not-ca",
        ChainError::LeafNotClientAuth { .. } => "leaf-eku",
        ChainError::KeyMismatch { .. } => "key",
        ChainError::NotEnrolledCertificate { .. }
        | ChainError::NoEnrollmentGroup { .. }
        | ChainError::StaleGroupCertificate { .. } => "enrollment",
        ChainError::NotVerified { .. }
        | ChainError::UnverifiedReference { .. }
        | ChainError::VerifiedCaExpired { .. }
        | ChainError::VerifiedCaReplaced { .. } => "verified-ca",
        _ => "chain",
    }
}

/// The finding for a refusal: always a failure, since the service refuses the device.
pub(crate) fn render(e: &ChainError, ctx: &FixContext<'_>) -> Check {
    Check {
        check: check_name(e).to_owned(),
        status: Status::Fail,
        detail: e.to_string(),
        fix: Some(fix(e, ctx)),
    }
}

const PROVE_ROOT: &str = "dps-cli certificate prove --name <name> --cert <root.pem> --key \
                          <root.key.pem> (certGen layout: certs/azure-iot-test-only.root.ca.cert.pem \
                          and private/azure-iot-test-only.root.ca.key.pem)";
const CREATE_GROUP: &str = "dps-cli enrollment-group create --group-id <id> --cert <ca.pem>";

fn fix(e: &ChainError, ctx: &FixContext<'_>) -> String {
    let name = ctx
        .device_name
        .map_or_else(|| "<registration-id>".to_owned(), sanitize);
    match e {
        ChainError::NoCertificate => format!(
            "pass the device certificate (PEM or DER) with --cert ({} holds none)",
            ctx.cert_path.display()
        ),
        ChainError::Unparseable { position: 0, .. } => {
            "pass a valid X.509 certificate (PEM or DER) with --cert".into()
        }
        ChainError::Unparseable { .. } => {
            "remove it from the chain file, or replace it with the intermediate's valid certificate"
                .into()
        }
        ChainError::CommonNameMismatch {
            registration_id,
            common_name: Some(cn),
        } => format!(
            "register as {cn:?} (dps-cli device register uses the CN when --registration-id is \
             omitted), or issue a certificate with CN {registration_id:?}: dps-cli certs \
             create-device-certificate-from-intermediate {}",
            sanitize(registration_id)
        ),
        ChainError::CommonNameMismatch {
            registration_id, ..
        } => format!(
            "issue a certificate whose CN is the registration id: dps-cli certs \
             create-device-certificate-from-intermediate {}",
            sanitize(registration_id)
        ),
        ChainError::NotYetValid { role, .. } => format!(
            "wait until then, or check the clock of the machine that issued it; or {}",
            renew(*role, ctx)
        ),
        ChainError::Expired { role, .. } => renew(*role, ctx),
        ChainError::LeafIsCa { .. } => {
            // certGen names an IoT Edge device CA NAME.ca; the device's own name is NAME.
            let device = name.strip_suffix(".ca").unwrap_or(&name);
            format!(
                "register with a device (end-entity) certificate, e.g. dps-cli certs \
                 create-device-certificate-from-intermediate {device}; for IoT Edge, that is the \
                 device identity certificate: the edge CA certificate (certs \
                 create-edge-device-certificate) only signs the certificates of the Edge runtime \
                 and its modules"
            )
        }
        ChainError::LeafNotClientAuth { .. } => format!(
            "re-issue it with extendedKeyUsage clientAuth: dps-cli certs \
             create-device-certificate-from-intermediate {name}"
        ),
        ChainError::KeyMismatch { .. } => format!(
            "pass the key generated with this certificate (certGen layout: private/{name}.key.pem); \
             with another key the TLS handshake fails"
        ),
        ChainError::NotEnrolledCertificate {
            registration_id, ..
        } => format!(
            "update the enrollment with this certificate (dps-cli enrollment update \
             --registration-id {registration_id} --cert <device.pem>), or delete it to let \
             a group match"
        ),
        ChainError::NoEnrollmentGroup {
            unsent_issuer: Some(issuer),
            ..
        } => {
            let top = ctx.presented.iter().find(|c| c.issuer() == issuer);
            format!(
                "{}; if no enrollment group is on that CA either, enroll a CA of the device's \
                 chain: {CREATE_GROUP}",
                send_missing(issuer, top, ctx)
            )
        }
        ChainError::NoEnrollmentGroup { sent, .. } => format!(
            "enroll a CA of the device's chain ({}): {CREATE_GROUP}; or issue the device from an \
             enrolled CA",
            sent.get(1..)
                .filter(|s| !s.is_empty())
                .map_or_else(|| "the CA that issued it".to_owned(), |s| s.join(", "))
        ),
        ChainError::StaleGroupCertificate {
            subject,
            presented_sha256,
            ..
        } => {
            let group = ctx
                .groups
                .iter()
                .find(|g| same_subject(&g.cert, subject))
                .and_then(|g| g.group_id.as_deref())
                .unwrap_or("<id>");
            format!(
                "update the group with the new certificate: dps-cli enrollment-group update \
                 --group-id {group} --cert {}; or, if the old CA is still the right one, issue \
                 the device from it",
                holder(presented_sha256, ctx)
            )
        }
        ChainError::VerifiedCaReplaced {
            presented_sha256, ..
        } => format!(
            "verify the new CA certificate: dps-cli certificate prove --name <name> --cert {} \
             --key <its key>",
            holder(presented_sha256, ctx)
        ),
        ChainError::NotSignedBy { subject, issuer } => format!(
            "send the CA certificate that actually issued {subject}, or re-issue {subject} from \
             the current {issuer}"
        ),
        ChainError::IssuerNotCa { subject, .. } => format!(
            "issue intermediates as CA certificates (dps-cli certs create-root-and-intermediate) \
             and re-issue {subject} from one"
        ),
        ChainError::MissingIntermediate { last, missing, .. } => {
            let last = ctx.presented.iter().find(|c| c.subject() == last);
            format!(
                "{}; or verify {missing} itself by proof of possession (dps-cli certificate prove \
                 --name <name> --cert <its .pem> --key <its key>)",
                send_missing(missing, last, ctx)
            )
        }
        ChainError::NotVerified {
            unverified_upload: Some(upload),
            ..
        } => format!(
            "complete proof of possession for the uploaded CA certificate {upload:?}: dps-cli \
             certificate prove --name {upload} --cert <its .pem> --key <its key>"
        ),
        ChainError::NotVerified { group, top, .. } => format!(
            "upload and verify the root CA of the chain (the chain ends at {top}) or the group's \
             certificate {group}: {PROVE_ROOT}"
        ),
        ChainError::UnverifiedReference { name, .. } => format!(
            "complete proof of possession: dps-cli certificate prove --name {name} --cert \
             <its .pem> --key <its key>"
        ),
        ChainError::VerifiedCaExpired { subject, .. } => format!(
            "renew the CA {subject} (dps-cli certs create-root-and-intermediate --force), verify \
             the new certificate ({PROVE_ROOT}), enroll it and re-issue its devices"
        ),
        ChainError::GroupNotOnPath { group, verified } => format!(
            "send the group's certificate {group} in the device's chain (between the device \
             certificate and {verified}), or enroll the group on a CA the chain passes through"
        ),
        _ => "check the chain's signature algorithms, key sizes, CA flags and path length \
              constraints (dps-cli certs inspect)"
            .into(),
    }
}

/// Whether a group's certificate has `subject` (service summaries print DNs with other spacing).
fn same_subject(cert: &GroupCert, subject: &str) -> bool {
    dps_chain::same_dn(cert.subject(), subject)
}

/// The file doctor has seen that holds the certificate with this SHA-256 thumbprint, preferring
/// one that holds nothing else; `<its .pem>` when none does.
fn holder(sha256: &str, ctx: &FixContext<'_>) -> String {
    let in_file = |p: &PathBuf| ctx.files.iter().filter(|(q, _)| q == p).count();
    ctx.files
        .iter()
        .filter(|(_, c)| c.thumbprints().sha256.eq_ignore_ascii_case(sha256))
        .min_by_key(|(p, _)| in_file(p))
        .map_or_else(|| "<its .pem>".to_owned(), |(p, _)| p.display().to_string())
}

/// How to replace a certificate of `role` that is not (or no longer) valid.
pub(crate) fn renew(role: Role, ctx: &FixContext<'_>) -> String {
    match role {
        Role::Device => format!(
            "re-issue it: dps-cli certs create-device-certificate-from-intermediate {}",
            ctx.device_name
                .map_or_else(|| "<registration-id>".to_owned(), sanitize)
        ),
        _ => "re-create the CA (dps-cli certs create-root-and-intermediate --force), verify and \
              enroll it again, and re-issue its devices"
            .into(),
    }
}

/// "send {missing} with the device certificate ...": the certGen full-chain file beside
/// --cert, or the file that holds `missing` (the issuer of `below`, when known).
pub(crate) fn send_missing(missing: &str, below: Option<&Cert>, ctx: &FixContext<'_>) -> String {
    let name = ctx.device_name.unwrap_or("<name>");
    let sibling = ctx
        .cert_path
        .with_file_name(format!("{name}-full-chain.cert.pem"));
    let full = if sibling.is_file() && sibling != ctx.cert_path {
        sibling.display().to_string()
    } else {
        format!("certs/{name}-full-chain.cert.pem")
    };
    // The file that holds the missing certificate, preferring one that holds nothing else.
    let in_file = |p: &PathBuf| ctx.files.iter().filter(|(q, _)| q == p).count();
    let holds = |c: &Cert| match below {
        Some(b) => b.issued_by(c),
        None => c.is_ca() && c.subject() == missing,
    };
    let holder = ctx
        .files
        .iter()
        .filter(|(_, c)| holds(c))
        .min_by_key(|(p, _)| in_file(p))
        .map_or_else(
            || "<its certificate.pem>".to_owned(),
            |(p, _)| p.display().to_string(),
        );
    format!(
        "send {missing} with the device certificate, leaf first: use {full} (certGen layout), or \
         add --chain {holder}"
    )
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
