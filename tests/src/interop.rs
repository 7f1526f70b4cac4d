//! What the interop tests share to run the official SDKs: a Python venv with a pinned SDK,
//! reused while it imports that release, and the checks on the commands that set it up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A venv under `dir` whose interpreter passes `probe` (Python code that fails unless the
/// pinned release is importable): reused when it already does, else (re)created with
/// `pip install requirements`. Panics with the fix when Python 3 or venv is missing; `gate`
/// names the environment variable that turned the test on.
pub fn python_venv(dir: &Path, requirements: &[&str], probe: &str, gate: &str) -> PathBuf {
    let python = if cfg!(windows) {
        dir.join("Scripts").join("python.exe")
    } else {
        dir.join("bin").join("python")
    };
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", probe])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.exists() && ready(&python) {
        println!("reusing {}", dir.display());
        return python;
    }
    let system = find_python3(gate);
    println!("creating {} with {system}", dir.display());
    checked(
        Command::new(&system)
            .args(["-m", "venv", "--clear"])
            .arg(dir),
        "python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)",
    );
    checked(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .args(requirements),
        &format!("pip install {}", requirements.join(" ")),
    );
    assert!(
        ready(&python),
        "{} still not importable after pip install",
        requirements.join(" ")
    );
    python
}

/// `python3` (or, where that name does not exist, `python`) if it is Python 3.
fn find_python3(gate: &str) -> String {
    for candidate in ["python3", "python"] {
        if let Ok(out) = Command::new(candidate).arg("--version").output() {
            let version = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            if out.status.success() && version.trim_start().starts_with("Python 3") {
                return candidate.to_owned();
            }
        }
    }
    panic!("{gate}=1 but no Python 3 interpreter (`python3`) is on PATH");
}

/// Runs `cmd` and panics, with its output, unless it succeeds; `what` names the step.
pub fn checked(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(out.status.success(), "{what} failed\n{}", describe(&out));
}

/// A finished command's exit status, stdout and stderr, for a failure message.
pub fn describe(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
