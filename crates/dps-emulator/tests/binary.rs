//! The `dps-emulator` binary as a user runs it: emulator.json with the bound port, a write
//! that survives `kill -9`, a clean exit on SIGTERM.

#![allow(clippy::unwrap_used)]

use dps_service_client::{ClientOptions, ProvisioningServiceClient};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// The child is returned to the caller, which kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path) -> (Child, serde_json::Value) {
    let _ = std::fs::remove_file(dir.join("emulator.json"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dps-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("emulator starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("emulator.json"))
            && let Ok(info) = serde_json::from_str::<serde_json::Value>(&text)
        {
            return (child, info);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("emulator.json did not appear");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client(info: &serde_json::Value) -> ProvisioningServiceClient {
    let ca = std::fs::read(info["caCertificatePath"].as_str().unwrap()).unwrap();
    let options = ClientOptions {
        trusted_ca_pem: vec![ca],
        trust_only_custom_ca: true,
        ..ClientOptions::default()
    };
    ProvisioningServiceClient::from_connection_string(
        info["serviceConnectionString"].as_str().unwrap(),
        Some(options),
    )
    .unwrap()
}

#[test]
fn a_busy_port_is_an_error_naming_its_flag() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    for (flags, named) in [
        (
            [
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--mqtt-listen",
                "off",
                "--console-listen",
                "off",
            ],
            "--listen",
        ),
        (
            [
                "--listen",
                "127.0.0.1:0",
                "--mqtt-listen",
                &format!("127.0.0.1:{port}"),
                "--console-listen",
                "off",
            ],
            "--mqtt-listen",
        ),
        (
            [
                "--listen",
                "127.0.0.1:0",
                "--mqtt-listen",
                "off",
                "--console-listen",
                &format!("127.0.0.1:{port}"),
            ],
            "--console-listen",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_dps-emulator"))
            .args(flags)
            .args(["--in-memory", "--data-dir"])
            .arg(dir.path())
            .output()
            .expect("emulator runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started on a busy port: {stderr}");
        assert!(
            stderr.contains(&format!("cannot listen on 127.0.0.1:{port} ({named})")),
            "{stderr}"
        );
        assert!(stderr.contains("port 0 picks a free one"), "{stderr}");
    }
    drop(busy);
}

#[test]
fn a_write_acknowledged_before_kill_9_survives() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut child, info) = start(dir.path());
    assert_ne!(info["port"], 0, "emulator.json has the bound port");
    let mqtt = info["mqttEndpoint"].as_str().expect("MQTT is on");
    assert!(mqtt.starts_with("mqtts://localhost:"), "{mqtt}");
    assert!(
        !mqtt.ends_with(":0"),
        "emulator.json has the bound MQTT port: {mqtt}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The database holds the policy keys, emulator.json the connection strings.
        for file in ["state.db", "emulator.json"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
        }
    }
    let key = "c3ltbWV0cmljLWtleS1vZi10aGUta2lsbC05LXRlc3Q=";
    let written = rt
        .block_on(client(&info).create_or_update_enrollment(
            &dps_service_client::models::IndividualEnrollment::symmetric_key(
                "survivor",
                Some(dps_service_client::models::SymmetricKeyAttestation::new(
                    key, key,
                )),
            ),
            None,
        ))
        .unwrap();
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();

    let (mut child, info) = start(dir.path());
    let back = rt
        .block_on(client(&info).get_enrollment("survivor", None))
        .unwrap();
    assert_eq!(back.etag, written.etag);

    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(code) = child.try_wait().unwrap() {
                assert!(
                    code.success(),
                    "SIGTERM ends the emulator cleanly: {code:?}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "the emulator ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    #[cfg(not(unix))]
    child.kill().unwrap();
}
