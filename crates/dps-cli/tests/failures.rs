//! How `dps-cli` fails: exit 1 with the service's status and code and no secret for failed
//! operations, exit 2 for usage errors, and help that never shows a secret.

mod common;

use common::{Env, bare};
use predicates::prelude::*;

const INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";
const SECRET: &str = "c2VjcmV0LXZhbHVlLWRvLW5vdC1wcmludA==";

#[test]
fn a_bad_connection_string_fails_without_showing_its_key() {
    // Malformed: refused before anything is sent.
    bare()
        .args(["enrollment-group", "list", "--connection-string"])
        .arg(format!(
            "HostName=h;SharedAccessKeyName=p;SharedAccessKey={SECRET}!"
        ))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid connection string"))
        .stderr(predicate::str::contains(SECRET).not())
        .stderr(predicate::str::contains("c2VjcmV0").not());
    // Well formed but the wrong key: the service says 401.
    let env = Env::new();
    let cs = format!(
        "HostName={};SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={SECRET}",
        env.emulator.host()
    );
    bare()
        .env("DPS_CONNECTION_STRING", &cs)
        .arg("--ca-file")
        .arg(env.emulator.ca_path())
        .args(["enrollment", "list"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("HTTP 401"))
        .stderr(predicate::str::contains(
            "hint: the service refused the credentials",
        ))
        .stderr(predicate::str::contains(SECRET).not());
    // No service at all.
    bare()
        .args(["enrollment", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--connection-string"))
        .stderr(predicate::str::contains("hint:"));
}
#[test]
fn a_missing_certificate_file_fails() {
    let env = Env::new();
    env.cli()
        .args([
            "enrollment-group",
            "create",
            "--group-id",
            "g",
            "--cert",
            "nope.pem",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--cert"))
        .stderr(predicate::str::contains("nope.pem"));
    env.cli()
        .args([
            "enrollment",
            "create",
            "--registration-id",
            "d",
            "--cert",
            "nope.cer",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.cer"));
    env.cli()
        .args([
            "certificate",
            "prove",
            "--name",
            "r",
            "--cert",
            "nope.pem",
            "--key",
            "k.pem",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.pem"));
    // Nothing was created.
    assert_eq!(
        env.json(&["enrollment-group", "list"]),
        serde_json::json!([])
    );
    assert_eq!(env.json(&["certificate", "list"]), serde_json::json!([]));
}
#[test]
fn a_wrong_etag_is_412() {
    let env = Env::new();
    env.chain();
    let group = env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "grp",
        "--cert",
        INTERMEDIATE,
    ]);
    let etag = group["etag"].as_str().expect("etag").to_owned();
    for args in [
        &[
            "enrollment-group",
            "update",
            "--group-id",
            "grp",
            "--edge",
            "--if-match",
            "\"stale\"",
        ][..],
        &[
            "enrollment-group",
            "delete",
            "--group-id",
            "grp",
            "--if-match",
            "\"stale\"",
        ],
    ] {
        env.cli()
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("HTTP 412"))
            .stderr(predicate::str::contains(
                "enrollment-group show --group-id grp",
            ));
    }
    // The group is untouched; its real etag works.
    let shown = env.json(&["enrollment-group", "show", "--group-id", "grp"]);
    assert_eq!(shown["etag"], etag.as_str());
    assert!(shown.get("capabilities").is_none(), "{shown}");
    env.cli()
        .args([
            "enrollment-group",
            "delete",
            "--group-id",
            "grp",
            "--if-match",
            &etag,
        ])
        .assert()
        .success();
    env.cli()
        .args(["enrollment-group", "show", "--group-id", "grp"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 404"))
        .stderr(predicate::str::contains("enrollment-group list"));
    // Enrollments and certificates too.
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "d1",
        "--symmetric-key",
    ]);
    env.cli()
        .args([
            "enrollment",
            "delete",
            "--registration-id",
            "d1",
            "--if-match",
            "\"stale\"",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"));
    env.cli()
        .args([
            "certificate",
            "upload",
            "--name",
            "inter",
            "--cert",
            INTERMEDIATE,
        ])
        .assert()
        .success();
    env.cli()
        .args([
            "certificate",
            "delete",
            "--name",
            "inter",
            "--etag",
            "stale",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"));
}
#[test]
fn creating_what_exists_is_a_conflict_with_a_hint() {
    let env = Env::new();
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "g",
        "--symmetric-key",
    ]);
    env.cli()
        .args([
            "enrollment-group",
            "create",
            "--group-id",
            "g",
            "--symmetric-key",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("409"))
        .stderr(predicate::str::contains(
            "enrollment-group update --group-id g",
        ));
}
