//! Damage while the emulator runs: a store file deleted or truncated under it makes writes
//! fail loudly (500 with the DPS body saying what happened and how to recover), never succeed
//! into a file that is gone; and the next start refuses what is left.

use crate::{Raw, on_disk};
use dps_emulator::{Emulator, EmulatorError, StoreError, StoreProblem};
use serde_json::json;

/// Asserts a 500 whose DPS body says the store file suffered `what`.
fn assert_store_damaged(status: u16, body: &serde_json::Value, what: &str) {
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body["errorCode"],
        json!(dps_protocol::codes::INTERNAL),
        "{body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("state.db {what}"))
            && message.contains("while the emulator ran")
            && message.contains("--reset"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_file_deleted_while_running_fails_writes_and_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Emulator::spawn(on_disk(tmp.path())).unwrap();
    let raw = Raw::new(&e);
    let (status, body) = raw.put_enrollment("before", json!({})).await;
    assert_eq!(status, 200, "{body}");

    std::fs::remove_file(tmp.path().join("state.db")).unwrap();
    let (status, body) = raw.put_enrollment("after", json!({})).await;
    assert_store_damaged(status, &body, "was deleted");
    // Every later request too: nothing is answered from a store that is gone.
    let (status, body) = raw
        .send(reqwest::Method::GET, "/enrollments/before", None)
        .await;
    assert_store_damaged(status, &body, "was deleted");
    e.shutdown();

    match Emulator::spawn(on_disk(tmp.path())) {
        Err(EmulatorError::Store(StoreError::Refused { problem, .. }))
            if matches!(*problem, StoreProblem::Vanished { .. }) => {}
        other => panic!("a vanished store was not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_file_truncated_while_running_fails_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Emulator::spawn(on_disk(tmp.path())).unwrap();
    let raw = Raw::new(&e);
    let (status, body) = raw.put_enrollment("before", json!({})).await;
    assert_eq!(status, 200, "{body}");

    std::fs::OpenOptions::new()
        .write(true)
        .open(tmp.path().join("state.db"))
        .and_then(|f| f.set_len(0))
        .unwrap();
    let (status, body) = raw.put_enrollment("after", json!({})).await;
    assert_store_damaged(status, &body, "was truncated");
    e.shutdown();
}
