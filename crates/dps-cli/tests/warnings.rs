//! Warnings at enrollment time: `enrollment-group create` (and `update` with a new
//! certificate) succeeds but warns on stderr when the group's certificate is not a CA, is a CA
//! neither verified nor under a verified CA of the DPS, or expires within 7 days; each warning
//! names the command that fixes it, and that command runs as printed. In JSON mode stdout
//! stays one JSON document. A group on a proven chain gets no warning.

mod common;
mod hint_runner;

use common::{Env, devices};
use dps_certgen::{CertDir, ChainOptions, KeyAlgorithm, Signer};
use hint_runner::{HintShell, commands_of};

const ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";
const ROOT_KEY: &str = "certs/private/azure-iot-test-only.root.ca.key.pem";
const INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";

/// Runs `dps-cli --emulator DIR ARGS`, which must succeed; (stdout, stderr).
fn run(env: &Env, args: &[&str]) -> (String, String) {
    let out = env.cli().args(args).output().expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "dps-cli {args:?} must succeed\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

fn create(group: &str, cert: &str) -> Vec<String> {
    [
        "enrollment-group",
        "create",
        "--group-id",
        group,
        "--cert",
        cert,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn a_group_on_a_proven_chain_gets_no_warning() {
    let env = Env::new();
    env.chain();
    env.prove_root("root");
    // On the intermediate (under the verified root), and on the verified root itself.
    for (group, cert) in [("on-intermediate", INTERMEDIATE), ("on-root", ROOT)] {
        let (_, stderr) = run(&env, &args(&create(group, cert)));
        assert!(stderr.is_empty(), "{group}: {stderr}");
    }
    let (_, stderr) = run(
        &env,
        &[
            "enrollment-group",
            "update",
            "--group-id",
            "on-root",
            "--cert",
            INTERMEDIATE,
        ],
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_device_certificate_as_group_certificate_warns_with_the_ca_to_enroll() {
    let env = Env::new();
    env.chain();
    env.prove_root("root");
    devices(
        &CertDir::new(env.path().join("certs")),
        &["dev1"],
        Signer::Intermediate,
    );
    // JSON mode: the group on stdout, the warning on stderr.
    let mut create = create("grp", "certs/certs/dev1.cert.pem");
    create.splice(0..0, ["--output".to_owned(), "json".to_owned()]);
    let (stdout, stderr) = run(&env, &args(&create));
    let group: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(group["enrollmentGroupId"], "grp");
    assert!(stderr.contains("is not a CA certificate"), "{stderr}");
    let commands = commands_of(&stderr, "warning: ");
    assert_eq!(commands.len(), 2, "{stderr}");
    assert!(
        commands[0].ends_with(&format!(
            "enrollment-group update --group-id grp --cert {INTERMEDIATE}"
        )),
        "{stderr}"
    );
    assert!(
        commands[1]
            .ends_with("enrollment create --registration-id dev1 --cert certs/certs/dev1.cert.pem"),
        "{stderr}"
    );
    let shell = HintShell::new(env.path());
    for c in &commands {
        let out = shell.run(c);
        assert!(out.status.success(), "{c}");
        // The fixed group is on a proven chain: no warning left.
        assert!(
            out.stderr.is_empty(),
            "{c}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_unverified_ca_warns_with_the_prove_command() {
    let env = Env::new();
    env.chain();
    let (_, stderr) = run(&env, &args(&create("grp", INTERMEDIATE)));
    assert!(stderr.contains("neither verified on the DPS"), "{stderr}");
    let commands = commands_of(&stderr, "warning: ");
    assert_eq!(
        commands,
        [format!(
            "dps-cli --emulator {} certificate prove --name azure-iot-test-only.intermediate \
             --cert {INTERMEDIATE} --key certs/private/azure-iot-test-only.intermediate.key.pem",
            env.data_dir.display()
        )]
    );
    HintShell::new(env.path()).ok(&commands[0]);
    let (_, stderr) = run(
        &env,
        &[
            "enrollment-group",
            "update",
            "--group-id",
            "grp",
            "--cert",
            INTERMEDIATE,
        ],
    );
    assert!(stderr.is_empty(), "proven: {stderr}");

    // A CA already on the DPS, unverified: proven under the name it has there.
    env.json(&["certificate", "upload", "--name", "my-root", "--cert", ROOT]);
    let (_, stderr) = run(&env, &args(&create("on-root", ROOT)));
    let commands = commands_of(&stderr, "warning: ");
    assert!(
        commands[0].contains("certificate prove --name my-root --cert"),
        "{stderr}"
    );
    HintShell::new(env.path()).ok(&commands[0]);
    let shown = env.json(&["certificate", "show", "--name", "my-root"]);
    assert_eq!(shown["properties"]["isVerified"], true);
}

#[test]
fn a_reference_to_an_unverified_ca_warns() {
    let env = Env::new();
    env.chain();
    env.json(&["certificate", "upload", "--name", "root", "--cert", ROOT]);
    let (_, stderr) = run(
        &env,
        &[
            "enrollment-group",
            "create",
            "--group-id",
            "by-name",
            "--ca-reference",
            "root",
        ],
    );
    assert!(
        stderr.contains("the CA certificate \"root\" the group references is not verified"),
        "{stderr}"
    );
    let (_, stderr) = run(
        &env,
        &[
            "enrollment-group",
            "create",
            "--group-id",
            "by-other",
            "--ca-reference",
            "nope",
        ],
    );
    assert!(
        stderr.contains("has no CA certificate \"nope\""),
        "{stderr}"
    );
    HintShell::new(env.path()).ok(&commands_of(&stderr, "warning: ")[0]);
}

#[test]
fn a_ca_expiring_within_7_days_warns_with_the_renewal() {
    let env = Env::new();
    CertDir::new(env.path().join("certs"))
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 3,
            ..ChainOptions::default()
        })
        .expect("chain");
    env.prove_root("root");
    let (_, stderr) = run(&env, &args(&create("grp", INTERMEDIATE)));
    assert!(stderr.contains("within 7 days"), "{stderr}");
    assert!(
        !stderr.contains("neither verified"),
        "only the expiry: {stderr}"
    );
    let commands = commands_of(&stderr, "warning: ");
    assert_eq!(
        commands[0], "dps-cli certs create-root-and-intermediate --out certs --force",
        "{stderr}"
    );
    assert!(
        commands[1].ends_with(&format!(
            "enrollment-group update --group-id grp --cert {INTERMEDIATE}"
        )),
        "{stderr}"
    );
    let shell = HintShell::new(env.path());
    shell.ok(&commands[0]);
    let out = shell.run(&commands[1]);
    assert!(out.status.success(), "{}", commands[1]);
    // Renewed: no expiry warning (the new root is not proven yet, as the warning said).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("within 7 days"), "{stderr}");
    assert!(stderr.contains("neither verified"), "{stderr}");
}

/// A group that references a CA certificate by name gets the expiry warning too, with the
/// commands that replace the certificate under that name; run with the renewed CA's files in
/// place of CA_CERT and CA_KEY (as the warning says), the warning is gone.
#[test]
fn a_referenced_ca_expiring_within_7_days_warns_with_its_replacement() {
    let env = Env::new();
    CertDir::new(env.path().join("certs"))
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 3,
            ..ChainOptions::default()
        })
        .expect("chain");
    env.prove_root("root");
    let group = ["enrollment-group", "create", "--group-id", "by-name"];
    let (_, stderr) = run(&env, &[&group[..], &["--ca-reference", "root"]].concat());
    assert!(
        stderr.contains("\"root\" the group references expires on"),
        "{stderr}"
    );
    assert!(stderr.contains("where CA_CERT is"), "{stderr}");
    let commands = commands_of(&stderr, "warning: ");
    assert_eq!(commands.len(), 2, "{stderr}");
    assert!(
        commands[0].ends_with("certificate delete --name root"),
        "{stderr}"
    );
    let shell = HintShell::new(env.path());
    shell.ok(&commands[0]);
    shell.ok("dps-cli certs create-root-and-intermediate --algorithm ecdsa-p256 --force");
    shell.ok(&commands[1]
        .replace("CA_CERT", ROOT)
        .replace("CA_KEY", ROOT_KEY));
    let update = [
        "enrollment-group",
        "update",
        "--group-id",
        "by-name",
        "--ca-reference",
        "root",
    ];
    let (_, stderr) = run(&env, &update);
    assert!(!stderr.contains("warning"), "{stderr}");
}
