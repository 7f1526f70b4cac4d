//! The data folder: one emulator at a time (the lock), a store that vanished, emptied or was
//! damaged is refused at start and `--reset` starts over, and everything created is its
//! owner's only whatever the umask.

use crate::{Raw, binary, kill, on_disk, refused, start};
use dps_emulator::{Emulator, EmulatorConfig, EmulatorError, StoreError, StoreProblem};
use std::path::Path;

#[test]
fn a_second_emulator_on_the_folder_refuses_naming_the_first_and_kill_9_frees_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (first, info) = start(binary(dir), dir);
    let published = std::fs::read(dir.join("emulator.json")).unwrap();

    let out = refused(binary(dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let holder = format!("pid {}, port {}", first.id(), info["port"]);
    assert!(
        stderr.contains("is in use by another emulator") && stderr.contains(&holder),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.join("emulator.json")).unwrap(),
        published,
        "the refused emulator left emulator.json alone"
    );
    // In-process too, and even for an emulator keeping its state in memory.
    match Emulator::spawn(EmulatorConfig::for_tests(dir)) {
        Err(EmulatorError::DataDirInUse { holder, .. }) => {
            assert_eq!(holder.pid, Some(first.id()));
        }
        other => panic!("not refused: {other:?}"),
    }

    // The OS releases the lock of a killed process.
    kill(first);
    let (second, info) = start(binary(dir), dir);
    assert_eq!(info["pid"], second.id());
    kill(second);
}

fn problem(dir: &Path) -> (StoreProblem, String) {
    match Emulator::spawn(on_disk(dir)) {
        Err(e @ EmulatorError::Store(StoreError::Refused { .. })) => {
            let text = e.to_string();
            let EmulatorError::Store(StoreError::Refused { problem, .. }) = e else {
                unreachable!()
            };
            (*problem, text)
        }
        other => panic!("not refused: {other:?}"),
    }
}

/// 4 KiB of bytes that look random, the same on every run.
fn noise() -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[1]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_emptied_or_damaged_store_is_refused_and_reset_starts_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = dir.join("state.db");
    // A first start on a fresh folder just works.
    let e = Emulator::spawn(on_disk(dir)).unwrap();
    let raw = Raw::new(&e);
    for i in 0..200 {
        let (status, body) = raw
            .put_enrollment(&format!("device-{i:03}"), serde_json::json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    e.shutdown();
    let kept = std::fs::read(&db).unwrap();

    std::fs::remove_file(&db).unwrap();
    let (vanished, message) = problem(dir);
    assert!(
        matches!(vanished, StoreProblem::Vanished { .. }),
        "{message}"
    );
    assert!(
        message.contains(&db.display().to_string()) && message.contains("--reset"),
        "{message}"
    );
    assert!(!db.exists(), "no empty store was made in its place");

    std::fs::write(&db, b"").unwrap();
    let (emptied, message) = problem(dir);
    assert!(matches!(emptied, StoreProblem::Emptied), "{message}");

    let mut damaged = kept.clone();
    let at = damaged.len() / 2 / 4096 * 4096 + 1000;
    damaged[at..at + 4096].copy_from_slice(&noise());
    std::fs::write(&db, &damaged).unwrap();
    let (found, message) = problem(dir);
    assert!(matches!(found, StoreProblem::Damaged { .. }), "{message}");

    // --reset moves the damaged file aside, says where, and starts with an empty store.
    let mut cmd = binary(dir);
    cmd.arg("--reset");
    let (child, info) = start(cmd, dir);
    let out = {
        kill(child);
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    let moved = out
        .iter()
        .find(|name| name.starts_with("state.db.damaged-") && !name.ends_with("-wal"))
        .unwrap_or_else(|| panic!("nothing moved aside: {out:?}"));
    assert_eq!(std::fs::read(dir.join(moved)).unwrap(), damaged);
    assert_ne!(info["port"], 0);
    let e = Emulator::spawn(on_disk(dir)).expect("the new store is healthy");
    let (status, _) = Raw::new(&e)
        .send(reqwest::Method::GET, "/enrollments/device-001", None)
        .await;
    assert_eq!(status, 404, "the reset store is empty");
    e.shutdown();
}

#[test]
fn reset_says_where_it_moved_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    drop(Emulator::spawn(on_disk(dir)).unwrap());
    std::fs::write(dir.join("state.db"), b"").unwrap();
    let mut cmd = binary(dir);
    cmd.arg("--reset");
    let (child, _) = start(cmd, dir);
    let out = {
        let mut child = child;
        child.kill().unwrap();
        child.wait_with_output().unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let moved_to = dir.join("state.db.damaged-");
    assert!(
        stderr.contains("--reset: moved") && stderr.contains(&moved_to.display().to_string()),
        "{stderr}"
    );
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn under_umask_000_everything_created_is_the_owners_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let bin = binary(&dir);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(bin.get_program())
        .args(bin.get_args())
        .env_remove("RUST_LOG");
    let (child, _) = start(cmd, &dir);
    let mut seen = Vec::new();
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        seen.push((folder.clone(), mode(&folder)));
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                seen.push((path.clone(), mode(&path)));
            }
        }
    }
    kill(child);
    for (path, mode) in &seen {
        let public = path.ends_with("tls/emulator-ca.cert.pem");
        let expected = if path.is_dir() {
            0o700
        } else if public {
            0o644
        } else {
            0o600
        };
        assert_eq!(*mode, expected, "{}: {mode:o}", path.display());
    }
    assert!(seen.iter().any(|(p, _)| p.ends_with("tls")), "{seen:?}");
    assert!(
        seen.iter().any(|(p, _)| p.ends_with("emulator.lock")),
        "{seen:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_data_folder_open_to_others_gets_a_warning_naming_the_chmod() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (child, _) = start(binary(&dir), &dir);
    let out = {
        let mut child = child;
        child.kill().unwrap();
        child.wait_with_output().unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mode 777") && stderr.contains(&format!("chmod 700 {}", dir.display())),
        "{stderr}"
    );
    assert_eq!(mode(&dir), 0o777, "warned, not changed");
}
