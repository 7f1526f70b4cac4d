//! Out of file descriptors, `accept` fails until a connection closes: the listener must pause
//! (5 ms, doubling to 1 s) instead of retrying at once, and serve again once descriptors are
//! free. Run on the `dps-emulator` binary under `prlimit --nofile` (skipped where `prlimit`
//! is missing), counting the "cannot accept" warnings it logs.

use dps_service_client::{ClientOptions, ErrorKind, ProvisioningServiceClient};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the descriptors stay exhausted while the warnings are counted.
const WINDOW: Duration = Duration::from_secs(4);

#[test]
fn out_of_descriptors_the_accept_loop_backs_off_and_recovers() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit is not installed: the descriptor-exhaustion test is skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg(env!("CARGO_BIN_EXE_dps-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "off",
            "--console-listen",
            "off",
            "--in-memory",
            "--handshake-timeout",
            "600",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("emulator starts");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = child.stderr.take().expect("stderr");
    let collected = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            collected.lock().expect("lines").push(line);
        }
    });
    let refusals = || {
        lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|l| l.contains("cannot accept a connection"))
            .count()
    };
    let info = wait_for_info(dir.path());
    let port = info["port"].as_u64().expect("port") as u16;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // Connections that never start TLS use up the emulator's descriptors; the rest wait in
    // the backlog, and every `accept` fails.
    let mut held = Vec::new();
    for _ in 0..150 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(tcp) => held.push(tcp),
            Err(_) => break,
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while refusals() == 0 {
        assert!(Instant::now() < deadline, "accept never failed: {held:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = refusals();
    std::thread::sleep(WINDOW);
    let during = refusals() - before;
    eprintln!("{during} failed accepts in {WINDOW:?} out of descriptors");
    // Backing off, 4 s hold about 11 failed accepts; a loop that pauses a fixed 100 ms holds
    // 40, one that retries at once thousands.
    assert!(
        during <= 20,
        "{during} failed accepts in {WINDOW:?}: the loop does not back off"
    );

    // Descriptors free again: served.
    drop(held);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let service = client(&info);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let outcome = rt.block_on(service.get_enrollment("after-exhaustion", None));
        match outcome {
            Err(e) if e.kind() == ErrorKind::NotFound => break,
            other => {
                assert!(Instant::now() < deadline, "not served again: {other:?}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_for_info(dir: &std::path::Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("emulator.json"))
            && let Ok(info) = serde_json::from_str::<serde_json::Value>(&text)
        {
            return info;
        }
        assert!(Instant::now() < deadline, "emulator.json did not appear");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client(info: &serde_json::Value) -> ProvisioningServiceClient {
    let ca_path = info["caCertificatePath"].as_str().expect("CA path");
    let ca = std::fs::read(ca_path).expect("CA");
    let options = ClientOptions {
        trusted_ca_pem: vec![ca],
        trust_only_custom_ca: true,
        ..ClientOptions::default()
    };
    let connection = info["serviceConnectionString"]
        .as_str()
        .expect("connection string");
    ProvisioningServiceClient::from_connection_string(connection, Some(options))
        .expect("service client")
}
