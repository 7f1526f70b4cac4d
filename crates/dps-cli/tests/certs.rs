//! `dps-cli certs ...` driven as a user would: the built binary, no terminal, exit codes and
//! outputs checked.

use assert_cmd::Command;
use predicates::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

fn cli(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dps-cli").expect("dps-cli is built");
    cmd.current_dir(dir);
    cmd
}

/// Every file below `dir` with its bytes, to prove a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .expect("below base")
                    .display()
                    .to_string();
                out.insert(rel, std::fs::read(&p).expect("readable"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn make_chain(dir: &Path) {
    cli(dir)
        .args([
            "certs",
            "create-root-and-intermediate",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("NOT for production"));
}

#[test]
fn certgen_names_and_layout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // certGen.sh's own subcommand name works too.
    cli(tmp.path())
        .args([
            "certs",
            "create_root_and_intermediate",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .success();
    cli(tmp.path())
        .args([
            "certs",
            "create_device_certificate_from_intermediate",
            "mydevice",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("SHA-256"));
    let certs = tmp.path().join("certs");
    for f in [
        "certs/azure-iot-test-only.root.ca.cert.pem",
        "certs/azure-iot-test-only.intermediate.cert.pem",
        "certs/azure-iot-test-only.chain.ca.cert.pem",
        "private/azure-iot-test-only.root.ca.key.pem",
        "private/azure-iot-test-only.intermediate.key.pem",
        "certs/mydevice.cert.pem",
        "certs/mydevice-full-chain.cert.pem",
        "certs/mydevice.cert.pfx",
        "private/mydevice.key.pem",
        "certs/new-device.cert.pem",
        "certs/new-device-full-chain.cert.pem",
        "certs/new-device.cert.pfx",
        "private/new-device.key.pem",
    ] {
        assert!(certs.join(f).is_file(), "{f} missing");
    }
    assert!(!certs.join("csr").exists() && !certs.join("index.txt").exists());
}

#[test]
fn refuses_to_replace_a_chain_without_force() {
    let tmp = tempfile::tempdir().expect("tempdir");
    make_chain(tmp.path());
    let before = snapshot(tmp.path());
    cli(tmp.path())
        .args([
            "certs",
            "create-root-and-intermediate",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(snapshot(tmp.path()), before);
    cli(tmp.path())
        .args([
            "certs",
            "create-root-and-intermediate",
            "--algorithm",
            "ecdsa-p256",
            "--force",
        ])
        .assert()
        .success();
    assert_ne!(snapshot(tmp.path()), before);
}

#[test]
fn batch_with_count_and_json_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    make_chain(tmp.path());
    let out = cli(tmp.path())
        .args([
            "--output",
            "json",
            "certs",
            "create-device-certificate",
            "sensor",
            "--count",
            "12",
            "--algorithm",
            "ecdsa-p256",
            "--no-pfx",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    let certs = v["certificates"].as_array().expect("certificates array");
    assert_eq!(certs.len(), 12);
    assert_eq!(certs[0]["commonName"], "sensor-01");
    assert_eq!(certs[11]["commonName"], "sensor-12");
    assert_eq!(
        certs[0]["sha256Thumbprint"].as_str().map(str::len),
        Some(64)
    );
    // A batch does not write certGen.sh's single-device names, and --no-pfx means no PFX.
    assert!(!tmp.path().join("certs/certs/new-device.cert.pem").exists());
    assert!(!tmp.path().join("certs/certs/sensor-01.cert.pfx").exists());
    assert!(
        tmp.path()
            .join("certs/certs/sensor-12-full-chain.cert.pem")
            .is_file()
    );
}

#[test]
fn bad_input_fails_cleanly_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    make_chain(tmp.path());
    let before = snapshot(tmp.path());
    let cases: &[(&[&str], &str)] = &[
        (
            &["certs", "create-device-certificate", "dev/mod"],
            "contains '/'",
        ),
        (
            &["certs", "create-device-certificate", "ok-1", "bad name"],
            "contains ' '",
        ),
        (
            &["certs", "create-device-certificate", "-x-"],
            "unexpected argument",
        ),
        (
            &[
                "certs",
                "create-device-certificate",
                "a",
                "--count",
                "3",
                "b",
            ],
            "exactly one NAME",
        ),
        (
            &[
                "certs",
                "create-device-certificate",
                "dev",
                "--password",
                "nope",
            ],
            "wrong password",
        ),
        (
            &["certs", "create-device-certificate", "dev", "--no-password"],
            "is encrypted",
        ),
        (
            &[
                "certs",
                "create-device-certificate",
                "azure-iot-test-only.root.ca",
            ],
            "reserved",
        ),
        (
            &["certs", "create-device-certificate", "dev", "--days", "0"],
            "invalid value '0' for '--days",
        ),
        (
            &[
                "certs",
                "create-device-certificate",
                "dev",
                "--algorithm",
                "dsa",
            ],
            "unknown key algorithm",
        ),
        (
            &[
                "certs",
                "create-verification-certificate",
                "ABC",
                "--out",
                "elsewhere",
            ],
            "does not exist",
        ),
    ];
    for (args, needle) in cases {
        let assert = cli(tmp.path())
            .args(*args)
            .args(["--algorithm", "ecdsa-p256"])
            .assert()
            .failure();
        let out = assert.get_output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        // Usage errors exit 2, failed operations 1.
        let usage = stderr.contains("unexpected argument") || stderr.contains("invalid value");
        assert_eq!(
            out.status.code(),
            Some(if usage { 2 } else { 1 }),
            "{args:?}: {stderr}"
        );
        assert_eq!(snapshot(tmp.path()), before, "{args:?} changed files");
    }
    cli(tmp.path())
        .args(["certs", "inspect", "missing.pem"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.pem does not exist"));
}

#[test]
fn upper_case_names_warn_but_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    make_chain(tmp.path());
    cli(tmp.path())
        .args([
            "certs",
            "create-device-certificate",
            "MyDevice",
            "--algorithm",
            "ecdsa-p256",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: \"MyDevice\" contains upper-case letters",
        ));
}

#[test]
fn inspect_prints_both_thumbprints() {
    let tmp = tempfile::tempdir().expect("tempdir");
    make_chain(tmp.path());
    cli(tmp.path())
        .args([
            "certs",
            "inspect",
            "certs/certs/azure-iot-test-only.chain.ca.cert.pem",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("SHA-1")
                .and(predicate::str::contains("SHA-256"))
                .and(predicate::str::contains(
                    "CN=Azure IoT Hub Intermediate Cert Test Only",
                ))
                .and(predicate::str::contains("(self-signed)"))
                .and(predicate::str::contains("EC P-256")),
        );
    let out = cli(tmp.path())
        .args([
            "--output",
            "json",
            "certs",
            "inspect",
            "certs/certs/azure-iot-test-only.root.ca.cert.pem",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(v[0]["isCa"], true);
    assert_eq!(v[0]["selfSigned"], true);
    assert_eq!(v[0]["sha1Thumbprint"].as_str().map(str::len), Some(40));
}
