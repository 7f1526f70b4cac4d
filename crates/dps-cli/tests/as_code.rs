//! `dps-cli plan`, `apply` and `export --as-code` against an emulator in this process: the
//! round trip through files, exit codes, `--prune`'s confirmation, errors that name a file's
//! line and column, and secrets that never reach stdout, stderr or the exported file.

mod common;

use common::{Env, TOUR_INTERMEDIATE, TOUR_ROOT, TOUR_ROOT_KEY, parse};
use dps_certgen::Signer;
use serde_json::Value;

const GROUP_KEY: &str = "ZHBzLXJzIGFzLWNvZGUgZ3JvdXAga2V5IG9uZSEhISE=";
const DEVICE_KEY: &str = "ZHBzLXJzIGFzLWNvZGUgZGV2aWNlIGtleSB0d28hISE=";
const NEW_GROUP_KEY: &str = "ZHBzLXJzIGFzLWNvZGUgZ3JvdXAga2V5IHRocmVlISE=";

fn manifest() -> String {
    format!(
        "certificates:
  - name: root
    certificate: {{file: {TOUR_ROOT}}}
    proofOfPossession:
      key: {TOUR_ROOT_KEY}
      password: ${{ROOT_KEY_PASSWORD}}
enrollmentGroups:
  - enrollmentGroupId: by-ca
    attestation:
      type: x509
      x509:
        caReferences: {{primary: root}}
    iotHubs: [hub1.azure-devices.net]
    allocationPolicy: hashed
    initialTwin:
      tags: {{site: lab}}
      properties:
        desired: {{interval: 30}}
  - enrollmentGroupId: by-intermediate
    attestation:
      type: x509
      x509:
        signingCertificates:
          primary: {{file: {TOUR_INTERMEDIATE}}}
  - enrollmentGroupId: keys
    attestation:
      type: symmetricKey
      symmetricKey:
        primaryKey: ${{GROUP_KEY}}
    provisioningStatus: disabled
enrollments:
  - registrationId: dev1
    attestation:
      type: x509
      x509:
        clientCertificates:
          primary: {{file: certs/certs/dev1.cert.pem}}
    deviceId: device-one
  - registrationId: sk1
    attestation:
      type: symmetricKey
      symmetricKey:
        primaryKey: {{file: sk1.key}}
"
    )
}

/// An emulator with the test chain, a device certificate and the files above.
fn setup() -> Env {
    let env = Env::new();
    let certs = env.chain();
    common::devices(&certs, &["dev1"], Signer::Intermediate);
    std::fs::write(env.path().join("dps.yaml"), manifest()).expect("manifest");
    std::fs::write(env.path().join("sk1.key"), format!("{DEVICE_KEY}\n")).expect("key");
    std::fs::write(
        env.path().join("secrets.env"),
        format!("# test secrets\nGROUP_KEY={GROUP_KEY}\nROOT_KEY_PASSWORD=1234\n"),
    )
    .expect("env file");
    env
}

/// Runs `dps-cli --emulator DIR -v --output json ARGS`, checks the exit code, and checks that
/// no secret reached stdout or stderr; returns stdout parsed.
fn run(env: &Env, args: &[&str], success: bool) -> Value {
    let out = env
        .cli()
        .args(["--verbose", "--output", "json"])
        .args(args)
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [GROUP_KEY, DEVICE_KEY, NEW_GROUP_KEY] {
        assert!(
            !text.contains(secret),
            "a secret was printed by {args:?}:\n{text}"
        );
    }
    parse(&out, args, success)
}

fn actions(plan: &Value) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = plan["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().expect("id").to_owned(),
                i["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect();
    list.sort();
    list
}

#[test]
fn apply_then_plan_is_empty_and_export_plans_empty_too() {
    let env = setup();
    let f = ["-f", "dps.yaml", "--env-file", "secrets.env"];
    let plan = run(&env, &[&["plan"][..], &f].concat(), true);
    assert_eq!(plan["summary"]["create"], 6, "{plan:#}");
    let applied = run(&env, &[&["apply"][..], &f].concat(), true);
    let outcomes = applied["report"]["outcomes"].as_array().expect("outcomes");
    assert_eq!(outcomes.len(), 6);
    assert!(outcomes.iter().all(|o| o["ok"] == true), "{applied:#}");
    let cert = env.json(&["certificate", "show", "--name", "root"]);
    assert_eq!(
        cert["properties"]["isVerified"], true,
        "proof of possession done"
    );

    let again = run(&env, &[&["plan"][..], &f].concat(), true);
    assert_eq!(again["summary"]["unchanged"], 6, "{again:#}");
    assert_eq!(again["summary"]["create"], 0);
    assert_eq!(again["summary"]["update"], 0);
    let second = run(&env, &[&["apply"][..], &f].concat(), true);
    assert_eq!(second["report"]["outcomes"], serde_json::json!([]));

    let out = run(
        &env,
        &[
            "export",
            "--as-code",
            "--out",
            "live.yaml",
            "--secrets-out",
            "live.env",
        ],
        true,
    );
    assert_eq!(out["enrollments"], 2);
    // Both keys of each symmetric-key record: the secondaries the service generated too.
    assert_eq!(out["secretVariables"], 4, "{out}");
    let exported = std::fs::read_to_string(env.path().join("live.yaml")).expect("export");
    for secret in [GROUP_KEY, DEVICE_KEY] {
        assert!(!exported.contains(secret), "{exported}");
    }
    assert!(exported.contains("sha256Thumbprint"), "{exported}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path().join("live.env"))
            .expect("secrets file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let replanned = run(
        &env,
        &["plan", "-f", "live.yaml", "--env-file", "live.env"],
        true,
    );
    assert_eq!(replanned["summary"]["unchanged"], 6, "{replanned:#}");
    assert_eq!(
        replanned["summary"]["create"].as_u64().unwrap_or(1)
            + replanned["summary"]["update"].as_u64().unwrap_or(1),
        0,
        "{replanned:#}"
    );
}

#[test]
fn a_changed_secret_is_an_update_whose_values_are_never_shown() {
    let env = setup();
    let f = ["-f", "dps.yaml", "--env-file", "secrets.env"];
    run(&env, &[&["apply"][..], &f].concat(), true);
    std::fs::write(
        env.path().join("secrets.env"),
        format!("GROUP_KEY={NEW_GROUP_KEY}\nROOT_KEY_PASSWORD=1234\n"),
    )
    .expect("env file");
    let plan = run(&env, &[&["plan"][..], &f].concat(), true);
    let item = plan["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "keys")
        .expect("keys group");
    assert_eq!(item["action"], "update");
    assert_eq!(
        item["changes"],
        serde_json::json!([{"field": "attestation.symmetricKey.primaryKey", "secret": true}])
    );
    let text = env.cli().args(["plan"]).args(f).output().expect("runs");
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        shown.contains("attestation.symmetricKey.primaryKey: (secret"),
        "{shown}"
    );
    assert!(
        !shown.contains(NEW_GROUP_KEY) && !shown.contains(GROUP_KEY),
        "{shown}"
    );
    run(&env, &[&["apply"][..], &f].concat(), true);
    let group = env.json(&["enrollment-group", "show", "--group-id", "keys"]);
    assert_eq!(
        group["attestation"]["symmetricKey"]["primaryKey"],
        NEW_GROUP_KEY
    );
}

#[test]
fn prune_deletes_only_with_yes_off_a_terminal() {
    let env = setup();
    let f = ["-f", "dps.yaml", "--env-file", "secrets.env"];
    run(&env, &[&["apply"][..], &f].concat(), true);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "stray",
        "--symmetric-key",
    ]);
    let kept = run(&env, &[&["plan"][..], &f].concat(), true);
    assert!(actions(&kept).contains(&("stray".into(), "notDeclared".into())));
    let planned = run(&env, &[&["plan", "--prune"][..], &f].concat(), true);
    assert!(actions(&planned).contains(&("stray".into(), "delete".into())));

    let refused = env
        .cli()
        .args(["apply", "--prune"])
        .args(f)
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("add --yes"), "{stderr}");
    env.json(&["enrollment", "show", "--registration-id", "stray"]);

    let pruned = run(
        &env,
        &[&["apply", "--prune", "--yes"][..], &f].concat(),
        true,
    );
    assert_eq!(
        pruned["report"]["outcomes"][0]["action"], "delete",
        "{pruned:#}"
    );
    let list = env.json(&["enrollment", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list:#}");
}

#[test]
fn file_errors_name_the_file_line_and_column_and_never_the_secret() {
    let env = setup();
    std::fs::write(
        env.path().join("typo.yaml"),
        "enrollments:\n  - registrationId: dev9\n    attestation: {type: symmetricKey}\n    provisoningStatus: enabled\n",
    )
    .expect("file");
    let out = env
        .cli()
        .args(["plan", "-f", "typo.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("typo.yaml:4:5: unknown field `provisoningStatus`"),
        "{stderr}"
    );

    std::fs::write(
        env.path().join("inline.yaml"),
        format!(
            "enrollmentGroups:\n  - enrollmentGroupId: g\n    attestation:\n      type: symmetricKey\n      symmetricKey: {{primaryKey: {GROUP_KEY}}}\n"
        ),
    )
    .expect("file");
    let out = env
        .cli()
        .args(["plan", "-f", "inline.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("inline.yaml:5:"), "{stderr}");
    assert!(stderr.contains("never written inline"), "{stderr}");
    assert!(!stderr.contains(GROUP_KEY), "{stderr}");

    std::fs::write(
        env.path().join("broken.json"),
        "{\"enrollments\": [\n  {,}\n]}\n",
    )
    .expect("file");
    let out = env
        .cli()
        .args(["plan", "-f", "broken.json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.json:2:4:"), "{stderr}");

    let out = env
        .cli()
        .args(["plan", "-f", "dps.yaml"])
        .env_remove("GROUP_KEY")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the variable ROOT_KEY_PASSWORD is not set"),
        "{stderr}"
    );
}

#[test]
fn an_item_that_cannot_be_applied_fails_alone_and_apply_exits_1() {
    let env = setup();
    std::fs::write(
        env.path().join("partial.yaml"),
        "enrollments:
  - registrationId: by-thumbprint
    attestation:
      type: x509
      x509:
        clientCertificates:
          primary: {sha256Thumbprint: 8FFE43B413E7B81C20960F2FC014D5CC0C0F774815AECAF159D7E465BBED0FA2}
  - registrationId: fine
    attestation: {type: symmetricKey}
",
    )
    .expect("file");
    let applied = run(&env, &["apply", "-f", "partial.yaml"], false);
    let outcomes = applied["report"]["outcomes"].as_array().expect("outcomes");
    let ok: Vec<(&str, bool)> = outcomes
        .iter()
        .map(|o| (o["id"].as_str().unwrap_or(""), o["ok"] == true))
        .collect();
    assert_eq!(
        ok,
        [("by-thumbprint", false), ("fine", true)],
        "{applied:#}"
    );
    assert!(
        outcomes[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("file:")),
        "{applied:#}"
    );
    env.json(&["enrollment", "show", "--registration-id", "fine"]);
}

#[test]
fn export_needs_as_code() {
    let env = Env::new();
    let out = env.cli().args(["export"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as-code"));
}

#[test]
fn mistakes_that_would_go_wrong_later_are_refused_before_any_change() {
    let env = setup();
    let refused = |name: &str, text: &str, args: &[&str], needle: &str| {
        std::fs::write(env.path().join(name), text).expect("file");
        let out = env
            .cli()
            .args(args)
            .args(["-f", name])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr}");
    };
    // Pruning with files that declare nothing would delete every record.
    refused(
        "empty.yaml",
        "$schema: ../schema/dps-as-code.schema.json\n",
        &["apply", "--prune", "--yes"],
        "the files declare nothing",
    );
    // A chain file: the service takes one certificate.
    refused(
        "chain.yaml",
        "enrollmentGroups:\n  - enrollmentGroupId: g\n    attestation:\n      type: x509\n      x509:\n        signingCertificates:\n          primary: {file: certs/certs/azure-iot-test-only.chain.ca.cert.pem}\n",
        &["plan"],
        "holds 2 certificates",
    );
    // A modelled field under passThrough would skip its checks.
    refused(
        "pass.yaml",
        "enrollments:\n  - registrationId: e\n    attestation: {type: symmetricKey}\n    passThrough: {provisioningStatus: enable}\n",
        &["plan"],
        "passThrough.provisioningStatus",
    );
    // The thumbprint the comparison does not use would never be checked.
    refused(
        "sha1.yaml",
        "enrollments:\n  - registrationId: e\n    attestation:\n      type: x509\n      x509:\n        clientCertificates:\n          primary: {sha1Thumbprint: 5BBEB6EE507FBAF7EA81CAF8A8187B439F7399BD}\n",
        &["plan"],
        "matched by `sha256Thumbprint`",
    );
    // An empty secret (an unset CI secret): sent, the service would generate a key.
    std::fs::write(
        env.path().join("blank.yaml"),
        "enrollments:\n  - registrationId: e\n    attestation:\n      type: symmetricKey\n      symmetricKey:\n        primaryKey: ${BLANK_KEY}\n",
    )
    .expect("file");
    let out = env
        .cli()
        .args(["apply", "-f", "blank.yaml"])
        .env("BLANK_KEY", "  ")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("${BLANK_KEY} is empty"), "{stderr}");
    assert_eq!(env.json(&["enrollment", "list"]), serde_json::json!([]));
}
