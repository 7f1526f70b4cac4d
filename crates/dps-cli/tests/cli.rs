//! The command line itself: usage errors exit 2, help documents exit codes, JSON and
//! examples and never shows a secret, completions, `--verbose`, and `--emulator` before a
//! subcommand.

mod common;

use common::{Env, bare};
use predicates::prelude::*;

const SECRET: &str = "c2VjcmV0LXZhbHVlLWRvLW5vdC1wcmludA==";

#[test]
fn help_never_shows_secrets() {
    for args in [
        &["--help"][..],
        &["enrollment-group", "create", "--help"],
        &["certificate", "prove", "--help"],
    ] {
        bare()
            .env(
                "DPS_CONNECTION_STRING",
                format!("HostName=h;SharedAccessKeyName=p;SharedAccessKey={SECRET}"),
            )
            .env("AZURE_ACCESS_TOKEN", SECRET)
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("DPS_CONNECTION_STRING"))
            .stdout(predicate::str::contains(SECRET).not());
    }
    bare()
        .args(["certificate", "list", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("AZURE_ACCESS_TOKEN"));
}
#[test]
fn usage_errors_exit_2() {
    let usage = |args: &[&str]| {
        bare()
            .args(args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty());
    };
    usage(&[]);
    usage(&["enrollment-group", "create", "--group-id", "g"]);
    usage(&["enrollment-group", "create", "--certificate", "a.pem"]);
    usage(&[
        "enrollment-group",
        "create",
        "--group-id",
        "g",
        "--certificate",
        "a.pem",
        "--symmetric-key",
    ]);
    usage(&[
        "enrollment-group",
        "create",
        "--group-id",
        "g",
        "--allocation-policy",
        "random",
        "--symmetric-key",
    ]);
    usage(&[
        "enrollment-group",
        "create",
        "--group-id",
        "g",
        "--symmetric-key",
        "--secondary-certificate",
        "b.pem",
    ]);
    usage(&[
        "enrollment",
        "create",
        "--registration-id",
        "d",
        "--storage-root-key",
        "AA==",
    ]);
    usage(&["enrollment", "import", "x.csv", "--mode", "upsert"]);
    usage(&["enrollment-group", "delete"]);
    usage(&["certificate", "list", "--subscription", "s"]);
    usage(&["completions", "tcsh"]);
    usage(&["doctor", "--cert", "x.pem", "--group-id", "g"]);
    usage(&[
        "device",
        "register",
        "--registration-id",
        "d",
        "--group-key",
        SECRET,
    ]);
}
#[test]
fn completions_name_the_binary() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        bare()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("dps-cli"))
            .stdout(predicate::str::contains("enrollment-group"));
    }
}
#[test]
fn the_top_level_help_documents_exit_codes_and_json() {
    bare()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Exit codes: 0 success, 1 the operation failed, 2 usage error.",
        ))
        .stdout(predicate::str::contains("JSON.md"))
        .stdout(predicate::str::contains("Examples:"));
    for cmd in [
        "enrollment-group",
        "enrollment",
        "registration",
        "certificate",
    ] {
        let out = bare().args([cmd, "--help"]).output().expect("runs");
        assert!(out.status.success());
        let sub = String::from_utf8(out.stdout).expect("UTF-8");
        let names: Vec<&str> = sub
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| *n != "help")
            .collect();
        assert!(!names.is_empty(), "{sub}");
        for name in names {
            bare()
                .args([cmd, name, "--help"])
                .assert()
                .success()
                .stdout(
                    predicate::str::contains("dps-cli ").and(predicate::str::contains("Example")),
                );
        }
    }
}
#[test]
fn verbose_logs_requests_on_stderr_only() {
    let env = Env::new();
    let out = env
        .cli()
        .args(["--verbose", "--output", "json", "enrollment-group", "list"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("EnrollmentGroup_Query"), "{err}");
    assert!(err.contains("status=200"), "{err}");
    assert!(!err.contains("SharedAccessSignature"), "{err}");
}
#[test]
#[cfg(target_os = "linux")]
fn the_emulator_flag_takes_no_subcommand_for_a_folder() {
    // `--emulator` before a subcommand uses the default data folder rather than taking the
    // subcommand's name as one.
    let tmp = tempfile::tempdir().expect("tempdir");
    bare()
        .env("XDG_DATA_HOME", tmp.path())
        .args(["--emulator", "enrollment-group", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            tmp.path()
                .join("dps-emulator")
                .join("emulator.json")
                .display()
                .to_string(),
        ));
}
