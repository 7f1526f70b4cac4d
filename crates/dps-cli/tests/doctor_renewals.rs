//! The `dps-cli doctor` fixes that make new certificates run as printed: a device certificate
//! issued again from the certGen CA that issued it (a CA certificate used as the device's, a
//! registration id that is not the CN, an expired device certificate), and a renewed chain
//! when the verified root has expired. Each test runs the printed commands in order, then
//! doctor again, then registers the device with the new files.

mod common;
mod hint_runner;
#[path = "doctor_hints/support.rs"]
mod support;

use common::Env;
use dps_certgen::{KeyAlgorithm, LeafOptions, Signer};
use hint_runner::{HintShell, commands};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use support::*;
use time::{Duration, OffsetDateTime};

#[test]
fn a_ca_certificate_used_as_the_device_s_gets_a_device_certificate() {
    let env = Env::new();
    env.tour();
    certgen(&env)
        .create_edge_device_certificate(
            "edge1",
            &LeafOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                pfx: false,
                ..LeafOptions::default()
            },
        )
        .expect("edge CA");
    let (code, report) = doctor(
        &env,
        &[
            "--cert",
            "certs/certs/edge1.ca-full-chain.cert.pem",
            "--key",
            "certs/private/edge1.ca.key.pem",
        ],
    );
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "leaf-not-ca");
    assert_eq!(
        command,
        "dps-cli certs create-device-certificate-from-intermediate edge1 --out certs"
    );
    let (cert, key) = (
        "certs/certs/edge1-full-chain.cert.pem",
        "certs/private/edge1.key.pem",
    );
    doctor_passes(&env, &["--cert", cert, "--key", key]);
    register(&env, cert, key, &[]);
}

#[test]
fn a_registration_id_that_is_not_the_cn_gets_a_certificate_with_that_cn() {
    let env = Env::new();
    env.tour();
    common::devices(&certgen(&env), &["dev1"], Signer::Intermediate);
    let (code, report) = doctor(
        &env,
        &["--cert", DEV1_FULL, "--registration-id", "other-id"],
    );
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "registration-id");
    assert_eq!(
        command,
        "dps-cli certs create-device-certificate-from-intermediate other-id --out certs"
    );
    let (cert, key) = (
        "certs/certs/other-id-full-chain.cert.pem",
        "certs/private/other-id.key.pem",
    );
    let id = ["--registration-id", "other-id"];
    doctor_passes(&env, &[&["--cert", cert, "--key", key][..], &id].concat());
    register(&env, cert, key, &id);
}

fn key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("P-256 key")
}

/// Certificate parameters valid from `from` until `until` days from now.
fn params(cn: &str, ca: bool, from: i64, until: i64) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = now + Duration::days(from);
    p.not_after = now + Duration::days(until);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    p.use_authority_key_identifier_extension = true;
    p
}

#[test]
fn an_expired_device_certificate_gets_a_new_one() {
    let env = Env::new();
    env.tour();
    // dev1 issued by the intermediate, expired yesterday, in certGen's files.
    let dir = certgen(&env);
    let ca_der = dps_certgen::read_certs(&env.path().join(INTERMEDIATE))
        .expect("intermediate")
        .remove(0);
    let ca_key = dps_certgen::load_key(
        &env.path().join(INTERMEDIATE_KEY),
        Some(dps_certgen::DEFAULT_PASSWORD),
    )
    .expect("intermediate key");
    let issuer = Issuer::from_ca_cert_der(&ca_der, ca_key).expect("issuer");
    let leaf_key = key();
    let leaf = params("dev1", false, -30, -1)
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let chain = std::fs::read_to_string(dir.chain_path()).expect("chain file");
    std::fs::write(dir.cert_path("dev1"), leaf.pem()).expect("write");
    std::fs::write(
        dir.full_chain_path("dev1"),
        format!("{}{chain}", leaf.pem()),
    )
    .expect("write");
    std::fs::create_dir_all(env.path().join("certs/private")).expect("mkdir");
    std::fs::write(dir.key_path("dev1"), leaf_key.serialize_pem()).expect("write");
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("[FAIL] validity"), "{report}");
    let command = run_fix(&env, &report, "validity");
    assert_eq!(
        command,
        "dps-cli certs create-device-certificate-from-intermediate dev1 --out certs"
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn an_expired_verified_root_gets_the_whole_renewal() {
    let env = Env::new();
    // A certGen folder whose root expired yesterday (verified on the DPS), its intermediate
    // and dev1 still valid; the group on the intermediate.
    let dir = certgen(&env);
    std::fs::create_dir_all(env.path().join("certs/certs")).expect("mkdir");
    std::fs::create_dir_all(env.path().join("certs/private")).expect("mkdir");
    let root_key = key();
    let root_params = params("Renew Root", true, -60, -1);
    let root = root_params.self_signed(&root_key).expect("root");
    std::fs::write(env.path().join(ROOT_KEY), root_key.serialize_pem()).expect("write");
    let root_issuer = Issuer::new(root_params, root_key);
    let int_key = key();
    let int_params = params("Renew Intermediate", true, -1, 30);
    let intermediate = int_params
        .signed_by(&int_key, &root_issuer)
        .expect("intermediate");
    std::fs::write(env.path().join(INTERMEDIATE_KEY), int_key.serialize_pem()).expect("write");
    let int_issuer = Issuer::new(int_params, int_key);
    let leaf_key = key();
    let leaf = params("dev1", false, -1, 30)
        .signed_by(&leaf_key, &int_issuer)
        .expect("leaf");
    std::fs::write(env.path().join(ROOT), root.pem()).expect("write");
    std::fs::write(env.path().join(INTERMEDIATE), intermediate.pem()).expect("write");
    std::fs::write(dir.cert_path("dev1"), leaf.pem()).expect("write");
    // The device sends its intermediate, not the expired root.
    std::fs::write(
        env.path().join(DEV1_FULL),
        format!("{}{}", leaf.pem(), intermediate.pem()),
    )
    .expect("write");
    std::fs::write(env.path().join(DEV1_KEY), leaf_key.serialize_pem()).expect("write");
    env.json(&[
        "certificate",
        "upload",
        "--name",
        "old-root",
        "--cert",
        ROOT,
        "--verified",
    ]);
    group(&env, "grp", &[]);

    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let fix = fix_of(&report, "verified-ca");
    let steps = commands(&fix);
    assert_eq!(
        steps,
        [
            "dps-cli certs create-root-and-intermediate --out certs --root-cn 'Renew Root' \
             --intermediate-cn 'Renew Intermediate' --force"
                .to_owned(),
            with_emulator(
                &env,
                &format!(
                    "certificate prove --name azure-iot-test-only.root.ca --cert {ROOT} --key \
                     {ROOT_KEY}"
                )
            ),
            with_emulator(
                &env,
                &format!("enrollment-group update --group-id grp --cert {INTERMEDIATE}")
            ),
            "dps-cli certs create-device-certificate-from-intermediate dev1 --out certs".to_owned(),
        ],
        "{fix}"
    );
    assert!(runnable(&fix).len() == 4);
    let shell = HintShell::new(env.path());
    for step in &steps {
        shell.ok(step);
    }
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_wrong_key_gets_the_certificate_s_own_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = dps_certgen::CertDir::new(tmp.path().join("certs"));
    dir.create_root_and_intermediate(&dps_certgen::ChainOptions {
        algorithm: KeyAlgorithm::EcdsaP256,
        ..dps_certgen::ChainOptions::default()
    })
    .expect("chain");
    common::devices(&dir, &["dev1", "dev2"], Signer::Intermediate);
    let doctor = |key: &str| {
        common::bare()
            .current_dir(tmp.path())
            .args(["doctor", "--cert", DEV1_FULL, "--key", key])
            .output()
            .expect("runs")
    };
    let out = doctor("certs/private/dev2.key.pem");
    let fix = fix_of(&String::from_utf8_lossy(&out.stdout), "key");
    assert!(
        fix.starts_with(&format!(
            "pass the key generated with this certificate: --key {DEV1_KEY} "
        )),
        "{fix}"
    );
    let out = doctor(DEV1_KEY);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[ok]   key"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
