//! `dps-cli emulator trust`: adds the emulator's local CA to the trust stores, like mkcert
//! -install, so browsers and tools reach `https://localhost:8443` without warnings. The CA is
//! name-constrained (localhost, loopback addresses, the configured host names), so trusting
//! it vouches for no other site.
//!
//! It prints the plan first (the CA, then every store and the exact steps), asks before doing
//! it, and changes only what it printed: Debian/Ubuntu's system store and the NSS databases of
//! Chromium and Firefox. Other systems get the commands to run by hand.

mod nss;
mod ops;
mod system;

use crate::{Hint, Usage};
use anyhow::Context;
use dps_emulator::{EmulatorError, LocalCa, PermittedName, default_data_dir};
use ops::Op;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use system::System;

/// What `trust` shows for the CA a `--regenerate` makes, before it exists.
const NEW: &str = "<new>";

/// The options of `emulator trust`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// The emulator's data folder, whose local CA (tls/emulator-ca.cert.pem) is trusted
    /// [default: the one `dps-cli emulator start` uses].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Remove every dps-rs emulator CA from the stores instead.
    #[arg(long, conflicts_with = "regenerate")]
    pub uninstall: bool,
    /// Replace the local CA: remove the old one from the stores, make a new one in the data
    /// folder (for --host-name) and add it. A running emulator must then be restarted.
    #[arg(long)]
    pub regenerate: bool,
    /// With --regenerate: a host name the new CA may vouch for besides localhost and loopback
    /// (repeatable; give every --host-name the emulator starts with).
    #[arg(long = "host-name", value_name = "NAME", requires = "regenerate")]
    pub host_names: Vec<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Go ahead without asking (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Leave the system trust store alone.
    #[arg(long, conflicts_with = "system_store_root")]
    pub no_system_store: bool,
    /// Use Debian's store layout under DIR (usr/local/share/ca-certificates, etc/ssl/certs,
    /// ...) instead of the machine's: a scratch store to try this command on.
    #[arg(long, value_name = "DIR")]
    pub system_store_root: Option<PathBuf>,
    /// Leave the NSS databases (Chromium, Firefox) alone.
    #[arg(long, conflicts_with = "nss_dbs")]
    pub no_nss: bool,
    /// Also this NSS database folder (repeatable; created when it does not exist).
    #[arg(long = "nss-db", value_name = "DIR")]
    pub nss_dbs: Vec<PathBuf>,
}

/// What the command does to the stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Install,
    Uninstall,
    Regenerate,
}

/// Everything the command will do, printed before it does it.
struct Plan {
    data_dir: PathBuf,
    mode: Mode,
    /// The CA in the data folder (`None` when there is none yet).
    ca: Option<LocalCa>,
    host_names: Vec<String>,
    system: Option<System>,
    certutil: Option<PathBuf>,
    /// The NSS databases with the dps-rs nicknames each holds now.
    nss: Vec<(nss::Db, Vec<String>)>,
    notes: Vec<String>,
}

/// Runs `emulator trust`.
pub fn run(args: &TrustArgs) -> anyhow::Result<()> {
    let mode = match (args.uninstall, args.regenerate) {
        (true, _) => Mode::Uninstall,
        (_, true) => Mode::Regenerate,
        _ => Mode::Install,
    };
    dps_emulator::check_host_names(&args.host_names).map_err(|e| Usage::error(e.to_string()))?;
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let ca = match LocalCa::load(&data_dir) {
        Ok(ca) => Some(ca),
        Err(EmulatorError::Io(_, e)) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) if mode != Mode::Install => {
            eprintln!("warning: {e}; going on without it");
            None
        }
        Err(e) => return Err(e.into()),
    };
    if mode == Mode::Install {
        check_installable(ca.as_ref(), &data_dir)?;
    }
    let plan = Plan::build(args, mode, data_dir, ca)?;
    plan.print();
    if plan.is_empty() {
        println!("\nNothing to do.");
        return Ok(());
    }
    if args.dry_run {
        println!("\n--dry-run: nothing was changed.");
        return Ok(());
    }
    if let Some(System::Debian(d)) = &plan.system
        && let Some(e) = d.blocked()
    {
        return Err(e);
    }
    if !confirm(args.yes)? {
        println!("Nothing was changed.");
        return Ok(());
    }
    plan.execute()
}

/// A CA `trust` adds must exist, be current and be name-constrained.
fn check_installable(ca: Option<&LocalCa>, data_dir: &Path) -> anyhow::Result<()> {
    let dir = crate::context::shell_word(&data_dir.display().to_string());
    let Some(ca) = ca else {
        return Err(Hint::error(
            format!(
                "no local CA in {} yet ({} does not exist)",
                data_dir.display(),
                dps_emulator::local_ca_path(data_dir).display()
            ),
            format!(
                "start the emulator once (`dps-cli emulator start --data-dir {dir}`), or make the \
                 CA now: `dps-cli emulator trust --regenerate --data-dir {dir}`"
            ),
        ));
    };
    let why = if !ca.currently_valid {
        format!("expired on {}", ca.not_after)
    } else if ca.permitted.is_none() {
        "has no name constraints (an older dps-rs made it), so trusting it would vouch for any \
         site"
            .to_owned()
    } else {
        return Ok(());
    };
    Err(Hint::error(
        format!("the local CA {} {why}", ca.path.display()),
        format!(
            "replace it and trust the new one: `dps-cli emulator trust --regenerate --data-dir \
             {dir}` (add --host-name for each host name the emulator starts with)"
        ),
    ))
}

impl Plan {
    fn build(
        args: &TrustArgs,
        mode: Mode,
        data_dir: PathBuf,
        ca: Option<LocalCa>,
    ) -> anyhow::Result<Self> {
        let ca_file = dps_emulator::local_ca_path(&data_dir);
        let short = match (mode, &ca) {
            (Mode::Install, Some(ca)) => ca.short_fingerprint(),
            _ => NEW.to_owned(),
        };
        let mut notes = Vec::new();
        let system = if args.no_system_store {
            None
        } else {
            Some(System::detect(
                args.system_store_root.as_deref(),
                &ca_file,
                &short,
            )?)
        };
        let certutil = ops::find_program("certutil");
        let mut nss = Vec::new();
        if !args.no_nss {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let dbs = nss::discover(home.as_deref(), &args.nss_dbs);
            match &certutil {
                Some(tool) => {
                    for db in dbs {
                        let present = db.installed(tool).with_context(|| {
                            format!("reading the NSS database {}", db.dir.display())
                        })?;
                        nss.push((db, present));
                    }
                }
                None if !args.nss_dbs.is_empty() => {
                    return Err(Hint::error(
                        "--nss-db needs NSS's certutil, which is not installed",
                        "install it: apt install libnss3-tools (Fedora: dnf install nss-tools)",
                    ));
                }
                None if !dbs.is_empty() => notes.push(format!(
                    "NSS databases found ({}), but certutil is not installed, so they are left \
                     alone: install it (apt install libnss3-tools) and run this again",
                    dbs.iter()
                        .map(|d| d.dir.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                None => {}
            }
        }
        Ok(Self {
            data_dir,
            mode,
            ca,
            host_names: args.host_names.clone(),
            system,
            certutil,
            nss,
            notes,
        })
    }

    /// What to add: the CA's short fingerprint (or [`NEW`]) and the file the stores copy,
    /// `source` when given (the snapshot [`Self::execute`] makes), else the data folder's.
    fn add(&self, ca: Option<&LocalCa>, source: Option<&Path>) -> Option<(String, PathBuf)> {
        match self.mode {
            Mode::Uninstall => None,
            Mode::Install | Mode::Regenerate => Some((
                ca.map_or_else(|| NEW.to_owned(), LocalCa::short_fingerprint),
                source.map_or_else(
                    || dps_emulator::local_ca_path(&self.data_dir),
                    Path::to_owned,
                ),
            )),
        }
    }

    /// Every store's steps, for `ca` (`None`: the CA `--regenerate` will make), copying
    /// `source` (see [`Self::add`]).
    fn steps(
        &self,
        ca: Option<&LocalCa>,
        source: Option<&Path>,
    ) -> anyhow::Result<Vec<(String, Vec<Op>)>> {
        let add = self.add(ca, source);
        let add = add.as_ref().map(|(s, f)| (s.as_str(), f.as_path()));
        let remove = self.mode != Mode::Install;
        let mut stores = Vec::new();
        if let Some(System::Debian(d)) = &self.system {
            let sudo = if d.uses_sudo() { ", through sudo" } else { "" };
            let what = format!(
                "System store (Debian/Ubuntu: {}, bundle {}{sudo})",
                d.local_dir().display(),
                d.bundle().display()
            );
            stores.push((what, d.ops(remove, add)));
        }
        if let Some(certutil) = &self.certutil {
            for (db, present) in &self.nss {
                let now = if ca.is_some() && remove {
                    // After a regeneration: what the database holds at this moment.
                    db.installed(certutil)?
                } else {
                    present.clone()
                };
                let removing: &[String] = if remove { &now } else { &[] };
                let what = format!("NSS database {} ({})", db.dir.display(), db.label);
                stores.push((what, db.ops(certutil, removing, add)));
            }
        }
        Ok(stores)
    }

    fn is_empty(&self) -> bool {
        self.mode != Mode::Regenerate
            && self
                .steps(
                    self.ca.as_ref().filter(|_| self.mode == Mode::Install),
                    None,
                )
                .is_ok_and(|s| s.iter().all(|(_, ops)| ops.is_empty()))
    }

    fn print(&self) {
        let path = dps_emulator::local_ca_path(&self.data_dir);
        match &self.ca {
            Some(ca) => {
                let replaced = if self.mode == Mode::Regenerate {
                    " (to be replaced)"
                } else {
                    ""
                };
                println!("Local CA: {}{replaced}", path.display());
                println!("  subject:         {}", ca.subject);
                println!("  SHA-256:         {}", ca.sha256);
                println!("  valid until:     {}", ca.not_after);
                match &ca.permitted {
                    Some(names) => println!(
                        "  permitted names: {} (name-constrained: it vouches for no other site)",
                        join(names)
                    ),
                    None => println!("  permitted names: any (no name constraints)"),
                }
            }
            None => println!("Local CA: {} (none yet)", path.display()),
        }
        if self.mode == Mode::Regenerate {
            let names = dps_emulator::local_ca_permitted_names(&self.host_names);
            println!(
                "New local CA in {}: permitted names {} ({NEW} below: the first 16 hex digits \
                 of its SHA-256 fingerprint)",
                path.display(),
                join(&names)
            );
        }
        let title = match self.mode {
            Mode::Install => "Plan: add the CA to",
            Mode::Uninstall => "Plan: remove every dps-rs emulator CA from",
            Mode::Regenerate => {
                "Plan: make the new CA, then remove every dps-rs emulator CA from and add the new \
                 one to"
            }
        };
        println!("\n{title}:");
        let shown = if self.mode == Mode::Install {
            self.ca.as_ref()
        } else {
            None
        };
        let stores = self.steps(shown, None).unwrap_or_default();
        if stores.is_empty() {
            println!("  (no store)");
        }
        for (what, ops) in &stores {
            println!("  {what}:");
            if ops.is_empty() {
                println!("    - nothing to do");
            }
            for op in ops {
                println!("    - {op}");
            }
        }
        self.print_notes();
    }

    fn print_notes(&self) {
        let mut notes = self.notes.clone();
        match &self.system {
            Some(System::Manual { name, add, remove }) => {
                let steps = match self.mode {
                    Mode::Install => add.clone(),
                    Mode::Uninstall => remove.clone(),
                    Mode::Regenerate => format!("{remove}, then after regenerating: {add}"),
                };
                notes.push(format!(
                    "the system store of {name} is not changed by this command; by hand: {steps}"
                ));
            }
            Some(System::Unknown) => notes.push(
                "no system store this command knows was found (it changes Debian/Ubuntu's; on \
                 Fedora/RHEL use update-ca-trust, on macOS `security add-trusted-cert`, on \
                 Windows `certutil -addstore ROOT`)"
                    .to_owned(),
            ),
            Some(System::Debian(_)) | None => {}
        }
        if !notes.is_empty() {
            println!("\nNotes:");
            for n in notes {
                println!("  - {n}");
            }
        }
    }

    fn execute(&self) -> anyhow::Result<()> {
        let new_ca;
        let ca = match self.mode {
            Mode::Install => self.ca.as_ref(),
            Mode::Uninstall => None,
            Mode::Regenerate => {
                let path = dps_emulator::regenerate_local_ca(&self.data_dir, &self.host_names)
                    .context("regenerating the local CA")?;
                new_ca = LocalCa::read(&path)?;
                println!(
                    "made a new local CA: {} (SHA-256 {})",
                    path.display(),
                    new_ca.sha256
                );
                Some(&new_ca)
            }
        };
        // The stores get the bytes whose fingerprint was shown, from a private snapshot, not
        // the data folder's file, which could change between the plan and the copy.
        let snapshot = ca.map(snapshot).transpose()?;
        let source = snapshot.as_deref();
        for (what, ops) in self.steps(ca, source)? {
            for op in &ops {
                op.apply().with_context(|| {
                    let again = if self.mode == Mode::Regenerate {
                        " (the new CA is made: `dps-cli emulator trust` adds it)"
                    } else {
                        ""
                    };
                    format!("{what}: {op}{again}")
                })?;
            }
            if !ops.is_empty() {
                println!("done: {what}");
            }
        }
        self.print_after(ca);
        Ok(())
    }

    fn print_after(&self, ca: Option<&LocalCa>) {
        let dir = crate::context::shell_word(&self.data_dir.display().to_string());
        match (self.mode, ca) {
            (Mode::Uninstall, _) | (_, None) => println!("The dps-rs emulator CAs are removed."),
            (_, Some(ca)) => {
                println!(
                    "The emulator's CA is trusted. Browsers read their stores at start: restart \
                     them. Tools with CA lists of their own still need the file: \
                     REQUESTS_CA_BUNDLE={0} (Python), NODE_EXTRA_CA_CERTS={0} (Node).",
                    crate::context::shell_word(&ca.path.display().to_string())
                );
            }
        }
        if self.mode == Mode::Regenerate {
            let hosts: String = self
                .host_names
                .iter()
                .map(|h| format!(" --host-name {}", crate::context::shell_word(h)))
                .collect();
            println!(
                "A running emulator still serves a certificate from the old CA: restart it \
                 (`dps-cli emulator start --data-dir {dir}{hosts}`)."
            );
        }
    }
}

fn join(names: &[PermittedName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--yes`, or the answer to `Proceed? [y/N]` when stdin is a terminal; otherwise a usage error.
fn confirm(yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Usage::error(
            "stdin is not a terminal, so trust cannot ask before changing trust stores: pass \
             --yes to go ahead (or --dry-run to print the plan only)",
        ));
    }
    eprint!("Proceed? [y/N] ");
    std::io::stderr().flush().context("writing the question")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The CA's PEM as read for the plan, in a temporary file (0600, removed when dropped) that
/// the stores' steps copy.
fn snapshot(ca: &LocalCa) -> anyhow::Result<tempfile::TempPath> {
    let mut file = tempfile::Builder::new()
        .prefix("dps-rs-ca-")
        .suffix(".crt")
        .tempfile()
        .context("making a temporary copy of the CA")?;
    std::io::Write::write_all(&mut file, ca.pem.as_bytes())
        .context("making a temporary copy of the CA")?;
    Ok(file.into_temp_path())
}
