//! `dps-cli enrollment import` and `export`: per-row reports, CSV and JSON, and the round trip
//! from export back to import (X.509 rows need their certificates).

mod common;

use common::{Env, parse};
use dps_certgen::Signer;
use dps_protocol::codes;
use predicates::prelude::*;
use serde_json::{Value, json};

const EK: &str = "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAxsj2gUScTk1UjuioeTlfGYZrrimExB+bScH75adUMRIi2UOMxG1kw4y+9RW/IVoMl4e620VxZad0ARX2gUqVjYO7KPVt3dyKhZS3dkcvfBisBhP1XH9B33VqHG9SHnbnQXdBUaCgKAfxome8UmBKfe+naTsE5fkvjb/do3/dD6l4sGBwFCnKRdln4XpM03zLpoHFao8zOwt8l/uP3qUIxmCYv9A7m69Ms+5/pCkTu/rK4mRDsfhZ0QLfbzVI6zQFOKF/rwsfBtFeWlWtcuJMKlXdD8TXWElTzgh7JS4qhFzreL0c1mI0GCj+Aws0usZh7dLIVPnlgZcBhgy1SSDQMQ==";

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
fn import_reports_each_row_and_fails_if_any_did() {
    let env = Env::new();
    let certs = env.chain();
    common::devices(&certs, &["dev1"], Signer::Root);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "taken",
        "--symmetric-key",
    ]);
    std::fs::write(
        env.path().join("devices.csv"),
        "# registrationId,attestation,...\n\
         registrationId,attestation,certificateFile,primaryKey,secondaryKey,endorsementKey,deviceId,iotHubs,provisioningStatus\n\
         dev1,x509,certs/certs/dev1.cert.pem,,,,,,enabled\n\
         sk1,symmetricKey,,,,,sensor-1,\"hub1.azure-devices.net;hub2.azure-devices.net\",disabled\n\
         taken,symmetricKey,,,,,,,\n\
         tpm1,tpm,,,,,,,\n\
         dev2,x509,certs/certs/missing.cert.pem,,,,,,\n\
         SK1,symmetricKey,,,,,,,\n",
    )
    .expect("csv");
    let out = env
        .cli()
        .args(["--output", "json", "enrollment", "import", "devices.csv"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let rows = parse(&out, &[], false);
    let rows = rows.as_array().expect("an array");
    let summary: Vec<(u64, &str, bool, Option<i64>)> = rows
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().expect("row"),
                r["registrationId"].as_str().expect("id"),
                r["ok"].as_bool().expect("ok"),
                r["errorCode"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "dev1", true, None),
            (2, "sk1", true, None),
            (3, "taken", false, Some(i64::from(codes::ALREADY_EXISTS))),
            (4, "tpm1", false, None),
            (5, "dev2", false, None),
            (6, "SK1", false, None),
        ]
    );
    assert!(
        rows[4]["errorStatus"]
            .as_str()
            .is_some_and(|s| s.contains("missing.cert.pem"))
    );
    assert_eq!(rows[5]["errorStatus"], "duplicate of row 2");
    let sk1 = env.json(&["enrollment", "show", "--registration-id", "sk1"]);
    assert_eq!(
        sk1["iotHubs"],
        json!(["hub1.azure-devices.net", "hub2.azure-devices.net"])
    );
    assert_eq!(sk1["provisioningStatus"], "disabled");
    assert_eq!(sk1["deviceId"], "sensor-1");

    // The same report for people: a table, a summary line, exit 1.
    let out = env
        .cli()
        .args(["enrollment", "import", "devices.csv"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: 6 of 6 rows failed"));
    assert_table!(
        "import_report",
        String::from_utf8(out.stdout).expect("UTF-8")
    );

    // Unknown columns stop the import before anything is sent.
    std::fs::write(env.path().join("bad.csv"), "registrationId,colour\nx,red\n").expect("csv");
    env.cli()
        .args(["enrollment", "import", "bad.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown column \"colour\""));
}
#[test]
fn export_then_import_round_trips() {
    let env = Env::new();
    let certs = env.chain();
    common::devices(&certs, &["dev1"], Signer::Root);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "dev1",
        "--cert",
        "certs/certs/dev1.cert.pem",
    ]);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "sk1",
        "--symmetric-key",
        "--iot-hub",
        "h.azure-devices.net",
    ]);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "tpm1",
        "--endorsement-key",
        EK,
    ]);
    let summary = env.json(&["enrollment", "export", "--out", "all.json"]);
    assert_eq!(summary["exported"], 3);
    assert_eq!(summary["x509WithoutCertificate"], 1);
    let exported: Value =
        serde_json::from_slice(&std::fs::read(env.path().join("all.json")).expect("file"))
            .expect("JSON");
    assert_eq!(ids(&exported), ["dev1", "sk1", "tpm1"]);

    // Onto the same DPS, as an update: every row, X.509 included (the service keeps its
    // stored certificate).
    let rows = env.json(&["enrollment", "import", "all.json", "--mode", "update"]);
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["ok"] == true),
        "{rows}"
    );
    // The update gave every record a new etag, so the export's are stale for a delete...
    let out = env
        .cli()
        .args([
            "--output",
            "json",
            "enrollment",
            "import",
            "all.json",
            "--mode",
            "delete",
        ])
        .output()
        .expect("runs");
    let rows = parse(&out, &[], false);
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["errorCode"] == i64::from(codes::PRECONDITION_FAILED)),
        "{rows}"
    );
    // ...until exported again. Deleted, then created again: keys and settings come back; the
    // X.509 row is refused before sending, because an export holds no certificate.
    let exported = env.json(&["enrollment", "export"]);
    std::fs::write(env.path().join("all.json"), exported.to_string()).expect("write");
    let rows = env.json(&["enrollment", "import", "all.json", "--mode", "delete"]);
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["ok"] == true),
        "{rows}"
    );
    assert_eq!(env.json(&["enrollment", "list"]), json!([]));
    let out = env
        .cli()
        .args(["--output", "json", "enrollment", "import", "all.json"])
        .output()
        .expect("runs");
    let rows = parse(&out, &[], false);
    assert_eq!(rows[0]["registrationId"], "dev1");
    assert_eq!(rows[0]["ok"], false);
    assert!(
        rows[0]["errorStatus"]
            .as_str()
            .is_some_and(|s| s.contains("without its certificate")),
        "{rows}"
    );
    assert_eq!(
        (rows[1]["ok"].clone(), rows[2]["ok"].clone()),
        (json!(true), json!(true))
    );
    let sk1 = env.json(&["enrollment", "show", "--registration-id", "sk1"]);
    let before = exported
        .as_array()
        .and_then(|a| a.iter().find(|e| e["registrationId"] == "sk1"))
        .expect("sk1");
    assert_eq!(sk1["attestation"], before["attestation"]);
    assert_eq!(sk1["iotHubs"], before["iotHubs"]);

    // With its certificate put back, the X.509 record imports too.
    let mut fixed = exported.clone();
    let pem = std::fs::read_to_string(certs.cert_path("dev1")).expect("pem");
    for e in fixed.as_array_mut().expect("array") {
        if e["registrationId"] == "dev1" {
            e["attestation"]["x509"]["clientCertificates"]["primary"]["certificate"] = json!(pem);
        }
    }
    std::fs::write(env.path().join("fixed.json"), fixed.to_string()).expect("write");
    let rows = env.json(&["enrollment", "import", "fixed.json", "--mode", "update"]);
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["ok"] == true),
        "{rows}"
    );
    assert_eq!(
        ids(&env.json(&["enrollment", "list"])),
        ["dev1", "sk1", "tpm1"]
    );
}
