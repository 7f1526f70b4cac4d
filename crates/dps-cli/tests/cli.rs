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
    usage(&["enrollment-group", "create", "--cert", "a.pem"]);
    usage(&[
        "enrollment-group",
        "create",
        "--group-id",
        "g",
        "--cert",
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
        "--secondary-cert",
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

/// One name per idea: `--cert`, `--key`, `--password` and `-o` everywhere, the old names still
/// accepted (hidden from --help).
#[test]
fn one_flag_name_per_idea_and_the_old_names_still_parse() {
    for (args, shown, hidden) in [
        (
            &["certificate", "prove", "--help"][..],
            &["--cert", "--key", "--password"][..],
            &["--ca-cert", "--ca-key"][..],
        ),
        (
            &["enrollment-group", "create", "--help"],
            &["--cert", "--secondary-cert"],
            &["--certificate"],
        ),
        (
            &["enrollment", "create", "--help"],
            &["--cert"],
            &["--certificate"],
        ),
        (
            &["device", "register", "--help"],
            &["--cert", "--key", "--password"],
            &["--key-password"],
        ),
        (
            &["doctor", "--help"],
            &["--cert", "--key", "--password"],
            &["--key-password"],
        ),
        (
            &["certs", "create-root-and-intermediate", "--help"],
            &["--password", "-o, --output"],
            &[],
        ),
    ] {
        let out = bare().args(args).output().expect("help");
        let text = String::from_utf8_lossy(&out.stdout);
        for flag in shown {
            assert!(
                text.contains(&format!("{flag} ")) || text.contains(&format!("{flag} <")),
                "{args:?} should document {flag}"
            );
        }
        for flag in hidden {
            assert!(
                !text.contains(&format!("{flag} ")),
                "{args:?} should not show the old name {flag}"
            );
        }
    }
    // The old names parse: they reach the file check, not a usage error.
    for args in [
        &[
            "certificate",
            "prove",
            "--name",
            "r",
            "--ca-cert",
            "/nonexistent/r.pem",
            "--ca-key",
            "/nonexistent/r.key",
        ][..],
        &[
            "doctor",
            "--cert",
            "/nonexistent/d.pem",
            "--key",
            "/nonexistent/d.key",
            "--key-password",
            "x",
        ],
        &[
            "enrollment-group",
            "create",
            "--group-id",
            "g",
            "--certificate",
            "/nonexistent/ca.pem",
        ],
    ] {
        bare()
            .env(
                "DPS_CONNECTION_STRING",
                format!("HostName=127.0.0.1:9;SharedAccessKeyName=p;SharedAccessKey={SECRET}"),
            )
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("/nonexistent/"));
    }
    bare()
        .args(["-o", "json", "certs", "inspect", "/nonexistent/x.pem"])
        .assert()
        .code(1);
}

/// `certificate inspect` and `certs prove`: the command exists in the other group, and the
/// error says which.
#[test]
fn a_command_of_the_other_certificate_group_is_pointed_to() {
    bare()
        .args(["certificate", "inspect", "x.pem"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "try `dps-cli certs inspect x.pem`",
        ));
    bare()
        .args(["--emulator", "/tmp/dps", "certs", "prove", "--name", "root"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "try `dps-cli --emulator /tmp/dps certificate prove --name root`",
        ));
    bare()
        .args([
            "--connection-string",
            &format!("HostName=h;SharedAccessKeyName=p;SharedAccessKey={SECRET}"),
            "certs",
            "list",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "try `dps-cli --connection-string \"$DPS_CONNECTION_STRING\" certificate list`",
        ))
        .stderr(predicate::str::contains(SECRET).not());
    bare()
        .args(["certs", "prove", "--bearer-token", SECRET, "--password=hunter2", "--name", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "try `dps-cli certificate prove --bearer-token \"$AZURE_ACCESS_TOKEN\" --password=\"$DPS_KEY_PASSWORD\" --name x`",
        ))
        .stderr(predicate::str::contains(SECRET).not())
        .stderr(predicate::str::contains("hunter2").not());
    bare()
        .args(["certs", "bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tip: `").not());
}
