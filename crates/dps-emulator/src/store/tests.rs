//! The store's unit tests: records, checks, lists and counts; [`integrity`] has its own.

use super::*;
use serde_json::json;

fn rec(id: &str, etag: &str) -> Record {
    Record {
        id: id.into(),
        parent: None,
        etag: etag.into(),
        body: json!({"registrationId": id}),
    }
}

#[test]
fn ids_are_case_insensitive_but_keep_their_spelling() {
    let s = Store::in_memory().expect("store");
    s.put(Kind::Enrollment, &rec("Dev-1", "a")).expect("put");
    s.put(Kind::Enrollment, &rec("dev-1", "b")).expect("put");
    let r = s
        .get(Kind::Enrollment, "DEV-1")
        .expect("db")
        .expect("found");
    assert_eq!((r.id.as_str(), r.etag.as_str()), ("Dev-1", "b"));
    assert!(s.get(Kind::Group, "dev-1").expect("db").is_none());
}

#[test]
fn checks_run_inside_the_transaction() {
    let s = Store::in_memory().expect("store");
    s.put(Kind::Group, &rec("g", "1")).expect("put");
    let refused = s
        .put_checked(Kind::Group, &rec("g", "2"), |cur| {
            if cur.map(|r| r.etag.as_str()) == Some("x") {
                Ok(())
            } else {
                Err("stale")
            }
        })
        .expect("db");
    assert_eq!(refused, Err("stale"));
    assert_eq!(
        s.get(Kind::Group, "g").expect("db").expect("found").etag,
        "1"
    );
    assert_eq!(
        s.delete_checked(Kind::Group, "g", |_| Err("no"))
            .expect("db"),
        Err("no")
    );
    assert!(s.delete(Kind::Group, "g").expect("db"));
    assert!(!s.delete(Kind::Group, "g").expect("db"));
}

#[test]
fn lists_page_by_id_and_parent() {
    let s = Store::in_memory().expect("store");
    for i in 0..25 {
        let mut r = rec(&format!("d{i:02}"), "e");
        r.parent = Some(if i % 2 == 0 { "G1".into() } else { "g2".into() });
        s.put(Kind::Registration, &r).expect("put");
    }
    let first = s.list(Kind::Registration, None, None, 10).expect("db");
    assert_eq!(first.len(), 10);
    let next = s
        .list(Kind::Registration, None, Some(&first[9].id), 100)
        .expect("db");
    assert_eq!(next.len(), 15);
    assert_eq!(
        s.list(Kind::Registration, Some("g1"), None, 100)
            .expect("db")
            .len(),
        13
    );
    assert_eq!(s.count(Kind::Registration).expect("db"), 25);
}

#[test]
fn counts_follow_inserts_and_deletes_not_updates() {
    let s = Store::in_memory().expect("store");
    assert_eq!(s.count(Kind::Enrollment).expect("db"), 0);
    for (id, etag) in [("a", "1"), ("b", "1"), ("A", "2")] {
        s.put(Kind::Enrollment, &rec(id, etag)).expect("put");
    }
    assert_eq!(s.count(Kind::Enrollment).expect("db"), 2);
    assert!(s.delete(Kind::Enrollment, "b").expect("db"));
    assert!(!s.delete(Kind::Enrollment, "b").expect("db"));
    assert_eq!(s.count(Kind::Enrollment).expect("db"), 1);
    assert_eq!(s.count(Kind::Group).expect("db"), 0);
}

#[test]
fn a_corrupt_document_keeps_its_cause() {
    let s = Store::in_memory().expect("store");
    s.put(Kind::Enrollment, &rec("broken", "1")).expect("put");
    s.with(|c| Ok(c.execute("UPDATE records SET body = '{'", [])?))
        .expect("corrupt it");
    let e = s.get(Kind::Enrollment, "broken").expect_err("corrupt");
    assert!(matches!(e, StoreError::Unreadable { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("emulator store: the stored enrollment \"broken\" cannot be read ("),
        "{e}"
    );
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn survives_reopening() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.db");
    {
        let s = Store::open(&path, None).expect("open");
        s.put(Kind::Enrollment, &rec("kept", "1")).expect("put");
        s.set_setting("k", "v").expect("setting");
    }
    let s = Store::open(&path, None).expect("reopen");
    assert!(s.get(Kind::Enrollment, "kept").expect("db").is_some());
    assert_eq!(s.setting("k").expect("db").as_deref(), Some("v"));
}
