//! Documented commands are tests: every command in the README's `sh` blocks and every
//! `Examples:` line of every `--help` runs here, in order, in a temporary folder against an
//! emulator, with `dps-cli` the binary under test (mappings in `doc_commands`). Each must exit
//! 0 unless listed with another expectation, and key output is checked. What cannot run here
//! is on the skip lists below, each with its reason, and is printed when the test runs.
//!
//! The README's sections must also work in the other order a reader may take (certGen's
//! section before the tour), in one folder.

mod doc_commands;

use doc_commands::{
    Section, Shell, help_examples, help_files, readme_sections, shell_words, xtask_binary,
};
use std::sync::Mutex;

/// README commands that do not run here, and why.
const README_SKIPS: &[(&str, &str)] = &[
    (
        "cargo xtask quickstart",
        ".ci/run runs it as a step of its own",
    ),
    (
        "cargo test --workspace",
        "this test is one of the tests it runs",
    ),
    (
        "cargo fmt --all",
        ".ci/run runs formatting and clippy as steps of their own",
    ),
    ("bash .ci/run", "CI itself; it runs this test"),
    (
        "cargo install cargo-fuzz",
        "installs a tool; .ci/run installs it when it is missing",
    ),
    (
        "cargo xtask fuzz",
        "fuzzing runs for minutes; .ci/run builds the targets (cargo xtask fuzz --build-only)",
    ),
    (
        "cargo xtask soak",
        "a soak runs for minutes against a release build; its figures are in issue 14's note",
    ),
    (
        "cargo run -p dps-service-client --example",
        "needs a live Azure DPS: `HostName=...` stands for your connection string",
    ),
];

/// `--help` examples that do not run here, and why.
const HELP_SKIPS: &[(&str, &str)] = &[
    (
        "--endorsement-key \"$EK\"",
        "needs a TPM's endorsement key ($EK)",
    ),
    (
        "certificate prove --subscription",
        "live Azure: goes through Azure Resource Manager with an access token",
    ),
    (
        "device register --id-scope 0ne00000000",
        "live Azure: the global endpoint, your ID scope and group key",
    ),
    (
        "completions zsh > \"${fpath[1]}",
        "zsh syntax, and writes into zsh's own function folder",
    ),
];

/// Key output: a command containing the first string must print (stdout or stderr) each of
/// the others. Every entry must match at least one documented command.
const README_EXPECT: &[(&str, &[&str])] = &[
    ("certs inspect", &["SHA-256"]),
    (
        "cat /tmp/dps/emulator.json",
        &["serviceConnectionString", "idScope"],
    ),
    ("certificate prove", &["verified"]),
    ("enrollment-group create --group-id my-group", &["my-group"]),
    ("doctor", &["[ok]"]),
    ("device register", &["emulator-hub.azure-devices.net"]),
    ("enrollment-group registrations", &["my-device"]),
    (
        "create_verification_certificate",
        &["verification-code.cert.pem"],
    ),
    ("create_edge_device_certificate", &["myedge"]),
    (
        "plan -f dps.yaml",
        &["0 to create, 0 to update, 0 to delete"],
    ),
    ("apply -f dps.yaml", &["nothing to apply"]),
];

const HELP_EXPECT: &[(&str, &[&str])] = &[
    ("certificate prove", &["verified"]),
    (
        "device register --emulator",
        &["emulator-hub.azure-devices.net"],
    ),
    ("doctor", &["[ok]"]),
    ("enrollment export --out", &["enrollments.json"]),
];

/// One README run at a time: each starts emulators as printed and follows them by their data
/// folders (on free ports, see `doc_commands`), and keeps the output readable when one fails.
static README: Mutex<()> = Mutex::new(());

/// What happened to each documented command.
#[derive(Default)]
struct Record {
    ran: Vec<String>,
    skipped: Vec<String>,
    used_expectations: Vec<&'static str>,
    /// Every failed command or missing output, reported together at the end.
    failures: Vec<String>,
}

impl Record {
    fn assert_no_failures(&self, what: &str) {
        assert!(
            self.failures.is_empty(),
            "{what}: {} failure(s):\n\n{}",
            self.failures.len(),
            self.failures.join("\n----\n")
        );
    }
}

fn skip_reason<'a>(command: &str, skips: &[(&str, &'a str)]) -> Option<&'a str> {
    skips
        .iter()
        .find(|(needle, _)| command.contains(needle))
        .map(|(_, why)| *why)
}

/// Runs one command as a reader would, checking its exit status and key output.
fn run(
    shell: &mut Shell,
    command: &str,
    skips: &[(&str, &'static str)],
    expect: &[(&'static str, &[&str])],
    record: &mut Record,
) -> String {
    if let Some(why) = skip_reason(command, skips) {
        eprintln!("SKIPPED `{command}`: {why}");
        record.skipped.push(command.to_owned());
        return String::new();
    }
    let command = fill_placeholders(command, shell);
    if let Some(data_dir) = long_running(&command, shell) {
        shell.start(&command, &data_dir);
        record.ran.push(command);
        return String::new();
    }
    if command.contains("| jq") && !shell.run("command -v jq").status.success() {
        eprintln!("SKIPPED `{command}`: jq is not installed here");
        record.skipped.push(command);
        return String::new();
    }
    let out = shell.run(&command);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        record.failures.push(format!(
            "documented command failed ({}): `{command}`\n(run as `{}`)\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status,
            shell.mapped(&command)
        ));
    }
    for (needle, wanted) in expect {
        if command.contains(needle) {
            record.used_expectations.push(needle);
            for w in *wanted {
                if !(stdout.contains(w) || stderr.contains(w)) {
                    record.failures.push(format!(
                        "`{command}` should print {w:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
                    ));
                }
            }
        }
    }
    record.ran.push(command);
    stdout
}

/// `CODE` in a verification-certificate example is the code the previous example printed.
fn fill_placeholders(command: &str, shell: &Shell) -> String {
    if !command.split_whitespace().any(|w| w == "CODE") {
        return command.to_owned();
    }
    let code = std::fs::read_to_string(shell.tmp.path().join("last-code"))
        .expect("an earlier example printed a verification code");
    command
        .split_whitespace()
        .map(|w| if w == "CODE" { code.trim() } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The data folder of a command that starts an emulator and keeps running.
fn long_running(command: &str, shell: &Shell) -> Option<std::path::PathBuf> {
    let mapped = shell.mapped(command);
    let starts = mapped.contains("dps-cli emulator start") || mapped.starts_with("dps-emulator");
    if !starts {
        return None;
    }
    let words = shell_words(&mapped);
    let dir = words
        .iter()
        .position(|w| w == "--data-dir")
        .and_then(|i| words.get(i + 1))
        .map(|d| shell.cwd.join(d))
        .unwrap_or_else(|| shell.tmp.path().join("xdg/dps-emulator"));
    Some(dir)
}

fn run_sections(shell: &mut Shell, sections: &[&Section], record: &mut Record) {
    for section in sections {
        for command in &section.commands {
            run(shell, command, README_SKIPS, README_EXPECT, record);
        }
        // The reader stops the emulator (Ctrl-C) before the next section starts another.
        shell.stop_all();
    }
}

fn section<'a>(sections: &'a [Section], prefix: &str) -> &'a Section {
    sections
        .iter()
        .find(|s| s.title.starts_with(prefix))
        .unwrap_or_else(|| panic!("README has no section {prefix:?}"))
}

#[test]
fn every_readme_command_runs_in_document_order() {
    let _one = README.lock().unwrap_or_else(|e| e.into_inner());
    let sections = readme_sections();
    assert!(sections.iter().map(|s| s.commands.len()).sum::<usize>() > 15);
    let mut shell = Shell::new();
    let mut record = Record::default();
    run_sections(
        &mut shell,
        &sections.iter().collect::<Vec<_>>(),
        &mut record,
    );
    record.assert_no_failures("README in document order");
    for (needle, _) in README_EXPECT {
        assert!(
            record.used_expectations.contains(needle),
            "README_EXPECT names {needle:?}, which no README command contains"
        );
    }
    for (needle, _) in README_SKIPS {
        assert!(
            record.skipped.iter().any(|c| c.contains(needle)),
            "README_SKIPS names {needle:?}, which no README command contains"
        );
    }
    eprintln!(
        "README: {} commands ran, {} skipped",
        record.ran.len(),
        record.skipped.len()
    );
}

#[test]
fn the_certgen_section_works_before_the_tour_in_the_same_folder() {
    let _one = README.lock().unwrap_or_else(|e| e.into_inner());
    let sections = readme_sections();
    let order = [
        section(&sections, "Certificates: a replacement for certGen.sh"),
        section(&sections, "A five-minute tour"),
    ];
    let mut shell = Shell::new();
    let mut record = Record::default();
    run_sections(&mut shell, &order, &mut record);
    record.assert_no_failures("README, certGen section first");
}

#[test]
fn every_help_example_runs_in_order() {
    let examples = help_examples();
    assert!(
        examples.len() > 20,
        "found only {} examples",
        examples.len()
    );
    let mut shell = Shell::new();
    // An emulator in the default data folder: examples use `--emulator` alone, or (as for a
    // DPS in Azure) the connection string and CA in the environment.
    let data_dir = shell.tmp.path().join("xdg/dps-emulator");
    shell.start("dps-emulator --listen 127.0.0.1:0 --in-memory", &data_dir);
    let info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir.join("emulator.json")).expect("emulator.json"),
    )
    .expect("json");
    let field = |k: &str| info[k].as_str().expect(k).to_owned();
    shell.env("DPS_CONNECTION_STRING", &field("serviceConnectionString"));
    shell.env("DPS_CA_FILE", &field("caCertificatePath"));
    for d in [
        ".local/share/bash-completion/completions",
        ".config/fish/completions",
    ] {
        std::fs::create_dir_all(shell.tmp.path().join("home").join(d)).expect("mkdir");
    }
    for (name, content) in help_files() {
        std::fs::write(shell.cwd.join(name), content).expect("write example file");
    }
    let mut record = Record::default();
    for (path, command) in &examples {
        let stdout = run(&mut shell, command, HELP_SKIPS, HELP_EXPECT, &mut record);
        if path.ends_with("generate-verification-code") {
            let code = stdout
                .split_whitespace()
                .skip_while(|w| !w.to_ascii_lowercase().contains("code"))
                .find(|w| w.len() >= 16 && w.chars().all(|c| c.is_ascii_alphanumeric()))
                .unwrap_or_default();
            std::fs::write(shell.tmp.path().join("last-code"), code).expect("write code");
        }
    }
    record.assert_no_failures("--help examples");
    for (needle, _) in HELP_EXPECT {
        assert!(
            record.used_expectations.contains(needle),
            "HELP_EXPECT: {needle:?} unused"
        );
    }
    for (needle, _) in HELP_SKIPS {
        assert!(
            record.skipped.iter().any(|c| c.contains(needle)),
            "HELP_SKIPS names {needle:?}, which no example contains"
        );
    }
    eprintln!(
        "--help examples: {} ran, {} skipped",
        record.ran.len(),
        record.skipped.len()
    );
}

/// `cargo xtask quickstart --transport mqtt` prints each step's command (`   $ dps-cli ...`):
/// run as printed, from scratch, they do the quickstart again by hand, the device over MQTT
/// (CI runs the quickstart over HTTPS). Its folder has a space in its name, so
/// the printed paths must be quoted to run. The commands of its closing "Look at it" line run
/// first, against the state it left.
#[test]
fn the_quickstarts_printed_commands_do_it_again_by_hand() {
    let _one = README.lock().unwrap_or_else(|e| e.into_inner());
    let mut shell = Shell::new();
    let out = shell.tmp.path().join("quick start");
    let quickstart = std::process::Command::new(xtask_binary())
        .args([
            "quickstart",
            "--algorithm",
            "ecdsa-p256",
            "--transport",
            "mqtt",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run xtask quickstart");
    let printed = String::from_utf8_lossy(&quickstart.stdout).into_owned();
    assert!(
        quickstart.status.success(),
        "quickstart failed:\n{printed}\n{}",
        String::from_utf8_lossy(&quickstart.stderr)
    );
    let commands: Vec<String> = printed
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .map(str::to_owned)
        .collect();
    assert!(commands.len() >= 7, "printed commands: {commands:?}");
    let mut record = Record::default();
    let look = printed
        .lines()
        .find(|l| l.starts_with("Look at it:"))
        .expect("the closing hint");
    let look: Vec<&str> = look.split('`').skip(1).step_by(2).collect();
    assert_eq!(look.len(), 2, "{look:?}");
    for command in &look {
        run(
            &mut shell,
            command,
            &[],
            &[("enrollment-group list", &["my-x509-group"])],
            &mut record,
        );
    }
    shell.stop_all();
    std::fs::remove_dir_all(&out).expect("start from scratch");
    for command in &commands {
        run_one(&mut shell, command, &mut record);
    }
    record.assert_no_failures("quickstart's printed commands");
    let last = record
        .ran
        .iter()
        .any(|c| c.contains("device register") && c.contains("--transport mqtt"));
    assert!(last, "no device registration over MQTT among {commands:?}");
}

fn run_one(shell: &mut Shell, command: &str, record: &mut Record) {
    const EXPECT: &[(&str, &[&str])] = &[
        ("device register", &["emulator-hub.azure-devices.net"]),
        ("certificate prove", &["verified"]),
    ];
    run(shell, command, &[], EXPECT, record);
}
