//! A [`ChainError`] as a finding of the checklist: a stable check name, the error's own
//! message as the detail, and the `dps-cli` command (or file) that fixes it. The advice lives
//! here, in the CLI; `dps_chain` only states the facts.

use super::checks::{GroupCandidate, GroupCert, Known};
use super::fixes::Wheres;
use super::leaf::sanitize;
use super::{Check, Status};
use crate::certgen_files::{self, path_word};
use crate::context::{GlobalArgs, shell_word};
use dps_chain::{Cert, ChainError, Role};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What a fix may refer to: every value doctor knows that a printed command needs, so the
/// command runs as printed (see `fixes.rs` for the commands).
pub(crate) struct FixContext<'a> {
    /// The global options, repeated by each command (`--emulator DIR`, ...).
    pub(crate) global: &'a GlobalArgs,
    /// The --cert file, to name the certGen full-chain file beside it.
    pub(crate) cert_path: &'a Path,
    /// The device certificate's CN.
    pub(crate) device_name: Option<&'a str>,
    /// `--registration-id`.
    pub(crate) registration_id: Option<&'a str>,
    /// Certificate files doctor has seen (given, or beside --cert), to name the one that holds
    /// a certificate.
    pub(crate) files: &'a [(PathBuf, Cert)],
    /// What the device sends, leaf first.
    pub(crate) presented: &'a [Cert],
    /// The enrollment groups' certificates doctor knows, to name the group a fix updates.
    pub(crate) groups: &'a [GroupCandidate],
    /// `--group-id`.
    pub(crate) group_id: Option<&'a str>,
    /// The ids of every enrollment group read from the service.
    pub(crate) group_ids: &'a [String],
    /// The verified CA certificates doctor knows (with their DPS names when read there).
    pub(crate) verified: &'a [Known],
    /// The CA certificates uploaded to the DPS but not verified, with their names.
    pub(crate) unverified: &'a [Known],
    /// The time of the checks.
    pub(crate) now: OffsetDateTime,
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

fn fix(e: &ChainError, ctx: &FixContext<'_>) -> String {
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
             omitted), or issue a certificate with CN {registration_id:?}: {}",
            ctx.reissue(&sanitize(registration_id))
        ),
        ChainError::CommonNameMismatch {
            registration_id, ..
        } => format!(
            "issue a certificate whose CN is the registration id: {}",
            ctx.reissue(&sanitize(registration_id))
        ),
        ChainError::NotYetValid { role, subject, .. } => format!(
            "wait until then, or check the clock of the machine that issued it; or {}",
            renew(*role, role_cert(*role, subject, ctx), subject, ctx)
        ),
        ChainError::Expired { role, subject, .. } => {
            renew(*role, role_cert(*role, subject, ctx), subject, ctx)
        }
        ChainError::LeafIsCa { .. } => {
            // certGen names an IoT Edge device CA NAME.ca; the device's own name is NAME.
            let name = ctx.device_name.map(sanitize);
            let device = name.as_deref().map(|n| n.strip_suffix(".ca").unwrap_or(n));
            format!(
                "register with a device (end-entity) certificate, e.g. {}; for IoT Edge, that is \
                 the device identity certificate: the edge CA certificate (certs \
                 create-edge-device-certificate) only signs the certificates of the Edge runtime \
                 and its modules",
                device.map_or_else(|| ctx.reissue_device(), |d| ctx.reissue(d))
            )
        }
        ChainError::LeafNotClientAuth { .. } => format!(
            "re-issue it with extendedKeyUsage clientAuth: {}",
            ctx.reissue_device()
        ),
        ChainError::KeyMismatch { .. } => {
            let found = ctx
                .presented
                .first()
                .and_then(|leaf| certgen_files::key(ctx.file_of(leaf)?, leaf));
            match found {
                Some(key) => format!(
                    "pass the key generated with this certificate: --key {} (beside it in the \
                     certGen layout); with another key the TLS handshake fails",
                    path_word(&key)
                ),
                None => "pass the key generated with this certificate (certGen layout: \
                         private/NAME.key.pem for certs/NAME.cert.pem); with another key the TLS \
                         handshake fails"
                    .into(),
            }
        }
        ChainError::NotEnrolledCertificate {
            registration_id, ..
        } => {
            let mut w = Wheres::default();
            let cert = ctx.device_cert_word(&mut w);
            let id = shell_word(registration_id);
            format!(
                "update the enrollment with this certificate: {}{}; or delete it to let a group \
                 match: {}",
                ctx.cmd(format_args!(
                    "enrollment update --registration-id {id} --cert {cert}"
                )),
                w.said(),
                ctx.cmd(format_args!("enrollment delete --registration-id {id}"))
            )
        }
        ChainError::NoEnrollmentGroup {
            unsent_issuer: Some(issuer),
            ..
        } => {
            let top = ctx.presented.iter().find(|c| c.issuer() == issuer);
            format!(
                "{}; if no enrollment group is on that CA either, enroll a CA of the device's \
                 chain: {}",
                send_missing(issuer, top, ctx),
                ctx.create_group()
            )
        }
        ChainError::NoEnrollmentGroup {
            registration_id,
            sent,
            ..
        } if sent.len() == 1 && ctx.presented.first().is_some_and(Cert::self_issued) => {
            // A self-signed device certificate is on no CA's chain: only an individual
            // enrollment holds it.
            let mut w = Wheres::default();
            let cert = ctx.device_cert_word(&mut w);
            format!(
                "a self-signed device certificate joins no enrollment group: enroll it \
                 individually, {}{}; or issue the device from an enrolled CA",
                ctx.cmd(format_args!(
                    "enrollment create --registration-id {} --cert {cert}",
                    shell_word(registration_id)
                )),
                w.said()
            )
        }
        ChainError::NoEnrollmentGroup { sent, .. } => format!(
            "enroll a CA of the device's chain ({}): {}; or issue the device from an enrolled CA",
            sent.get(1..)
                .filter(|s| !s.is_empty())
                .map_or_else(|| "the CA that issued it".to_owned(), |s| s.join(", ")),
            ctx.create_group()
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
                .or(ctx.group_id);
            let mut w = Wheres::default();
            let group = w.or(
                group.map(shell_word),
                "GROUP_ID",
                "the id of the enrollment group that holds the old certificate (enrollment-group \
                 list shows them)"
                    .into(),
            );
            let cert = w.or(
                ctx.file_of_sha256(presented_sha256).map(path_word),
                "CA_CERT",
                format!("the file of the new certificate {subject} (SHA-256 {presented_sha256})"),
            );
            format!(
                "update the group with the new certificate: {}{}; or, if the old CA is still the \
                 right one, issue the device from it",
                ctx.cmd(format_args!(
                    "enrollment-group update --group-id {group} --cert {cert}"
                )),
                w.said()
            )
        }
        ChainError::VerifiedCaReplaced {
            subject,
            presented_sha256,
            ..
        } => format!(
            "verify the new CA certificate: {}",
            ctx.prove(
                ctx.cert_of_sha256(presented_sha256),
                None,
                &format!("the new {subject} (SHA-256 {presented_sha256})")
            )
        ),
        ChainError::NotSignedBy { subject, issuer } => format!(
            "send the CA certificate that actually issued {subject}, or re-issue {subject} from \
             the current {issuer}"
        ),
        ChainError::IssuerNotCa { subject, issuer } => format!(
            "re-issue {issuer} as a CA certificate (basicConstraints CA:TRUE, as certs \
             create-root-and-intermediate makes them) and re-issue {subject} from it"
        ),
        ChainError::MissingIntermediate { last, missing, .. } => {
            let last = ctx.presented.iter().find(|c| c.subject() == last);
            let ca = last.and_then(|l| ctx.issuer_of(l));
            format!(
                "{}; or verify {missing} itself by proof of possession: {}",
                send_missing(missing, last, ctx),
                ctx.prove(ca, None, missing)
            )
        }
        ChainError::NotVerified {
            unverified_upload: Some(upload),
            ..
        } => {
            let ca = ctx
                .unverified
                .iter()
                .find(|k| k.name.as_deref() == Some(upload.as_str()))
                .map(|k| &k.cert);
            format!(
                "complete proof of possession for the uploaded CA certificate {upload:?}: {}",
                ctx.prove(ca, Some(upload), &format!("the CA certificate {upload:?}"))
            )
        }
        ChainError::NotVerified { group, top, .. } => {
            let top_cert = ctx.presented.iter().rev().find(|c| c.subject() == top);
            let root = top_cert.and_then(|t| {
                if t.self_issued() {
                    Some(t)
                } else {
                    ctx.issuer_of(t)
                }
            });
            let what = root.map_or_else(
                || format!("the root CA of the chain (the issuer of {top})"),
                |r| r.subject().to_owned(),
            );
            let ends = if root.is_some_and(|r| r.subject() == top) {
                String::new()
            } else {
                format!(" (the chain ends at {top})")
            };
            format!(
                "upload and verify the root CA of the chain, {what}{ends}, or the group's \
                 certificate {group}: {}",
                ctx.prove(root, None, &what)
            )
        }
        ChainError::UnverifiedReference { name, subject, .. } => {
            let ca = ctx
                .groups
                .iter()
                .find_map(|g| match (&g.reference, &g.cert) {
                    (Some(r), GroupCert::Known(c)) if r.name == *name => Some(c.as_ref()),
                    _ => None,
                });
            format!(
                "complete proof of possession: {}",
                ctx.prove(ca, Some(name), subject)
            )
        }
        ChainError::VerifiedCaExpired { subject, .. } => {
            let ca = ctx
                .verified
                .iter()
                .map(|k| &k.cert)
                .find(|c| c.subject() == subject && c.not_after() < ctx.now);
            ctx.renew_ca(ca, subject)
        }
        ChainError::GroupNotOnPath { group, verified } => format!(
            "send the group's certificate {group} in the device's chain (between the device \
             certificate and {verified}), or enroll the group on a CA the chain passes through"
        ),
        _ => format!(
            "check the chain's signature algorithms, key sizes, CA flags and path length \
             constraints: `dps-cli certs inspect {}`",
            path_word(ctx.cert_path)
        ),
    }
}

/// Whether a group's certificate has `subject` (service summaries print DNs with other spacing).
fn same_subject(cert: &GroupCert, subject: &str) -> bool {
    dps_chain::same_dn(cert.subject(), subject)
}

/// The certificate of `role` with `subject`: the one the device sent at that place, the
/// group's, or a verified CA.
fn role_cert<'a>(role: Role, subject: &str, ctx: &FixContext<'a>) -> Option<&'a Cert> {
    match role {
        Role::Device => ctx.presented.first(),
        Role::Intermediate(i) => ctx.presented.get(i),
        Role::GroupCertificate => ctx.groups.iter().find_map(|g| match &g.cert {
            GroupCert::Known(c) if c.subject() == subject => Some(c.as_ref()),
            _ => None,
        }),
        _ => ctx
            .verified
            .iter()
            .map(|k| &k.cert)
            .find(|c| c.subject() == subject),
    }
}

/// How to replace the certificate `cert` (`subject`) of `role` that is not (or soon no
/// longer) valid.
pub(crate) fn renew(
    role: Role,
    cert: Option<&Cert>,
    subject: &str,
    ctx: &FixContext<'_>,
) -> String {
    match role {
        Role::Device => format!("re-issue it: {}", ctx.reissue_device()),
        _ => ctx.renew_ca(cert, subject),
    }
}

/// "send {missing} with the device certificate ...": the certGen full-chain file beside
/// --cert, or the file that holds `missing` (the issuer of `below`, when known).
pub(crate) fn send_missing(missing: &str, below: Option<&Cert>, ctx: &FixContext<'_>) -> String {
    let how = match (
        ctx.full_chain(missing, below),
        ctx.file_holding(missing, below),
    ) {
        (Some(full), Some(file)) if full != file => format!(
            "use {} (certGen layout), or add --chain {}",
            path_word(full),
            path_word(file)
        ),
        (Some(full), _) => format!("use {} (certGen layout)", path_word(full)),
        (None, Some(file)) => format!("add --chain {}", path_word(file)),
        (None, None) => "add its certificate file with --chain".to_owned(),
    };
    format!("send {missing} with the device certificate, leaf first: {how}")
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
