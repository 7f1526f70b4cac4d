//! Verification certificates take the code exactly as DPS gave it: no registration-id rule, no
//! case advice; only what cannot be a common name is refused, in words. A refused proof of
//! possession says what to do (the code mismatch itself is in `hints.rs`, whose test runs the
//! commands the hint prints).

mod common;
mod hint_runner;

use common::{Env, bare};
use hint_runner::{HintShell, commands_of};

const ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";

/// `dps-cli certs create-verification-certificate CODE` in `env`'s folder.
fn make(env: &Env, code: &str) -> std::process::Output {
    bare()
        .current_dir(env.path())
        .args(["certs", "create-verification-certificate", code])
        .args(["--algorithm", "ecdsa-p256"])
        .output()
        .expect("runs")
}

#[test]
fn codes_are_taken_exactly_as_given() {
    let env = Env::new();
    env.chain();
    // The README's placeholder, upper and lower case: made as given, without advice.
    for code in ["1A2B3C...", "1F6BE7CF0A", "1f6be7cf0a"] {
        let out = make(&env, code);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{code}: {stderr}");
        assert!(!stderr.contains("warning"), "{code}: {stderr}");
        assert!(!stderr.contains("registration id"), "{code}: {stderr}");
        assert!(!stderr.to_lowercase().contains("lower"), "{code}: {stderr}");
        let inspected = String::from_utf8_lossy(
            &bare()
                .current_dir(env.path())
                .args(["certs", "inspect", "certs/certs/verification-code.cert.pem"])
                .output()
                .expect("runs")
                .stdout,
        )
        .into_owned();
        assert!(inspected.contains(&format!("CN={code}")), "{inspected}");
    }
}

#[test]
fn what_cannot_be_a_common_name_is_refused_in_words() {
    let env = Env::new();
    env.chain();
    for (code, words) in [
        ("", "it is empty"),
        (&"A".repeat(65) as &str, "65 characters long"),
        ("AB\tCD", "control character"),
    ] {
        let out = make(&env, code);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{code:?}: {stderr}");
        assert!(
            stderr.contains("cannot be a certificate's common name"),
            "{stderr}"
        );
        assert!(stderr.contains(words), "{stderr}");
        assert!(stderr.contains("exactly as DPS gave it"), "{stderr}");
        assert!(!stderr.contains("registration id"), "{stderr}");
    }
}

#[test]
fn a_verification_certificate_from_another_ca_gets_a_fresh_code() {
    let env = Env::new();
    env.chain();
    let code = env.root_verification_code("root");
    // The right code, signed by the intermediate instead of the uploaded root.
    let out = bare()
        .current_dir(env.path())
        .args(["certs", "create-verification-certificate", &code])
        .args(["--algorithm", "ecdsa-p256", "--from-intermediate"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let out = env
        .cli()
        .args([
            "certificate",
            "verify",
            "--name",
            "root",
            "--cert",
            "certs/certs/verification-code.cert.pem",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("signed by that CA's key"), "{stderr}");
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    let next = HintShell::new(env.path()).ok(&commands[0]);
    assert!(
        next.contains("next: `dps-cli certs create-verification-certificate"),
        "{next}"
    );
}

/// A CA uploaded from another folder, with the same names as `certs/`'s but another key: the
/// `next:` line must not hand over a command that signs with `certs/`'s root (the service
/// would refuse it, and the refusal would send the user back here).
#[test]
fn the_next_step_names_certs_only_when_it_holds_that_very_ca() {
    let env = Env::new();
    env.chain();
    let other = dps_certgen::CertDir::new(env.path().join("other"));
    other
        .create_root_and_intermediate(&dps_certgen::ChainOptions {
            algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
            ..dps_certgen::ChainOptions::default()
        })
        .expect("second chain");
    let code_for = |name: &str, cert: &str| {
        env.cli()
            .args(["certificate", "upload", "--name", name, "--cert", cert])
            .assert()
            .success();
        let out = env
            .cli()
            .args(["certificate", "generate-verification-code", "--name", name])
            .output()
            .expect("runs");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ours = code_for("ours", ROOT);
    assert!(
        ours.contains("next: `dps-cli certs create-verification-certificate"),
        "{ours}"
    );
    let theirs = code_for("theirs", "other/certs/azure-iot-test-only.root.ca.cert.pem");
    assert!(
        theirs.contains("in the certGen folder that holds this CA certificate"),
        "{theirs}"
    );
    assert!(!theirs.contains("next: `dps-cli certs"), "{theirs}");
}
