//! The emulator's state: one SQLite table of JSON documents, keyed by kind and lower-cased id.
//!
//! SQLite in WAL mode with `synchronous = NORMAL`: a write acknowledged with a 2xx is in the
//! WAL before the response is sent, so a `kill -9` never loses it (only an OS crash can lose
//! the last transactions, as with the real service's own journaling). Every write is one
//! transaction; there is one connection, so one writer, and the lock is never held across an
//! `.await` because no function here is async.

mod prefix;

use rusqlite::{Connection, OptionalExtension, params};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a record is. The discriminant is the value stored in the `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// Individual enrollment, keyed by registration id.
    Enrollment,
    /// Enrollment group, keyed by group id.
    Group,
    /// Device registration state, keyed by registration id; parent = group id.
    Registration,
    /// Uploaded CA certificate, keyed by certificate name.
    Certificate,
    /// Device registration operation, keyed by operation id; parent = registration id.
    Operation,
    /// What the registration engine remembers of a device beside its registration state
    /// (the first hub it was assigned), keyed by registration id.
    DeviceHistory,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Enrollment => "enrollment",
            Kind::Group => "group",
            Kind::Registration => "registration",
            Kind::Certificate => "certificate",
            Kind::Operation => "operation",
            Kind::DeviceHistory => "device-history",
        }
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// The id as first written (case preserved).
    pub(crate) id: String,
    /// Lower-cased parent id, for registrations (their group) and operations.
    pub(crate) parent: Option<String>,
    /// The current ETag.
    pub(crate) etag: String,
    /// The JSON document.
    pub(crate) body: serde_json::Value,
}

/// A storage failure. The emulator answers 500 with the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("emulator store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document is not valid JSON (or a document could not be written as JSON).
    #[error("emulator store: corrupt document: {0}")]
    Document(#[from] serde_json::Error),
    /// The database file (or its `-wal`/`-shm` companion) could not be created or protected.
    #[error("emulator store: {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A thread panicked while it held the connection.
    #[error("emulator store: connection lock poisoned")]
    Poisoned,
}

/// The store.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

/// The connection and what is cached about its contents, under one lock.
#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// Record counts per kind, read once and kept up to date by the writes, so quota checks
    /// do not scan the table on every insert.
    counts: std::collections::HashMap<Kind, u64>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id_lower TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT,
    etag TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id_lower)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_parent ON records (kind, parent, id_lower);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
";

impl Store {
    /// Opens (or creates) the database file.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        // The database holds the policy keys and enrollment keys: owner-only, like key files.
        // SQLite gives the -wal and -shm files the database file's permissions.
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|source| StoreError::File {
                    path: path.to_owned(),
                    source,
                })?;
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let file = PathBuf::from(file);
                if file.exists() {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(|source| StoreError::File { path: file, source })?;
                }
            }
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    /// A store that lives and dies with the process.
    pub(crate) fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            inner: Mutex::new(Inner {
                conn,
                counts: std::collections::HashMap::new(),
            }),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_inner(|inner| f(&mut inner.conn))
    }

    fn with_inner<T>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut inner)
    }

    /// Reads one record.
    pub(crate) fn get(&self, kind: Kind, id: &str) -> Result<Option<Record>, StoreError> {
        self.with(|c| get_in(c, kind, id))
    }

    /// Writes a record whatever is stored (insert or replace). The id keeps the spelling of
    /// its first write.
    pub(crate) fn put(&self, kind: Kind, record: &Record) -> Result<(), StoreError> {
        let Ok(()) = self.put_checked(kind, record, |_| Ok::<_, Infallible>(()))?;
        Ok(())
    }

    /// Deletes a record; `false` when there was none.
    pub(crate) fn delete(&self, kind: Kind, id: &str) -> Result<bool, StoreError> {
        let Ok(deleted) = self.delete_checked(kind, id, |_| Ok::<_, Infallible>(()))?;
        Ok(deleted)
    }

    /// Writes a record if `check` accepts the current one (`None` when absent); returns what
    /// `check` returned. The read and the write are one transaction.
    pub(crate) fn put_checked<E>(
        &self,
        kind: Kind,
        record: &Record,
        check: impl FnOnce(Option<&Record>) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        self.with_inner(|inner| {
            let tx = inner.conn.transaction()?;
            let current = get_in(&tx, kind, &record.id)?;
            if let Err(e) = check(current.as_ref()) {
                return Ok(Err(e));
            }
            let inserted = current.is_none();
            // Keep the id's original spelling from the first write.
            let id = current.map_or_else(|| record.id.clone(), |r| r.id);
            tx.prepare_cached(
                "INSERT INTO records (kind, id_lower, id, parent, etag, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (kind, id_lower) DO UPDATE SET parent = excluded.parent, etag = excluded.etag, body = excluded.body",
            )?
            .execute(params![
                    kind.tag(),
                    record.id.to_lowercase(),
                    id,
                    record.parent.as_deref().map(str::to_lowercase),
                    record.etag,
                    serde_json::to_string(&record.body)?
                ])?;
            tx.commit()?;
            if inserted && let Some(n) = inner.counts.get_mut(&kind) {
                *n += 1;
            }
            Ok(Ok(()))
        })
    }

    /// Deletes a record if `check` accepts it; `Ok(Ok(false))` when there was none.
    pub(crate) fn delete_checked<E>(
        &self,
        kind: Kind,
        id: &str,
        check: impl FnOnce(&Record) -> Result<(), E>,
    ) -> Result<Result<bool, E>, StoreError> {
        self.with_inner(|inner| {
            let tx = inner.conn.transaction()?;
            let Some(current) = get_in(&tx, kind, id)? else {
                return Ok(Ok(false));
            };
            if let Err(e) = check(&current) {
                return Ok(Err(e));
            }
            tx.prepare_cached("DELETE FROM records WHERE kind = ?1 AND id_lower = ?2")?
                .execute(params![kind.tag(), id.to_lowercase()])?;
            tx.commit()?;
            if let Some(n) = inner.counts.get_mut(&kind) {
                *n = n.saturating_sub(1);
            }
            Ok(Ok(true))
        })
    }

    /// Up to `limit` records of `kind` with ids after `after` (lower-cased), in id order,
    /// optionally only those whose parent is `parent`.
    pub(crate) fn list(
        &self,
        kind: Kind,
        parent: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.with(|c| {
            // Two statements rather than `(?2 IS NULL OR parent = ?2)`, which keeps SQLite
            // from using `records_by_parent`: a device's operations are then found by index,
            // not by scanning every operation of every device.
            let mut stmt = c.prepare_cached(if parent.is_some() {
                "SELECT id, parent, etag, body FROM records
                 WHERE kind = ?1 AND parent = ?2 AND (?3 IS NULL OR id_lower > ?3)
                 ORDER BY id_lower LIMIT ?4"
            } else {
                "SELECT id, parent, etag, body FROM records
                 WHERE kind = ?1 AND ?2 IS NULL AND (?3 IS NULL OR id_lower > ?3)
                 ORDER BY id_lower LIMIT ?4"
            })?;
            read_records(
                &mut stmt,
                params![
                    kind.tag(),
                    parent.map(str::to_lowercase),
                    after.map(str::to_lowercase),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
            )
        })
    }

    /// Number of records of `kind`: counted once, then maintained by the writes.
    pub(crate) fn count(&self, kind: Kind) -> Result<u64, StoreError> {
        self.with_inner(|inner| {
            if let Some(n) = inner.counts.get(&kind) {
                return Ok(*n);
            }
            let n: i64 = inner.conn.query_row(
                "SELECT COUNT(*) FROM records WHERE kind = ?1",
                params![kind.tag()],
                |r| r.get(0),
            )?;
            let n = u64::try_from(n).unwrap_or(0);
            inner.counts.insert(kind, n);
            Ok(n)
        })
    }

    /// Reads a persistent setting (for example the generated keys).
    pub(crate) fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT value FROM settings WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Writes a persistent setting.
    pub(crate) fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )?;
            Ok(())
        })
    }
}

/// The records a `SELECT id, parent, etag, body` statement returns, in its order.
fn read_records(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Record>, StoreError> {
    let rows = stmt.query_map(params, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, parent, etag, body) = row?;
        out.push(Record {
            id,
            parent,
            etag,
            body: serde_json::from_str(&body)?,
        });
    }
    Ok(out)
}

fn get_in(c: &Connection, kind: Kind, id: &str) -> Result<Option<Record>, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT id, parent, etag, body FROM records WHERE kind = ?1 AND id_lower = ?2",
        )?
        .query_row(params![kind.tag(), id.to_lowercase()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    row.map(|(id, parent, etag, body)| {
        Ok(Record {
            id,
            parent,
            etag,
            body: serde_json::from_str(&body)?,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
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
        assert!(matches!(e, StoreError::Document(_)), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("emulator store: corrupt document: ")
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn survives_reopening() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("state.db");
        {
            let s = Store::open(&path).expect("open");
            s.put(Kind::Enrollment, &rec("kept", "1")).expect("put");
            s.set_setting("k", "v").expect("setting");
        }
        let s = Store::open(&path).expect("reopen");
        assert!(s.get(Kind::Enrollment, "kept").expect("db").is_some());
        assert_eq!(s.setting("k").expect("db").as_deref(), Some("v"));
    }
}
