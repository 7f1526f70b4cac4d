//! The reference of the service group: the official Python service SDK
//! (`azure-iothub-provisioningserviceclient` 1.2.0, as in tests/tests/python_interop.rs) in a
//! venv under target/bench/py-venv, running `service_sdk.py`. Optional: anything missing
//! (python3, venv, PyPI) turns into a reason to skip.

use super::emulator::EmulatorProcess;
use super::worker::{ServiceResult, parse_result};
use anyhow::{Context, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) const SDK_REQUIREMENT: &str = "azure-iothub-provisioningserviceclient==1.2.0";
const SDK_VERSION: &str = "1.2.0";
/// 1.2.0 imports `six` without declaring it.
const EXTRA_REQUIREMENT: &str = "six";
const SCRIPT: &str = include_str!("service_sdk.py");

/// The venv's interpreter with the SDK, made if needed; `Err` says why the reference is skipped.
pub(crate) fn venv(bench_dir: &Path) -> Result<PathBuf, String> {
    let venv = bench_dir.join("py-venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if python.exists() && has_sdk(&python) {
        return Ok(python);
    }
    let system = find_python3().ok_or("no Python 3 interpreter (python3) on PATH")?;
    println!(
        "creating {} with {system} and pip-installing {SDK_REQUIREMENT}",
        venv.display()
    );
    checked(
        Command::new(&system)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)",
    )?;
    checked(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            SDK_REQUIREMENT,
            EXTRA_REQUIREMENT,
        ]),
        "pip install of the Python SDK (needs PyPI)",
    )?;
    if !has_sdk(&python) {
        return Err(format!(
            "{SDK_REQUIREMENT} is not importable after pip install"
        ));
    }
    Ok(python)
}

/// Whether `python` imports the pinned SDK release and `six`.
fn has_sdk(python: &Path) -> bool {
    let probe = format!(
        "import importlib.metadata as m, six, provisioningserviceclient; \
         assert m.version('azure-iothub-provisioningserviceclient') == '{SDK_VERSION}'"
    );
    Command::new(python)
        .args(["-c", &probe])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn find_python3() -> Option<String> {
    ["python3", "python"].into_iter().find_map(|candidate| {
        let out = Command::new(candidate).arg("--version").output().ok()?;
        let version = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success() && version.trim_start().starts_with("Python 3"))
            .then(|| candidate.to_owned())
    })
}

fn checked(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            out.status,
            last_line(&out)
        ))
    }
}

fn last_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Runs the workload with `python` against `emulator`; `work` holds the script.
pub(crate) fn run_reference(
    python: &Path,
    work: &Path,
    emulator: &EmulatorProcess,
    count: usize,
    page_size: u32,
    endorsement_key: &str,
) -> anyhow::Result<ServiceResult> {
    let script = work.join("service_sdk.py");
    if !script.is_file() {
        fs::write(&script, SCRIPT).with_context(|| format!("writing {}", script.display()))?;
    }
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(count.to_string())
        .arg(page_size.to_string())
        .arg(endorsement_key)
        .env_clear()
        .env(
            "DPS_CONNECTION_STRING",
            &emulator.info.service_connection_string,
        )
        .env("REQUESTS_CA_BUNDLE", &emulator.info.ca_certificate_path)
        .env("PYTHONUNBUFFERED", "1")
        .env("NO_PROXY", "localhost,127.0.0.1");
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "the Python reference failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    parse_result(&String::from_utf8_lossy(&out.stdout))
}
