//! The store's checks of its documents and its file.

use super::super::{Kind, Record, Store, StoreError};
use super::*;
use serde_json::{Value, json};

fn nested(levels: usize) -> Value {
    let text = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    serde_json::from_str(&text).expect("nested JSON")
}

fn rec(id: &str, body: Value) -> Record {
    Record {
        id: id.into(),
        parent: None,
        etag: "e".into(),
        body,
    }
}

fn fill(s: &Store, n: usize) {
    for i in 0..n {
        let id = format!("device-{i:05}");
        let body = json!({"registrationId": id, "attestation": {"type": "symmetricKey",
            "symmetricKey": {"primaryKey": "k".repeat(44), "secondaryKey": "l".repeat(44)}}});
        s.put(Kind::Enrollment, &rec(&id, body)).expect("put");
    }
}

/// Bytes that look random, the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn overwrite(path: &std::path::Path, offset: u64, bytes: &[u8]) {
    use std::io::{Seek, Write};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    f.seek(std::io::SeekFrom::Start(offset)).expect("seek");
    f.write_all(bytes).expect("write");
}

#[test]
fn serde_json_reads_back_127_levels_and_not_128() {
    let text = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(serde_json::from_str::<Value>(&text(READABLE_DEPTH)).is_ok());
    assert!(serde_json::from_str::<Value>(&text(READABLE_DEPTH + 1)).is_err());
}

#[test]
fn a_document_the_reader_could_not_read_back_is_not_written() {
    let s = Store::in_memory().expect("store");
    // An operation wraps a webhook payload two levels down: this one is exactly readable.
    let op = |payload| json!({"result": {"payload": payload}});
    s.put(Kind::Operation, &rec("op", op(nested(READABLE_DEPTH - 2))))
        .expect("readable");
    assert!(s.get(Kind::Operation, "op").expect("reads back").is_some());
    let e = s
        .put(Kind::Operation, &rec("op", op(nested(READABLE_DEPTH - 1))))
        .expect_err("too deep");
    assert!(matches!(e, StoreError::TooDeep { limit: 127, .. }), "{e:?}");
    assert!(e.to_string().contains("was not written"), "{e}");
    let kept = s.get(Kind::Operation, "op").expect("still readable");
    assert_eq!(kept.map(|r| r.body), Some(op(nested(READABLE_DEPTH - 2))));
}

#[test]
fn an_unreadable_record_can_be_deleted_and_a_devices_operations_cleared() {
    let s = Store::in_memory().expect("store");
    for (kind, id, parent) in [
        (Kind::Registration, "dev", None),
        (Kind::Operation, "op-1", Some("Dev")),
        (Kind::Operation, "op-2", Some("dev")),
        (Kind::Operation, "op-3", Some("other")),
    ] {
        let mut r = rec(id, json!({}));
        r.parent = parent.map(str::to_owned);
        s.put(kind, &r).expect("put");
    }
    // As a store written before the depth check could hold them.
    let deep = "[".repeat(200) + &"]".repeat(200);
    s.with(|c| {
        Ok(c.execute(
            "UPDATE records SET body = ?1 WHERE id_lower IN ('dev', 'op-1')",
            [&deep],
        )?)
    })
    .expect("damage them");
    assert!(matches!(
        s.get(Kind::Registration, "dev"),
        Err(StoreError::Unreadable { .. })
    ));
    assert!(s.list(Kind::Operation, Some("dev"), None, 10).is_err());
    assert_eq!(
        s.delete_children(Kind::Operation, "DEV").expect("cleared"),
        2
    );
    assert!(
        s.list(Kind::Operation, Some("dev"), None, 10)
            .expect("ok")
            .is_empty()
    );
    assert_eq!(s.count(Kind::Operation).expect("count"), 1);
    assert_eq!(
        s.delete_checked(Kind::Registration, "dev", |r| {
            if r.etag == "e" { Ok(()) } else { Err("etag") }
        })
        .expect("db"),
        Ok(true)
    );
}

fn refused(path: &std::path::Path, marker: Option<&std::path::Path>) -> StoreProblem {
    match Store::open(path, marker) {
        Err(StoreError::Refused { problem, .. }) => *problem,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_damaged_emptied_or_vanished_store_is_refused_at_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.db");
    let marker = dir.path().join("state.marker");
    std::fs::write(&marker, "a store was here").expect("marker");
    assert!(matches!(
        refused(&path, Some(&marker)),
        StoreProblem::Vanished { .. }
    ));
    assert!(!path.exists(), "nothing is created in its place");

    std::fs::write(&path, b"").expect("empty file");
    assert!(matches!(
        refused(&path, Some(&marker)),
        StoreProblem::Emptied
    ));
    assert_eq!(std::fs::metadata(&path).expect("kept").len(), 0);
    // Without the marker, an empty file is a first start cut off before SQLite's first page.
    drop(Store::open(&path, None).expect("a fresh store"));
    std::fs::remove_file(&path).expect("rm");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("state.db{suffix}")));
    }

    std::fs::write(&path, noise(100_000)).expect("random file");
    let e = Store::open(&path, None).expect_err("refused");
    assert!(e.to_string().contains("--reset"), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(matches!(
        refused(&path, None),
        StoreProblem::NotADatabase(_)
    ));

    std::fs::remove_file(&path).expect("rm");
    drop(rusqlite::Connection::open(&path).and_then(|c| c.execute_batch("CREATE TABLE t (x);")));
    assert!(matches!(
        refused(&path, Some(&marker)),
        StoreProblem::NoTables { .. }
    ));
}

#[test]
fn a_page_of_random_bytes_is_found_by_quick_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.db");
    drop(Store::open(&path, None).map(|s| fill(&s, 3000)));
    let size = std::fs::metadata(&path).expect("db").len();
    // 4 KiB across two pages in the middle: SQLite alone may read such a file as a shorter
    // list of enrollments, without an error.
    overwrite(&path, size / 2 / 4096 * 4096 + 1000, &noise(4096));
    assert!(matches!(refused(&path, None), StoreProblem::Damaged { .. }));
}

#[test]
fn a_fresh_or_healthy_store_opens() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.db");
    drop(Store::open(&path, None).map(|s| fill(&s, 10)));
    let s = Store::open(&path, Some(&dir.path().join("state.marker"))).expect("healthy");
    assert_eq!(s.count(Kind::Enrollment).expect("count"), 10);
}

/// A store on disk with a few records, checkpointed so they are in the database file.
fn on_disk() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.db");
    let s = Store::open(&path, None).expect("open");
    fill(&s, 300);
    s.locked(true, |inner| {
        Ok(inner
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?)
    })
    .expect("checkpoint");
    (dir, path, s)
}

fn damage_of(e: StoreError) -> Damage {
    match e {
        StoreError::Damaged { damage, .. } => damage,
        other => panic!("not damage: {other:?}"),
    }
}

#[test]
fn a_store_file_deleted_replaced_or_truncated_while_running_fails_every_write() {
    let (_dir, path, s) = on_disk();
    std::fs::remove_file(&path).expect("delete");
    let e = s
        .put(Kind::Group, &rec("lost", json!({})))
        .expect_err("refused");
    assert_eq!(damage_of(e), Damage::Deleted);
    // Latched: reads fail too, and so does every later write.
    assert!(s.get(Kind::Group, "g").is_err());
    assert!(s.set_setting("k", "v").is_err());

    let (dir, path, s) = on_disk();
    let other = dir.path().join("other");
    std::fs::copy(&path, &other).expect("copy");
    std::fs::rename(&other, &path).expect("replace");
    let e = s.delete(Kind::Group, "g").expect_err("refused");
    assert_eq!(damage_of(e), Damage::Replaced);

    let (_dir, path, s) = on_disk();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(4096))
        .expect("truncate");
    let e = s
        .put(Kind::Group, &rec("lost", json!({})))
        .expect_err("refused");
    assert!(matches!(damage_of(e), Damage::Truncated { now: 4096, .. }));
    let e = s.get(Kind::Group, "g").expect_err("latched");
    assert!(e.to_string().contains("was truncated"), "{e}");
}

#[test]
fn bytes_written_into_the_store_by_another_program_fail_reads_and_writes() {
    let (_dir, path, s) = on_disk();
    // As in `a_page_of_random_bytes_is_found_by_quick_check`: 3000 records, in the file.
    fill(&s, 3000);
    s.locked(true, |inner| {
        Ok(inner
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?)
    })
    .expect("checkpoint");
    // File times are coarse (a few ms): let the clock move past the store's last write.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let size = std::fs::metadata(&path).expect("db").len();
    // Across two pages, headers included: damage quick_check finds.
    overwrite(&path, size / 2 / 4096 * 4096 + 1000, &noise(4096));
    let e = s
        .list(Kind::Enrollment, None, None, 1000)
        .expect_err("refused");
    assert_eq!(damage_of(e), Damage::Modified);
    s.get(Kind::Group, "g").expect_err("latched");
}

#[test]
fn a_changed_file_time_alone_does_not_shut_a_whole_store() {
    // A file system that caches attributes may report the store's own write late: the file
    // looks changed, quick_check finds it whole, and the store goes on.
    let (_dir, path, s) = on_disk();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(later))
        .expect("touch");
    assert_eq!(
        s.list(Kind::Enrollment, None, None, 1000)
            .expect("still served")
            .len(),
        300
    );
    s.put(Kind::Group, &rec("after", json!({})))
        .expect("written");
}

#[test]
fn an_sqlite_corrupt_answer_fails_the_read_and_every_later_write() {
    let (_dir, path, s) = on_disk();
    let size = std::fs::metadata(&path).expect("db").len();
    // Every page after the first (the schema) becomes an invalid b-tree page.
    let pages = usize::try_from(size).expect("size") - 4096;
    overwrite(&path, 4096, &vec![0xff; pages]);
    // As if the change had gone unseen: forget what the page cache holds, watch anew.
    {
        let mut inner = s.inner.lock().expect("lock");
        inner
            .conn
            .execute_batch("PRAGMA shrink_memory;")
            .expect("shrink");
        inner.watch = Some(FileWatch::new(&path).expect("watch"));
    }
    let e = s
        .list(Kind::Enrollment, None, None, 1000)
        .expect_err("corrupt");
    assert!(matches!(damage_of(e), Damage::Corrupt { .. }));
    let e = s
        .put(Kind::Group, &rec("g2", json!({})))
        .expect_err("latched");
    assert!(matches!(damage_of(e), Damage::Corrupt { .. }));
}

/// Measures what the checks cost: `quick_check` (and the whole open) of a store of 100,000
/// enrollments, and a write with and without the file checks. Prints the figures; run with
/// `cargo test --release -p dps-emulator --lib measure_the_checks -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a test: run it by hand"]
fn measure_the_checks() {
    use std::time::Instant;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.db");
    {
        let s = Store::open(&path, None).expect("open");
        let mut inner = s.inner.lock().expect("lock");
        let tx = inner.conn.transaction().expect("tx");
        for i in 0..100_000 {
            let id = format!("device-{i:06}");
            // About the size of a symmetric-key enrollment as the API stores it.
            let body = json!({"registrationId": id, "attestation": {"type": "symmetricKey",
                "symmetricKey": {"primaryKey": "k".repeat(44), "secondaryKey": "l".repeat(44)}},
                "provisioningStatus": "enabled", "capabilities": {"iotEdge": false},
                "reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": true},
                "createdDateTimeUtc": "2026-01-01T00:00:00.0000000Z",
                "lastUpdatedDateTimeUtc": "2026-01-01T00:00:00.0000000Z"});
            tx.execute(
                "INSERT INTO records (kind, id_lower, id, parent, etag, body) VALUES ('enrollment', ?1, ?1, NULL, 'e', ?2)",
                rusqlite::params![id, body.to_string()],
            )
            .expect("insert");
        }
        tx.commit().expect("commit");
    }
    let size = std::fs::metadata(&path).expect("db").len();
    let started = Instant::now();
    let s = Store::open(&path, None).expect("open");
    let open = started.elapsed();
    let started = Instant::now();
    {
        let inner = s.inner.lock().expect("lock");
        quick_check(&inner.conn).expect("healthy");
    }
    let check = started.elapsed();
    println!(
        "100,000 enrollments, {:.1} MB: open {open:?} (of which quick_check {check:?} when the \
         file is in the page cache)",
        size as f64 / 1e6
    );
    let n = 5_000u32;
    let mut per_write = Vec::new();
    for watched in [true, false, true, false] {
        if !watched {
            s.inner.lock().expect("lock").watch = None;
        } else {
            s.inner.lock().expect("lock").watch = Some(FileWatch::new(&path).expect("watch"));
        }
        let started = Instant::now();
        for i in 0..n {
            s.put(Kind::Group, &rec(&format!("g{}", i % 100), json!({"n": i})))
                .expect("put");
        }
        per_write.push((watched, started.elapsed() / n));
    }
    let started = Instant::now();
    for _ in 0..n {
        let _ = std::fs::metadata(&path).expect("stat");
    }
    println!(
        "a write: {per_write:?} (watched, time per write); one stat: {:?}",
        started.elapsed() / n
    );
}
