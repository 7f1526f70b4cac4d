//! Running documented commands as a reader would: extraction of the README's `sh` blocks and
//! of the `Examples:` in `--help`, and a shell runner in a temporary folder where `dps-cli` and
//! `dps-emulator` are the binaries under test.
//!
//! The mappings, all textual and all listed here:
//! - `dps-cli` and `dps-emulator` are found on `PATH` (a folder of links to the binaries
//!   under test), so commands run exactly as printed;
//! - `cargo run -p dps-emulator --` is the `dps-emulator` binary (what cargo would build);
//! - `/tmp/dps`, the README's data folder, is a folder inside the test's temporary folder;
//! - `HOME` and `XDG_DATA_HOME` are inside the temporary folder too, so `--emulator` without a
//!   folder finds the test's emulator and nothing is written outside;
//! - `DPS_EMULATOR_LISTEN=127.0.0.1:0` and `DPS_EMULATOR_MQTT_LISTEN=127.0.0.1:0`: emulators
//!   started as printed take free ports, not 8443 and 8883, so the test never depends on those
//!   ports being free.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A `## ` section of the README and the commands of its `sh` blocks, in order.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub commands: Vec<String>,
}

/// The README's sections that have `sh` blocks.
pub fn readme_sections() -> Vec<Section> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&path).expect("README.md");
    let mut sections: Vec<Section> = Vec::new();
    let mut title = String::new();
    let mut in_sh = false;
    let mut block = String::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("## ") {
            title = t.trim().to_owned();
        } else if line.trim_start().starts_with("```") {
            if in_sh {
                let commands = commands_of(&block);
                match sections.last_mut() {
                    Some(s) if s.title == title => s.commands.extend(commands),
                    _ => sections.push(Section {
                        title: title.clone(),
                        commands,
                    }),
                }
                block.clear();
                in_sh = false;
            } else {
                in_sh = line.trim() == "```sh";
            }
        } else if in_sh {
            block.push_str(line);
            block.push('\n');
        }
    }
    sections
}

/// The commands of a shell block: `\` continuations joined, comments and blank lines dropped.
pub fn commands_of(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = strip_comment(line);
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            current.push_str(head.trim_start());
            current.push(' ');
            continue;
        }
        current.push_str(line.trim());
        let command = current.split_whitespace().collect::<Vec<_>>().join(" ");
        if !command.is_empty() {
            out.push(command);
        }
        current.clear();
    }
    out
}

/// `cmd   # comment` → `cmd`: a `#` after whitespace and outside quotes starts a comment.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// Every `Example:`/`Examples:` command in the `--help` of every command, depth first in the
/// order `--help` lists them, each with the command path whose help shows it.
pub fn help_examples() -> Vec<(String, String)> {
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        let texts = [
            cmd.get_long_about(),
            cmd.get_after_help(),
            cmd.get_after_long_help(),
        ];
        for text in texts.into_iter().flatten() {
            let text = text.to_string();
            let mut in_examples = false;
            let mut block = String::new();
            for line in text.lines() {
                if line.starts_with("Example") && line.trim_end().ends_with(':') {
                    in_examples = true;
                } else if in_examples && line.starts_with("  ") {
                    block.push_str(line);
                    block.push('\n');
                } else {
                    in_examples = false;
                }
            }
            for command in commands_of(&block) {
                out.push((path.to_owned(), command));
            }
        }
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            let path = if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path} {name}")
            };
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&dps_cli::cli::command(), "", &mut out);
    out
}

/// Files the examples read, shown in `--help` as `NAME.ext:` followed by its indented lines
/// (e.g. `devices.csv:` under `enrollment import`): the reader writes them, so the test does.
pub fn help_files() -> Vec<(String, String)> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
        let texts = [
            cmd.get_long_about(),
            cmd.get_after_help(),
            cmd.get_after_long_help(),
        ];
        for text in texts.into_iter().flatten() {
            let text = text.to_string();
            let mut current: Option<(String, String)> = None;
            for line in text.lines().chain(std::iter::once("")) {
                let is_name = !line.starts_with(' ')
                    && line.ends_with(':')
                    && line.contains('.')
                    && !line.contains(' ');
                match (&mut current, line.strip_prefix("  ")) {
                    (Some((_, body)), Some(content)) => {
                        body.push_str(content);
                        body.push('\n');
                    }
                    _ => {
                        out.extend(current.take());
                        if is_name {
                            current = Some((line.trim_end_matches(':').to_owned(), String::new()));
                        }
                    }
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&dps_cli::cli::command(), &mut out);
    out
}

/// The words of a command as `sh` splits them, for the plain forms documented commands use:
/// spaces separate words; `'...'` and `"..."` quote (no escapes inside single quotes, `\"`
/// inside double ones).
pub fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                started = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                started = true;
                word.push(c);
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// A temporary folder with `dps-cli` and `dps-emulator` on `PATH`, running commands with
/// `sh -c` as a reader's shell would.
pub struct Shell {
    pub tmp: tempfile::TempDir,
    pub cwd: PathBuf,
    bin: PathBuf,
    envs: Vec<(String, String)>,
    background: Vec<Child>,
}

impl Shell {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cwd = tmp.path().join("work");
        let bin = tmp.path().join("bin");
        for d in [
            &cwd,
            &bin,
            &tmp.path().join("home"),
            &tmp.path().join("xdg"),
        ] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        link(
            Path::new(env!("CARGO_BIN_EXE_dps-cli")),
            &bin.join("dps-cli"),
        );
        link(&emulator_binary(), &bin.join("dps-emulator"));
        Self {
            cwd,
            bin,
            envs: Vec::new(),
            background: Vec::new(),
            tmp,
        }
    }

    /// Sets a variable for every later command.
    pub fn env(&mut self, key: &str, value: &str) {
        self.envs.push((key.to_owned(), value.to_owned()));
    }

    /// The README's `/tmp/dps` in this test.
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("dps")
    }

    /// The command as this test runs it (the mappings in the module's documentation).
    pub fn mapped(&self, command: &str) -> String {
        command
            .replace("cargo run -p dps-emulator --", "dps-emulator")
            .replace("/tmp/dps", &self.data_dir().display().to_string())
    }

    fn command(&self, command: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(self.mapped(command)).current_dir(&self.cwd);
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", self.bin.display()))
            .env("HOME", self.tmp.path().join("home"))
            .env("XDG_DATA_HOME", self.tmp.path().join("xdg"))
            .env("TERM", "dumb")
            // The README's emulators run as printed, on a free port rather than 8443.
            .env("DPS_EMULATOR_LISTEN", "127.0.0.1:0")
            .env("DPS_EMULATOR_MQTT_LISTEN", "127.0.0.1:0")
            .env("DPS_EMULATOR_CONSOLE_LISTEN", "127.0.0.1:0")
            .env_remove("DPS_CONNECTION_STRING")
            .env_remove("DPS_CA_FILE")
            .env_remove("AZURE_ACCESS_TOKEN")
            .env_remove("RUST_LOG")
            .env_remove("COLUMNS");
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

    /// Starts a long-running emulator command and waits until the `emulator.json` it writes
    /// into `data_dir` is fresh and its endpoint accepts connections.
    pub fn start(&mut self, command: &str, data_dir: &Path) {
        let started = SystemTime::now();
        let log = std::fs::File::create(self.tmp.path().join("emulator.log")).expect("log");
        let child = self
            .command(&format!("exec {command}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn emulator");
        self.background.push(child);
        let info = data_dir.join("emulator.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let fresh = std::fs::metadata(&info)
                .and_then(|m| m.modified())
                .is_ok_and(|m| m >= started);
            if fresh && listening(&info) {
                return;
            }
            if let Some(Ok(Some(status))) = self.background.last_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(self.tmp.path().join("emulator.log"));
                panic!("`{command}` exited ({status}) before it was ready: {log:?}");
            }
            assert!(
                Instant::now() < deadline,
                "`{command}` not ready after 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops what [`Shell::start`] started, as Ctrl-C would.
    pub fn stop_all(&mut self) {
        for mut child in self.background.drain(..) {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// True when the `deviceEndpoint`/`serviceEndpoint` host:port in `emulator.json` accepts a
/// TCP connection.
fn listening(info: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(info) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let Some(endpoint) = json.as_object().and_then(|o| {
        o.values()
            .filter_map(|v| v.as_str())
            .find(|s| s.starts_with("https://"))
    }) else {
        return false;
    };
    let authority = endpoint
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .replace("localhost", "127.0.0.1");
    std::net::TcpStream::connect(authority).is_ok()
}

fn link(target: &Path, at: &Path) {
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

/// The `xtask` binary beside `dps-cli` (`cargo test --workspace` builds it for its tests),
/// built with cargo when this package's tests run alone.
pub fn xtask_binary() -> PathBuf {
    sibling_binary("xtask")
}

/// The `dps-emulator` binary beside `dps-cli` (`cargo test --workspace` builds it), built
/// with cargo when this package's tests run alone.
fn emulator_binary() -> PathBuf {
    sibling_binary("dps-emulator")
}

fn sibling_binary(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_dps-cli"))
        .parent()
        .expect("target dir")
        .to_owned();
    let bin = dir.join(name);
    // Always through cargo, which rebuilds it only when its sources changed, so this test never
    // runs a stale binary (`cargo test -p dps-cli` alone does not build other packages').
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-q", "-p", name, "--bin", name]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("cargo build {name}: {e}"));
    assert!(status.success(), "building {name} failed");
    assert!(
        bin.exists(),
        "cargo built {name}, but not at {}",
        bin.display()
    );
    bin
}
