//! `dps-cli certificate ...`: proof of possession step by step (upload, code, a verification
//! certificate from `dps-cli certs`, verify), and what `prove` refuses before uploading.

mod common;

use common::{Env, bare};
use predicates::prelude::*;
use serde_json::json;

const ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";
const ROOT_KEY: &str = "certs/private/azure-iot-test-only.root.ca.key.pem";
const INTERMEDIATE_KEY: &str = "certs/private/azure-iot-test-only.intermediate.key.pem";

#[test]
fn proof_of_possession_step_by_step() {
    let env = Env::new();
    env.chain();
    let up = env.json(&["certificate", "upload", "--name", "root", "--cert", ROOT]);
    assert_eq!(up["properties"]["isVerified"], false);
    let code = env.json(&[
        "certificate",
        "generate-verification-code",
        "--name",
        "root",
    ]);
    let value = code["properties"]["verificationCode"]
        .as_str()
        .expect("code");
    let etag = code["etag"].as_str().expect("etag");
    assert_ne!(code["etag"], up["etag"]);
    // certGen.sh's create_verification_certificate, through the binary.
    bare()
        .current_dir(env.path())
        .args([
            "certs",
            "create-verification-certificate",
            value,
            "--out",
            "certs",
        ])
        .args(["--algorithm", "ecdsa-p256"])
        .assert()
        .success();
    let verified = env.json(&[
        "certificate",
        "verify",
        "--name",
        "root",
        "--cert",
        "certs/certs/verification-code.cert.pem",
        "--etag",
        etag,
    ]);
    assert_eq!(verified["properties"]["isVerified"], true);
    let shown = env.json(&["certificate", "show", "--name", "root"]);
    assert_eq!(shown["properties"]["isVerified"], true);
    assert_eq!(
        shown["properties"]["thumbprint"],
        up["properties"]["thumbprint"]
    );
    let list = env.json(&["certificate", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    // Delete: a stale etag is refused, the current one (read for you) works.
    env.cli()
        .args(["certificate", "delete", "--name", "root", "--etag"])
        .arg(up["etag"].as_str().expect("etag"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"));
    assert_eq!(
        env.json(&["certificate", "delete", "--name", "root"]),
        json!({"name": "root", "deleted": true})
    );
    env.cli()
        .args(["certificate", "show", "--name", "root"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 404"));
}

#[test]
fn prove_checks_the_ca_before_uploading() {
    let env = Env::new();
    env.chain();
    // The intermediate's key does not belong to the root.
    env.cli()
        .args(["certificate", "prove", "--name", "root", "--cert", ROOT])
        .args(["--key", INTERMEDIATE_KEY])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot use"))
        .stderr(predicate::str::contains("hint:"));
    // A wrong password.
    env.cli()
        .args(["certificate", "prove", "--name", "root", "--cert", ROOT])
        .args(["--key", ROOT_KEY, "--password", "4321"])
        .assert()
        .code(1);
    assert_eq!(env.json(&["certificate", "list"]), json!([]));
    // A different certificate under a taken name is a conflict.
    env.cli()
        .args(["certificate", "upload", "--name", "root"])
        .args([
            "--cert",
            "certs/certs/azure-iot-test-only.intermediate.cert.pem",
        ])
        .assert()
        .success();
    env.cli()
        .args(["certificate", "prove", "--name", "root", "--cert", ROOT])
        .args(["--key", ROOT_KEY])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists with thumbprint"));
    // Table output for people.
    env.cli()
        .args(["certificate", "prove", "--name", "root2", "--cert", ROOT])
        .args(["--key", ROOT_KEY])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^verified\s+yes$").expect("regex"));
}

#[test]
fn azure_needs_a_bearer_token() {
    bare()
        .args([
            "certificate",
            "list",
            "--subscription",
            "s",
            "--resource-group",
            "rg",
        ])
        .args(["--dps-name", "d"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("AZURE_ACCESS_TOKEN"));
}
