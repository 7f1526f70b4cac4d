//! The checklist's inputs and the order the checks run in: what was read from files and from
//! the service, the checklist being built, and [`run`], which calls the checks of the sibling
//! modules (all pure functions of the inputs). Every verdict the service would give comes from
//! `dps_chain`, the module the emulator's device API decides with; what doctor adds is the
//! naming of each finding, its fix, and lints the service does not refuse.

use super::chain::{describe_chain, no_group_lint, order};
use super::enrollment::{choose_group, individual};
use super::leaf::{identity, usage};
use super::render::{FixContext, render};
use super::validity::validity;
use super::verdict::verdict;
use super::{Check, Status};
use crate::context::GlobalArgs;
use dps_chain::{Cert, ChainError, presented_role};
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
/// service's summary of it (the service never returns a group's certificate, only its
/// subject and thumbprints).
#[derive(Debug, Clone)]
pub(crate) enum GroupCert {
    Known(Box<Cert>),
    Summary { subject: String, sha256: String },
}

impl GroupCert {
    pub(super) fn subject(&self) -> &str {
        match self {
            GroupCert::Known(c) => c.subject(),
            GroupCert::Summary { subject, .. } => subject,
        }
    }

    pub(super) fn key(&self) -> dps_chain::GroupKey<'_> {
        match self {
            GroupCert::Known(c) => dps_chain::GroupKey::Cert(c.as_ref()),
            GroupCert::Summary { subject, sha256 } => {
                dps_chain::GroupKey::Summary { subject, sha256 }
            }
        }
    }
}

/// A CA certificate an enrollment group names in `caReferences`.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    /// The DPS certificate name.
    pub(crate) name: String,
    /// Whether it is verified by proof of possession.
    pub(crate) verified: bool,
}

/// One certificate of one enrollment group (or of `--group-cert`).
#[derive(Debug, Clone)]
pub(crate) struct GroupCandidate {
    /// "enrollment group 'g' (primary signing certificate)", "the group certificate FILE", ...
    pub(crate) label: String,
    pub(crate) group_id: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) cert: GroupCert,
    /// Set when the certificate comes from `caReferences`.
    pub(crate) reference: Option<Reference>,
}

/// An individual enrollment for the device's registration id, as the service reported it.
#[derive(Debug, Clone)]
pub(crate) struct Individual {
    pub(crate) registration_id: String,
    /// `x509`, `symmetricKey`, `tpm`.
    pub(crate) attestation: String,
    /// Its client certificates, when the service returned them.
    pub(crate) certificates: Vec<Cert>,
    /// SHA-256 thumbprints of its client certificates.
    pub(crate) thumbprints: Vec<String>,
    pub(crate) enabled: bool,
}

/// A finding of the service lookup. Those whose fix names the device's CA and its file are
/// rendered with the checks' context ([`super::fixes::note`]).
#[derive(Debug, Clone)]
pub(crate) enum Note {
    /// A finding as it is.
    Done(Check),
    /// `--group-id ID` names no enrollment group.
    MissingGroup(String),
    /// `--group-id ID` names a group of another attestation.
    OtherAttestation { id: String, attestation: String },
    /// A group references a CA certificate name the DPS does not have.
    MissingReference { group_id: String, name: String },
}

/// Everything the checks look at.
pub(crate) struct Inputs {
    /// The global options, repeated by every command a fix prints.
    pub(crate) global: GlobalArgs,
    pub(crate) cert_path: PathBuf,
    pub(crate) presented: Vec<CertificateDer<'static>>,
    pub(crate) key: Option<(PathBuf, Result<crate::credentials::Key, String>)>,
    pub(crate) registration_id: Option<String>,
    /// `None`: no group information at all.
    pub(crate) groups: Option<Vec<GroupCandidate>>,
    /// `--group-id`.
    pub(crate) group_id: Option<String>,
    /// The ids of every enrollment group read from the service (of any attestation).
    pub(crate) group_ids: Vec<String>,
    /// `None`: nothing is known about verified CAs.
    pub(crate) verified: Option<Vec<Known>>,
    /// CA certificates uploaded to the service but not verified.
    pub(crate) unverified: Vec<Known>,
    pub(crate) individual: Option<Individual>,
    /// Findings of the service lookup, reported before the enrollment checks.
    pub(crate) notes: Vec<Note>,
    /// Certificate files doctor has seen (given, or beside --cert), to name the file that holds
    /// a certificate the device must add.
    pub(crate) files: Vec<(PathBuf, Cert)>,
    pub(crate) now: OffsetDateTime,
}

impl Inputs {
    /// The registration id the device uses: --registration-id, else the leaf's CN.
    pub(super) fn registration_id_or(&self, leaf: &Cert) -> String {
        self.registration_id
            .clone()
            .or_else(|| leaf.common_name().map(str::to_owned))
            .unwrap_or_default()
    }

    /// What the fixes may refer to.
    pub(super) fn fix_context<'a>(&'a self, presented: &'a [Cert]) -> FixContext<'a> {
        let leaf = presented.first();
        FixContext {
            global: &self.global,
            cert_path: &self.cert_path,
            device_name: leaf.and_then(Cert::common_name),
            registration_id: self.registration_id.as_deref(),
            files: &self.files,
            presented,
            groups: self.groups.as_deref().unwrap_or_default(),
            group_id: self.group_id.as_deref(),
            group_ids: &self.group_ids,
            verified: self.verified.as_deref().unwrap_or_default(),
            unverified: &self.unverified,
            now: self.now,
        }
    }
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
    /// A refusal of the chain rule, rendered; left out when the very same finding is already
    /// on the list (the rule stops at the first failure, which an earlier check may have
    /// reported already).
    pub(super) fn refusal(&mut self, e: &ChainError, ctx: &FixContext<'_>) {
        let c = render(e, ctx);
        if !self
            .0
            .iter()
            .any(|o| o.status == c.status && o.check == c.check && o.detail == c.detail)
        {
            self.0.push(c);
        }
    }
}

/// Runs every check, in the order the service would trip over them.
pub(crate) fn run(inp: &Inputs) -> Vec<Check> {
    let mut out = Out(Vec::new());
    let chain = match Cert::parse_all(&inp.presented) {
        Ok(c) if c.is_empty() => {
            out.refusal(&ChainError::NoCertificate, &inp.fix_context(&[]));
            return out.0;
        }
        Ok(c) => c,
        Err((position, source)) => {
            let e = ChainError::Unparseable { position, source };
            out.refusal(&e, &inp.fix_context(&[]));
            return out.0;
        }
    };
    let leaf = &chain[0];
    let ctx = inp.fix_context(&chain);
    out.ok(
        "leaf",
        format!(
            "{}, issued by {}; the device sends {}",
            leaf.subject(),
            leaf.issuer(),
            describe_chain(&chain)
        ),
    );
    identity(&mut out, inp, leaf, &ctx);
    usage(&mut out, inp, leaf, &ctx);
    for (i, c) in chain.iter().enumerate() {
        validity(&mut out, c, presented_role(i), inp.now, &ctx);
    }
    order(&mut out, &chain);
    out.0
        .extend(inp.notes.iter().map(|n| super::fixes::note(n, &ctx)));

    if let Some(ind) = &inp.individual {
        individual(&mut out, inp, ind, leaf, &ctx);
        return out.0;
    }
    let groups = choose_group(&mut out, inp, &chain, &ctx);
    if groups.is_empty() {
        if inp.groups.is_none() {
            no_group_lint(&mut out, &chain, &ctx);
        }
        return out.0;
    }
    verdict(&mut out, inp, &chain, &groups, &ctx);
    out.0
}
