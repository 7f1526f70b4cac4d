//! `dps-cli doctor`: predicts, before a device ships, every refusal DPS would give its X.509
//! certificate: CN rules, chain order and completeness, validity windows, key usage, the key,
//! which enrollment would match, and whether the enrolled CA is verified. Prints a checklist
//! with the fix for each failure and exits 1 when any check fails.
//!
//! Every verdict the service would give comes from `dps_chain`, the module the emulator's
//! device API decides with (`render` turns each `ChainError` into a named finding and its
//! fix); doctor adds only lints the service does not refuse (chain order, expiry soon).

pub(crate) mod cert;
mod chain;
mod checks;
mod enrollment;
mod fixes;
mod leaf;
mod render;
mod service;
mod transport;
mod validity;
mod verdict;

use crate::context::GlobalArgs;
use crate::output::{OutputFormat, Stream, print_text, text_width, wrap};
use anyhow::Context;
use cert::{nearby, read_parsed};
use checks::{GroupCandidate, GroupCert, Inputs, Known};
use dps_chain::Cert;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The options of `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The device certificate (PEM or DER): the leaf, or the leaf followed by the intermediates
    /// the device sends.
    #[arg(long, value_name = "CERT.pem")]
    pub cert: PathBuf,
    /// More certificates the device sends after those in --cert (repeatable).
    #[arg(long, value_name = "CHAIN.pem")]
    pub chain: Vec<PathBuf>,
    /// The device's private key, to check that it belongs to the certificate.
    #[arg(long, value_name = "KEY.pem")]
    pub key: Option<PathBuf>,
    /// Password of an encrypted --key, or of a PFX given as --cert.
    #[arg(long = "password", alias = "key-password", value_name = "PASSWORD")]
    pub key_password: Option<String>,
    /// The certificate of the enrollment group the device should join (its first certificate
    /// counts).
    #[arg(long, value_name = "CA.pem", conflicts_with = "group_id")]
    pub group_cert: Option<PathBuf>,
    /// The enrollment group the device should join, read from the service (needs
    /// --connection-string or --emulator). Without it and without --group-cert, every group of
    /// the service is considered, as the service does.
    #[arg(long, value_name = "ID")]
    pub group_id: Option<String>,
    /// A CA certificate verified on the DPS (repeatable; every certificate in each file counts).
    #[arg(long = "verified-ca", value_name = "CA.pem")]
    pub verified_ca: Vec<PathBuf>,
    /// The registration id the device will use [default: the certificate's CN].
    #[arg(long, value_name = "ID")]
    pub registration_id: Option<String>,
    /// The protocol the device registers over (https, mqtt, mqtt-ws): adds a `transport` note
    /// on how it learns the verdicts over it (over MQTT a refused chain arrives after CONNECT).
    #[arg(long, value_enum, value_name = "TRANSPORT")]
    pub transport: Option<crate::device::TransportArg>,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The service will be happy.
    Ok,
    /// Legal, but likely to cause trouble.
    Warn,
    /// The service would refuse the device.
    Fail,
}

/// One line of the checklist. JSON: `{"check", "status", "detail", "fix"}` (`fix` is null
/// unless the check failed or warned).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Which rule: `leaf`, `common-name`, `registration-id`, `leaf-not-ca`, `leaf-eku`,
    /// `key`, `validity`, `chain-order`, `enrollment`, `enrollment-status`, `group-status`,
    /// `chain`, `verified-ca`, ... (see JSON.md).
    pub check: String,
    /// The outcome.
    pub status: Status,
    /// What was found, naming the certificate concerned.
    pub detail: String,
    /// What to do about it.
    pub fix: Option<String>,
}

/// The doctor found problems: the checklist says which.
#[derive(Debug)]
pub struct ChecksFailed {
    /// Failed checks.
    pub failed: usize,
    /// All checks.
    pub total: usize,
}

impl fmt::Display for ChecksFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} checks failed: the service would refuse this device",
            self.failed, self.total
        )
    }
}

impl std::error::Error for ChecksFailed {}

/// Runs the checks, prints the checklist, and fails with [`ChecksFailed`] if any check failed.
/// The service (to read groups, the enrollment and the CAs from) comes from the global
/// `--connection-string` or `--emulator`.
pub fn run(args: &DoctorArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let checks = diagnose(args, global)?;
    print(&checks, global.output)?;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        return Err(ChecksFailed {
            failed,
            total: checks.len(),
        }
        .into());
    }
    Ok(())
}

/// Runs every check and returns the checklist. Errors are reserved for what stops the checks
/// (unreadable files, an unreachable service).
pub fn diagnose(args: &DoctorArgs, global: &GlobalArgs) -> anyhow::Result<Vec<Check>> {
    if args.group_id.is_some() && global.connection_string.is_none() && global.emulator.is_none() {
        return Err(crate::Usage::error(
            "--group-id reads the group from the service: add --connection-string or --emulator",
        ));
    }
    // --cert (a PKCS#12 carries its key), the --chain files, --key: read as their content says.
    let device = crate::credentials::device(
        &args.cert,
        &args.chain,
        args.key.as_deref(),
        args.key_password.as_deref(),
    )?;
    let presented = device.chain;
    let parsed: Vec<Cert> = presented
        .iter()
        .filter_map(|d| Cert::parse(d).ok())
        .collect();
    // Certificate files: beside --cert, then those given; they identify certificates the
    // service reports by thumbprint and name the file to add, nothing more.
    let mut files = nearby(&args.cert);
    let key = device.key.and_then(|loaded| match (&args.key, loaded) {
        // A key inside --cert that does not open (no --password) was not asked to be checked.
        (None, Err(_)) => None,
        (given, loaded) => Some((
            given.clone().unwrap_or_else(|| args.cert.clone()),
            loaded.map_err(|e| format!("{e:#}")),
        )),
    });

    let mut verified: Option<Vec<Known>> = None;
    for f in &args.verified_ca {
        for cert in read_parsed(f, "--verified-ca")? {
            add_file(&mut files, f, &cert);
            verified.get_or_insert_with(Vec::new).push(Known {
                source: f.display().to_string(),
                name: None,
                cert,
            });
        }
    }
    let mut groups: Option<Vec<GroupCandidate>> = None;
    if let Some(f) = &args.group_cert {
        let cert = read_parsed(f, "--group-cert")?
            .into_iter()
            .next()
            .with_context(|| format!("{} holds no certificate", f.display()))?;
        add_file(&mut files, f, &cert);
        groups = Some(vec![GroupCandidate {
            label: format!("the group certificate {}", f.display()),
            group_id: None,
            enabled: true,
            cert: GroupCert::Known(Box::new(cert)),
            reference: None,
        }]);
    }
    let mut known: Vec<Cert> = parsed.clone();
    known.extend(files.iter().map(|(_, c)| c.clone()));

    let registration_id = args.registration_id.clone().or_else(|| {
        parsed
            .first()
            .and_then(|c| c.common_name().map(str::to_owned))
    });
    let mut individual = None;
    let mut unverified = Vec::new();
    let mut notes = Vec::new();
    let mut group_ids = Vec::new();
    if let Some(svc) = service(global)? {
        let fetched = crate::runtime()?
            .block_on(service::fetch(
                &svc,
                if groups.is_some() {
                    service::Groups::None
                } else if let Some(id) = &args.group_id {
                    service::Groups::One(id)
                } else {
                    service::Groups::All
                },
                registration_id.as_deref(),
                &known,
            ))
            .map_err(|e| crate::context::unreachable_hint(e, global))?;
        if groups.is_none() {
            groups = Some(fetched.groups);
        }
        if let Some(list) = fetched.verified {
            verified.get_or_insert_with(Vec::new).extend(list);
        }
        unverified = fetched.unverified;
        individual = fetched.individual;
        notes = fetched.notes;
        group_ids = fetched.group_ids;
    }

    let mut checks = checks::run(&Inputs {
        global: global.clone(),
        cert_path: args.cert.clone(),
        presented,
        key,
        registration_id: args.registration_id.clone(),
        groups,
        group_id: args.group_id.clone(),
        group_ids,
        verified,
        unverified,
        individual,
        notes,
        files,
        now: time::OffsetDateTime::now_utc(),
    });
    // A fix that reads $DPS_CONNECTION_STRING says how to set it.
    for c in &mut checks {
        c.fix = c.fix.take().map(|f| global.hint(f));
    }
    checks.extend(args.transport.map(transport::note));
    Ok(checks)
}

/// Records that `file` holds `cert`, once.
fn add_file(files: &mut Vec<(PathBuf, Cert)>, file: &Path, cert: &Cert) {
    if !files.iter().any(|(p, c)| p == file && c == cert) {
        files.push((file.to_path_buf(), cert.clone()));
    }
}

/// The service to ask, if any.
fn service(global: &GlobalArgs) -> anyhow::Result<Option<service::Service>> {
    let target = crate::context::resolve(global)?;
    let Some(cs) = target.connection_string.clone() else {
        return Ok(None);
    };
    Ok(Some(service::Service {
        list_certificates: target.emulator.is_some() || is_local(&cs),
        connection_string: cs,
        trusted_ca_pem: target.trusted_ca_pem,
        trust_only_custom_ca: target.trust_only_custom_ca,
    }))
}

/// Whether a connection string names a local host (an emulator), whose CA certificates can
/// be listed with the connection string itself.
pub(crate) fn is_local(connection_string: &str) -> bool {
    let host = connection_string
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("HostName"))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host.as_str(), |(h, _)| h);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name.ends_with(".localhost")
}

/// Prints the checklist.
pub fn print(checks: &[Check], format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        // Straight from the structs, so each object keeps the documented key order.
        println!("{}", serde_json::to_string_pretty(checks)?);
        return Ok(());
    }
    // Long findings fold at the terminal's width (or COLUMNS), under their text.
    let width = text_width(Stream::Stdout);
    let mut text = String::new();
    for c in checks {
        let tag = match c.status {
            Status::Ok => "[ok]  ",
            Status::Warn => "[warn]",
            Status::Fail => "[FAIL]",
        };
        let first = format!("{tag} {:<16} ", c.check);
        text.push_str(&wrap(&c.detail, width, &first, first.chars().count()));
        text.push('\n');
        if c.status != Status::Ok
            && let Some(fix) = &c.fix
        {
            let first = format!("       {:<16} fix: ", "");
            text.push_str(&wrap(fix, width, &first, first.chars().count()));
            text.push('\n');
        }
    }
    print_text(&text)?;
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    println!(
        "{} checks: {} ok, {} warning(s), {} failed",
        checks.len(),
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_connection_strings() {
        for (cs, local) in [
            (
                "HostName=localhost:8443;SharedAccessKeyName=a;SharedAccessKey=b",
                true,
            ),
            (
                "HostName=127.0.0.1:1;SharedAccessKeyName=a;SharedAccessKey=b",
                true,
            ),
            (
                "HostName=x.azure-devices-provisioning.net;SharedAccessKeyName=a;SharedAccessKey=b",
                false,
            ),
            ("nonsense", false),
        ] {
            assert_eq!(is_local(cs), local, "{cs}");
        }
    }
}
