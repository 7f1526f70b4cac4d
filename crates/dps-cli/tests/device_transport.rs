//! `dps-cli device register --transport mqtt|mqtt-ws` and `doctor --transport`, driven as a
//! user would: the built binary against an emulator running in this process with its MQTT
//! listener on 127.0.0.1:0 (or off), the endpoints read from its `emulator.json`.

use assert_cmd::cargo::cargo_bin_cmd;
use dps_certgen::{
    CertDir, ChainOptions, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, ROOT_PREFIX, Signer,
};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::models::{EnrollmentGroup, SymmetricKeyAttestation};
use dps_service_client::{ClientOptions, ProvisioningServiceClient};
use predicates::prelude::*;
use std::path::PathBuf;

const GROUP_KEY: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";
const WRONG_KEY: &str = "d3JvbmcgZ3JvdXAga2V5IC0gdGhpcnR5LXR3byBieXRlcyE=";

/// An emulator (MQTT on or off) with the chain's root verified, an X.509 group "grp" on the
/// intermediate and a symmetric-key group "sk-grp".
struct Setup {
    _tmp: tempfile::TempDir,
    certs: CertDir,
    data_dir: PathBuf,
    _emulator: Emulator,
}

impl Setup {
    fn new(mqtt: bool) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let certs = CertDir::new(tmp.path().join("certs"));
        certs
            .create_root_and_intermediate(&ChainOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                password: None,
                ..ChainOptions::default()
            })
            .expect("chain");
        for signer in [Signer::Intermediate, Signer::Root] {
            let name = match signer {
                Signer::Intermediate => "dev1",
                Signer::Root => "rootdev",
            };
            certs
                .create_device_certificates(
                    &[name.to_owned()],
                    &LeafOptions {
                        algorithm: KeyAlgorithm::EcdsaP256,
                        password: None,
                        signer,
                        pfx: false,
                        ..LeafOptions::default()
                    },
                    &|_, _| {},
                )
                .expect("device");
        }
        let data_dir = tmp.path().join("emulator");
        let mut config = EmulatorConfig::for_tests(&data_dir);
        config.ca_certificates = vec![("root".into(), certs.cert_path(ROOT_PREFIX))];
        if mqtt {
            config.mqtt_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
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
        let intermediate = std::fs::read(certs.cert_path(INTERMEDIATE_PREFIX)).expect("read");
        let sk = EnrollmentGroup::symmetric_key(
            "sk-grp",
            Some(SymmetricKeyAttestation::new(GROUP_KEY, GROUP_KEY)),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            client
                .create_x509_enrollment_group("grp", &intermediate, None, None)
                .await
                .expect("x509 group");
            client
                .create_or_update_enrollment_group(&sk, None)
                .await
                .expect("symmetric group");
        });
        Self {
            _tmp: tmp,
            certs,
            data_dir,
            _emulator: emulator,
        }
    }

    fn register(&self, transport: &str) -> assert_cmd::Command {
        let mut cmd = cargo_bin_cmd!("dps-cli");
        cmd.env_remove("DPS_CA_FILE")
            .args(["device", "register", "--transport", transport, "--emulator"])
            .arg(&self.data_dir);
        cmd
    }

    fn x509(&self, cmd: &mut assert_cmd::Command, name: &str) {
        cmd.arg("--cert")
            .arg(self.certs.full_chain_path(name))
            .arg("--key")
            .arg(self.certs.key_path(name));
    }
}

#[test]
fn devices_register_over_mqtt_and_websocket() {
    let s = Setup::new(true);
    for transport in ["mqtt", "mqtt-ws"] {
        let mut cmd = s.register(transport);
        s.x509(&mut cmd, "dev1");
        cmd.assert()
            .success()
            .stdout(predicate::str::contains("assigned"))
            .stdout(predicate::str::contains(
                dps_emulator::config::DEFAULT_IOT_HUB,
            ))
            .stdout(predicate::str::contains("grp"));
        let id = format!("sk-{transport}");
        s.register(transport)
            .args(["--registration-id", &id, "--group-key", GROUP_KEY])
            .assert()
            .success()
            .stdout(predicate::str::contains("sk-grp"));
    }
}

#[test]
fn refusals_over_mqtt_say_why_and_what_to_run() {
    let s = Setup::new(true);
    // A SAS that fails ends at CONNECT: unauthorized, with no code, and the key hint.
    s.register("mqtt")
        .args(["--registration-id", "sk-wrong", "--group-key", WRONG_KEY])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "refused the MQTT CONNECT: not authorized (CONNACK return code 5)",
        ))
        .stderr(predicate::str::contains("emulator's log"))
        .stderr(predicate::str::contains("hint: check the key"));
    // A chain that misses the group arrives after CONNECT as 401002; doctor is suggested with
    // the transport, and its note says how the device learns it.
    let mut cmd = s.register("mqtt-ws");
    s.x509(&mut cmd, "rootdev");
    cmd.assert()
        .code(1)
        .stderr(predicate::str::contains("401 (401002): "))
        .stderr(predicate::str::contains(" doctor --cert"))
        .stderr(predicate::str::contains("--transport mqtt-ws"));
    cargo_bin_cmd!("dps-cli")
        .env_remove("DPS_CA_FILE")
        .args(["doctor", "--transport", "mqtt-ws", "--emulator"])
        .arg(&s.data_dir)
        .arg("--cert")
        .arg(s.certs.full_chain_path("rootdev"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[ok]   transport"))
        .stdout(predicate::str::contains("after CONNECT"));
}

#[test]
fn mqtt_off_is_a_clear_error_and_websocket_still_works() {
    let s = Setup::new(false);
    s.register("mqtt")
        .args(["--registration-id", "sk-off", "--group-key", GROUP_KEY])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the emulator runs with MQTT off"))
        .stderr(predicate::str::contains("has no mqttEndpoint"))
        .stderr(predicate::str::contains(
            "hint: stop it and start it without --mqtt-listen off",
        ))
        .stderr(predicate::str::contains("--transport mqtt-ws"));
    s.register("mqtt-ws")
        .args(["--registration-id", "sk-ws", "--group-key", GROUP_KEY])
        .assert()
        .success()
        .stdout(predicate::str::contains("sk-grp"));
}

#[test]
fn mqtt_usage_errors_exit_2() {
    let s = Setup::new(true);
    s.register("mqtt")
        .args(["--registration-id", "p", "--group-key", GROUP_KEY])
        .args(["--proxy", "http://127.0.0.1:9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--proxy works over --transport https only",
        ));
    cargo_bin_cmd!("dps-cli")
        .args([
            "device",
            "register",
            "--transport",
            "amqp",
            "--id-scope",
            "0ne00000000",
        ])
        .args(["--registration-id", "p", "--group-key", GROUP_KEY])
        .assert()
        .code(2);
}
