//! Every message names the problem and the fix in words (issue 11, item 3): the mistakes DPS
//! users make most, each provoked through the built binary against an in-process emulator,
//! with the message's key words, its exit code and no `Debug` text of a library (`{ `,
//! `UnixTime`, `Tag(`, `CaUsedAsEndEntity`) checked; dates in ISO 8601 UTC; long lines folded
//! at `COLUMNS`.

mod common;

use common::{Env, bare};
use dps_certgen::{
    CertDir, ChainOptions, Credential, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, ROOT_PREFIX,
    Signer,
};
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The `Debug` renderings of library types that must never reach a user.
const ARTEFACTS: [&str; 5] = ["{ ", "UnixTime", "Tag(", "CaUsedAsEndEntity", "Some("];
/// An ISO 8601 UTC time, whole seconds.
const ISO: &str = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z";
const KEY: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

/// stdout and stderr of a run whose exit code is `code`, checked for `Debug` artefacts.
fn run(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let out: Output = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{text}");
    for a in ARTEFACTS {
        assert!(!text.contains(a), "Debug artefact {a:?} in:\n{text}");
    }
    text
}

fn assert_has(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{n:?} not in:\n{text}");
    }
}

/// Device certificates signed by the intermediate, with a PFX beside each (password 1234).
fn devices_with_pfx(certs: &CertDir, names: &[&str]) {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    certs
        .create_device_certificates(
            &names,
            &LeafOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                signer: Signer::Intermediate,
                pfx: true,
                ..LeafOptions::default()
            },
            &|_, _| {},
        )
        .expect("devices");
}

/// The chain of `env` (root verified as "root"), an X.509 group "g1" on the intermediate.
fn enrolled(env: &Env) -> CertDir {
    let certs = env.chain();
    run(
        env.cli()
            .args(["certificate", "prove", "--name", "root", "--cert"])
            .arg(certs.cert_path(ROOT_PREFIX))
            .arg("--key")
            .arg(certs.key_path(ROOT_PREFIX)),
        0,
    );
    run(
        env.cli()
            .args(["enrollment-group", "create", "--group-id", "g1", "--cert"])
            .arg(certs.cert_path(INTERMEDIATE_PREFIX)),
        0,
    );
    certs
}

fn path(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

#[test]
fn an_expired_ca_on_the_path_is_named_with_its_date_and_the_fix() {
    let env = Env::new();
    let certs = enrolled(&env);
    // An intermediate of the root that expired yesterday, and a device it issued.
    let root = Credential::load_ca(
        &certs.cert_path(ROOT_PREFIX),
        &certs.key_path(ROOT_PREFIX),
        Some("1234"),
    )
    .expect("root");
    let issuer = rcgen::Issuer::from_ca_cert_der(
        root.der(),
        rcgen::KeyPair::from_pem(&root.key().serialize_pem()).expect("key"),
    )
    .expect("issuer");
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
    let mut ca = rcgen::CertificateParams::new(Vec::new()).expect("params");
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Expired Intermediate");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.not_before = now - day * 30;
    ca.not_after = now - day;
    let ca = ca.signed_by(&ca_key, &issuer).expect("intermediate");
    let ca_issuer = rcgen::Issuer::from_ca_cert_der(ca.der(), ca_key).expect("issuer");
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
    let mut leaf = rcgen::CertificateParams::new(Vec::new()).expect("params");
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "late-device");
    leaf.not_before = now - day * 2;
    leaf.not_after = now + day * 30;
    let leaf = leaf.signed_by(&leaf_key, &ca_issuer).expect("leaf");
    let chain = env.path().join("late-device-full-chain.pem");
    let key = env.path().join("late-device.key.pem");
    std::fs::write(&chain, format!("{}{}", leaf.pem(), ca.pem())).expect("write");
    std::fs::write(&key, leaf_key.serialize_pem()).expect("write");
    let expired = regex_match(&format!(
        "the intermediate certificate CN=Expired Intermediate expired on {ISO}"
    ));

    // doctor, offline: the path check names the certificate, its end and the fix.
    let text = run(
        bare()
            .arg("doctor")
            .arg("--cert")
            .arg(&chain)
            .arg("--key")
            .arg(&key)
            .arg("--group-cert")
            .arg(certs.cert_path(ROOT_PREFIX))
            .arg("--verified-ca")
            .arg(certs.cert_path(ROOT_PREFIX)),
        1,
    );
    assert!(expired.eval(&text), "{text}");
    assert_has(
        &text,
        &[
            "[FAIL] validity",
            // Not in a certGen folder: the steps in words.
            "fix: renew the CA CN=Expired Intermediate with the tool that made it",
            "re-issue its devices",
        ],
    );

    // The emulator refuses the device with the same words.
    run(
        env.cli()
            .args([
                "enrollment-group",
                "create",
                "--group-id",
                "g-root",
                "--cert",
            ])
            .arg(certs.cert_path(ROOT_PREFIX)),
        0,
    );
    let text = run(
        env.cli()
            .args(["device", "register", "--cert"])
            .arg(&chain)
            .arg("--key")
            .arg(&key),
        1,
    );
    assert!(expired.eval(&text), "{text}");
    assert_has(&text, &["401002"]);
}

fn regex_match(pattern: &str) -> predicates::str::RegexPredicate {
    predicate::str::is_match(pattern).expect("regex")
}

#[test]
fn a_pfx_works_as_cert_with_its_password() {
    let env = Env::new();
    let certs = enrolled(&env);
    devices_with_pfx(&certs, &["pfx-device"]);
    let pfx = certs.pfx_path("pfx-device");
    let intermediate = certs.cert_path(INTERMEDIATE_PREFIX);

    // device register: the PFX's certificate and key, the intermediate with --chain.
    let text = run(
        env.cli()
            .args(["device", "register", "--cert"])
            .arg(&pfx)
            .args(["--password", "1234", "--chain"])
            .arg(&intermediate),
        0,
    );
    assert_has(&text, &["status           assigned", "enrollment group g1"]);

    // doctor: the key check reads the PFX's key.
    let text = run(
        env.cli()
            .args(["doctor", "--cert"])
            .arg(&pfx)
            .args(["--password", "1234", "--chain"])
            .arg(&intermediate),
        0,
    );
    assert_has(
        &text,
        &[&format!(
            "[ok]   key              {} is the device certificate's private key",
            pfx.display()
        )],
    );

    // Without its password, or with a wrong one: say so, and how to give it.
    for password in [None, Some("wrong")] {
        let mut cmd = env.cli();
        cmd.args(["device", "register", "--cert"]).arg(&pfx);
        if let Some(p) = password {
            cmd.args(["--password", p]);
        }
        let text = run(&mut cmd, 1);
        assert_has(
            &text,
            &["PKCS#12 (PFX)", "give its password with --password"],
        );
    }

    // certificate prove: a CA exported as PFX proves with --cert alone.
    let ca = Credential::load_ca(
        &intermediate,
        &certs.key_path(INTERMEDIATE_PREFIX),
        Some("1234"),
    )
    .expect("intermediate");
    let ca_pfx = env.path().join("intermediate.pfx");
    std::fs::write(&ca_pfx, dps_certgen::to_pfx(&ca, &[], "1234").expect("pfx")).expect("write");
    let text = run(
        env.cli()
            .args(["certificate", "prove", "--name", "intermediate", "--cert"])
            .arg(&ca_pfx),
        0,
    );
    assert_has(&text, &["verified         yes"]);
}

#[test]
fn an_edge_ca_certificate_as_device_certificate_is_explained() {
    let env = Env::new();
    let certs = enrolled(&env);
    run(
        bare().current_dir(env.path()).args([
            "certs",
            "create-edge-device-certificate",
            "edge1",
            "--out",
            "certs",
        ]),
        0,
    );
    let chain = certs.full_chain_path("edge1.ca");
    let key = certs.key_path("edge1.ca");
    let text = run(
        env.cli()
            .args(["device", "register", "--cert"])
            .arg(&chain)
            .arg("--key")
            .arg(&key),
        1,
    );
    assert_has(
        &text,
        &["401002", "is a CA certificate", "IoT Edge", "end-entity"],
    );
    let text = run(
        env.cli()
            .args(["doctor", "--cert"])
            .arg(&chain)
            .arg("--key")
            .arg(&key),
        1,
    );
    assert_has(
        &text,
        &[
            "[FAIL] leaf-not-ca",
            // The device certificate of the same name, from the intermediate that issued
            // the edge CA, in its certGen folder.
            &format!(
                "`dps-cli certs create-device-certificate-from-intermediate edge1 --out {}`;",
                certs.base().display()
            ),
            "device identity certificate",
        ],
    );
}

#[test]
fn a_key_given_as_cert_asks_whether_cert_and_key_were_swapped() {
    let env = Env::new();
    let certs = enrolled(&env);
    common::devices(&certs, &["dev1"], Signer::Intermediate);
    let (cert, key) = (certs.full_chain_path("dev1"), certs.key_path("dev1"));
    let (root, root_key) = (certs.cert_path(ROOT_PREFIX), certs.key_path(ROOT_PREFIX));

    // Both the other way round: the fix gives them back in their places.
    let swapped = format!("give --cert {} --key {}", cert.display(), key.display());
    for args in [&["device", "register"][..], &["doctor"][..]] {
        let text = run(
            env.cli()
                .args(args)
                .arg("--cert")
                .arg(&key)
                .arg("--key")
                .arg(&cert),
            1,
        );
        assert_has(&text, &["--cert and --key are swapped", &swapped]);
    }
    let text = run(
        env.cli()
            .args(["certificate", "prove", "--name", "root2", "--cert"])
            .arg(&root_key)
            .arg("--key")
            .arg(&root),
        1,
    );
    assert_has(&text, &["--cert and --key are swapped"]);

    // One of them in the wrong place: the question, and which file each flag takes.
    let question = "were --cert and --key swapped?";
    let text = run(
        env.cli()
            .args(["device", "register", "--cert"])
            .arg(&key)
            .arg("--key")
            .arg(&key),
        1,
    );
    assert_has(
        &text,
        &[
            &format!(
                "--cert {} is a private key, not a certificate",
                key.display()
            ),
            question,
        ],
    );
    let text = run(
        env.cli()
            .args(["device", "register", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&cert),
        1,
    );
    assert_has(
        &text,
        &[
            &format!(
                "--key {} is a certificate, not a private key",
                cert.display()
            ),
            question,
        ],
    );
    let text = run(
        env.cli()
            .args(["certificate", "prove", "--name", "root2", "--cert"])
            .arg(&root_key)
            .arg("--key")
            .arg(&root_key),
        1,
    );
    assert_has(&text, &[question, "hint: --cert takes the certificate"]);
}

#[test]
fn an_iot_hub_connection_string_is_a_usage_error() {
    for (cs, kind) in [
        (
            format!("HostName=myhub.azure-devices.net;DeviceId=dev1;SharedAccessKey={KEY}"),
            "a device's",
        ),
        (
            format!(
                "HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"
            ),
            "a hub's shared access policy",
        ),
    ] {
        let text = run(
            bare()
                .args(["enrollment-group", "list", "--connection-string"])
                .arg(&cs),
            2,
        );
        assert_has(
            &text,
            &[
                "--connection-string: this is an IoT Hub connection string",
                kind,
                "DPS needs the service connection string from the DPS's Shared access policies",
                "az iot dps connection-string show",
            ],
        );
        assert!(!text.contains(KEY), "{text}");
        // From the environment, the message names the variable.
        let text = run(
            bare()
                .env("DPS_CONNECTION_STRING", &cs)
                .args(["enrollment", "list"]),
            2,
        );
        assert_has(
            &text,
            &["DPS_CONNECTION_STRING: this is an IoT Hub connection string"],
        );
    }
}

#[test]
fn a_regenerated_chain_names_the_stale_group_certificate() {
    let env = Env::new();
    let certs = enrolled(&env);
    let old = std::fs::read(certs.cert_path(INTERMEDIATE_PREFIX)).expect("intermediate");
    // certGen again, same names, new keys; the group still holds the old intermediate.
    certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            force: true,
            ..ChainOptions::default()
        })
        .expect("chain again");
    assert_ne!(
        old,
        std::fs::read(certs.cert_path(INTERMEDIATE_PREFIX)).expect("intermediate")
    );
    common::devices(&certs, &["dev2"], Signer::Intermediate);
    let (cert, key) = (certs.full_chain_path("dev2"), certs.key_path("dev2"));
    let needles = [
        "CN=Azure IoT Hub Intermediate Cert Test Only",
        "same subject, different key",
        "SHA-256 thumbprint",
        "the group holds the old certificate",
        "update the group with the new certificate",
    ];
    let text = run(
        env.cli()
            .args(["device", "register", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key),
        1,
    );
    assert_has(&text, &needles);
    assert_has(&text, &["401002"]);
    let text = run(
        env.cli()
            .args(["doctor", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key),
        1,
    );
    assert_has(&text, &needles);
    assert_has(
        &text,
        &[&format!(
            "fix: update the group with the new certificate: `dps-cli --emulator {} \
             enrollment-group update --group-id g1 --cert {}`",
            env.data_dir.display(),
            path(&certs.cert_path(INTERMEDIATE_PREFIX)).to_string_lossy()
        )],
    );
}

#[test]
fn dates_are_iso_8601_utc_in_tables() {
    let env = Env::new();
    enrolled(&env);
    let rfc1123 = regex_match(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4}");
    let iso = regex_match(ISO);
    for args in [
        &["certificate", "show", "--name", "root"][..],
        &["certificate", "list"][..],
        &["enrollment-group", "show", "--group-id", "g1"][..],
    ] {
        let text = run(env.cli().args(args), 0);
        assert!(iso.eval(&text), "{args:?}: {text}");
        assert!(!rfc1123.eval(&text), "{args:?}: {text}");
        assert!(!text.contains("GMT") && !text.contains("+00:00"), "{text}");
    }
    // JSON keeps the service's own text.
    let json = env.json(&["certificate", "show", "--name", "root"]);
    let expiry = json["properties"]["expiry"].as_str().expect("expiry");
    assert!(expiry.ends_with("GMT"), "{expiry}");
}

#[test]
fn long_lines_fold_at_the_terminal_width() {
    let env = Env::new();
    let certs = enrolled(&env);
    common::devices(&certs, &["dev1"], Signer::Intermediate);
    let cert: PathBuf = certs.cert_path("dev1");
    let doctor = |columns: Option<&str>| {
        let mut cmd = env.cli();
        cmd.args(["doctor", "--cert"]).arg(&cert);
        if let Some(c) = columns {
            cmd.env("COLUMNS", c);
        }
        run(&mut cmd, 1)
    };
    // Not a terminal and no COLUMNS: one line per finding, however long.
    let whole = doctor(None);
    assert!(whole.lines().any(|l| l.chars().count() > 120), "{whole}");
    // COLUMNS=80: every line fits unless a single word is longer; continuations sit under the
    // text (column 24 for details, 29 for fixes).
    let folded = doctor(Some("80"));
    for line in folded.lines() {
        let long_word = line.split(' ').any(|w| w.chars().count() > 50);
        assert!(line.chars().count() <= 80 || long_word, "{line:?}");
    }
    assert!(folded.lines().count() > whole.lines().count());
    assert!(
        folded
            .lines()
            .any(|l| l.starts_with(&" ".repeat(24)) && !l.starts_with(&" ".repeat(25))),
        "{folded}"
    );
    assert!(
        folded
            .lines()
            .any(|l| l.starts_with(&" ".repeat(29)) && !l.starts_with(&" ".repeat(30))),
        "{folded}"
    );
    // Errors and hints fold too, under their text.
    let key = certs.key_path("dev1");
    let text = run(
        env.cli()
            .env("COLUMNS", "60")
            .args(["device", "register", "--cert"])
            .arg(&key)
            .arg("--key")
            .arg(&key),
        1,
    );
    for line in text.lines() {
        let long_word = line.split(' ').any(|w| w.chars().count() > 40);
        assert!(line.chars().count() <= 60 || long_word, "{line:?}");
    }
    assert!(text.lines().any(|l| l.starts_with("       ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("hint: ")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("      ") && !l.starts_with("       ")),
        "{text}"
    );
}
