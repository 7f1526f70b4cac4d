//! The commands doctor's fixes print, built from what doctor knows so that each runs as printed:
//! the global options of the doctor run (`--emulator DIR`, ...), the files it was given or
//! found beside `--cert` (a certificate is found by its thumbprint, or by name and signature
//! for an issuer, never by its name alone), the certGen layout's key of a CA certificate
//! ([`crate::certgen_files`]), the group id given or read, and the CA certificate's name on the
//! DPS. A value doctor cannot know stays a placeholder in capitals (`CA_KEY`), and the fix says
//! in words what to put there.

use super::checks::{GroupCert, Note};
use super::leaf::sanitize;
use super::render::FixContext;
use super::{Check, Status};
use crate::certgen_files::{self, path_word};
use crate::context::shell_word;
use dps_certgen::{CertDir, INTERMEDIATE_PREFIX, ROOT_PREFIX, Signer};
use dps_chain::Cert;
use std::fmt;
use std::path::{Path, PathBuf};

/// The placeholders of one fix and what to put in each, said after the command.
#[derive(Default)]
pub(super) struct Wheres(Vec<String>);

impl Wheres {
    /// `value`, or the placeholder `token`, noting what it stands for.
    pub(super) fn or(&mut self, value: Option<String>, token: &str, meaning: String) -> String {
        value.unwrap_or_else(|| {
            self.0.push(format!("{token} is {meaning}"));
            token.to_owned()
        })
    }

    /// `, where A is ... and B is ...`, or nothing.
    pub(super) fn said(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!(", where {}", self.0.join(" and "))
        }
    }
}

impl<'a> FixContext<'a> {
    /// `dps-cli [global options] REST`, in backticks.
    pub(super) fn cmd(&self, rest: impl fmt::Display) -> String {
        format!("`{}`", self.global.hint_command(rest))
    }

    /// The file whose first certificate (the one a command that takes a certificate file
    /// reads) has this SHA-256 thumbprint, preferring one that holds nothing else.
    pub(super) fn file_of_sha256(&self, sha256: &str) -> Option<&'a Path> {
        let files = self.files;
        let in_file = |p: &PathBuf| files.iter().filter(|(q, _)| q == p).count();
        let first = |p: &PathBuf| files.iter().find(|(q, _)| q == p).map(|(_, c)| c);
        files
            .iter()
            .filter(|(p, c)| {
                c.thumbprints().sha256.eq_ignore_ascii_case(sha256) && first(p) == Some(c)
            })
            .min_by_key(|(p, _)| in_file(p))
            .map(|(p, _)| p.as_path())
    }

    /// The file that holds `cert`.
    pub(super) fn file_of(&self, cert: &Cert) -> Option<&'a Path> {
        self.file_of_sha256(&cert.thumbprints().sha256)
    }

    /// The device certificate's file as a shell word, or the placeholder `DEVICE_CERT` noted
    /// in `w` when no file given to doctor holds it.
    pub(super) fn device_cert_word(&self, w: &mut Wheres) -> String {
        w.or(
            self.presented
                .first()
                .and_then(|l| self.file_of(l))
                .map(path_word),
            "DEVICE_CERT",
            "the device certificate's file (PEM)".into(),
        )
    }

    /// Every certificate doctor knows: sent, in files, held by groups, on the DPS.
    fn known(&self) -> impl Iterator<Item = &'a Cert> {
        let groups = self.groups.iter().filter_map(|g| match &g.cert {
            GroupCert::Known(c) => Some(c.as_ref()),
            GroupCert::Summary { .. } => None,
        });
        self.presented
            .iter()
            .chain(self.files.iter().map(|(_, c)| c))
            .chain(groups)
            .chain(self.verified.iter().chain(self.unverified).map(|k| &k.cert))
    }

    /// The certificate with this SHA-256 thumbprint, if doctor knows it.
    pub(super) fn cert_of_sha256(&self, sha256: &str) -> Option<&'a Cert> {
        self.known()
            .find(|c| c.thumbprints().sha256.eq_ignore_ascii_case(sha256))
    }

    /// The CA certificate that issued `cert` (by name and signature): sent by the device, else
    /// in a file.
    pub(super) fn issuer_of(&self, cert: &Cert) -> Option<&'a Cert> {
        self.presented
            .iter()
            .chain(self.files.iter().map(|(_, c)| c))
            .find(|c| c.is_ca() && cert.issued_by(c))
    }

    /// The CA an enrollment group for this device should hold: the one that issued it.
    pub(super) fn device_ca(&self) -> Option<&'a Cert> {
        self.presented.first().and_then(|leaf| self.issuer_of(leaf))
    }

    /// The names of the CA certificates on the DPS, with their certificates.
    fn dps_names(&self) -> impl Iterator<Item = (&'a str, &'a Cert)> {
        self.verified
            .iter()
            .chain(self.unverified)
            .filter_map(|k| Some((k.name.as_deref()?, &k.cert)))
    }

    /// A name not yet taken on the DPS (as far as doctor read it): `base`, else `base-2`, ...
    fn free_name(&self, base: &str) -> String {
        let taken = |n: &str| self.dps_names().any(|(t, _)| t.eq_ignore_ascii_case(n));
        (1..)
            .map(|i: usize| match i {
                1 => base.to_owned(),
                // Names have at most 64 characters.
                i => {
                    let suffix = format!("-{i}");
                    let kept: String = base.chars().take(64 - suffix.len()).collect();
                    format!("{kept}{suffix}")
                }
            })
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_owned())
    }

    /// The name to prove `ca` under: its name on the DPS, else one from its file (the certGen
    /// rule, [`certgen_files::upload_name`]) or its CN, not taken by another certificate.
    fn name_for(&self, ca: Option<&Cert>, file: Option<&Path>) -> String {
        if let Some(c) = ca
            && let Some((name, _)) = self.dps_names().find(|(_, k)| k == &c)
        {
            return name.to_owned();
        }
        let base = match (file, ca.and_then(Cert::common_name)) {
            (Some(f), _) => certgen_files::upload_name(f),
            (None, Some(cn)) => certgen_files::certificate_name(&cn.to_ascii_lowercase()),
            (None, None) => "ca".to_owned(),
        };
        self.free_name(&base)
    }

    /// `certificate prove` for `ca` (described by `what` where it is not known), under `name`
    /// (its name on the DPS) or a new one.
    pub(super) fn prove(&self, ca: Option<&Cert>, name: Option<&str>, what: &str) -> String {
        let file = ca.and_then(|c| self.file_of(c));
        let key = file.zip(ca).and_then(|(f, c)| certgen_files::key(f, c));
        let name = name.map_or_else(|| self.name_for(ca, file), str::to_owned);
        let mut w = Wheres::default();
        let cert = w.or(
            file.map(path_word),
            "CA_CERT",
            format!("the certificate file of {what}"),
        );
        let key = w.or(
            key.as_deref().map(path_word),
            "CA_KEY",
            format!(
                "{} private key file (certGen layout: private/NAME.key.pem; add --password \
                 \"$KEY_PASSWORD\" for a key encrypted with another password than certGen's)",
                if file.is_some() { "its" } else { "the CA's" }
            ),
        );
        format!(
            "{}{}",
            self.cmd(format_args!(
                "certificate prove --name {} --cert {cert} --key {key}",
                shell_word(&name)
            )),
            w.said()
        )
    }

    /// The group id a new group gets: `--group-id` when no such group exists, else one from
    /// the CA's CN, not taken by a group doctor read.
    fn new_group_id(&self, ca: Option<&Cert>) -> String {
        let taken = |id: &str| self.group_ids.iter().any(|g| g.eq_ignore_ascii_case(id));
        if let Some(id) = self.group_id.filter(|id| !taken(id)) {
            return id.to_owned();
        }
        let base = ca
            .and_then(Cert::common_name)
            .map_or_else(|| "x509-group".to_owned(), sanitize);
        (1..)
            .map(|i| match i {
                1 => base.clone(),
                i => format!("{base}-{i}"),
            })
            .find(|id| !taken(id))
            .unwrap_or(base)
    }

    /// `enrollment-group create` on the CA that issued the device.
    pub(super) fn create_group(&self) -> String {
        let ca = self.device_ca();
        let mut w = Wheres::default();
        let cert = w.or(
            ca.and_then(|c| self.file_of(c)).map(path_word),
            "CA_CERT",
            format!(
                "the certificate file of {}",
                self.presented.first().map_or_else(
                    || "the CA that issued the device".to_owned(),
                    |l| format!("its issuer {}", l.issuer())
                )
            ),
        );
        format!(
            "{}{}",
            self.cmd(format_args!(
                "enrollment-group create --group-id {} --cert {cert}",
                shell_word(&self.new_group_id(ca))
            )),
            w.said()
        )
    }

    /// The root or intermediate CA of a certGen folder that `ca` is (by its file's content):
    /// the folder and which one.
    fn certgen_ca(&self, ca: &Cert) -> Option<(PathBuf, Signer)> {
        self.files
            .iter()
            .filter(|(_, c)| c.thumbprints().sha256 == ca.thumbprints().sha256)
            .find_map(|(f, _)| certgen_files::ca_role(f))
    }

    /// A new certificate with CN `name` for the device, from the certGen CA that issued it
    /// (found with its key); else the command for a certGen folder, with a placeholder.
    pub(super) fn reissue(&self, name: &str) -> String {
        let mut w = Wheres::default();
        format!("`{}`{}", self.reissue_command(name, &mut w), w.said())
    }

    /// [`FixContext::reissue`] under the device's name: its CN, else `--registration-id`,
    /// else a placeholder.
    pub(super) fn reissue_device(&self) -> String {
        let mut w = Wheres::default();
        let name = w.or(
            self.device_name.or(self.registration_id).map(sanitize),
            "REGISTRATION_ID",
            "the id the device registers with".into(),
        );
        format!("`{}`{}", self.reissue_command(&name, &mut w), w.said())
    }

    /// `dps-cli certs create-device-certificate[-from-intermediate] NAME --out OUT` for the
    /// certGen CA that issued the device, or with a placeholder for its folder.
    fn reissue_command(&self, name: &str, w: &mut Wheres) -> String {
        let leaf = self.presented.first();
        let found = self.files.iter().find_map(|(f, ca)| {
            let issued = leaf.is_some_and(|l| ca.is_ca() && l.issued_by(ca));
            if !issued {
                return None;
            }
            let role = certgen_files::ca_role(f)?;
            certgen_files::key(f, ca).map(|_| role)
        });
        let signer = found.as_ref().map_or(Signer::Intermediate, |(_, s)| *s);
        let out = w.or(
            found.map(|(out, _)| path_word(&out)),
            "CERTGEN_DIR",
            "the certGen folder of the CA that issued it (doctor found none holding that CA with \
             its key; outside certGen, issue it from that CA)"
                .into(),
        );
        certs_device_command(name, &out, signer)
    }

    /// How to renew the CA `ca` (`subject`): in its certGen folder, the commands that renew
    /// the chain, verify the new root, point the groups at it and re-issue the device.
    pub(super) fn renew_ca(&self, ca: Option<&Cert>, subject: &str) -> String {
        let Some((out, _)) = ca.and_then(|c| self.certgen_ca(c)) else {
            return format!(
                "renew the CA {subject} with the tool that made it, verify the new certificate \
                 (certificate prove), point the enrollment groups on it at the new certificate \
                 (enrollment-group update --cert) and re-issue its devices"
            );
        };
        let dir = CertDir::new(&out);
        let cn = |prefix: &str| {
            let ders = dps_certgen::read_certs(&dir.cert_path(prefix)).ok()?;
            Cert::parse(ders.first()?)
                .ok()?
                .common_name()
                .map(str::to_owned)
        };
        let mut names = String::new();
        for (flag, prefix, default) in [
            ("--root-cn", ROOT_PREFIX, dps_certgen::ROOT_CN),
            (
                "--intermediate-cn",
                INTERMEDIATE_PREFIX,
                dps_certgen::INTERMEDIATE_CN,
            ),
        ] {
            if let Some(cn) = cn(prefix).filter(|cn| cn != default) {
                names.push_str(&format!(" {flag} {}", shell_word(&cn)));
            }
        }
        let root = dir.cert_path(ROOT_PREFIX);
        let mut steps = vec![
            format!(
                "renew the chain in its certGen folder (this replaces its root and intermediate): \
                 `dps-cli certs create-root-and-intermediate --out {}{names} --force`",
                path_word(&out)
            ),
            format!(
                "verify the new root: {}",
                self.cmd(format_args!(
                    "certificate prove --name {} --cert {} --key {}",
                    shell_word(&self.free_name(&certgen_files::upload_name(&root))),
                    path_word(&root),
                    path_word(&dir.key_path(ROOT_PREFIX))
                ))
            ),
        ];
        let mut updated: Vec<&str> = Vec::new();
        for g in self.groups {
            let (Some(id), GroupCert::Known(c)) = (&g.group_id, &g.cert) else {
                continue;
            };
            let Some((_, signer)) = self.certgen_ca(c).filter(|(o, _)| *o == out) else {
                continue;
            };
            if updated.contains(&id.as_str()) {
                continue;
            }
            updated.push(id);
            let prefix = match signer {
                Signer::Root => ROOT_PREFIX,
                Signer::Intermediate => INTERMEDIATE_PREFIX,
            };
            steps.push(format!(
                "point the group at the new CA: {}",
                self.cmd(format_args!(
                    "enrollment-group update --group-id {} --cert {}",
                    shell_word(id),
                    path_word(&dir.cert_path(prefix))
                ))
            ));
        }
        let issuer = self
            .presented
            .first()
            .and_then(|l| self.issuer_of(l))
            .and_then(|c| self.certgen_ca(c))
            .filter(|(o, _)| *o == out);
        if let (Some((_, signer)), Some(name)) = (issuer, self.device_name) {
            steps.push(format!(
                "re-issue the device: `{}`",
                certs_device_command(&sanitize(name), &path_word(&out), signer)
            ));
        } else {
            steps.push("re-issue the devices it signed".to_owned());
        }
        steps.join(", then ")
    }

    /// The certGen full-chain file beside --cert, when it holds the certificate that issued
    /// `below` (or, without `below`, a CA named `missing`).
    pub(super) fn full_chain(&self, missing: &str, below: Option<&Cert>) -> Option<&'a Path> {
        let name = self.device_name?;
        let sibling = self
            .cert_path
            .with_file_name(format!("{name}-full-chain.cert.pem"));
        self.files
            .iter()
            .filter(|(p, _)| *p == sibling && p != self.cert_path)
            .find(|(_, c)| holds(c, missing, below))
            .map(|(p, _)| p.as_path())
    }

    /// The file that holds the CA `missing` (the issuer of `below`, when known), preferring
    /// one that holds nothing else.
    pub(super) fn file_holding(&self, missing: &str, below: Option<&Cert>) -> Option<&'a Path> {
        let files = self.files;
        let in_file = |p: &PathBuf| files.iter().filter(|(q, _)| q == p).count();
        files
            .iter()
            .filter(|(_, c)| holds(c, missing, below))
            .min_by_key(|(p, _)| in_file(p))
            .map(|(p, _)| p.as_path())
    }
}

/// Whether `c` is the CA `missing`: the issuer of `below` (name and signature) when known.
fn holds(c: &Cert, missing: &str, below: Option<&Cert>) -> bool {
    match below {
        Some(b) => b.issued_by(c),
        None => c.is_ca() && c.subject() == missing,
    }
}

/// `dps-cli certs create-device-certificate[-from-intermediate] NAME --out OUT` (`out` as a
/// shell word).
fn certs_device_command(name: &str, out: &str, signer: Signer) -> String {
    let verb = match signer {
        Signer::Root => "create-device-certificate",
        Signer::Intermediate => "create-device-certificate-from-intermediate",
    };
    format!("dps-cli certs {verb} {} --out {out}", shell_word(name))
}

/// A finding of the service lookup, with its fix.
pub(super) fn note(n: &Note, ctx: &FixContext<'_>) -> Check {
    let fail = |check: &str, detail: String, fix: String| Check {
        check: check.to_owned(),
        status: Status::Fail,
        detail,
        fix: Some(fix),
    };
    match n {
        Note::Done(c) => c.clone(),
        Note::MissingGroup(id) => fail(
            "group",
            format!("there is no enrollment group {id:?}"),
            format!(
                "create it on the CA that issued the device: {}",
                ctx.create_group()
            ),
        ),
        Note::OtherAttestation { id, attestation } => fail(
            "group-attestation",
            format!(
                "the enrollment group {id:?} uses {attestation} attestation: X.509 devices cannot \
                 join it"
            ),
            format!(
                "create an X.509 enrollment group on the CA that issued the device: {}",
                ctx.create_group()
            ),
        ),
        Note::MissingReference { group_id, name } => {
            let ca = ctx.device_ca();
            let what = ca.map_or_else(
                || "the CA the group's devices chain to".to_owned(),
                |c| c.subject().to_owned(),
            );
            fail(
                "ca-reference",
                format!(
                    "the enrollment group {group_id:?} refers to the CA certificate {name:?}, \
                     which does not exist"
                ),
                format!(
                    "upload and verify the CA the group means under that name ({}, which issued \
                     the device, if it is that one): {}",
                    what,
                    ctx.prove(ca, Some(name), &what)
                ),
            )
        }
    }
}
