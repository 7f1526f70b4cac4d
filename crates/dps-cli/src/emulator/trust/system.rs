//! The system trust store. Debian and Ubuntu are changed for the user: the CA goes into
//! `/usr/local/share/ca-certificates` and `update-ca-certificates` rebuilds the bundle. On
//! Fedora/RHEL, macOS and Windows the plan prints the commands to run by hand instead.

use super::ops::{Cmd, Op, find_program, needs_root};
use crate::Hint;
use crate::context::shell_word;
use std::path::{Path, PathBuf};

/// How every file this command puts into a system store is named: `dps-rs-emulator-HEX.crt`.
pub(super) const FILE_PREFIX: &str = "dps-rs-emulator-";

/// Debian and Ubuntu's store, optionally under a scratch root (`--system-store-root`).
#[derive(Debug)]
pub(super) struct Debian {
    tool: PathBuf,
    root: Option<PathBuf>,
    sudo: Sudo,
}

/// Whether the store's steps go through `sudo`.
#[derive(Debug)]
enum Sudo {
    NotNeeded,
    Via(PathBuf),
    Missing,
}

/// The system store, as far as this command knows it.
#[derive(Debug)]
pub(super) enum System {
    /// Changed by this command.
    Debian(Debian),
    /// Not changed by this command: the commands to run by hand.
    Manual {
        /// Which system.
        name: &'static str,
        /// What adds the CA.
        add: String,
        /// What removes it.
        remove: String,
    },
    /// No store this command knows.
    Unknown,
}

impl System {
    /// Finds the store: under `root` when given (Debian's layout), else this machine's.
    /// `ca_file` and `short` (the CA's short fingerprint) go into the manual commands.
    pub(super) fn detect(root: Option<&Path>, ca_file: &Path, short: &str) -> anyhow::Result<Self> {
        let tool = find_program("update-ca-certificates");
        if let Some(root) = root {
            let tool = tool.ok_or_else(|| {
                Hint::error(
                    "--system-store-root needs update-ca-certificates, which is not installed",
                    "install it (apt install ca-certificates), or leave the system store out: \
                     --no-system-store",
                )
            })?;
            return Ok(Self::Debian(Debian {
                tool,
                root: Some(root.to_owned()),
                sudo: Sudo::NotNeeded,
            }));
        }
        let ca = shell_word(&ca_file.display().to_string());
        if cfg!(target_os = "macos") {
            return Ok(Self::Manual {
                name: "macOS",
                add: format!(
                    "sudo security add-trusted-cert -d -r trustRoot -k \
                     /Library/Keychains/System.keychain {ca}"
                ),
                remove: format!(
                    "sudo security delete-certificate -c '{}' /Library/Keychains/System.keychain",
                    dps_emulator::LOCAL_CA_COMMON_NAME
                ),
            });
        }
        if cfg!(windows) {
            return Ok(Self::Manual {
                name: "Windows",
                add: format!("certutil -addstore -f ROOT {ca}   (in an administrator prompt)"),
                remove: format!(
                    "certutil -delstore ROOT \"{}\"   (in an administrator prompt)",
                    dps_emulator::LOCAL_CA_COMMON_NAME
                ),
            });
        }
        let local = Path::new("/usr/local/share/ca-certificates");
        if let Some(tool) = tool.filter(|_| local.is_dir()) {
            let sudo = if !needs_root(local) {
                Sudo::NotNeeded
            } else {
                find_program("sudo").map_or(Sudo::Missing, Sudo::Via)
            };
            return Ok(Self::Debian(Debian {
                tool,
                root: None,
                sudo,
            }));
        }
        if find_program("update-ca-trust").is_some() {
            let anchors = "/etc/pki/ca-trust/source/anchors";
            return Ok(Self::Manual {
                name: "Fedora/RHEL",
                add: format!(
                    "sudo cp {ca} {anchors}/{FILE_PREFIX}{short}.crt && sudo update-ca-trust"
                ),
                remove: format!("sudo rm -f {anchors}/{FILE_PREFIX}*.crt && sudo update-ca-trust"),
            });
        }
        Ok(Self::Unknown)
    }
}

impl Debian {
    /// A path of the store, under the scratch root when there is one.
    fn under(&self, path: &str) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path.trim_start_matches('/')),
            None => PathBuf::from(path),
        }
    }

    /// Where the store's local certificates are.
    pub(super) fn local_dir(&self) -> PathBuf {
        self.under("/usr/local/share/ca-certificates")
    }

    /// The bundle `update-ca-certificates` writes.
    pub(super) fn bundle(&self) -> PathBuf {
        self.under("/etc/ssl/certs/ca-certificates.crt")
    }

    /// Why the steps cannot run, if they cannot: the store is root's, we are not root and
    /// there is no sudo.
    pub(super) fn blocked(&self) -> Option<anyhow::Error> {
        matches!(self.sudo, Sudo::Missing).then(|| {
            Hint::error(
                format!(
                    "the system store ({}) belongs to root, and sudo is not installed",
                    self.local_dir().display()
                ),
                "run this command as root, or leave the system store out: --no-system-store",
            )
        })
    }

    /// Whether the steps go through sudo.
    pub(super) fn uses_sudo(&self) -> bool {
        matches!(self.sudo, Sudo::Via(_))
    }

    /// The dps-rs CA files in the store.
    pub(super) fn installed(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.local_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(FILE_PREFIX) && n.ends_with(".crt"))
            })
            .collect();
        files.sort();
        files
    }

    /// `update-ca-certificates`, with every path under the scratch root when there is one.
    fn update(&self, fresh: bool) -> Cmd {
        let mut cmd = Cmd::new(&self.tool);
        if fresh {
            cmd = cmd.args(["--fresh"]);
        }
        if self.root.is_some() {
            for (flag, path) in [
                ("--certsconf", "/etc/ca-certificates.conf"),
                ("--certsdir", "/usr/share/ca-certificates"),
                ("--localcertsdir", "/usr/local/share/ca-certificates"),
                ("--etccertsdir", "/etc/ssl/certs"),
                ("--hooksdir", "/etc/ca-certificates/update.d"),
            ] {
                cmd = cmd.args([flag.into(), self.under(path).into_os_string()]);
            }
        }
        cmd
    }

    /// The steps: with `remove`, take out every dps-rs CA file; with `add` (the CA's short
    /// fingerprint and file), put the CA in; then rebuild the bundle (`--fresh` after a
    /// removal). No steps when there is nothing to remove or add.
    pub(super) fn ops(&self, remove: bool, add: Option<(&str, &Path)>) -> Vec<Op> {
        let mut changes = Vec::new();
        let old = if remove { self.installed() } else { Vec::new() };
        let removing = !old.is_empty();
        if removing {
            changes.push(Op::Remove(old));
        }
        if let Some((short, file)) = add {
            changes.push(Op::Copy {
                from: file.to_owned(),
                to: self.local_dir().join(format!("{FILE_PREFIX}{short}.crt")),
            });
        }
        if changes.is_empty() {
            return changes;
        }
        changes.push(Op::Run(self.update(removing)));
        let mut ops = Vec::new();
        if self.root.is_some() {
            ops.push(Op::Scaffold {
                dirs: [
                    "/usr/share/ca-certificates",
                    "/usr/local/share/ca-certificates",
                    "/etc/ssl/certs",
                ]
                .iter()
                .map(|d| self.under(d))
                .collect(),
                conf: self.under("/etc/ca-certificates.conf"),
            });
        }
        ops.extend(changes);
        match &self.sudo {
            Sudo::Via(sudo) => ops.into_iter().map(|op| op.with_sudo(sudo)).collect(),
            Sudo::NotNeeded | Sudo::Missing => ops,
        }
    }
}
