//! Every printed hint runs as printed: each test provokes one hint through the real binary,
//! takes the backticked `dps-cli ...` commands from the `hint:` (or `next:`) lines, runs them
//! with `sh -c` in the same folder, and checks that they succeed or do what the hint says (a
//! suggested `doctor` reports the same refusal). The commands carry the context of the
//! command that printed them: `--emulator DIR`, the registration id, the files, and the
//! connection string's source (never the connection string itself).

mod common;
mod hint_runner;

use common::{Env, bare, devices};
use dps_certgen::Signer;
use hint_runner::{HintShell, commands_of};
use std::process::Output;

const ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";
const INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";
const GROUP_KEY: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";

/// Runs a command that must fail; its stderr.
fn failure(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected a failure\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

#[test]
fn a_refused_device_gets_the_doctor_command_it_was_refused_with() {
    let env = Env::new();
    env.tour();
    devices(
        &dps_certgen::CertDir::new(env.path().join("certs")),
        &["dev1"],
        Signer::Intermediate,
    );
    // Registered under another id than its CN: the service refuses it.
    let stderr = failure(
        env.cli()
            .args([
                "device",
                "register",
                "--cert",
                "certs/certs/dev1-full-chain.cert.pem",
                "--key",
                "certs/private/dev1.key.pem",
                "--registration-id",
                "other-id",
            ])
            .output()
            .expect("runs"),
    );
    let commands = commands_of(&stderr, "hint: ");
    let [doctor] = commands.as_slice() else {
        panic!("one command: {commands:?}")
    };
    assert!(doctor.contains("--registration-id other-id"), "{doctor}");
    assert!(doctor.contains("--emulator "), "{doctor}");
    // Doctor reports the very refusal: the registration id is not the CN.
    let out = HintShell::new(env.path()).run(doctor);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{doctor}\n{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("[FAIL]") && l.contains("registration-id")),
        "{report}"
    );
}

#[test]
fn a_disabled_group_gets_the_command_that_enables_it() {
    let env = Env::new();
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "sk-grp",
        "--symmetric-key",
        "--primary-key",
        GROUP_KEY,
        "--secondary-key",
        GROUP_KEY,
        "--provisioning-status",
        "disabled",
    ]);
    let register = [
        "device",
        "register",
        "--registration-id",
        "sk-dev",
        "--group-key",
        GROUP_KEY,
    ];
    let stderr = failure(env.cli().args(register).output().expect("runs"));
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    assert!(
        commands[0]
            .contains("enrollment-group update --group-id sk-grp --provisioning-status enabled"),
        "{stderr}"
    );
    HintShell::new(env.path()).ok(&commands[0]);
    env.cli().args(register).assert().success();
}

#[test]
fn a_missing_record_gets_the_list_command() {
    let env = Env::new();
    let stderr = failure(
        env.cli()
            .args(["enrollment-group", "show", "--group-id", "nope"])
            .output()
            .expect("runs"),
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    assert!(commands[0].contains("--emulator "), "{stderr}");
    HintShell::new(env.path()).ok(&commands[0]);
}

#[test]
fn a_missing_registration_gets_the_group_list() {
    let env = Env::new();
    env.tour();
    let stderr = failure(
        env.cli()
            .args(["registration", "show", "--registration-id", "nope"])
            .output()
            .expect("runs"),
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    let listed = HintShell::new(env.path()).ok(&commands[0]);
    assert!(listed.contains("grp"), "{listed}");
}

#[test]
fn an_existing_record_gets_show_update_and_delete() {
    let env = Env::new();
    env.chain();
    let create = [
        "enrollment-group",
        "create",
        "--group-id",
        "grp",
        "--cert",
        INTERMEDIATE,
    ];
    env.cli().args(create).assert().success();
    let stderr = failure(env.cli().args(create).output().expect("runs"));
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 3, "show, update, delete: {stderr}");
    let shell = HintShell::new(env.path());
    for (command, verb) in commands.iter().zip(["show", "update", "delete"]) {
        assert!(command.contains(&format!("enrollment-group {verb} --group-id grp")));
        shell.ok(command);
    }
    // Deleted as the hint said: creating it again works.
    env.cli().args(create).assert().success();
}

#[test]
fn a_stale_etag_gets_the_show_command() {
    let env = Env::new();
    env.chain();
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "grp",
        "--cert",
        INTERMEDIATE,
    ]);
    let stderr = failure(
        env.cli()
            .args([
                "enrollment-group",
                "update",
                "--group-id",
                "grp",
                "--edge",
                "--if-match",
                "\"stale\"",
            ])
            .output()
            .expect("runs"),
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    let shown = HintShell::new(env.path()).ok(&commands[0]);
    assert!(shown.contains("etag"), "{shown}");
}

#[test]
fn a_connection_string_flag_is_named_by_its_variable_never_repeated() {
    let env = Env::new();
    let cs = env.emulator.service_connection_string();
    let secret = cs
        .split(';')
        .find_map(|kv| kv.strip_prefix("SharedAccessKey="))
        .expect("a key")
        .to_owned();
    let stderr = failure(
        bare()
            .current_dir(env.path())
            .args(["enrollment", "show", "--registration-id", "nope"])
            .arg("--connection-string")
            .arg(&cs)
            .arg("--ca-file")
            .arg(env.emulator.ca_path())
            .output()
            .expect("runs"),
    );
    assert!(!stderr.contains(&secret), "{stderr}");
    assert!(
        stderr.contains("set DPS_CONNECTION_STRING to the connection string"),
        "{stderr}"
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    assert!(
        commands[0].contains("--connection-string \"$DPS_CONNECTION_STRING\""),
        "{stderr}"
    );
    assert!(commands[0].contains("--ca-file "), "{stderr}");
    // As the note says: the variable set, the command runs.
    let mut shell = HintShell::new(env.path());
    shell.env("DPS_CONNECTION_STRING", &cs);
    shell.ok(&commands[0]);
}

#[test]
fn a_stopped_emulator_gets_the_start_command_for_its_folder() {
    let Env {
        tmp,
        data_dir,
        emulator,
    } = Env::new();
    let port = emulator.addr().port();
    emulator.shutdown();
    let list = |cmd: &mut assert_cmd::Command| {
        cmd.current_dir(tmp.path())
            .arg("--emulator")
            .arg(&data_dir)
            .args(["enrollment-group", "list"])
            .output()
            .expect("runs")
    };
    let stderr = failure(list(&mut bare()));
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    let start = &commands[0];
    assert!(
        start.starts_with(&format!(
            "dps-cli emulator start --data-dir {}",
            data_dir.display()
        )),
        "{start}"
    );
    assert!(
        start.ends_with(&format!("--listen 127.0.0.1:{port}")),
        "{start}"
    );
    let mut shell = HintShell::new(tmp.path());
    shell.start_emulator(start, &data_dir);
    let out = list(&mut bare());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_folder_without_an_emulator_gets_the_start_command_for_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data_dir = tmp.path().join("emu");
    let list = || {
        bare()
            .current_dir(tmp.path())
            .arg("--emulator")
            .arg(&data_dir)
            .args(["enrollment-group", "list"])
            .output()
            .expect("runs")
    };
    let stderr = failure(list());
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    assert!(commands[0].contains("--data-dir "), "{stderr}");
    let mut shell = HintShell::new(tmp.path());
    shell.start_emulator(&commands[0], &data_dir);
    let out = list();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_service_at_all_gets_the_start_command_then_emulator() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut shell = HintShell::new(tmp.path());
    for command in [
        &["enrollment-group", "list"][..],
        &["certificate", "list"][..],
    ] {
        let out = bare()
            .current_dir(tmp.path())
            .args(command)
            .output()
            .expect("runs");
        let stderr = failure(out);
        assert!(
            stderr.contains("then add --emulator to this command")
                || stderr.contains("then add --emulator"),
            "{stderr}"
        );
        let commands = commands_of(&stderr, "hint: ");
        assert_eq!(commands, ["dps-cli emulator start"], "{stderr}");
        if command[0] == "enrollment-group" {
            // The default data folder, under the shell's XDG_DATA_HOME.
            shell.start_emulator(&commands[0], &shell.xdg().join("dps-emulator"));
        }
        // "then add --emulator to this command".
        let again = format!("dps-cli {} --emulator", command.join(" "));
        shell.ok(&again);
    }
}

#[test]
fn a_verification_code_gets_the_commands_that_prove_it() {
    let env = Env::new();
    env.chain();
    env.json(&["certificate", "upload", "--name", "root", "--cert", ROOT]);
    let out = env
        .cli()
        .args([
            "certificate",
            "generate-verification-code",
            "--name",
            "root",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let commands = commands_of(&stdout, "next: ");
    assert_eq!(commands.len(), 2, "{stdout}");
    assert!(
        commands[0].starts_with("dps-cli certs create-verification-certificate "),
        "{stdout}"
    );
    assert!(commands[1].contains("--emulator "), "{stdout}");
    let shell = HintShell::new(env.path());
    shell.ok(&commands[0]);
    let verified = shell.ok(&commands[1]);
    assert!(
        verified
            .lines()
            .any(|l| l.starts_with("verified") && l.ends_with("yes")),
        "{verified}"
    );
}

#[test]
fn a_verification_code_mismatch_gets_the_code_dps_issued_last() {
    let env = Env::new();
    env.chain();
    let code = env.root_verification_code("root");
    // The code in another case: not the code as DPS gave it.
    let shell = HintShell::new(env.path());
    shell.ok(&format!(
        "dps-cli certs create-verification-certificate {} --algorithm ecdsa-p256",
        code.to_ascii_lowercase()
    ));
    let stderr = failure(
        env.cli()
            .args([
                "certificate",
                "verify",
                "--name",
                "root",
                "--cert",
                "certs/certs/verification-code.cert.pem",
            ])
            .output()
            .expect("runs"),
    );
    assert!(
        stderr.contains(&format!(
            "the verification certificate's CN is {:?} but the verification code DPS issued last is {code:?}",
            code.to_ascii_lowercase()
        )),
        "{stderr}"
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 2, "{stderr}");
    assert_eq!(
        commands[0],
        format!("dps-cli certs create-verification-certificate {code}")
    );
    shell.ok(&commands[0]);
    let verified = shell.ok(&commands[1]);
    assert!(
        verified
            .lines()
            .any(|l| l.starts_with("verified") && l.ends_with("yes")),
        "{verified}"
    );
}
