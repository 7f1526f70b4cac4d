//! The emulator's state: one SQLite table of JSON documents, keyed by kind and lower-cased id.
//!
//! SQLite in WAL mode with `synchronous = NORMAL`: a write acknowledged with a 2xx is in the
//! WAL before the response is sent, so a `kill -9` never loses it (only an OS crash can lose
//! the last transactions, as with the real service's own journaling). Every write is one
//! transaction; there is one connection, so one writer, and the lock is never held across an
//! `.await` because no function here is async.
//!
//! The store checks its file at open and on every operation, and refuses to write a document
//! it could not read back: see [`integrity`].

mod integrity;
mod prefix;

pub use integrity::{Damage, StoreProblem};

use integrity::FileWatch;
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
    /// A document could not be written as JSON.
    #[error("emulator store: document not serializable: {0}")]
    Document(#[from] serde_json::Error),
    /// A stored document cannot be read back (it is not JSON, or nests deeper than the reader
    /// reads). Deleting the record clears it.
    #[error(
        "emulator store: the stored {kind} {id:?} cannot be read ({source}); delete it to clear it"
    )]
    Unreadable {
        /// What the record is (`enrollment`, `operation`, ...).
        kind: &'static str,
        /// Its id.
        id: String,
        /// Why it cannot be read.
        #[source]
        source: serde_json::Error,
    },
    /// A document nests JSON deeper than the store's reader reads back, so it was not written.
    #[error(
        "emulator store: the {kind} {id:?} was not written: it nests JSON more than {limit} \
         levels deep, and the store could not read it back"
    )]
    TooDeep {
        /// What the record is.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The deepest nesting the reader reads.
        limit: usize,
    },
    /// The store file found at start is damaged, empty or missing; it is left as it is.
    #[error(
        "emulator store: {} {problem}. The emulator does not replace it with an empty store; \
         to start over, start it with --reset, which moves the damaged files aside (to \
         state.db.damaged-<time>, with their -wal and -shm files) and starts with an empty store",
        path.display()
    )]
    Refused {
        /// The store file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        problem: Box<StoreProblem>,
    },
    /// The store file was damaged while the emulator ran: every operation fails from then on.
    #[error(
        "emulator store: the store file {} {damage} while the emulator ran; the store refuses \
         every read and write from now on, so that no write is acknowledged and then lost. \
         Stop the emulator and start it again: it checks the file at start, and if it is \
         damaged, --reset moves it aside and starts with an empty store",
        path.display()
    )]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What happened to it.
        #[source]
        damage: Damage,
    },
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
    /// The database file as the store last left it (`None` in memory).
    watch: Option<FileWatch>,
    /// The damage found, once found: every later operation fails with it.
    damaged: Option<Damage>,
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
    /// Opens the database file at `path`, or creates it when there is none and `had_store` is
    /// `None`. `had_store` is the file recording that this data folder had a store: then a
    /// missing file, or a database without the emulator's tables, is refused. An empty file,
    /// a file that is not a database, and one that fails SQLite's `quick_check` are refused
    /// ([`StoreError::Refused`]), never replaced.
    pub(crate) fn open(path: &Path, had_store: Option<&Path>) -> Result<Self, StoreError> {
        // Damage is refused (and `--reset` moves it aside); a store SQLite merely cannot read
        // now (busy, read-only, an I/O error) is a plain error, and is never moved.
        let refused = |problem| match problem {
            StoreProblem::Unreadable(e) => StoreError::Sqlite(e),
            problem => StoreError::Refused {
                path: path.to_owned(),
                problem: Box::new(problem),
            },
        };
        let file = |source| StoreError::File {
            path: path.to_owned(),
            source,
        };
        let existed = match std::fs::metadata(path) {
            // Empty where a store was: emptied. Empty in a folder that never had one: a first
            // start cut off before SQLite wrote its first page, so a fresh store.
            Ok(meta) if meta.len() == 0 && had_store.is_some() => {
                return Err(refused(StoreProblem::Emptied));
            }
            Ok(meta) if meta.len() == 0 => false,
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(file(e)),
        };
        if let (false, Some(marker)) = (existed, had_store) {
            return Err(refused(StoreProblem::Vanished {
                marker: marker.to_owned(),
            }));
        }
        // The database holds the policy keys and enrollment keys: owner-only, like key files,
        // whatever the umask. SQLite gives the -wal and -shm files the database file's mode.
        crate::datadir::create_private_file(path).map_err(file)?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            let companion = PathBuf::from(companion);
            if companion.exists() {
                crate::datadir::make_private(&companion, false).map_err(|source| {
                    StoreError::File {
                        path: companion,
                        source,
                    }
                })?;
            }
        }
        let conn = Connection::open(path).map_err(|e| refused(StoreProblem::from_sqlite(e)))?;
        // Before the first statement: a passing lock (a backup, an `sqlite3` shell) is waited
        // for, not taken for damage.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let opened = (|| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // More checks of each b-tree page as it is read, so more damage is an error.
            conn.pragma_update(None, "cell_size_check", "ON")?;
            Ok::<_, rusqlite::Error>(())
        })();
        opened.map_err(|e| refused(StoreProblem::from_sqlite(e)))?;
        if existed {
            integrity::warm_up(path);
            integrity::quick_check(&conn).map_err(refused)?;
            if let Some(marker) = had_store {
                let tables: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'records'",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(|e| refused(StoreProblem::from_sqlite(e)))?;
                if tables == 0 {
                    return Err(refused(StoreProblem::NoTables {
                        marker: marker.to_owned(),
                    }));
                }
            }
        }
        Self::init(conn, Some(path))
    }

    /// A store that lives and dies with the process.
    pub(crate) fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None)
    }

    /// Creates the tables if needed, then watches the file at `path` (none in memory).
    fn init(conn: Connection, path: Option<&Path>) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let watch = path
            .map(|path| {
                FileWatch::new(path).map_err(|damage| StoreError::Damaged {
                    path: path.to_owned(),
                    damage,
                })
            })
            .transpose()?;
        Ok(Self {
            inner: Mutex::new(Inner {
                conn,
                counts: std::collections::HashMap::new(),
                watch,
                damaged: None,
            }),
        })
    }

    /// Runs a read on the connection, after checking the file.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.locked(false, |inner| f(&mut inner.conn))
    }

    /// Runs a write (one transaction) on the connection and its caches, checking the file
    /// before and after.
    fn with_inner<T>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.locked(true, f)
    }

    fn locked<T>(
        &self,
        wrote: bool,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::Poisoned)?;
        inner.guard()?;
        let result = f(&mut inner);
        inner.settle(result, wrote)
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
            let body = serde_json::to_string(&record.body)?;
            integrity::check_readable(kind.tag(), &record.id, &body)?;
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
                    body
                ])?;
            tx.commit()?;
            if inserted && let Some(n) = inner.counts.get_mut(&kind) {
                *n += 1;
            }
            Ok(Ok(()))
        })
    }

    /// Deletes a record if `check` accepts it; `Ok(Ok(false))` when there was none. `check`
    /// sees the record's id, parent and ETag, with a `null` body: the document is not read,
    /// so a record whose document cannot be read back can still be deleted.
    pub(crate) fn delete_checked<E>(
        &self,
        kind: Kind,
        id: &str,
        check: impl FnOnce(&Record) -> Result<(), E>,
    ) -> Result<Result<bool, E>, StoreError> {
        self.with_inner(|inner| {
            let tx = inner.conn.transaction()?;
            let current = tx
                .prepare_cached(
                    "SELECT id, parent, etag FROM records WHERE kind = ?1 AND id_lower = ?2",
                )?
                .query_row(params![kind.tag(), id.to_lowercase()], |r| {
                    Ok(Record {
                        id: r.get(0)?,
                        parent: r.get(1)?,
                        etag: r.get(2)?,
                        body: serde_json::Value::Null,
                    })
                })
                .optional()?;
            let Some(current) = current else {
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

    /// Deletes every record of `kind` whose parent is `parent` (a device's operations), without
    /// reading them, so one whose document cannot be read back goes too. Returns how many.
    pub(crate) fn delete_children(&self, kind: Kind, parent: &str) -> Result<u64, StoreError> {
        self.with_inner(|inner| {
            let n = inner
                .conn
                .prepare_cached("DELETE FROM records WHERE kind = ?1 AND parent = ?2")?
                .execute(params![kind.tag(), parent.to_lowercase()])?;
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            if let Some(count) = inner.counts.get_mut(&kind) {
                *count = count.saturating_sub(n);
            }
            Ok(n)
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
                kind,
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
        self.locked(false, |inner| {
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
        self.with_inner(|inner| {
            inner.conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )?;
            Ok(())
        })
    }
}

/// The records of `kind` a `SELECT id, parent, etag, body` statement returns, in its order. A
/// row SQLite cannot read is an error, never a shorter list.
fn read_records(
    stmt: &mut rusqlite::CachedStatement<'_>,
    kind: Kind,
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
        let body = read_document(kind, &id, &body)?;
        out.push(Record {
            id,
            parent,
            etag,
            body,
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
        let body = read_document(kind, &id, &body)?;
        Ok(Record {
            id,
            parent,
            etag,
            body,
        })
    })
    .transpose()
}

/// The store's one reader of stored documents.
fn read_document(kind: Kind, id: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Unreadable {
        kind: kind.tag(),
        id: id.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
