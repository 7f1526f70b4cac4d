//! Plumbing shared by the groups: the release build, the report file, scratch folders.

use super::{Bins, report};
use anyhow::{Context, bail};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `cargo build --release` of `bins` ((package, binary) pairs) with the user watching.
pub(crate) fn build_release(
    root: &Path,
    bins: &[(&'static str, &'static str)],
) -> anyhow::Result<Bins> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let names: Vec<&str> = bins.iter().map(|(_, b)| *b).collect();
    println!(
        "building {} in release mode (the only release build; the bench times it)",
        names.join(", ")
    );
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--message-format=json-render-diagnostics",
    ]);
    for (package, bin) in bins {
        cmd.args(["-p", package, "--bin", bin]);
    }
    // Progress and diagnostics go to the terminal (stderr); stdout carries the artifact
    // messages that say where the binaries are, whatever the target directory.
    let out = cmd
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build --release")?;
    if !out.status.success() {
        bail!(
            "cargo build --release of {} failed ({})",
            names.join(", "),
            out.status
        );
    }
    let messages: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .collect();
    let mut built = Bins::default();
    for (_, bin) in bins {
        let exe = messages
            .iter()
            .filter(|m| m["target"]["name"] == *bin)
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| {
                root.join("target/release")
                    .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX))
            });
        if !exe.is_file() {
            bail!("the release build did not produce {}", exe.display());
        }
        built.0.push((bin, exe));
    }
    Ok(built)
}

/// Merges `fresh` into the report at `path` (keeping other groups' scenarios) and writes it.
pub(super) fn write_report(path: &Path, fresh: &Value) -> anyhow::Result<()> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!(
                    "warning: {} is not valid JSON ({e}); starting a new report",
                    path.display()
                );
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let merged = report::merge(existing.as_ref(), fresh);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut text = serde_json::to_string_pretty(&merged)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A scratch folder, emptied on creation and removed when dropped (also on error).
#[derive(Debug)]
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(path: PathBuf) -> anyhow::Result<Self> {
        if path.exists() {
            remove_dir(&path)?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn remove_dir(path: &Path) -> anyhow::Result<()> {
    fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))
}

/// Copies the folder tree `from` to `to` (files keep their permissions).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}

pub(crate) fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
