//! Feedback while waiting: `dps-cli emulator start` logs each request (method, path, status,
//! duration, registration id) and each device refusal with its reason on stderr, and never a
//! key, signature or token; spinners and progress bars stay off stderr when it is a pipe.
//!
//! Everything runs against 127.0.0.1; no test asserts a duration's value.

mod common;

use common::{Env, bare, devices};
use dps_certgen::{CertDir, ChainOptions, INTERMEDIATE_PREFIX, KeyAlgorithm, ROOT_PREFIX, Signer};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GROUP_KEY: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";

/// A `dps-cli emulator start` child, killed if the test fails before it stops it.
struct Running {
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Running {
    /// Starts the emulator on 127.0.0.1:0 in `data` and waits for its emulator.json.
    fn start(data: &Path) -> (Self, serde_json::Value) {
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
                "--generate-keys",
                "--pending-polls",
                "0",
                "--data-dir",
            ])
            .arg(data)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dps-cli emulator start runs");
        // Read stderr as it comes, so a full pipe never blocks the emulator.
        let mut pipe = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        let mut running = Self {
            child,
            stderr: Some(stderr),
        };
        let info_path = data.join("emulator.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        let info = loop {
            if let Ok(text) = std::fs::read_to_string(&info_path)
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            {
                break v;
            }
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!(
                    "dps-cli emulator start exited early: {status}: {}",
                    running.stop_output()
                );
            }
            assert!(Instant::now() < deadline, "no emulator.json after 30 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        (running, info)
    }

    /// Stops the emulator with SIGTERM and returns everything it wrote on stderr.
    fn stop(mut self) -> String {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(
                Instant::now() < deadline,
                "dps-cli emulator start did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop_output()
    }

    fn stop_output(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certGen folder with an unencrypted ECDSA chain.
fn chain(dir: &Path) -> CertDir {
    let certs = CertDir::new(dir);
    certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            password: None,
            ..ChainOptions::default()
        })
        .expect("chain");
    certs
}

/// `dps-cli --emulator DATA ARGS`, with stdout and stderr captured (no terminal).
fn run(data: &Path, args: &[&str]) -> std::process::Output {
    bare()
        .arg("--emulator")
        .arg(data)
        .args(args)
        .output()
        .expect("dps-cli runs")
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The lines of `log` that contain every one of `parts`.
fn lines_with<'a>(log: &'a str, parts: &[&str]) -> Vec<&'a str> {
    log.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .collect()
}

fn assert_no_redraws(what: &str, stderr: &[u8]) {
    let text = String::from_utf8_lossy(stderr);
    assert!(
        !text.contains('\r') && !text.contains('\u{1b}'),
        "{what} drew a spinner or progress bar on a pipe: {text:?}"
    );
}

#[cfg(unix)]
#[test]
fn emulator_start_logs_requests_and_refusals_without_secrets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let certs = chain(&tmp.path().join("certs"));
    devices(&certs, &["feedback-dev1"], Signer::Intermediate);
    // Signed by the root: its chain never reaches the group on the intermediate.
    devices(&certs, &["feedback-rootdev"], Signer::Root);
    let data = tmp.path().join("emu");
    let (emulator, info) = Running::start(&data);
    let scope = info["idScope"].as_str().expect("idScope").to_owned();
    let connection = info["serviceConnectionString"]
        .as_str()
        .expect("serviceConnectionString")
        .to_owned();
    let shared_key = connection
        .split(';')
        .find_map(|p| p.strip_prefix("SharedAccessKey="))
        .expect("a SharedAccessKey")
        .to_owned();

    let root = certs.cert_path(ROOT_PREFIX);
    let root_key = certs.key_path(ROOT_PREFIX);
    let intermediate = certs.cert_path(INTERMEDIATE_PREFIX);
    let device =
        |name: &str| -> (PathBuf, PathBuf) { (certs.full_chain_path(name), certs.key_path(name)) };
    let mut outputs = Vec::new();
    let mut ok = |what: &str, args: &[&str]| {
        let out = run(&data, args);
        assert!(
            out.status.success(),
            "{what}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((what.to_owned(), out));
    };
    ok(
        "certificate prove",
        &[
            "certificate",
            "prove",
            "--name",
            "feedback-root",
            "--cert",
            arg(&root),
            "--key",
            arg(&root_key),
        ],
    );
    ok(
        "enrollment-group create (X.509)",
        &[
            "enrollment-group",
            "create",
            "--group-id",
            "feedback-grp",
            "--cert",
            arg(&intermediate),
        ],
    );
    ok(
        "enrollment-group create (symmetric key)",
        &[
            "enrollment-group",
            "create",
            "--group-id",
            "feedback-sk",
            "--symmetric-key",
            "--primary-key",
            GROUP_KEY,
            "--secondary-key",
            GROUP_KEY,
        ],
    );
    let (cert, key) = device("feedback-dev1");
    ok(
        "device register (X.509)",
        &[
            "device",
            "register",
            "--cert",
            arg(&cert),
            "--key",
            arg(&key),
        ],
    );
    // A symmetric-key device sends a SAS token in Authorization: it must not reach the log.
    ok(
        "device register (group key)",
        &[
            "device",
            "register",
            "--registration-id",
            "feedback-sk-dev",
            "--group-key",
            GROUP_KEY,
        ],
    );
    let (cert, key) = device("feedback-rootdev");
    let refused = run(
        &data,
        &[
            "device",
            "register",
            "--cert",
            arg(&cert),
            "--key",
            arg(&key),
        ],
    );
    assert_eq!(refused.status.code(), Some(1), "the device is refused");
    outputs.push(("device register (refused)".to_owned(), refused));

    let log = emulator.stop();

    // One line per request, with method, path, status, duration and registration id.
    let register_path = format!("path=/{scope}/registrations/feedback-dev1/register");
    let registered = lines_with(
        &log,
        &[
            "request",
            "method=PUT",
            &register_path,
            "status=202",
            "duration_ms=",
            "registration_id=\"feedback-dev1\"",
        ],
    );
    assert_eq!(registered.len(), 1, "one register request logged:\n{log}");
    let polls = lines_with(
        &log,
        &[
            "method=GET",
            "/registrations/feedback-dev1/operations/",
            "status=200",
            "duration_ms=",
            "registration_id=\"feedback-dev1\"",
        ],
    );
    assert!(!polls.is_empty(), "the operation poll is logged:\n{log}");
    // The service API is logged too, without a registration id.
    let group = lines_with(&log, &["path=/enrollmentGroups", "status=200"]);
    assert!(!group.is_empty(), "the group's creation is logged:\n{log}");
    assert!(
        group.iter().all(|l| !l.contains("registration_id")),
        "{log}"
    );
    assert!(
        !lines_with(&log, &["/certificates/feedback-root/verify", "status=200"]).is_empty(),
        "proof of possession is logged:\n{log}"
    );
    // The query string (api-version) stays out of the path.
    assert!(!log.contains("api-version"), "{log}");

    // The refusal, with its reason: the message the device got.
    let refusals = lines_with(
        &log,
        &[
            "device refused",
            "registration_id=\"feedback-rootdev\"",
            "reason=",
        ],
    );
    assert_eq!(refusals.len(), 1, "one refusal logged:\n{log}");
    let refused_stderr = String::from_utf8_lossy(&outputs[outputs.len() - 1].1.stderr).into_owned();
    let reason = refusals[0]
        .split_once("reason=")
        .map(|(_, r)| r.trim())
        .expect("reason");
    let first_words: String = reason
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        first_words.len() > 10 && refused_stderr.contains(&first_words),
        "the logged reason {reason:?} is the one the device got: {refused_stderr}"
    );
    assert!(
        !lines_with(
            &log,
            &["status=401", "registration_id=\"feedback-rootdev\""]
        )
        .is_empty(),
        "{log}"
    );

    // Never a key, a signature or a token.
    for secret in [
        shared_key.as_str(),
        GROUP_KEY,
        "sig=",
        "SharedAccessSignature",
        "SharedAccessKey",
    ] {
        assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
    }

    // Piped, no command drew a spinner.
    for (what, out) in &outputs {
        assert_no_redraws(what, &out.stderr);
        assert_no_redraws(what, &out.stdout);
    }
}

#[test]
fn piped_register_and_batches_draw_no_progress() {
    let env = Env::new();
    let out = env
        .cli()
        .args([
            "enrollment-group",
            "create",
            "--group-id",
            "sk",
            "--symmetric-key",
            "--primary-key",
            GROUP_KEY,
            "--secondary-key",
            GROUP_KEY,
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cli()
        .args([
            "device",
            "register",
            "--registration-id",
            "quiet-dev",
            "--group-key",
            GROUP_KEY,
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_redraws("device register", &out.stderr);
    assert!(
        out.stderr.is_empty(),
        "nothing but the result: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let certs_dir = env.path().join("batch");
    let out = bare()
        .current_dir(env.path())
        .args([
            "certs",
            "create-root-and-intermediate",
            "--algorithm",
            "ecdsa-p256",
            "--out",
        ])
        .arg(&certs_dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bare()
        .current_dir(env.path())
        .args([
            "certs",
            "create-device-certificate",
            "batch",
            "--count",
            "3",
            "--algorithm",
            "ecdsa-p256",
            "--no-pfx",
            "--out",
        ])
        .arg(&certs_dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_redraws("certs --count 3", &out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("batch-3"),
        "the batch was made"
    );
}
