//! JSON carries every field the table shows: for each `show` table (enrollment group,
//! enrollment, registration, CA certificate) every line maps to a field of the `--output json`
//! document, and a table line nothing maps fails the test. The defaults the tables show for
//! groups and enrollments (`hashed (default)`, `update-and-migrate`, ...) are in the
//! `effectiveSettings` dps-cli adds; the service's own fields stay as the service sent them,
//! and `enrollment import` does not send `effectiveSettings` back.

mod common;

use common::{Env, stdout};
use serde_json::{Value, json};

const INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";

/// Table label → JSON pointer of the field that carries it.
type Map<'a> = &'a [(&'a str, &'a str)];

const GROUP: Map<'static> = &[
    ("group id", "/enrollmentGroupId"),
    ("attestation", "/attestation/type"),
    (
        "primary cert",
        "/attestation/x509/signingCertificates/primary/info/subjectName",
    ),
    (
        "  issuer",
        "/attestation/x509/signingCertificates/primary/info/issuerName",
    ),
    (
        "  sha1",
        "/attestation/x509/signingCertificates/primary/info/sha1Thumbprint",
    ),
    (
        "  sha256",
        "/attestation/x509/signingCertificates/primary/info/sha256Thumbprint",
    ),
    (
        "  valid",
        "/attestation/x509/signingCertificates/primary/info/notAfterUtc",
    ),
    ("provisioning", "/effectiveSettings/provisioningStatus"),
    ("iot hubs", "/effectiveSettings/allLinkedHubs"),
    ("allocation", "/effectiveSettings/allocationPolicy"),
    ("iot edge", "/effectiveSettings/iotEdge"),
    ("reprovision", "/effectiveSettings/reprovision"),
    ("etag", "/etag"),
    ("created", "/createdDateTimeUtc"),
    ("updated", "/lastUpdatedDateTimeUtc"),
];

const ENROLLMENT: Map<'static> = &[
    ("registration id", "/registrationId"),
    ("device id", "/deviceId"),
    ("attestation", "/attestation/type"),
    ("primary key", "/attestation/symmetricKey/primaryKey"),
    ("secondary key", "/attestation/symmetricKey/secondaryKey"),
    ("provisioning", "/effectiveSettings/provisioningStatus"),
    ("iot hubs", "/effectiveSettings/allLinkedHubs"),
    ("allocation", "/effectiveSettings/allocationPolicy"),
    ("iot edge", "/effectiveSettings/iotEdge"),
    ("reprovision", "/effectiveSettings/reprovision"),
    ("registration", "/registrationState/status"),
    ("etag", "/etag"),
    ("created", "/createdDateTimeUtc"),
    ("updated", "/lastUpdatedDateTimeUtc"),
];

const REGISTRATION: Map<'static> = &[
    ("registration id", "/registrationId"),
    ("status", "/status"),
    ("substatus", "/substatus"),
    ("assigned hub", "/assignedHub"),
    ("device id", "/deviceId"),
    ("etag", "/etag"),
    ("created", "/createdDateTimeUtc"),
    ("updated", "/lastUpdatedDateTimeUtc"),
];

const CERTIFICATE: Map<'static> = &[
    ("name", "/name"),
    ("subject", "/properties/subject"),
    ("verified", "/properties/isVerified"),
    ("sha1 thumbprint", "/properties/thumbprint"),
    ("expiry", "/properties/expiry"),
    ("created", "/properties/created"),
    ("updated", "/properties/updated"),
    ("etag", "/etag"),
];

/// Every line of the table is carried by the JSON field its label maps to.
fn carried(what: &str, table: &str, doc: &Value, map: Map<'_>) {
    for line in table.lines() {
        if line.ends_with("  -") {
            // Nothing to show: the service left the field out.
            continue;
        }
        let (label, pointer) = map
            .iter()
            .filter(|(label, _)| {
                line.strip_prefix(label)
                    .is_some_and(|rest| rest.starts_with("  "))
            })
            .max_by_key(|(label, _)| label.len())
            .unwrap_or_else(|| panic!("{what}: no JSON field for the table line {line:?}"));
        let value = doc.pointer(pointer).unwrap_or(&Value::Null);
        assert!(
            !value.is_null(),
            "{what}: the table shows {label:?} ({line:?}) but the JSON has no {pointer}:\n{doc:#}"
        );
    }
}

#[test]
fn a_group_carries_the_defaults_its_table_shows() {
    let env = Env::new();
    env.chain();
    env.prove_root("root");
    let created = env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "grp",
        "--cert",
        INTERMEDIATE,
    ]);
    let show = ["enrollment-group", "show", "--group-id", "grp"];
    let doc = env.json(&show);
    assert_eq!(doc, created);
    carried("group", &stdout(env.cli().args(show)), &doc, GROUP);
    assert_eq!(
        doc["effectiveSettings"],
        json!({
            "provisioningStatus": "enabled",
            "iotHubs": [],
            "allLinkedHubs": true,
            "allocationPolicy": "hashed",
            "iotEdge": false,
            "reprovision": "update-and-migrate",
            "reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": true}
        })
    );
    // The service's own fields are as it sent them: no default added among them.
    assert!(doc.get("allocationPolicy").is_none(), "{doc:#}");
    assert!(doc.get("reprovisionPolicy").is_none(), "{doc:#}");
    // The list carries them too.
    let list = env.json(&["enrollment-group", "list"]);
    assert_eq!(list[0]["effectiveSettings"], doc["effectiveSettings"]);
    // What was set is what is in effect.
    let updated = env.json(&[
        "enrollment-group",
        "update",
        "--group-id",
        "grp",
        "--allocation-policy",
        "static",
        "--iot-hub",
        "hub1.azure-devices.net",
        "--reprovision",
        "never",
        "--edge",
    ]);
    assert_eq!(
        updated["effectiveSettings"],
        json!({
            "provisioningStatus": "enabled",
            "iotHubs": ["hub1.azure-devices.net"],
            "allLinkedHubs": false,
            "allocationPolicy": "static",
            "iotEdge": true,
            "reprovision": "never",
            "reprovisionPolicy": {"updateHubAssignment": false, "migrateDeviceData": false}
        })
    );
}

#[test]
fn an_enrollment_and_its_registration_carry_what_their_tables_show() {
    let env = Env::new();
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "sk-dev",
        "--symmetric-key",
        "--device-id",
        "sensor-1",
    ]);
    let key = env.json(&["enrollment", "show", "--registration-id", "sk-dev"])["attestation"]
        ["symmetricKey"]["primaryKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.cli()
        .args([
            "device",
            "register",
            "--registration-id",
            "sk-dev",
            "--symmetric-key",
            &key,
        ])
        .assert()
        .success();
    let show = ["enrollment", "show", "--registration-id", "sk-dev"];
    let doc = env.json(&show);
    carried(
        "enrollment",
        &stdout(env.cli().args(show)),
        &doc,
        ENROLLMENT,
    );
    assert_eq!(doc["effectiveSettings"]["allocationPolicy"], "hashed");
    let list = env.json(&["enrollment", "list"]);
    assert_eq!(list[0]["effectiveSettings"], doc["effectiveSettings"]);

    let show = ["registration", "show", "--registration-id", "sk-dev"];
    let doc = env.json(&show);
    carried(
        "registration",
        &stdout(env.cli().args(show)),
        &doc,
        REGISTRATION,
    );
}

#[test]
fn a_failed_registration_carries_its_error() {
    let env = Env::new();
    // A webhook nobody answers: the registration is recorded as failed.
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "wh-dev",
        "--symmetric-key",
        "--webhook-url",
        "http://127.0.0.1:1/alloc",
    ]);
    let key = env.json(&["enrollment", "show", "--registration-id", "wh-dev"])["attestation"]
        ["symmetricKey"]["primaryKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.cli()
        .args([
            "device",
            "register",
            "--registration-id",
            "wh-dev",
            "--symmetric-key",
            &key,
        ])
        .assert()
        .code(1);
    let show = ["registration", "show", "--registration-id", "wh-dev"];
    let doc = env.json(&show);
    let table = stdout(env.cli().args(show));
    let mut map = REGISTRATION.to_vec();
    map.push(("error", "/errorMessage"));
    carried("failed registration", &table, &doc, &map);
    // `failed (CODE)`: the code is a field of its own.
    let code = doc["errorCode"].as_i64().expect("errorCode");
    assert!(
        table.contains(&format!("failed ({code})")),
        "{table}\n{doc:#}"
    );
}

#[test]
fn a_certificate_carries_what_its_table_shows() {
    let env = Env::new();
    env.chain();
    env.prove_root("root");
    let show = ["certificate", "show", "--name", "root"];
    let doc = env.json(&show);
    carried(
        "certificate",
        &stdout(env.cli().args(show)),
        &doc,
        CERTIFICATE,
    );
}

#[test]
fn import_does_not_send_back_what_list_adds() {
    let env = Env::new();
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "sk-dev",
        "--symmetric-key",
    ]);
    let list = env.json(&["enrollment", "list"]);
    assert!(list[0].get("effectiveSettings").is_some());
    std::fs::write(
        env.path().join("listed.json"),
        serde_json::to_string(&list).expect("JSON"),
    )
    .expect("write");
    env.json(&["enrollment", "delete", "--registration-id", "sk-dev"]);
    env.cli()
        .args(["enrollment", "import", "listed.json"])
        .assert()
        .success();
    // `export` writes the records as the service holds them.
    let exported = stdout(env.cli().args(["enrollment", "export"]));
    let exported: Value = serde_json::from_str(&exported).expect("JSON");
    assert_eq!(exported[0]["registrationId"], "sk-dev");
    assert!(
        exported[0].get("effectiveSettings").is_none(),
        "{exported:#}"
    );
}
