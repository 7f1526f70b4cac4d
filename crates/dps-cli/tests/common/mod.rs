//! What the end-to-end tests share: an emulator in this process (on its own threads, so a
//! test can block on the `dps-cli` subprocess), a test chain, the command with a clean
//! environment, JSON parsing and the redaction of volatile fields for snapshots.

#![allow(dead_code, unreachable_pub)]

use assert_cmd::cargo::cargo_bin_cmd;
use dps_certgen::{CertDir, ChainOptions, KeyAlgorithm, LeafOptions, Signer};
use dps_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The certGen files of [`Env::chain`], relative to the test's folder.
pub const TOUR_ROOT: &str = "certs/certs/azure-iot-test-only.root.ca.cert.pem";
pub const TOUR_ROOT_KEY: &str = "certs/private/azure-iot-test-only.root.ca.key.pem";
pub const TOUR_INTERMEDIATE: &str = "certs/certs/azure-iot-test-only.intermediate.cert.pem";

/// An emulator in a temporary folder, with a certGen folder beside it.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub emulator: Emulator,
}

impl Env {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("emulator");
        let emulator = Emulator::spawn(EmulatorConfig::for_tests(&data_dir)).expect("emulator");
        Self {
            tmp,
            data_dir,
            emulator,
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `dps-cli --emulator DATA_DIR`, run in the temporary folder.
    pub fn cli(&self) -> assert_cmd::Command {
        let mut cmd = bare();
        cmd.current_dir(self.path())
            .arg("--emulator")
            .arg(&self.data_dir);
        cmd
    }

    /// `dps-cli` with the service given the way the seed's scripts do: the connection string
    /// and the CA in the environment.
    pub fn cli_env(&self) -> assert_cmd::Command {
        let mut cmd = bare();
        cmd.current_dir(self.path())
            .env(
                "DPS_CONNECTION_STRING",
                self.emulator.service_connection_string(),
            )
            .env("DPS_CA_FILE", self.emulator.ca_path());
        cmd
    }

    /// `dps-cli --emulator DATA_DIR --output json ARGS`, which must succeed; its stdout parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self
            .cli()
            .args(["--output", "json"])
            .args(args)
            .output()
            .expect("runs");
        parse(&out, args, true)
    }

    /// Proves possession of `certs/`'s root under `name` (upload, code, verify).
    pub fn prove_root(&self, name: &str) {
        self.json(&[
            "certificate",
            "prove",
            "--name",
            name,
            "--cert",
            TOUR_ROOT,
            "--key",
            TOUR_ROOT_KEY,
        ]);
    }

    /// Uploads `certs/`'s root as `name` and returns the verification code DPS issues for it.
    pub fn root_verification_code(&self, name: &str) -> String {
        self.json(&["certificate", "upload", "--name", name, "--cert", TOUR_ROOT]);
        let code = self.json(&["certificate", "generate-verification-code", "--name", name]);
        code["properties"]["verificationCode"]
            .as_str()
            .expect("code")
            .to_owned()
    }

    /// What the README's tour sets up: the chain in `certs/`, its root proven as `root`, and
    /// the group `grp` on its intermediate.
    pub fn tour(&self) {
        self.chain();
        self.prove_root("root");
        self.json(&[
            "enrollment-group",
            "create",
            "--group-id",
            "grp",
            "--cert",
            TOUR_INTERMEDIATE,
        ]);
    }

    /// A certGen folder with an ECDSA chain (key password 1234, as certGen.sh's).
    pub fn chain(&self) -> CertDir {
        let certs = CertDir::new(self.path().join("certs"));
        certs
            .create_root_and_intermediate(&ChainOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                ..ChainOptions::default()
            })
            .expect("chain");
        certs
    }
}

/// `dps-cli` with none of the variables the tests set themselves.
pub fn bare() -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("dps-cli");
    for v in [
        "DPS_CONNECTION_STRING",
        "DPS_CA_FILE",
        "AZURE_ACCESS_TOKEN",
        "RUST_LOG",
        "XDG_DATA_HOME",
        "DPS_EMULATOR_LISTEN",
        // A width would fold human output (see `output::text_width`); tests that want one set it.
        "COLUMNS",
    ] {
        cmd.env_remove(v);
    }
    // An emulator started through dps-cli serves MQTT on a free port, not 8883, so parallel
    // tests never collide.
    cmd.env("DPS_EMULATOR_MQTT_LISTEN", "127.0.0.1:0");
    cmd.env("DPS_EMULATOR_CONSOLE_LISTEN", "127.0.0.1:0");
    cmd
}

/// Parses a command's stdout as JSON, checking its exit code first.
pub fn parse(out: &std::process::Output, args: &[&str], success: bool) -> Value {
    assert_eq!(
        out.status.success(),
        success,
        "dps-cli {args:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "dps-cli {args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Device certificates signed by the intermediate (or the root), ECDSA.
pub fn devices(certs: &CertDir, names: &[&str], signer: Signer) {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    certs
        .create_device_certificates(
            &names,
            &LeafOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                signer,
                pfx: false,
                ..LeafOptions::default()
            },
            &|_, _| {},
        )
        .expect("devices");
}

/// The stdout of a successful command, as text.
pub fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The insta filters that replace what changes from run to run: timestamps, thumbprints,
/// serial numbers, keys, verification codes, etags and ports.
pub fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (
            r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
            "[DATE]",
        ),
        (r"\b[0-9A-F]{64}\b", "[SHA256]"),
        (r"\b[0-9A-F]{48}\b", "[CODE]"),
        (r"\b[0-9A-F]{40}\b", "[SHA1]"),
        (r"(?m)^(etag\s+)\S+$", "${1}[ETAG]"),
        (r"(?m)(\s)[A-Za-z0-9+/]{86}==$", "${1}[KEY]"),
        (r"localhost:\d+", "localhost:[PORT]"),
    ]
}

/// Asserts a table output against its snapshot, volatile fields redacted.
#[macro_export]
macro_rules! assert_table {
    ($name:expr, $text:expr) => {
        insta::with_settings!({filters => $crate::common::redactions()}, {
            insta::assert_snapshot!($name, $text);
        });
    };
}
