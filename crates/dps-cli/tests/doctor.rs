//! `dps-cli doctor` predicts each refusal the service would give, driven as a user would: the
//! built binary, certificate files made here, and an in-process emulator where the group and
//! the verified CAs come from the service.

use assert_cmd::cargo::cargo_bin_cmd;
use dps_certgen::{
    CertDir, CertSpec, ChainOptions, Credential, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions,
    Profile, ROOT_PREFIX, Signer, pem_cert,
};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::models::{EnrollmentGroup, ProvisioningStatus};
use dps_service_client::{ClientOptions, ProvisioningServiceClient};
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn chain_with_days(dir: &Path, days: u32, devices: &[&str]) -> CertDir {
    let certs = CertDir::new(dir);
    certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            days,
            password: None,
            ..ChainOptions::default()
        })
        .expect("chain");
    let names: Vec<String> = devices.iter().map(|s| (*s).to_owned()).collect();
    certs
        .create_device_certificates(
            &names,
            &LeafOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                days,
                password: None,
                signer: Signer::Intermediate,
                pfx: false,
            },
            &|_, _| {},
        )
        .expect("devices");
    certs
}

fn chain(dir: &Path, devices: &[&str]) -> CertDir {
    chain_with_days(dir, 30, devices)
}

/// A chain of other names (a chain with certGen's names and other keys is a re-generated one,
/// which doctor names as such: see tests/messages.rs).
fn other_chain(dir: &Path) -> CertDir {
    let certs = CertDir::new(dir);
    certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            root_cn: "Other Root".into(),
            intermediate_cn: "Other Intermediate".into(),
            password: None,
            ..ChainOptions::default()
        })
        .expect("chain");
    certs
}

fn root(c: &CertDir) -> PathBuf {
    c.cert_path(ROOT_PREFIX)
}

fn intermediate(c: &CertDir) -> PathBuf {
    c.cert_path(INTERMEDIATE_PREFIX)
}

fn doctor() -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("dps-cli");
    cmd.env_remove("DPS_CONNECTION_STRING")
        .env_remove("DPS_CA_FILE")
        .arg("doctor");
    cmd
}

/// `doctor --cert CERT --group-cert GROUP [--verified-ca CA]`.
fn doctor_group(cert: &Path, group: &Path, verified: Option<&Path>) -> assert_cmd::Command {
    let mut cmd = doctor();
    cmd.arg("--cert").arg(cert).arg("--group-cert").arg(group);
    if let Some(ca) = verified {
        cmd.arg("--verified-ca").arg(ca);
    }
    cmd
}

/// Runs the doctor with `--output json` and returns its exit code and checklist.
fn doctor_json(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>) {
    let out = doctor()
        .args(["--output", "json"])
        .args(args)
        .output()
        .expect("runs");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        list.as_array().expect("an array").clone(),
    )
}

fn statuses<'a>(list: &'a [Value], check: &str) -> Vec<&'a str> {
    list.iter()
        .filter(|c| c["check"] == check)
        .map(|c| c["status"].as_str().unwrap_or_default())
        .collect()
}

/// A leaf signed by the folder's intermediate with any validity window (certgen only makes
/// certificates valid from now).
fn custom_leaf(
    certs: &CertDir,
    cn: &str,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> (PathBuf, PathBuf) {
    let ca_der = dps_certgen::read_certs(&intermediate(certs))
        .expect("intermediate")
        .remove(0);
    let ca_key_pem =
        std::fs::read_to_string(certs.key_path(INTERMEDIATE_PREFIX)).expect("intermediate key");
    let issuer = rcgen::Issuer::from_ca_cert_der(
        &ca_der,
        rcgen::KeyPair::from_pem(&ca_key_pem).expect("key"),
    )
    .expect("issuer");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = not_before;
    params.not_after = not_after;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer).expect("signed");
    let cert_path = certs.base().join(format!("{cn}.custom.pem"));
    let key_path = certs.base().join(format!("{cn}.custom.key.pem"));
    let ca_pem = std::fs::read_to_string(intermediate(certs)).expect("intermediate");
    std::fs::write(&cert_path, format!("{}{ca_pem}", cert.pem())).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");
    (cert_path, key_path)
}

#[test]
fn all_green_for_a_good_device() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &["dev1"]);
    doctor()
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .arg("--key")
        .arg(c.key_path("dev1"))
        .arg("--group-cert")
        .arg(intermediate(&c))
        .arg("--verified-ca")
        .arg(root(&c))
        .args(["--registration-id", "dev1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[ok]   enrollment"))
        .stdout(predicate::str::contains("[ok]   verified-ca"))
        .stdout(predicate::str::contains("[ok]   chain "))
        .stdout(predicate::str::contains("[FAIL]").not())
        .stdout(predicate::str::contains("[warn]").not());

    let (code, list) = doctor_json(&[
        "--cert".as_ref(),
        c.full_chain_path("dev1").as_os_str(),
        "--key".as_ref(),
        c.key_path("dev1").as_os_str(),
        "--group-cert".as_ref(),
        intermediate(&c).as_os_str(),
        "--verified-ca".as_ref(),
        root(&c).as_os_str(),
    ]);
    assert_eq!(code, 0);
    for check in &list {
        assert_eq!(check["status"], "ok", "{check}");
        assert!(check["fix"].is_null(), "{check}");
        assert!(check["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    for name in [
        "leaf",
        "common-name",
        "leaf-not-ca",
        "leaf-eku",
        "key",
        "validity",
        "chain-order",
        "enrollment",
        "chain",
        "verified-ca",
    ] {
        assert!(!statuses(&list, name).is_empty(), "no {name} check");
    }
}

#[test]
fn predicts_a_missing_intermediate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &["dev1"]);
    // Group on the root; the device sends its leaf alone: no group is on its chain.
    let full_chain = c.full_chain_path("dev1");
    let send = format!(
        "fix: send CN=Azure IoT Hub Intermediate Cert Test Only with the device certificate, leaf \
         first: use {}",
        full_chain.display()
    );
    doctor_group(&c.cert_path("dev1"), &root(&c), Some(&root(&c)))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[FAIL] enrollment"))
        .stdout(predicate::str::contains(
            "the last one was issued by CN=Azure IoT Hub Intermediate Cert Test Only, which the \
             device did not send",
        ))
        .stdout(predicate::str::contains(send.as_str()))
        .stderr(predicate::str::contains("checks failed"));
    // Group on the intermediate, only the root verified: the group's copy of the intermediate
    // does not complete the device's chain (the old doctor wrongly said ok here).
    doctor_group(&c.cert_path("dev1"), &intermediate(&c), Some(&root(&c)))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[FAIL] chain            the device sent CN=dev1 without its issuer CN=Azure IoT Hub \
             Intermediate Cert Test Only",
        ))
        .stdout(predicate::str::contains(send.as_str()))
        .stdout(predicate::str::contains(format!(
            "add --chain {}",
            intermediate(&c).display()
        )));
    // With the full chain the same group is fine.
    doctor_group(&full_chain, &root(&c), Some(&root(&c)))
        .assert()
        .success();
}

#[test]
fn warns_when_a_certificate_expires_soon() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain_with_days(tmp.path(), 3, &["dev1"]);
    doctor_group(
        &c.full_chain_path("dev1"),
        &intermediate(&c),
        Some(&root(&c)),
    )
    .assert()
    .success()
    .stdout(predicate::str::contains("[warn] validity"))
    .stdout(predicate::str::contains(
        "the device certificate CN=dev1 expires on",
    ))
    .stdout(predicate::str::contains("fix: renew it before then"));
}

#[test]
fn predicts_expired_and_not_yet_valid_certificates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &[]);
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let (expired, _) = custom_leaf(&c, "old-device", now - day * 10, now - day);
    doctor_group(&expired, &intermediate(&c), None)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[FAIL] validity         the device certificate CN=old-device expired on",
        ))
        .stdout(predicate::str::contains("fix: re-issue it"));
    let (future, key) = custom_leaf(&c, "future-device", now + day * 2, now + day * 30);
    doctor()
        .arg("--cert")
        .arg(&future)
        .arg("--key")
        .arg(&key)
        .arg("--group-cert")
        .arg(intermediate(&c))
        .arg("--verified-ca")
        .arg(root(&c))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[FAIL] validity         the device certificate CN=future-device is not valid before",
        ))
        .stdout(predicate::str::contains("[ok]   key"));
}

#[test]
fn predicts_a_bad_common_name_and_a_wrong_registration_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &["dev1"]);
    let ca =
        Credential::load_ca(&intermediate(&c), &c.key_path(INTERMEDIATE_PREFIX), None).expect("CA");
    let leaf = ca
        .sign(&CertSpec {
            common_name: "my device!",
            profile: Profile::Leaf,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        })
        .expect("leaf");
    let path = tmp.path().join("bad-cn.pem");
    std::fs::write(&path, leaf.cert_pem()).expect("write");
    doctor_group(&path, &intermediate(&c), None)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[FAIL] common-name"))
        .stdout(predicate::str::contains("contains ' '"))
        .stdout(predicate::str::contains(
            "create-device-certificate-from-intermediate my-device",
        ));
    // A registration id that is not the CN.
    let (code, list) = doctor_json(&[
        "--cert".as_ref(),
        c.full_chain_path("dev1").as_os_str(),
        "--registration-id".as_ref(),
        "dev2".as_ref(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(statuses(&list, "registration-id"), ["fail"]);
    assert_eq!(statuses(&list, "common-name"), ["ok"]);
}

#[test]
fn predicts_a_group_certificate_off_the_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(&tmp.path().join("a"), &["dev1"]);
    let other = other_chain(&tmp.path().join("b"));
    doctor_group(
        &c.full_chain_path("dev1"),
        &intermediate(&other),
        Some(&root(&other)),
    )
    .assert()
    .code(1)
    .stdout(predicate::str::contains(
        "[FAIL] enrollment       no individual enrollment \"dev1\" and no enrollment group \
             whose certificate is on the device's chain",
    ));
}

#[test]
fn predicts_an_unverified_ca() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(&tmp.path().join("a"), &["dev1"]);
    let other = other_chain(&tmp.path().join("b"));
    doctor_group(&c.full_chain_path("dev1"), &intermediate(&c), Some(&root(&other)))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[ok]   enrollment"))
        .stdout(predicate::str::contains(
            "[FAIL] verified-ca      the group's certificate CN=Azure IoT Hub Intermediate Cert Test Only is not a verified CA certificate",
        ))
        .stdout(predicate::str::contains("dps-cli certificate prove"));
    // Without any information about verified CAs it is a warning, not a guess.
    doctor_group(&c.full_chain_path("dev1"), &intermediate(&c), None)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[warn] verified-ca      not checked",
        ));
}

#[test]
fn predicts_a_key_mismatch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &["dev1", "dev2"]);
    doctor()
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .arg("--key")
        .arg(c.key_path("dev2"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "does not belong to the device certificate CN=dev1",
        ))
        .stdout(predicate::str::contains("private/dev1.key.pem"));
}

#[test]
fn predicts_a_ca_certificate_used_as_a_device_and_a_misordered_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &["dev1"]);
    c.create_edge_device_certificate(
        "edge1",
        &LeafOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            password: None,
            pfx: false,
            ..LeafOptions::default()
        },
    )
    .expect("edge certificate");
    let (code, list) = doctor_json(&["--cert".as_ref(), c.cert_path("edge1.ca").as_os_str()]);
    assert_eq!(code, 1);
    assert_eq!(statuses(&list, "leaf-not-ca"), ["fail"]);

    // Leaf, root, intermediate: out of order.
    let pem = |p: PathBuf| std::fs::read_to_string(p).expect("pem");
    let shuffled = tmp.path().join("shuffled.pem");
    std::fs::write(
        &shuffled,
        format!(
            "{}{}{}",
            pem(c.cert_path("dev1")),
            pem(root(&c)),
            pem(intermediate(&c))
        ),
    )
    .expect("write");
    doctor()
        .arg("--cert")
        .arg(&shuffled)
        .assert()
        .success()
        .stdout(predicate::str::contains("[warn] chain-order"))
        .stdout(predicate::str::contains(
            "its issuer CN=Azure IoT Hub Intermediate Cert Test Only is at position 3",
        ));
}

/// An emulator with (optionally) the chain's root verified, and a group on the intermediate.
fn emulator_with_group(
    tmp: &Path,
    certs: &CertDir,
    verified_root: bool,
    status: ProvisioningStatus,
) -> (Emulator, PathBuf) {
    let data = tmp.join("emulator");
    let mut config = EmulatorConfig::for_tests(&data);
    if verified_root {
        config.ca_certificates = vec![("root".into(), root(certs))];
    }
    let emulator = Emulator::spawn(config).expect("emulator starts");
    let client = ProvisioningServiceClient::from_connection_string(
        &emulator.service_connection_string(),
        Some(ClientOptions {
            trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..ClientOptions::default()
        }),
    )
    .expect("client");
    let pem = std::fs::read_to_string(intermediate(certs)).expect("pem");
    let mut group = EnrollmentGroup::x509_signing("grp", pem, None);
    group.provisioning_status = Some(status);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(client.create_or_update_enrollment_group(&group, None))
        .expect("group");
    (emulator, data)
}

#[test]
fn reads_the_group_and_the_verified_cas_from_the_emulator() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(&tmp.path().join("certs"), &["dev1"]);
    let (_emulator, data) = emulator_with_group(tmp.path(), &c, true, ProvisioningStatus::Enabled);
    let (code, list) = doctor_json(&[
        "--cert".as_ref(),
        c.full_chain_path("dev1").as_os_str(),
        "--key".as_ref(),
        c.key_path("dev1").as_os_str(),
        "--emulator".as_ref(),
        data.as_os_str(),
        "--group-id".as_ref(),
        "grp".as_ref(),
    ]);
    assert_eq!(code, 0, "{list:#?}");
    assert_eq!(statuses(&list, "enrollment"), ["ok"]);
    assert_eq!(statuses(&list, "group-status"), ["ok"]);
    assert_eq!(statuses(&list, "verified-ca"), ["ok"]);
    assert_eq!(statuses(&list, "chain"), ["ok"]);
    let enrollment = list
        .iter()
        .find(|c| c["check"] == "enrollment")
        .expect("enrollment check");
    assert!(
        enrollment["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"grp\"")),
        "{enrollment}"
    );
    // Every group is considered without --group-id, as the service does.
    doctor()
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .arg("--emulator")
        .arg(&data)
        .assert()
        .success()
        .stdout(predicate::str::contains("enrollment group \"grp\""));
    // And the device does register.
    cargo_bin_cmd!("dps-cli")
        .env_remove("DPS_CA_FILE")
        .args(["device", "register", "--emulator"])
        .arg(&data)
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .arg("--key")
        .arg(c.key_path("dev1"))
        .assert()
        .success();
    // An unknown group is a failure with the command that creates it.
    doctor()
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .args(["--group-id", "nope", "--emulator"])
        .arg(&data)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[FAIL] group            there is no enrollment group \"nope\"",
        ));
}

#[test]
fn the_doctor_and_the_emulator_agree_on_an_unverified_ca() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(&tmp.path().join("certs"), &["dev1"]);
    let (_emulator, data) = emulator_with_group(tmp.path(), &c, false, ProvisioningStatus::Enabled);
    doctor()
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .args(["--group-id", "grp", "--emulator"])
        .arg(&data)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[FAIL] verified-ca"))
        .stdout(predicate::str::contains("no verified CA exists"));
    cargo_bin_cmd!("dps-cli")
        .env_remove("DPS_CA_FILE")
        .args(["device", "register", "--emulator"])
        .arg(&data)
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .arg("--key")
        .arg(c.key_path("dev1"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("401002"));
}

#[test]
fn predicts_a_disabled_group() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(&tmp.path().join("certs"), &["dev1"]);
    let (_emulator, data) = emulator_with_group(tmp.path(), &c, true, ProvisioningStatus::Disabled);
    doctor()
        .arg("--cert")
        .arg(c.full_chain_path("dev1"))
        .args(["--group-id", "grp", "--emulator"])
        .arg(&data)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[FAIL] group-status"))
        .stdout(predicate::str::contains("--provisioning-status enabled"));
}

#[test]
fn the_der_of_a_group_certificate_works_too() {
    // PEM or DER, as the quickstart allows .pem or .cer.
    let tmp = tempfile::tempdir().expect("tempdir");
    let c = chain(tmp.path(), &["dev1"]);
    let der = dps_certgen::read_certs(&intermediate(&c))
        .expect("pem")
        .remove(0);
    let cer = tmp.path().join("intermediate.cer");
    std::fs::write(&cer, der.as_ref()).expect("write");
    assert!(pem_cert(&der).starts_with("-----BEGIN CERTIFICATE-----"));
    doctor_group(&c.full_chain_path("dev1"), &cer, Some(&root(&c)))
        .assert()
        .success();
}

#[test]
fn help_never_shows_the_connection_string() {
    let secret = "HostName=h;SharedAccessKeyName=p;SharedAccessKey=c2VjcmV0LXZhbHVl";
    cargo_bin_cmd!("dps-cli")
        .env("DPS_CONNECTION_STRING", secret)
        .args(["doctor", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("DPS_CONNECTION_STRING"))
        .stdout(predicate::str::contains("c2VjcmV0LXZhbHVl").not());
}
