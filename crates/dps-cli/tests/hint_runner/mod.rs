//! Running a printed hint as printed: the backticked `dps-cli ...` commands of `hint:`,
//! `next:` and `warning:` lines, run by `sh -c` in the folder of the command that printed
//! them, with `dps-cli` on `PATH` being the binary under test. Nothing is rewritten, except
//! where a test says so (an emulator start gets `--listen 127.0.0.1:0` when the hint names no
//! port, so that parallel tests never fight over the default 8443).

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The text of every line starting with `prefix` (`hint:`, `next:`, `warning:`), each block
/// of consecutive lines joined with spaces (a wrapped line continues its command).
pub fn lines_after(text: &str, prefix: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The backticked `dps-cli ...` commands in `text`, in order.
pub fn commands(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("dps-cli "))
        .map(str::to_owned)
        .collect()
}

/// The commands of the `prefix` lines of `text`; fails the test when there is none.
pub fn commands_of(text: &str, prefix: &str) -> Vec<String> {
    let found = commands(&lines_after(text, prefix));
    assert!(
        !found.is_empty(),
        "no backticked dps-cli command on a {prefix:?} line:\n{text}"
    );
    found
}

/// A shell that runs hints: `dps-cli` on `PATH`, the test's variables removed, `HOME` and
/// `XDG_DATA_HOME` in a temporary folder.
pub struct HintShell {
    bin: tempfile::TempDir,
    /// The folder commands run in (where the command that printed the hint ran).
    pub cwd: PathBuf,
    envs: Vec<(String, String)>,
    background: Vec<Child>,
}

impl HintShell {
    /// A shell running in `cwd`.
    pub fn new(cwd: &Path) -> Self {
        let bin = tempfile::tempdir().expect("tempdir");
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_dps-cli"));
        #[cfg(unix)]
        std::os::unix::fs::symlink(&exe, bin.path().join("dps-cli")).expect("link dps-cli");
        #[cfg(not(unix))]
        std::fs::copy(&exe, bin.path().join("dps-cli.exe")).expect("copy dps-cli");
        for d in ["home", "xdg"] {
            std::fs::create_dir_all(bin.path().join(d)).expect("mkdir");
        }
        Self {
            bin,
            cwd: cwd.to_path_buf(),
            envs: Vec::new(),
            background: Vec::new(),
        }
    }

    /// Sets a variable for every later command (what a reader would `export`).
    pub fn env(&mut self, key: &str, value: impl AsRef<str>) {
        self.envs.push((key.to_owned(), value.as_ref().to_owned()));
    }

    /// `XDG_DATA_HOME` of the commands: the emulator's default data folder is `xdg/dps-emulator`
    /// under it.
    pub fn xdg(&self) -> PathBuf {
        self.bin.path().join("xdg")
    }

    fn command(&self, command: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command).current_dir(&self.cwd);
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", self.bin.path().display()))
            .env("HOME", self.bin.path().join("home"))
            .env("XDG_DATA_HOME", self.xdg())
            .env("TERM", "dumb")
            // MQTT on a free port, not 8883, so emulators of parallel tests never collide.
            .env("DPS_EMULATOR_MQTT_LISTEN", "127.0.0.1:0")
            .env("DPS_EMULATOR_CONSOLE_LISTEN", "127.0.0.1:0");
        for v in [
            "DPS_CONNECTION_STRING",
            "DPS_CA_FILE",
            "AZURE_ACCESS_TOKEN",
            "DPS_KEY_PASSWORD",
            "RUST_LOG",
            "COLUMNS",
        ] {
            c.env_remove(v);
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    /// Runs a command to its end.
    pub fn run(&self, command: &str) -> Output {
        self.command(command)
            .stdin(Stdio::null())
            .output()
            .expect("run sh")
    }

    /// Runs a command that must succeed; its stdout.
    pub fn ok(&self, command: &str) -> String {
        let out = self.run(command);
        assert!(
            out.status.success(),
            "`{command}` failed ({})\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `dps-cli emulator start ...` in the background (with `--listen 127.0.0.1:0`
    /// added when the command names no address) and waits until the `emulator.json` it writes
    /// in `data_dir` is fresh and its port accepts connections.
    pub fn start_emulator(&mut self, command: &str, data_dir: &Path) {
        assert!(
            command.starts_with("dps-cli emulator start"),
            "not an emulator start: {command}"
        );
        let command = if command.contains("--listen") {
            command.to_owned()
        } else {
            format!("{command} --listen 127.0.0.1:0")
        };
        let info = data_dir.join("emulator.json");
        let before = std::fs::metadata(&info).and_then(|m| m.modified()).ok();
        let child = self
            .command(&format!("exec {command}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        self.background.push(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let modified = std::fs::metadata(&info).and_then(|m| m.modified()).ok();
            if modified.is_some() && modified != before && listening(&info) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{command}` did not write a fresh {} in time",
                info.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HintShell {
    fn drop(&mut self) {
        for mut child in self.background.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether the port an `emulator.json` names accepts connections.
fn listening(info: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(info) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let Some(port) = v["port"].as_u64().and_then(|p| u16::try_from(p).ok()) else {
        return false;
    };
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}
