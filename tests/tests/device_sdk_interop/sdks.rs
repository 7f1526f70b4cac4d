//! The SDK side of `device_sdk_interop.rs`: a venv and a `node_modules` folder under the target
//! dir (reused while current), and the scripts run with their output in files.

use super::{GATE, NODE_PACKAGES, PY_REQUIREMENT, PY_VERSION};
use dps_e2e::interop::{checked, python_venv};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Kills a hung SDK script; a guard, not a timing check.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------------------------------------
// Running the SDK scripts and reading what they report.
// ---------------------------------------------------------------------------------------------

/// A command with nothing inherited but `PATH` and the SDKs' log switches.
pub(crate) fn script_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for name in ["PATH", "DPS_DEVICE_SDK_LOG", "DEBUG"] {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd
}

/// A running SDK script, its output going to files (so neither pipe can fill up).
pub(crate) struct Script {
    child: std::process::Child,
    stdout: PathBuf,
    stderr: PathBuf,
    what: &'static str,
}

impl Script {
    pub(crate) fn start(mut cmd: Command, dir: &Path, what: &'static str) -> Self {
        let stdout = dir.join(format!("{what}.stdout"));
        let stderr = dir.join(format!("{what}.stderr"));
        let file = |p: &Path| std::fs::File::create(p).expect("output file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {what} SDK script: {e}"));
        Self {
            child,
            stdout,
            stderr,
            what,
        }
    }

    pub(crate) fn finish(mut self) -> Output {
        let started = Instant::now();
        let mut killed = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > SCRIPT_DEADLINE {
                let _ = self.child.kill();
                killed = true;
                break self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let read = |p: &Path| std::fs::read(p).unwrap_or_default();
        let mut stderr = read(&self.stderr);
        if killed {
            let note = format!(
                "\n[killed: the {} script still ran after {SCRIPT_DEADLINE:?}]",
                self.what
            );
            stderr.extend_from_slice(note.as_bytes());
        }
        Output {
            status,
            stdout: read(&self.stdout),
            stderr,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The SDKs: a venv and a node_modules folder under the target dir, reused while current.
// ---------------------------------------------------------------------------------------------

pub(crate) fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/device_sdk")
}

pub(crate) fn package_lock() -> Value {
    let path = interop_dir().join("package-lock.json");
    let text = std::fs::read_to_string(&path).expect("package-lock.json");
    serde_json::from_str(&text).expect("package-lock.json is JSON")
}

/// The venv's interpreter with the pinned Python SDK (reused while current).
pub(crate) fn venv_python() -> PathBuf {
    let probe = format!(
        "import importlib.metadata as m, azure.iot.device; \
         assert m.version('azure-iot-device') == '{PY_VERSION}'"
    );
    python_venv(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("device-sdk-venv"),
        &[PY_REQUIREMENT],
        &probe,
        GATE,
    )
}

/// `node_modules` with the packages of `tests/interop/device_sdk/package-lock.json`
/// (`npm ci --ignore-scripts`), reused while the lock file is unchanged.
pub(crate) fn node_modules() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("device-sdk-node");
    let modules = dir.join("node_modules");
    let src = interop_dir();
    let lock = std::fs::read(src.join("package-lock.json")).expect("package-lock.json");
    let installed = std::fs::read(dir.join("package-lock.json")).ok();
    if installed.as_deref() == Some(lock.as_slice()) && has_node_sdk(&modules) {
        println!("reusing {}", modules.display());
        return modules;
    }
    for tool in ["node", "npm"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "{GATE}=1 but `{tool}` is not on PATH (install Node.js 18 or later)"
        );
    }
    std::fs::create_dir_all(&dir).expect("node folder");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(src.join(file), dir.join(file)).expect("copy");
    }
    println!("npm ci in {}", dir.display());
    checked(
        Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        "npm ci of the Node device SDK",
    );
    assert!(
        has_node_sdk(&modules),
        "the Node SDK packages are still not loadable after npm ci"
    );
    modules
}

fn has_node_sdk(modules: &Path) -> bool {
    let probe = format!("for (const m of {NODE_PACKAGES:?}) require(m)");
    Command::new("node")
        .args(["-e", &probe])
        .env("NODE_PATH", modules)
        .output()
        .is_ok_and(|o| o.status.success())
}
