//! The checks themselves: pure functions of what was read from files and from the service, so
//! that every rule the service applies to an X.509 device is predicted in one place.

use super::cert::{Cert, DeviceKey, rfc3339};
use super::enrollment::{best_group, completeness, enrollment, individual, path, verified};
use super::{Check, Status};
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;
use time::OffsetDateTime;

/// Certificates expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 7;

/// A certificate known to the doctor, with where it came from (a file, or the service's
/// certificate name).
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub(crate) source: String,
    /// The DPS certificate name, when it came from the service.
    pub(crate) name: Option<String>,
    pub(crate) cert: Cert,
}

/// An enrollment group's certificate: the certificate itself when it is known, or only the
/// service's summary of it.
#[derive(Debug, Clone)]
pub(crate) enum GroupCert {
    Known(Cert),
    Info {
        subject: String,
        issuer: String,
        sha256: String,
    },
}

impl GroupCert {
    pub(super) fn subject(&self) -> &str {
        match self {
            GroupCert::Known(c) => &c.subject,
            GroupCert::Info { subject, .. } => subject,
        }
    }
}

/// One certificate of one enrollment group (or of `--group-cert`).
#[derive(Debug, Clone)]
pub(crate) struct GroupCandidate {
    /// "enrollment group 'g' (primary signing certificate)", "--group-cert FILE", ...
    pub(crate) label: String,
    pub(crate) group_id: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) cert: GroupCert,
}

/// An individual enrollment for the device's registration id, as the service reported it.
#[derive(Debug, Clone)]
pub(crate) struct Individual {
    pub(crate) registration_id: String,
    /// `x509`, `symmetricKey`, `tpm`.
    pub(crate) attestation: String,
    /// SHA-256 thumbprints of its client certificates.
    pub(crate) thumbprints: Vec<String>,
    pub(crate) enabled: bool,
}

/// Everything the checks look at.
pub(crate) struct Inputs {
    pub(crate) cert_path: PathBuf,
    pub(crate) presented: Vec<CertificateDer<'static>>,
    pub(crate) key: Option<(PathBuf, Result<DeviceKey, String>)>,
    pub(crate) registration_id: Option<String>,
    /// `None`: no group information at all.
    pub(crate) groups: Option<Vec<GroupCandidate>>,
    /// `None`: nothing is known about verified CAs.
    pub(crate) verified: Option<Vec<Known>>,
    /// CA certificates uploaded to the service but not verified.
    pub(crate) unverified: Vec<Known>,
    pub(crate) individual: Option<Individual>,
    /// Findings of the service lookup, reported before the enrollment checks.
    pub(crate) notes: Vec<Check>,
    pub(crate) now: OffsetDateTime,
}

pub(super) struct Out(pub(super) Vec<Check>);

impl Out {
    pub(super) fn push(
        &mut self,
        check: &str,
        status: Status,
        detail: String,
        fix: Option<String>,
    ) {
        self.0.push(Check {
            check: check.to_owned(),
            status,
            detail,
            fix,
        });
    }
    pub(super) fn ok(&mut self, check: &str, detail: String) {
        self.push(check, Status::Ok, detail, None);
    }
    pub(super) fn warn(&mut self, check: &str, detail: String, fix: Option<String>) {
        self.push(check, Status::Warn, detail, fix);
    }
    pub(super) fn fail(&mut self, check: &str, detail: String, fix: String) {
        self.push(check, Status::Fail, detail, Some(fix));
    }
    pub(super) fn failed(&self) -> bool {
        self.0.iter().any(|c| c.status == Status::Fail)
    }
}

/// Runs every check, in the order the service would trip over them.
pub(crate) fn run(inp: &Inputs) -> Vec<Check> {
    let mut out = Out(Vec::new());
    let Some(leaf_der) = inp.presented.first() else {
        out.fail(
            "leaf",
            format!("{} holds no certificate", inp.cert_path.display()),
            "pass the device certificate (PEM or DER) with --cert".into(),
        );
        return out.0;
    };
    let leaf = match Cert::parse(leaf_der) {
        Ok(c) => c,
        Err(e) => {
            out.fail(
                "leaf",
                format!(
                    "the device certificate in {} cannot be parsed: {e}",
                    inp.cert_path.display()
                ),
                "pass a valid X.509 certificate (PEM or DER) with --cert".into(),
            );
            return out.0;
        }
    };
    let mut chain = vec![leaf.clone()];
    for (i, der) in inp.presented.iter().enumerate().skip(1) {
        match Cert::parse(der) {
            Ok(c) => chain.push(c),
            Err(e) => {
                out.fail(
                    "chain",
                    format!("certificate {} of the chain cannot be parsed: {e}", i + 1),
                    "remove it or replace it with the intermediate's valid certificate".into(),
                );
                return out.0;
            }
        }
    }
    out.ok(
        "leaf",
        format!(
            "{}, issued by {}; the device sends {}",
            leaf.subject,
            leaf.issuer,
            describe_chain(&chain)
        ),
    );
    identity(&mut out, inp, &leaf);
    usage(&mut out, inp, &leaf);
    for (i, c) in chain.iter().enumerate() {
        let role = if i == 0 {
            "device certificate"
        } else if c.is_root() {
            "root"
        } else {
            "intermediate"
        };
        validity(&mut out, c, role, inp.now);
    }
    order(&mut out, &chain);
    out.0.extend(inp.notes.iter().cloned());

    if let Some(ind) = &inp.individual {
        individual(&mut out, ind, &leaf);
        return out.0;
    }
    let best = best_group(inp, &chain);
    completeness(&mut out, inp, &chain, best.as_ref());
    enrollment(&mut out, inp, &chain, best.as_ref());
    let Some((group, _)) = best else {
        return out.0;
    };
    if let GroupCert::Known(gc) = &group.cert {
        validity(&mut out, gc, "group certificate", inp.now);
    }
    verified(&mut out, inp, &chain, &group);
    if let GroupCert::Known(gc) = &group.cert {
        path(&mut out, inp, gc);
    }
    out.0
}

pub(super) fn describe_chain(chain: &[Cert]) -> String {
    let names: Vec<&str> = chain.iter().map(|c| c.subject.as_str()).collect();
    match chain.len() {
        1 => format!("its certificate alone ({})", names[0]),
        n => format!("{n} certificates: {}", names.join(" <- ")),
    }
}

/// CN rule and registration id.
fn identity(out: &mut Out, inp: &Inputs, leaf: &Cert) {
    let Some(cn) = &leaf.common_name else {
        out.fail(
            "common-name",
            format!(
                "the device certificate {} has no common name; DPS uses the CN as the registration id",
                leaf.subject
            ),
            "issue a certificate whose CN is the registration id: dps-cli certs \
             create-device-certificate-from-intermediate <registration-id>"
                .into(),
        );
        return;
    };
    match dps_protocol::check_common_name(cn) {
        Err(e) => out.fail(
            "common-name",
            format!("{e} (400004/401002 at registration)"),
            format!(
                "re-issue the device certificate with a valid CN, e.g. dps-cli certs \
                 create-device-certificate-from-intermediate {}",
                sanitize(cn)
            ),
        ),
        Ok(w) if !w.is_empty() => out.warn(
            "common-name",
            w.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Some(format!(
                "prefer a lower-case CN such as {:?} for new devices",
                cn.to_ascii_lowercase()
            )),
        ),
        Ok(_) => out.ok(
            "common-name",
            format!("CN {cn:?} is a valid registration id"),
        ),
    }
    let Some(id) = &inp.registration_id else {
        return;
    };
    if let Err(e) = dps_protocol::check_registration_id(id) {
        out.fail(
            "registration-id",
            e.to_string(),
            format!("register as the certificate's CN {cn:?}"),
        );
    } else if !id.eq_ignore_ascii_case(cn) {
        out.fail(
            "registration-id",
            format!(
                "the device would register as {id:?}, but its certificate's CN is {cn:?}; DPS refuses \
                 a registration id that is not the CN (401002)"
            ),
            format!(
                "register as {cn:?} (dps-cli device register uses the CN when --registration-id is \
                 omitted), or issue a certificate with CN {id:?}"
            ),
        );
    } else {
        out.ok("registration-id", format!("{id:?} is the certificate's CN"));
    }
}

/// A CN suggestion that follows the rule.
fn sanitize(cn: &str) -> String {
    let mapped: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
    let s: String = trimmed.chars().take(64).collect();
    if s.is_empty() { "my-device".into() } else { s }
}

/// CA flag, extended key usage, key match.
fn usage(out: &mut Out, inp: &Inputs, leaf: &Cert) {
    let reissue = format!(
        "issue a device certificate (not a CA): dps-cli certs create-device-certificate-from-intermediate {}",
        leaf.common_name
            .as_deref()
            .map_or_else(|| "<registration-id>".to_owned(), sanitize)
    );
    if leaf.is_ca {
        out.fail(
            "leaf-not-ca",
            format!(
                "the device certificate {} is a CA certificate (basicConstraints CA:TRUE); the service \
                 refuses a CA certificate as a device certificate",
                leaf.subject
            ),
            reissue.clone(),
        );
    } else {
        out.ok(
            "leaf-not-ca",
            "the device certificate is not a CA certificate".into(),
        );
    }
    match leaf.client_auth {
        Some(false) => out.fail(
            "leaf-eku",
            format!(
                "the device certificate {} does not allow TLS client authentication (its \
                 extendedKeyUsage lacks clientAuth)",
                leaf.subject
            ),
            format!("re-issue it with extendedKeyUsage clientAuth; {reissue}"),
        ),
        Some(true) => out.ok(
            "leaf-eku",
            "extendedKeyUsage allows TLS client authentication".into(),
        ),
        None => out.ok(
            "leaf-eku",
            "no extendedKeyUsage restriction: TLS client authentication is allowed".into(),
        ),
    }
    match &inp.key {
        None => {}
        Some((path, Err(e))) => out.fail(
            "key",
            format!("the key {} cannot be read: {e}", path.display()),
            "pass the device's private key (PEM), with --key-password if it is encrypted".into(),
        ),
        Some((path, Ok(k))) if k.public_key != leaf.public_key => out.fail(
            "key",
            format!(
                "the key {} does not belong to the device certificate {}: the TLS handshake would fail",
                path.display(),
                leaf.subject
            ),
            format!(
                "pass the key generated with this certificate (certGen layout: private/{}.key.pem)",
                leaf.common_name.as_deref().unwrap_or("<name>")
            ),
        ),
        Some((path, Ok(_))) => out.ok(
            "key",
            format!("{} is the device certificate's private key", path.display()),
        ),
    }
}

pub(super) fn validity(out: &mut Out, c: &Cert, role: &str, now: OffsetDateTime) {
    let renew = if c.is_ca {
        "re-create the CA (dps-cli certs create-root-and-intermediate --force), enroll it again and \
         re-issue its devices"
            .to_owned()
    } else {
        format!(
            "re-issue it: dps-cli certs create-device-certificate-from-intermediate {}",
            c.common_name.as_deref().unwrap_or("<name>")
        )
    };
    if now < c.not_before {
        out.fail(
            "validity",
            format!(
                "the {role} {} is not valid before {} (401002 until then)",
                c.subject,
                rfc3339(c.not_before)
            ),
            format!(
                "wait until then, or check the clock of the machine that issued it; or {renew}"
            ),
        );
    } else if now > c.not_after {
        out.fail(
            "validity",
            format!(
                "the {role} {} expired on {} (401002)",
                c.subject,
                rfc3339(c.not_after)
            ),
            renew,
        );
    } else {
        let left = (c.not_after - now).whole_days();
        if left < EXPIRY_WARNING_DAYS {
            out.warn(
                "validity",
                format!(
                    "the {role} {} expires on {}, in {left} day(s)",
                    c.subject,
                    rfc3339(c.not_after)
                ),
                Some(format!("renew it before then: {renew}")),
            );
        } else {
            out.ok(
                "validity",
                format!(
                    "the {role} {} is valid until {} ({left} days)",
                    c.subject,
                    rfc3339(c.not_after)
                ),
            );
        }
    }
}

/// Each presented certificate must be issued (by name and signature) by the next one, which
/// must be a CA.
fn order(out: &mut Out, chain: &[Cert]) {
    if chain.len() == 1 {
        out.ok(
            "chain-order",
            "the device sends no intermediates (nothing to order)".into(),
        );
        return;
    }
    // Misordered or extra certificates: the service's TLS stack (and the emulator's) builds the
    // path whatever the order, so this is a warning; but TLS 1.2 requires the order, and some
    // device TLS stacks send or check the list as it is.
    const WHY: &str = "the service builds the path in any order, but TLS 1.2 and some device TLS \
                       stacks need leaf first, each certificate followed by its issuer";
    let reorder = "order the chain file leaf first, each certificate followed by its issuer, a \
                   root (if sent at all) last (certGen layout: certs/<name>-full-chain.cert.pem \
                   is in that order)";
    let before = out.0.len();
    for (i, pair) in chain.windows(2).enumerate() {
        let (c, next) = (&pair[0], &pair[1]);
        if c.is_root() {
            out.warn(
                "chain-order",
                format!(
                    "the root {} is followed by {}; nothing should follow a root ({WHY})",
                    c.subject, next.subject
                ),
                Some(reorder.into()),
            );
        } else if !c.names_issuer(next) {
            let elsewhere = chain
                .iter()
                .enumerate()
                .find(|(j, o)| *j != i && c.names_issuer(o) && c.signed_by(o));
            match elsewhere {
                Some((j, o)) => out.warn(
                    "chain-order",
                    format!(
                        "{} is followed by {}, which did not issue it; its issuer {} is at position \
                         {} ({WHY})",
                        c.subject,
                        next.subject,
                        o.subject,
                        j + 1
                    ),
                    Some(reorder.into()),
                ),
                None => out.warn(
                    "chain-order",
                    format!(
                        "{} is followed by {}, which did not issue it (its issuer {} is not sent)",
                        c.subject, next.subject, c.issuer
                    ),
                    Some(format!(
                        "send {} right after it, and drop certificates of other chains",
                        c.issuer
                    )),
                ),
            }
        } else if !c.signed_by(next) {
            out.fail(
                "chain-order",
                format!(
                    "{} names {} as its issuer, but that certificate's key did not sign it (a \
                     re-created CA with the same name?) (401002)",
                    c.subject, next.subject
                ),
                "send the CA certificate that actually issued it, or re-issue the certificate \
                 from the current CA"
                    .into(),
            );
        } else if !next.is_ca {
            out.fail(
                "chain-order",
                format!(
                    "{} issued {} but is not a CA certificate (basicConstraints CA:TRUE missing) \
                     (401002)",
                    next.subject, c.subject
                ),
                "issue intermediates as CA certificates (dps-cli certs create-root-and-intermediate)"
                    .into(),
            );
        }
    }
    if out.0.len() == before {
        out.ok(
            "chain-order",
            "each certificate is issued by the next one (by name and signature)".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_follow_the_rule() {
        for cn in ["my device!", "Device One", "-x-", "ü", "a/b/c"] {
            let s = sanitize(cn);
            assert!(dps_protocol::check_common_name(&s).is_ok(), "{cn} -> {s}");
        }
        assert_eq!(sanitize("My Device"), "my-device");
    }
}
