//! `dps-cli enrollment-group ...` against an emulator in this process: every attestation,
//! every settings flag, read-modify-write and the table for people.

mod common;

use common::{Env, stdout};
use predicates::prelude::*;
use serde_json::json;

const INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";
const ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";
const KEY1: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";
const KEY2: &str = "ZHBzLXJzIHNlY29uZCBncm91cCBrZXkgLSAzMiBieXRlcyE=";

#[test]
fn a_symmetric_key_group_with_every_setting() {
    let env = Env::new();
    std::fs::write(
        env.path().join("twin.json"),
        r#"{"tags":{"fleet":"north"},"properties":{"desired":{"fw":"1.2"}}}"#,
    )
    .expect("twin");
    let args = [
        "enrollment-group",
        "create",
        "--group-id",
        "sk-group",
        "--symmetric-key",
        "--primary-key",
        KEY1,
        "--secondary-key",
        KEY2,
        "--provisioning-status",
        "disabled",
        "--iot-hub",
        "hub1.azure-devices.net",
        "--iot-hub",
        "hub2.azure-devices.net",
        "--allocation-policy",
        "geoLatency",
        "--initial-twin",
        "twin.json",
        "--edge",
        "--reprovision",
        "never",
    ];
    let g = env.json(&args);
    assert_eq!(g["enrollmentGroupId"], "sk-group");
    assert_eq!(
        g["attestation"],
        json!({"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY1, "secondaryKey": KEY2}})
    );
    assert_eq!(g["provisioningStatus"], "disabled");
    assert_eq!(
        g["iotHubs"],
        json!(["hub1.azure-devices.net", "hub2.azure-devices.net"])
    );
    assert_eq!(g["allocationPolicy"], "geoLatency");
    assert_eq!(
        g["initialTwin"],
        json!({"tags": {"fleet": "north"}, "properties": {"desired": {"fw": "1.2"}}})
    );
    assert_eq!(g["capabilities"], json!({"iotEdge": true}));
    assert_eq!(
        g["reprovisionPolicy"],
        json!({"updateHubAssignment": false, "migrateDeviceData": false})
    );
    assert_table!(
        "symmetric_key_group",
        stdout(
            env.cli()
                .args(["enrollment-group", "show", "--group-id", "sk-group"])
        )
    );

    // Read-modify-write: only what is given changes.
    let u = env.json(&[
        "enrollment-group",
        "update",
        "--group-id",
        "sk-group",
        "--provisioning-status",
        "enabled",
        "--reprovision",
        "update-and-migrate",
        "--webhook-url",
        "https://example.invalid/alloc",
        "--webhook-api-version",
        "2019-03-31",
    ]);
    assert_eq!(u["provisioningStatus"], "enabled");
    assert_eq!(
        u["allocationPolicy"], "custom",
        "a webhook means custom allocation"
    );
    assert_eq!(
        u["customAllocationDefinition"],
        json!({"webhookUrl": "https://example.invalid/alloc", "apiVersion": "2019-03-31"})
    );
    assert_eq!(u["attestation"], g["attestation"]);
    assert_eq!(u["iotHubs"], g["iotHubs"]);
    assert_eq!(u["initialTwin"], g["initialTwin"]);
    assert_eq!(u["capabilities"], g["capabilities"]);
    assert_eq!(
        u["reprovisionPolicy"],
        json!({"updateHubAssignment": true, "migrateDeviceData": true})
    );
    // New keys, and the edge flag off.
    let k = env.json(&[
        "enrollment-group",
        "update",
        "--group-id",
        "sk-group",
        "--symmetric-key",
        "--primary-key",
        KEY2,
        "--secondary-key",
        KEY1,
        "--edge",
        "false",
    ]);
    assert_eq!(k["attestation"]["symmetricKey"]["primaryKey"], KEY2);
    assert_eq!(k["capabilities"]["iotEdge"], false);
    // The update sent the etag it read: a concurrent writer's change would have been a 412.
    assert_ne!(k["etag"], u["etag"]);
}

#[test]
fn x509_groups_from_pem_der_and_ca_references() {
    let env = Env::new();
    let certs = env.chain();
    // PEM, with a secondary.
    let pem = env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "pem-group",
        "--cert",
        INTERMEDIATE,
        "--secondary-cert",
        ROOT,
    ]);
    let signing = &pem["attestation"]["x509"]["signingCertificates"];
    assert_eq!(
        signing["primary"]["info"]["subjectName"],
        "CN=Azure IoT Hub Intermediate Cert Test Only"
    );
    assert_eq!(
        signing["secondary"]["info"]["subjectName"],
        "CN=Azure IoT Hub CA Cert Test Only"
    );
    assert_eq!(pem["provisioningStatus"], "enabled");
    // DER (.cer), as the quickstart allows.
    let der = dps_certgen::read_certs(&certs.cert_path(dps_certgen::INTERMEDIATE_PREFIX))
        .expect("pem")
        .remove(0);
    std::fs::write(env.path().join("intermediate.cer"), der.as_ref()).expect("write");
    let from_der = env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "der-group",
        "--cert",
        "intermediate.cer",
    ]);
    assert_eq!(
        from_der["attestation"]["x509"]["signingCertificates"]["primary"]["info"],
        signing["primary"]["info"]
    );
    // A file that is not a certificate.
    std::fs::write(env.path().join("notes.txt"), "hello").expect("write");
    env.cli()
        .args([
            "enrollment-group",
            "create",
            "--group-id",
            "bad",
            "--cert",
            "notes.txt",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("notes.txt"));
    // A CA reference, once the CA is verified.
    env.cli()
        .args([
            "certificate",
            "upload",
            "--name",
            "root",
            "--cert",
            ROOT,
            "--verified",
        ])
        .assert()
        .success();
    let by_name = env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "ref-group",
        "--ca-reference",
        "root",
        "--secondary-ca-reference",
        "root",
    ]);
    assert_eq!(
        by_name["attestation"]["x509"]["caReferences"],
        json!({"primary": "root", "secondary": "root"})
    );

    let list = env.json(&["enrollment-group", "list"]);
    let mut ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|g| g["enrollmentGroupId"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["der-group", "pem-group", "ref-group"]);
    assert_table!(
        "x509_group_list",
        stdout(env.cli().args(["enrollment-group", "list"]))
    );

    // Delete, in JSON.
    let deleted = env.json(&["enrollment-group", "delete", "--group-id", "der-group"]);
    assert_eq!(
        deleted,
        json!({"enrollmentGroupId": "der-group", "deleted": true})
    );
    assert_eq!(
        env.json(&[
            "enrollment-group",
            "registrations",
            "--group-id",
            "pem-group"
        ]),
        json!([])
    );
}
