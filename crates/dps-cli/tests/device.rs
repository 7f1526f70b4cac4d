//! `dps-cli device register` and `dps-cli emulator start`, driven as a user would: the built
//! binary against an emulator running in this process (on its own thread, so the test can
//! block on the subprocess), exit codes and outputs checked.

use assert_cmd::cargo::cargo_bin_cmd;
use dps_certgen::{
    CertDir, ChainOptions, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, ROOT_PREFIX, Signer,
};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::models::{EnrollmentGroup, SymmetricKeyAttestation};
use dps_service_client::{ClientOptions, ProvisioningServiceClient};
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const GROUP_KEY: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";

/// A certGen folder with an ECDSA chain and devices signed by the intermediate.
fn chain(dir: &Path, devices: &[&str]) -> CertDir {
    let certs = CertDir::new(dir);
    certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            password: None,
            ..ChainOptions::default()
        })
        .expect("chain");
    leaves(&certs, devices, Signer::Intermediate);
    certs
}

fn leaves(certs: &CertDir, names: &[&str], signer: Signer) {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    certs
        .create_device_certificates(
            &names,
            &LeafOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                password: None,
                signer,
                pfx: false,
                ..LeafOptions::default()
            },
            &|_, _| {},
        )
        .expect("devices");
}

/// An emulator with the chain's root registered as a verified CA and an X.509 group "grp" on
/// the intermediate.
struct Setup {
    _tmp: tempfile::TempDir,
    certs: CertDir,
    data_dir: PathBuf,
    emulator: Emulator,
}

impl Setup {
    fn new(devices: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let certs = chain(&tmp.path().join("certs"), devices);
        let data_dir = tmp.path().join("emulator");
        let mut config = EmulatorConfig::for_tests(&data_dir);
        config.ca_certificates = vec![("root".into(), certs.cert_path(ROOT_PREFIX))];
        let emulator = Emulator::spawn(config).expect("emulator starts");
        let setup = Self {
            _tmp: tmp,
            certs,
            data_dir,
            emulator,
        };
        let intermediate =
            std::fs::read(setup.certs.cert_path(INTERMEDIATE_PREFIX)).expect("intermediate");
        let client = setup.client();
        rt().block_on(client.create_x509_enrollment_group("grp", &intermediate, None, None))
            .expect("group created");
        setup
    }

    fn client(&self) -> ProvisioningServiceClient {
        ProvisioningServiceClient::from_connection_string(
            &self.emulator.service_connection_string(),
            Some(ClientOptions {
                trusted_ca_pem: vec![self.emulator.ca_pem().as_bytes().to_vec()],
                trust_only_custom_ca: true,
                ..ClientOptions::default()
            }),
        )
        .expect("client")
    }

    fn register(&self) -> assert_cmd::Command {
        let mut cmd = cargo_bin_cmd!("dps-cli");
        cmd.env_remove("DPS_CA_FILE")
            .args(["device", "register", "--emulator"])
            .arg(&self.data_dir);
        cmd
    }

    fn device(&self, name: &str) -> (PathBuf, PathBuf) {
        (self.certs.full_chain_path(name), self.certs.key_path(name))
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn an_x509_device_gets_its_hub() {
    let s = Setup::new(&["dev1", "dev2"]);
    let (cert, key) = s.device("dev1");
    s.register()
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("assigned"))
        .stdout(predicate::str::contains(
            dps_emulator::config::DEFAULT_IOT_HUB,
        ))
        .stdout(predicate::str::contains("grp"))
        .stdout(predicate::str::contains("initialAssignment"));

    // JSON: the DeviceRegistrationResult. The leaf alone plus --chain works too.
    let out = s
        .register()
        .args(["--output", "json", "--cert"])
        .arg(s.certs.cert_path("dev2"))
        .arg("--chain")
        .arg(s.certs.cert_path(INTERMEDIATE_PREFIX))
        .arg("--key")
        .arg(s.certs.key_path("dev2"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["registrationId"], "dev2");
    assert_eq!(v["status"], "assigned");
    assert_eq!(v["assignedHub"], dps_emulator::config::DEFAULT_IOT_HUB);
    assert_eq!(v["deviceId"], "dev2");
    assert_eq!(v["x509"]["enrollmentGroupId"], "grp");
}

#[test]
fn a_refused_device_exits_1_with_the_service_code_and_a_hint() {
    let s = Setup::new(&[]);
    // Signed by the root: its chain never reaches the group on the intermediate.
    leaves(&s.certs, &["rootdev"], Signer::Root);
    let (cert, key) = s.device("rootdev");
    s.register()
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("error: HTTP 401 (401002): "))
        .stderr(predicate::str::contains("hint: "))
        .stderr(predicate::str::contains(" doctor --cert"))
        .stderr(predicate::str::contains("--registration-id rootdev"));
}

#[test]
fn a_key_that_does_not_match_is_refused_before_sending() {
    let s = Setup::new(&["dev1", "dev2"]);
    s.register()
        .arg("--cert")
        .arg(s.certs.full_chain_path("dev1"))
        .arg("--key")
        .arg(s.certs.key_path("dev2"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "does not belong to the certificate",
        ));
}

#[test]
fn symmetric_key_devices_register_with_a_group_key() {
    let s = Setup::new(&[]);
    let group = EnrollmentGroup::symmetric_key(
        "sk-grp",
        Some(SymmetricKeyAttestation::new(GROUP_KEY, GROUP_KEY)),
    );
    rt().block_on(s.client().create_or_update_enrollment_group(&group, None))
        .expect("group created");
    s.register()
        .args(["--registration-id", "sk-dev-1", "--group-key", GROUP_KEY])
        .assert()
        .success()
        .stdout(predicate::str::contains("sk-grp"));
    let wrong = "d3JvbmcgZ3JvdXAga2V5IC0gdGhpcnR5LXR3byBieXRlcyE=";
    s.register()
        .args(["--registration-id", "sk-dev-2", "--group-key", wrong])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("401002"))
        .stderr(predicate::str::contains("hint: check the key"));
}

#[test]
fn usage_errors_exit_2() {
    // No attestation at all. (--cert without --key is not a usage error: a PFX holds its key.)
    cargo_bin_cmd!("dps-cli")
        .args(["device", "register", "--id-scope", "0ne00000000"])
        .assert()
        .code(2);
    // A symmetric key needs the registration id.
    cargo_bin_cmd!("dps-cli")
        .args([
            "device",
            "register",
            "--id-scope",
            "0ne00000000",
            "--group-key",
            GROUP_KEY,
        ])
        .assert()
        .code(2);
}

#[test]
fn no_emulator_running_says_how_to_start_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    cargo_bin_cmd!("dps-cli")
        .args([
            "device",
            "register",
            "--registration-id",
            "d",
            "--group-key",
            GROUP_KEY,
            "--emulator",
        ])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("emulator.json"))
        .stderr(predicate::str::contains(
            "hint: start one with `dps-cli emulator start",
        ));
}

#[cfg(unix)]
#[test]
fn emulator_start_writes_its_info_and_stops_on_sigterm() {
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("emu");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("dps-cli"))
        .args([
            "emulator",
            "start",
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
            "--in-memory",
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dps-cli starts");
    let info_path = data.join("emulator.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        if let Ok(text) = std::fs::read_to_string(&info_path)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        {
            break v;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no emulator.json after 20 s");
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("dps-cli emulator start exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(info["idScope"], dps_emulator::config::DEFAULT_ID_SCOPE);
    assert_eq!(info["pid"], child.id());
    assert!(info["port"].as_u64().is_some_and(|p| p > 0), "{info}");
    assert!(
        info["deviceEndpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("https://localhost:"))
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dps-cli emulator start did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("output");
    assert!(
        status.success(),
        "exit {status}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("dps-emulator listening on https://localhost:"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shutting down"));
}
