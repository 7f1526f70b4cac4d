//! The steps `emulator trust` takes, each shown in the plan exactly as it runs: file copies and
//! removals done in-process (or through `sudo` when the store is root's and we are not), and
//! commands whose failure shows their stderr.

use crate::Hint;
use crate::context::shell_word;
use anyhow::Context;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// A program and its arguments.
#[derive(Debug, Clone)]
pub(super) struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
}

impl Cmd {
    /// `program` (a path found by [`find_program`]) with no arguments yet.
    pub(super) fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
        }
    }

    /// Adds arguments.
    pub(super) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The same command through `sudo` (at `sudo`'s path).
    pub(super) fn with_sudo(self, sudo: &Path) -> Self {
        let mut args = vec![self.program.into_os_string()];
        args.extend(self.args);
        Self {
            program: sudo.to_owned(),
            args,
        }
    }

    /// Runs the command and returns its stdout; a failure names the command and shows its
    /// stderr.
    pub(super) fn run(&self) -> anyhow::Result<String> {
        let out = std::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run `{self}`"))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let said = [stderr.trim(), stdout.trim()]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("(it printed nothing)")
            .to_owned();
        anyhow::bail!("`{self}` failed ({}): {said}", out.status)
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shell_word(&self.program.display().to_string()))?;
        for a in &self.args {
            write!(f, " {}", shell_word(&a.to_string_lossy()))?;
        }
        Ok(())
    }
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// Create folders (and an empty `ca-certificates.conf`) of a scratch system store.
    Scaffold {
        /// The folders.
        dirs: Vec<PathBuf>,
        /// The configuration file, created empty when missing.
        conf: PathBuf,
    },
    /// Copy `from` to `to`, readable by everyone (a certificate).
    Copy {
        /// The CA file.
        from: PathBuf,
        /// Its place in the store.
        to: PathBuf,
    },
    /// Remove these files.
    Remove(Vec<PathBuf>),
    /// Create a folder (for a new NSS database).
    MakeDir(PathBuf),
    /// Run a command.
    Run(Cmd),
}

impl Op {
    /// The same step done through `sudo`, for a store only root may write.
    pub(super) fn with_sudo(self, sudo: &Path) -> Self {
        match self {
            Self::Copy { from, to } => Self::Run(
                Cmd::new("install")
                    .args(["-m", "0644"])
                    .args([from, to])
                    .with_sudo(sudo),
            ),
            Self::Remove(files) => {
                Self::Run(Cmd::new("rm").args(["-f"]).args(files).with_sudo(sudo))
            }
            Self::Run(cmd) => Self::Run(cmd.with_sudo(sudo)),
            other => other,
        }
    }

    /// Does the step.
    pub(super) fn apply(&self) -> anyhow::Result<()> {
        match self {
            Self::Scaffold { dirs, conf } => {
                for d in dirs {
                    std::fs::create_dir_all(d)
                        .with_context(|| format!("creating {}", d.display()))?;
                }
                if !conf.exists() {
                    std::fs::write(conf, "")
                        .with_context(|| format!("creating {}", conf.display()))?;
                }
                Ok(())
            }
            Self::Copy { from, to } => copy_public(from, to),
            Self::Remove(files) => {
                for f in files {
                    match std::fs::remove_file(f) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(denied(e, f, "removing")),
                    }
                }
                Ok(())
            }
            Self::MakeDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| denied(e, dir, "creating"))
            }
            Self::Run(cmd) => cmd.run().map(drop),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scaffold { dirs, conf } => {
                let root = dirs
                    .first()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                write!(
                    f,
                    "create the store's folders ({root}, ...) and {} if missing",
                    conf.display()
                )
            }
            Self::Copy { from, to } => write!(f, "copy {} to {}", from.display(), to.display()),
            Self::Remove(files) => {
                let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                write!(f, "remove {}", names.join(", "))
            }
            Self::MakeDir(dir) => write!(f, "create the folder {}", dir.display()),
            Self::Run(cmd) => write!(f, "run `{cmd}`"),
        }
    }
}

/// Copies a certificate into a store, mode 0644, replacing a file of the same name.
fn copy_public(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let tmp = to.with_extension("crt.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| denied(e, &tmp, "writing"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("setting the mode of {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, to).map_err(|e| denied(e, to, "writing"))
}

/// An I/O error on a store's file; permission denied comes with what to do.
fn denied(e: std::io::Error, path: &Path, doing: &str) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        Hint::error(
            format!("{doing} {}: {e}", path.display()),
            "the store belongs to root: run as root (or with sudo installed), or leave the store \
             out (--no-system-store, --no-nss)",
        )
    } else {
        anyhow::Error::new(e).context(format!("{doing} {}", path.display()))
    }
}

/// `name` on `PATH`, or in the sbin folders a user's `PATH` often leaves out.
pub(super) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Whether writing under `path` needs root that we do not have: we are not root and the
/// nearest existing folder on the way is someone else's.
pub(super) fn needs_root(path: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        // /proc/self belongs to the process's effective user.
        let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
            return false;
        };
        let owner = path
            .ancestors()
            .find_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.uid());
        me != 0 && owner.is_some_and(|o| o != me)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        false
    }
}
