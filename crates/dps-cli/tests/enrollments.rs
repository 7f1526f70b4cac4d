//! `dps-cli enrollment ...` against an emulator in this process: the three attestations, the
//! settings flags, read-modify-write and paging (import and export: import_export.rs).

mod common;

use common::{Env, parse, stdout};
use dps_certgen::Signer;
use predicates::prelude::*;
use serde_json::{Value, json};

const EK: &str = "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAxsj2gUScTk1UjuioeTlfGYZrrimExB+bScH75adUMRIi2UOMxG1kw4y+9RW/IVoMl4e620VxZad0ARX2gUqVjYO7KPVt3dyKhZS3dkcvfBisBhP1XH9B33VqHG9SHnbnQXdBUaCgKAfxome8UmBKfe+naTsE5fkvjb/do3/dD6l4sGBwFCnKRdln4XpM03zLpoHFao8zOwt8l/uP3qUIxmCYv9A7m69Ms+5/pCkTu/rK4mRDsfhZ0QLfbzVI6zQFOKF/rwsfBtFeWlWtcuJMKlXdD8TXWElTzgh7JS4qhFzreL0c1mI0GCj+Aws0usZh7dLIVPnlgZcBhgy1SSDQMQ==";
const KEY1: &str = "ZHBzLXJzIHRlc3QgZW5yb2xsbWVudCBrZXkgb25lISE=";
const KEY2: &str = "ZHBzLXJzIHRlc3QgZW5yb2xsbWVudCBrZXkgdHdvISE=";

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["registrationId"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn x509_symmetric_key_and_tpm_enrollments() {
    let env = Env::new();
    let certs = env.chain();
    common::devices(&certs, &["dev1"], Signer::Root);
    std::fs::write(
        env.path().join("twin.json"),
        r#"{"tags":{"site":"lab"},"properties":{"desired":{"interval":30}}}"#,
    )
    .expect("twin");

    let x509 = env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "dev1",
        "--cert",
        "certs/certs/dev1.cert.pem",
        "--device-id",
        "device-one",
        "--iot-hub",
        "hub1.azure-devices.net",
        "--allocation-policy",
        "static",
        "--initial-twin",
        "twin.json",
        "--edge",
        "--reprovision",
        "update-and-reset",
    ]);
    let primary = &x509["attestation"]["x509"]["clientCertificates"]["primary"];
    assert_eq!(primary["info"]["subjectName"], "CN=dev1");
    assert!(primary.get("certificate").is_none(), "{x509}");
    assert_eq!(x509["deviceId"], "device-one");
    assert_eq!(x509["iotHubs"], json!(["hub1.azure-devices.net"]));
    assert_eq!(x509["allocationPolicy"], "static");
    assert_eq!(x509["initialTwin"]["tags"]["site"], "lab");
    assert_eq!(x509["capabilities"]["iotEdge"], true);
    assert_eq!(
        x509["reprovisionPolicy"],
        json!({"updateHubAssignment": true, "migrateDeviceData": false})
    );
    assert_eq!(x509["provisioningStatus"], "enabled");

    let sk = env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "sk1",
        "--symmetric-key",
        "--primary-key",
        KEY1,
        "--secondary-key",
        KEY2,
        "--provisioning-status",
        "disabled",
    ]);
    assert_eq!(sk["attestation"]["symmetricKey"]["primaryKey"], KEY1);
    assert_eq!(sk["provisioningStatus"], "disabled");
    let generated = env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "sk2",
        "--symmetric-key",
    ]);
    assert!(generated["attestation"]["symmetricKey"]["primaryKey"].is_string());

    let tpm = env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "tpm1",
        "--endorsement-key",
        EK,
        "--webhook-url",
        "https://example.invalid/api/allocate",
    ]);
    assert_eq!(tpm["attestation"]["tpm"]["endorsementKey"], EK);
    assert_eq!(tpm["allocationPolicy"], "custom");
    assert_eq!(
        tpm["customAllocationDefinition"],
        json!({"webhookUrl": "https://example.invalid/api/allocate", "apiVersion": "2021-10-01"})
    );

    // Show carries the registration state; update keeps what it does not change.
    let shown = env.json(&["enrollment", "show", "--registration-id", "dev1"]);
    assert_eq!(shown["registrationState"]["status"], "unassigned");
    let updated = env.json(&[
        "enrollment",
        "update",
        "--registration-id",
        "dev1",
        "--edge",
        "false",
        "--provisioning-status",
        "disabled",
    ]);
    assert_eq!(updated["capabilities"]["iotEdge"], false);
    assert_eq!(updated["provisioningStatus"], "disabled");
    assert_eq!(updated["deviceId"], "device-one");
    assert_eq!(updated["initialTwin"], x509["initialTwin"]);
    assert_eq!(
        updated["attestation"]["x509"]["clientCertificates"]["primary"]["info"],
        primary["info"]
    );
    assert_ne!(updated["etag"], x509["etag"]);
    // A stale etag is refused.
    env.cli()
        .args([
            "enrollment",
            "update",
            "--registration-id",
            "dev1",
            "--edge",
        ])
        .args(["--if-match", x509["etag"].as_str().expect("etag")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("HTTP 412"));

    assert_eq!(
        ids(&env.json(&["enrollment", "list"])),
        ["dev1", "sk1", "sk2", "tpm1"]
    );
    assert_table!(
        "enrollment_show_tpm",
        stdout(
            env.cli()
                .args(["enrollment", "show", "--registration-id", "tpm1"])
        )
    );
    env.cli()
        .args(["enrollment", "delete", "--registration-id", "sk2"])
        .assert()
        .success();
    let out = env
        .cli()
        .args([
            "--output",
            "json",
            "enrollment",
            "delete",
            "--registration-id",
            "sk1",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        parse(&out, &[], true),
        json!({"registrationId": "sk1", "deleted": true})
    );
    assert_eq!(ids(&env.json(&["enrollment", "list"])), ["dev1", "tpm1"]);
}
#[test]
fn lists_and_exports_follow_every_page() {
    let env = Env::new();
    let names: Vec<String> = (0..7).map(|i| format!("page-dev-{i}")).collect();
    let mut csv = String::from("registrationId,attestation\n");
    for n in &names {
        csv.push_str(&format!("{n},symmetricKey\n"));
    }
    std::fs::write(env.path().join("many.csv"), csv).expect("csv");
    let report = env.json(&["enrollment", "import", "many.csv"]);
    assert_eq!(report.as_array().expect("rows").len(), 7);
    assert!(
        report
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["ok"] == true),
        "{report}"
    );
    let list = env.json(&["enrollment", "list", "--page-size", "2"]);
    assert_eq!(ids(&list), names);
    let out = env
        .cli()
        .args(["enrollment", "export", "--page-size", "3"])
        .output()
        .expect("runs");
    assert_eq!(ids(&parse(&out, &[], true)), names);
    for i in 0..3 {
        env.json(&[
            "enrollment-group",
            "create",
            "--group-id",
            &format!("g{i}"),
            "--symmetric-key",
        ]);
    }
    let groups = env.json(&["enrollment-group", "list", "--page-size", "1"]);
    assert_eq!(groups.as_array().expect("groups").len(), 3);
}
