//! State integrity: whatever the emulator accepts it can store and read back (JSON depth), one
//! emulator per data folder (the lock), a damaged, emptied or vanished store is refused at
//! start and `--reset` starts over, damage while running fails writes loudly, and everything
//! the emulator creates is its owner's only whatever the umask.

#![allow(clippy::unwrap_used)]

#[path = "state_integrity/depth.rs"]
mod depth;
#[path = "state_integrity/folder.rs"]
mod folder;
#[path = "state_integrity/running.rs"]
mod running;

use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::auth::{SasToken, Secret, unix_now};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for anything the emulator does.
const WAIT: Duration = Duration::from_secs(30);

/// The `dps-emulator` binary on `dir` with ephemeral ports (MQTT and the console off).
fn binary(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dps-emulator"));
    cmd.args(["--listen", "127.0.0.1:0", "--mqtt-listen", "off"])
        .args(["--console-listen", "off", "--data-dir"])
        .arg(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Starts `cmd` and waits until `emulator.json` in `dir` names the child's pid.
// The child is returned to the caller, which kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start(mut cmd: Command, dir: &Path) -> (Child, serde_json::Value) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("emulator.json"))
            && let Ok(info) = serde_json::from_str::<serde_json::Value>(&text)
            && info["pid"] == child.id()
        {
            return (child, info);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the emulator exited ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(Instant::now() < deadline, "emulator.json did not appear");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `cmd`, which must exit by itself (a refusal); kills it if it is still running after
/// [`WAIT`].
fn refused(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the emulator started: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Kills a child emulator (SIGKILL) and reaps it.
fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// An in-process emulator keeping its state in `dir` (test defaults otherwise).
fn on_disk(dir: &Path) -> EmulatorConfig {
    EmulatorConfig {
        in_memory: false,
        ..EmulatorConfig::for_tests(dir)
    }
}

/// A raw HTTPS client of an in-process emulator: reqwest trusting its CA, `localhost`
/// resolving to its 127.0.0.1 address, with the owner policy's SAS token.
struct Raw {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    fn new(e: &Emulator) -> Self {
        let ca = reqwest::Certificate::from_pem(e.ca_pem().as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([ca])
            .resolve("localhost", e.addr())
            .http1_only()
            .timeout(WAIT)
            .build()
            .unwrap();
        let owner = e.service_connection_string();
        let key = Secret::from(owner.rsplit_once("SharedAccessKey=").unwrap().1);
        let policy = Some(dps_emulator::config::OWNER_POLICY);
        let token = SasToken::generate(&e.host(), &key, policy, unix_now() + 3600).unwrap();
        Self {
            client,
            base: e.service_endpoint(),
            token,
        }
    }

    /// Sends `body` with `method` to `path` (with the api-version); the status and the JSON
    /// answer (`null` when empty).
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .request(
                method,
                format!("{}{path}?api-version=2021-10-01", self.base),
            )
            .header("authorization", &self.token);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, value)
    }

    /// `PUT /enrollments/{id}` of a symmetric-key enrollment with `extra` fields.
    async fn put_enrollment(&self, id: &str, extra: serde_json::Value) -> (u16, serde_json::Value) {
        let mut body = serde_json::json!({
            "registrationId": id,
            "attestation": {"type": "symmetricKey"},
        });
        if let (Some(b), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        self.send(
            reqwest::Method::PUT,
            &format!("/enrollments/{id}"),
            Some(body.to_string()),
        )
        .await
    }
}
