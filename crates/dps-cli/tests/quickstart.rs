//! The seed's X.509 quickstart, every step through the built `dps-cli` against an emulator in
//! this process: the test chain, proof of possession of the root, the enrollment group on the
//! intermediate created with the seed's exact command line, a device certificate from the
//! intermediate, the registration, and the registration seen from the service side.

mod common;

use common::{Env, bare, parse, stdout};
use predicates::prelude::*;

const ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";
const ROOT_KEY: &str = "certs/private/azure-iot-test-only.root.ca.key.pem";
const INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";

#[test]
fn the_quickstart_through_the_binary() {
    let env = Env::new();

    // 1. The chain, as `certGen.sh create_root_and_intermediate` makes it (password 1234).
    bare()
        .current_dir(env.path())
        .args([
            "certs",
            "create-root-and-intermediate",
            "--out",
            "certs",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .success();

    // 2. Proof of possession of the root in one step.
    let args = [
        "certificate",
        "prove",
        "--name",
        "azure-iot-test-only-root",
        "--cert",
        ROOT,
        "--key",
        ROOT_KEY,
    ];
    let proven = env.json(&args);
    assert_eq!(proven["name"], "azure-iot-test-only-root");
    assert_eq!(proven["properties"]["isVerified"], true);
    assert_eq!(
        proven["properties"]["subject"],
        "CN=Azure IoT Hub CA Cert Test Only"
    );
    // Again: already verified, nothing to do.
    assert_eq!(env.json(&args)["properties"]["isVerified"], true);

    // 3. The seed's script, verbatim, with the service in DPS_CONNECTION_STRING.
    let out = env
        .cli_env()
        .args([
            "enrollment-group",
            "create",
            "--group-id",
            "my-group",
            "--cert",
            "certs/certs/azure-iot-test-only.intermediate.cert.pem",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        table.contains("CN=Azure IoT Hub Intermediate Cert Test Only"),
        "{table}"
    );
    assert_table!("group_created", table);

    // 4. A device certificate from the intermediate.
    bare()
        .current_dir(env.path())
        .args([
            "certs",
            "create-device-certificate-from-intermediate",
            "my-first-device",
            "--out",
            "certs",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .success();

    // 5. The device registers with its full chain.
    let args = [
        "device",
        "register",
        "--cert",
        "certs/certs/my-first-device-full-chain.cert.pem",
        "--key",
        "certs/private/my-first-device.key.pem",
    ];
    let out = env
        .cli()
        .args(["--output", "json"])
        .args(args)
        .output()
        .expect("runs");
    let result = parse(&out, &args, true);
    assert_eq!(result["status"], "assigned");
    assert_eq!(result["x509"]["enrollmentGroupId"], "my-group");

    // 6. The group's registrations list it, in JSON...
    let states = env.json(&[
        "enrollment-group",
        "registrations",
        "--group-id",
        "my-group",
    ]);
    let states = states.as_array().expect("an array");
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["registrationId"], "my-first-device");
    assert_eq!(states[0]["status"], "assigned");
    assert_eq!(states[0]["assignedHub"], result["assignedHub"]);
    // ...and as a table, also from `registration list` and `registration show`.
    let table = stdout(env.cli().args([
        "enrollment-group",
        "registrations",
        "--group-id",
        "my-group",
    ]));
    assert_table!("group_registrations", table);
    env.cli()
        .args(["registration", "list", "--group-id", "my-group"])
        .assert()
        .success()
        .stdout(predicate::str::contains("my-first-device"));
    let table = stdout(env.cli().args([
        "registration",
        "show",
        "--registration-id",
        "my-first-device",
    ]));
    assert_table!("registration_show", table);

    // The certificates and groups, for people.
    assert_table!(
        "certificate_list",
        stdout(env.cli().args(["certificate", "list"]))
    );
    assert_table!(
        "group_list",
        stdout(env.cli().args(["enrollment-group", "list"]))
    );

    // The intermediate can also be proven, and the group moved onto a CA reference.
    env.cli()
        .args([
            "certificate",
            "prove",
            "--name",
            "inter",
            "--cert",
            INTERMEDIATE,
        ])
        .args([
            "--key",
            "certs/private/azure-iot-test-only.intermediate.key.pem",
        ])
        .assert()
        .success();
    let group = env.json(&[
        "enrollment-group",
        "update",
        "--group-id",
        "my-group",
        "--ca-reference",
        "inter",
    ]);
    assert_eq!(
        group["attestation"]["x509"]["caReferences"]["primary"],
        "inter"
    );

    // Deleting the registration lets the device register afresh.
    env.cli()
        .args([
            "registration",
            "delete",
            "--registration-id",
            "my-first-device",
        ])
        .assert()
        .success()
        .stdout("deleted registration \"my-first-device\"\n");
    let states = env.json(&["registration", "list", "--group-id", "my-group"]);
    assert_eq!(states, serde_json::json!([]));
}

#[test]
fn an_unverified_root_is_refused_at_registration() {
    let env = Env::new();
    let certs = env.chain();
    common::devices(&certs, &["dev1"], dps_certgen::Signer::Intermediate);
    // The group exists, but its chain's root was only uploaded, never proven.
    env.cli()
        .args([
            "enrollment-group",
            "create",
            "--group-id",
            "grp",
            "--cert",
            INTERMEDIATE,
        ])
        .assert()
        .success();
    env.cli()
        .args(["certificate", "upload", "--name", "root", "--cert", ROOT])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^verified\s+no$").expect("regex"));
    env.cli()
        .args(["device", "register", "--cert"])
        .arg(certs.full_chain_path("dev1"))
        .arg("--key")
        .arg(certs.key_path("dev1"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("401002"));
    // Once proven, the same device gets in.
    env.cli()
        .args(["certificate", "prove", "--name", "root", "--cert", ROOT])
        .args(["--key", ROOT_KEY])
        .assert()
        .success();
    env.cli()
        .args(["device", "register", "--cert"])
        .arg(certs.full_chain_path("dev1"))
        .arg("--key")
        .arg(certs.key_path("dev1"))
        .assert()
        .success();
}
