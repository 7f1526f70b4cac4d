//! Every command a `dps-cli doctor` fix prints runs as printed: each test provokes one finding
//! against a real chain and the emulator, takes the backticked command from the fix, runs it
//! with `sh -c` in the same folder (the binary under test on `PATH`), then runs doctor again
//! and registers the device. The commands carry the doctor run's context (`--emulator DIR`,
//! the connection string's variable), the files it was given or found, the group id and the
//! CA certificate's name on the DPS. This file: enrollments, groups and proof of possession;
//! `doctor_renewals.rs`: new device certificates and renewed CAs.

mod common;
mod hint_runner;
#[path = "doctor_hints/support.rs"]
mod support;

use common::{Env, bare};
use dps_certgen::{CertDir, ChainOptions, KeyAlgorithm};
use hint_runner::HintShell;
use support::*;

#[test]
fn an_unverified_root_gets_the_prove_command() {
    let env = Env::new();
    chain_and_device(&env);
    group(&env, "grp", &[]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "verified-ca");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!(
                "certificate prove --name azure-iot-test-only.root.ca --cert {ROOT} --key {ROOT_KEY}"
            )
        )
    );
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("[ok]   verified-ca"), "{report}");
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn an_uploaded_root_is_proven_under_its_name_on_the_dps() {
    let env = Env::new();
    chain_and_device(&env);
    env.json(&["certificate", "upload", "--name", "my-root", "--cert", ROOT]);
    group(&env, "grp", &[]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (_, report) = doctor(&env, &args);
    let command = run_fix(&env, &report, "verified-ca");
    assert!(
        command.contains("certificate prove --name my-root --cert "),
        "{command}"
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_connection_string_flag_is_named_by_its_variable_in_a_fix() {
    let env = Env::new();
    chain_and_device(&env);
    group(&env, "grp", &[]);
    let cs = env.emulator.service_connection_string();
    let secret = cs
        .split(';')
        .find_map(|kv| kv.strip_prefix("SharedAccessKey="))
        .expect("a key")
        .to_owned();
    let doctor = || {
        bare()
            .current_dir(env.path())
            .args(["doctor", "--cert", DEV1_FULL, "--key", DEV1_KEY])
            .arg("--connection-string")
            .arg(&cs)
            .arg("--ca-file")
            .arg(env.emulator.ca_path())
            .output()
            .expect("runs")
    };
    let out = doctor();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!report.contains(&secret), "{report}");
    let fix = fix_of(&report, "verified-ca");
    assert!(
        fix.contains("(set DPS_CONNECTION_STRING to the connection string"),
        "{fix}"
    );
    let commands = runnable(&fix);
    assert_eq!(commands.len(), 1, "{fix}");
    assert!(
        commands[0]
            .starts_with("dps-cli --connection-string \"$DPS_CONNECTION_STRING\" --ca-file "),
        "{fix}"
    );
    let mut shell = HintShell::new(env.path());
    shell.env("DPS_CONNECTION_STRING", &cs);
    shell.ok(&commands[0]);
    assert!(doctor().status.success());
}

#[test]
fn a_missing_group_gets_the_create_command_with_its_id() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY, "--group-id", "grp"];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "group");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!("enrollment-group create --group-id grp --cert {INTERMEDIATE}")
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn no_group_on_the_chain_gets_a_group_named_after_the_ca() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (_, report) = doctor(&env, &args);
    let command = run_fix(&env, &report, "enrollment");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!(
                "enrollment-group create --group-id azure-iot-hub-intermediate-cert-test-only \
                 --cert {INTERMEDIATE}"
            )
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_group_of_another_attestation_gets_an_x509_group_beside_it() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "sk-grp",
        "--symmetric-key",
        "--primary-key",
        GROUP_KEY,
        "--secondary-key",
        GROUP_KEY,
    ]);
    let (code, report) = doctor(&env, &["--cert", DEV1_FULL, "--group-id", "sk-grp"]);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "group-attestation");
    assert!(
        command.contains(
            "enrollment-group create --group-id azure-iot-hub-intermediate-cert-test-only"
        ),
        "{command}"
    );
    doctor_passes(&env, &["--cert", DEV1_FULL, "--key", DEV1_KEY]);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_disabled_group_gets_the_enable_command() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    group(&env, "grp", &["--provisioning-status", "disabled"]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (_, report) = doctor(&env, &args);
    let command = run_fix(&env, &report, "group-status");
    assert_eq!(
        command,
        with_emulator(
            &env,
            "enrollment-group update --group-id grp --provisioning-status enabled"
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

/// The tour's chain re-generated with the same names (as after `--force`), and `dev1` issued
/// again from it.
fn regenerate(env: &Env) {
    certgen(env)
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            force: true,
            ..ChainOptions::default()
        })
        .expect("chain");
    common::devices(&certgen(env), &["dev1"], dps_certgen::Signer::Intermediate);
}

#[test]
fn a_stale_group_certificate_gets_the_update_command() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    group(&env, "grp", &[]);
    regenerate(&env);
    env.prove_root("new-root");
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("same subject, different key"), "{report}");
    let command = run_fix(&env, &report, "enrollment");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!("enrollment-group update --group-id grp --cert {INTERMEDIATE}")
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_re_created_root_is_proven_under_a_name_not_taken() {
    let env = Env::new();
    chain_and_device(&env);
    // The old root holds the name a new one would get from its file.
    env.prove_root("azure-iot-test-only.root.ca");
    group(&env, "grp", &[]);
    regenerate(&env);
    env.json(&[
        "enrollment-group",
        "update",
        "--group-id",
        "grp",
        "--cert",
        INTERMEDIATE,
    ]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "verified-ca");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!(
                "certificate prove --name azure-iot-test-only.root.ca-2 --cert {ROOT} --key \
                 {ROOT_KEY}"
            )
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn an_individual_enrollment_of_another_certificate_gets_the_update_command() {
    let env = Env::new();
    chain_and_device(&env);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "dev1",
        "--cert",
        DEV1,
    ]);
    // dev1 issued again: another certificate than the enrolled one.
    common::devices(&certgen(&env), &["dev1"], dps_certgen::Signer::Intermediate);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let fix = fix_of(&report, "enrollment");
    let commands = runnable(&fix);
    assert_eq!(
        commands,
        [
            with_emulator(
                &env,
                &format!("enrollment update --registration-id dev1 --cert {DEV1}")
            ),
            with_emulator(&env, "enrollment delete --registration-id dev1"),
        ],
        "update, or delete"
    );
    HintShell::new(env.path()).ok(&commands[0]);
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_disabled_individual_enrollment_gets_the_enable_command() {
    let env = Env::new();
    chain_and_device(&env);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "dev1",
        "--cert",
        DEV1,
        "--provisioning-status",
        "disabled",
    ]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (_, report) = doctor(&env, &args);
    let command = run_fix(&env, &report, "enrollment-status");
    assert_eq!(
        command,
        with_emulator(
            &env,
            "enrollment update --registration-id dev1 --provisioning-status enabled"
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn an_individual_enrollment_of_another_attestation_gets_the_delete_command() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    group(&env, "grp", &[]);
    env.json(&[
        "enrollment",
        "create",
        "--registration-id",
        "dev1",
        "--symmetric-key",
        "--primary-key",
        GROUP_KEY,
        "--secondary-key",
        GROUP_KEY,
    ]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (_, report) = doctor(&env, &args);
    let command = run_fix(&env, &report, "enrollment");
    assert_eq!(
        command,
        with_emulator(&env, "enrollment delete --registration-id dev1")
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn an_unverified_ca_reference_gets_the_prove_command_under_its_name() {
    let env = Env::new();
    chain_and_device(&env);
    env.json(&["certificate", "upload", "--name", "ref", "--cert", ROOT]);
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "grp",
        "--ca-reference",
        "ref",
    ]);
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "verified-ca");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!("certificate prove --name ref --cert {ROOT} --key {ROOT_KEY}")
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_missing_ca_reference_gets_the_device_ca_proven_under_that_name() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "grp",
        "--ca-reference",
        "ghost",
    ]);
    // Asked about by id: scanning every group, a reference that names no certificate matches
    // no device and is no finding (tests/doctor_scan.rs).
    let args = ["--cert", DEV1_FULL, "--key", DEV1_KEY, "--group-id", "grp"];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "ca-reference");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!(
                "certificate prove --name ghost --cert {INTERMEDIATE} --key {INTERMEDIATE_KEY}"
            )
        )
    );
    doctor_passes(&env, &args);
    register(&env, DEV1_FULL, DEV1_KEY, &[]);
}

#[test]
fn a_device_without_its_intermediate_gets_the_intermediate_proven() {
    let env = Env::new();
    chain_and_device(&env);
    env.prove_root("root");
    group(&env, "grp", &[]);
    // The leaf alone: the intermediate between it and the verified root is missing.
    let args = ["--cert", DEV1, "--key", DEV1_KEY];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let fix = fix_of(&report, "chain");
    assert!(
        fix.starts_with(&format!(
            "send CN=Azure IoT Hub Intermediate Cert Test Only with the device certificate, leaf \
             first: use {DEV1_FULL} (certGen layout), or add --chain {INTERMEDIATE}; or verify"
        )),
        "{fix}"
    );
    let command = run_fix(&env, &report, "chain");
    assert_eq!(
        command,
        with_emulator(
            &env,
            &format!(
                "certificate prove --name azure-iot-test-only.intermediate --cert {INTERMEDIATE} \
                 --key {INTERMEDIATE_KEY}"
            )
        )
    );
    // The intermediate verified, the leaf alone is enough.
    doctor_passes(&env, &args);
    register(&env, DEV1, DEV1_KEY, &[]);
}

#[test]
fn a_self_signed_device_gets_an_individual_enrollment() {
    let env = Env::new();
    let cert = dps_certgen::Credential::self_signed(&dps_certgen::CertSpec {
        common_name: "solo",
        profile: dps_certgen::Profile::Leaf,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    })
    .expect("self-signed");
    std::fs::write(env.path().join("solo.pem"), cert.cert_pem()).expect("write");
    std::fs::write(env.path().join("solo.key.pem"), cert.key().serialize_pem()).expect("write");
    let args = ["--cert", "solo.pem", "--key", "solo.key.pem"];
    let (code, report) = doctor(&env, &args);
    assert_eq!(code, 1, "{report}");
    let command = run_fix(&env, &report, "enrollment");
    assert_eq!(
        command,
        with_emulator(
            &env,
            "enrollment create --registration-id solo --cert solo.pem"
        )
    );
    doctor_passes(&env, &args);
    register(&env, "solo.pem", "solo.key.pem", &[]);
}

#[test]
fn what_doctor_cannot_know_stays_a_placeholder_said_in_words() {
    // No service, and a root key under another password than certGen's: doctor cannot tell
    // whose key it is, nor which group holds the old certificate.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = CertDir::new(tmp.path().join("certs"));
    let options = |password: &str, force| ChainOptions {
        algorithm: KeyAlgorithm::EcdsaP256,
        password: Some(password.into()),
        force,
        ..ChainOptions::default()
    };
    dir.create_root_and_intermediate(&options("another", false))
        .expect("chain");
    let old = tmp.path().join("old-intermediate.pem");
    std::fs::copy(tmp.path().join(INTERMEDIATE), &old).expect("copy");
    dir.create_root_and_intermediate(&options("another", true))
        .expect("chain");
    dir.create_device_certificates(
        &["dev1".to_owned()],
        &dps_certgen::LeafOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            password: Some("another".into()),
            signer: dps_certgen::Signer::Intermediate,
            pfx: false,
            ..dps_certgen::LeafOptions::default()
        },
        &|_, _| {},
    )
    .expect("device");
    let doctor = |group: &std::path::Path, verified: &str| {
        let out = bare()
            .current_dir(tmp.path())
            .args(["doctor", "--cert", DEV1_FULL, "--group-cert"])
            .arg(group)
            .args(["--verified-ca", verified])
            .output()
            .expect("runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let fix = fix_of(&doctor(&old, ROOT), "enrollment");
    assert!(
        fix.contains(&format!(
            "`dps-cli enrollment-group update --group-id GROUP_ID --cert {INTERMEDIATE}`, where \
             GROUP_ID is the id of the enrollment group that holds the old certificate"
        )),
        "{fix}"
    );
    // The intermediate as the only verified CA, its root unproven: the root's key does not
    // open with certGen's password.
    let report = doctor(
        std::path::Path::new(INTERMEDIATE),
        &old.display().to_string(),
    );
    let fix = fix_of(&report, "verified-ca");
    assert!(
        fix.contains(&format!(
            "--cert {ROOT} --key CA_KEY`, where CA_KEY is its private key file"
        )),
        "{fix}"
    );
}
