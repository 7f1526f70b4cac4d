//! The checklist's inputs and the order the checks run in: what was read from files and from
//! the service, the checklist being built, and [`run`], which calls the checks of the sibling
//! modules (all pure functions of the inputs), so that every rule the service applies to an
//! X.509 device is predicted in one place.

use super::cert::{Cert, DeviceKey};
use super::chain::{completeness, describe_chain, order};
use super::enrollment::{best_group, enrollment, individual};
use super::leaf::{identity, usage};
use super::path::path;
use super::validity::validity;
use super::verified::verified;
use super::{Check, Status};
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;
use time::OffsetDateTime;

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
