//! Keeping the store honest about its file.
//!
//! * At open, SQLite's `quick_check` reads every page; a file that is not a database, is
//!   empty, or fails the check is refused ([`StoreProblem`]), never replaced by an empty one.
//! * While the emulator runs, every operation first looks at the file (one `stat`: device,
//!   inode, size and modification time) and every write looks again once committed, so a
//!   file deleted, replaced, truncated or written by another program, or an `SQLITE_CORRUPT`
//!   answer, stops the store ([`Damage`]): from then on every operation fails loudly rather
//!   than acknowledge a write into a file that is gone, or read a damaged page as a shorter
//!   list. SQLite alone does not notice: it keeps the deleted file open, and a page of random
//!   bytes can make a query end early without an error.
//! * A document is written only if the store's reader can read it back ([`READABLE_DEPTH`]).

use super::{Inner, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The deepest nesting of arrays and objects the store's reader (serde_json) reads back: its
/// recursion limit of 128 admits 127 levels. A document nested deeper would be written and
/// then be unreadable forever, so it is refused when written instead. Input from outside is
/// bounded far below this ([`dps_protocol::json::MAX_DEPTH`]); a unit test pins the figure.
pub(crate) const READABLE_DEPTH: usize = 127;

/// Refuses a serialized document its reader could not read back.
pub(super) fn check_readable(kind: &'static str, id: &str, text: &str) -> Result<(), StoreError> {
    dps_protocol::json::check_depth(text.as_bytes(), READABLE_DEPTH).map_err(|_| {
        StoreError::TooDeep {
            kind,
            id: id.to_owned(),
            limit: READABLE_DEPTH,
        }
    })
}

/// Why a store file found at start is not used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreProblem {
    /// The file is gone, but the data folder records that it had a store.
    #[error("is missing, although this data folder had a store ({} records it)", marker.display())]
    Vanished {
        /// The file that records a store was made here.
        marker: PathBuf,
    },
    /// The file has no bytes.
    #[error("is empty (0 bytes)")]
    Emptied,
    /// The file is a database without the emulator's tables, where a store was.
    #[error("is a database without the emulator's tables, although this data folder had a store ({} records it)", marker.display())]
    NoTables {
        /// The file that records a store was made here.
        marker: PathBuf,
    },
    /// SQLite does not recognise the file as a database.
    #[error("is not an SQLite database ({0})")]
    NotADatabase(#[source] rusqlite::Error),
    /// SQLite's `quick_check` found damage, or SQLite answered `SQLITE_CORRUPT`.
    #[error("is damaged (SQLite: {})", report.join("; "))]
    Damaged {
        /// The first lines of `quick_check`'s report, or SQLite's error.
        report: Vec<String>,
    },
    /// SQLite could not read it (an I/O error, a lock).
    #[error("cannot be read ({0})")]
    Unreadable(#[source] rusqlite::Error),
}

impl StoreProblem {
    /// The problem SQLite's `error` reveals about the file at open.
    pub(super) fn from_sqlite(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => Self::NotADatabase(error),
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => Self::Damaged {
                report: vec![error.to_string()],
            },
            _ => Self::Unreadable(error),
        }
    }
}

/// Reads `path` and its `-wal` file through once, in large sequential reads, so that
/// `quick_check` finds them in the OS page cache. Reading pages one by one in b-tree order from
/// a cold disk is slow (1.3 s for 100,000 enrollments, 62 MB, against 35 ms to read the file
/// sequentially and 45 ms to check it from the cache). A failure here is left for SQLite to
/// report.
pub(super) fn warm_up(path: &Path) {
    use std::io::Read;
    let mut buf = vec![0u8; 1 << 20];
    for suffix in ["", "-wal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(mut file) = std::fs::File::open(&name) {
            while matches!(file.read(&mut buf), Ok(n) if n > 0) {}
        }
    }
}

/// Runs `PRAGMA quick_check` (every page read, each b-tree's structure verified, without the
/// index-content cross-checks of `integrity_check`): `Ok` when SQLite answers `ok`.
pub(super) fn quick_check(conn: &Connection) -> Result<(), StoreProblem> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(20)")
        .map_err(StoreProblem::from_sqlite)?;
    let report = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(StoreProblem::from_sqlite)?;
    if report.len() == 1 && report[0] == "ok" {
        Ok(())
    } else {
        Err(StoreProblem::Damaged {
            report: report
                .iter()
                .flat_map(|l| l.lines())
                .map(str::to_owned)
                .take(5)
                .collect(),
        })
    }
}

/// What happened to the store file while the emulator ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The file was deleted.
    #[error("was deleted")]
    Deleted,
    /// Another file now has its name (another inode or device).
    #[error("was replaced by another file")]
    Replaced,
    /// The file shrank.
    #[error("was truncated from {known} to {now} bytes")]
    Truncated {
        /// The size the store knew.
        known: u64,
        /// The size found.
        now: u64,
    },
    /// Another program wrote to the file (its size or modification time changed without a
    /// write of the emulator's).
    #[error("was written by another program")]
    Modified,
    /// The file could not be looked at.
    #[error("cannot be checked ({0:?})")]
    Inaccessible(std::io::ErrorKind),
    /// SQLite found a damaged page or a file that is not a database.
    #[error("is damaged: SQLite answered {}", message.as_deref().unwrap_or("SQLITE_CORRUPT"))]
    Corrupt {
        /// SQLite's error.
        error: rusqlite::ffi::Error,
        /// SQLite's message.
        message: Option<String>,
    },
}

impl Damage {
    /// The damage an SQLite error reports, if it reports one (`SQLITE_CORRUPT`,
    /// `SQLITE_NOTADB`).
    pub(super) fn from_sqlite(error: &rusqlite::Error) -> Option<Self> {
        match error {
            rusqlite::Error::SqliteFailure(e, message)
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                ) =>
            {
                Some(Self::Corrupt {
                    error: *e,
                    message: message.clone(),
                })
            }
            _ => None,
        }
    }
}

/// What a `stat` of the file showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    dev: u64,
    ino: u64,
    size: u64,
    modified: Option<SystemTime>,
}

impl Seen {
    fn of(path: &Path) -> Result<Self, Damage> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Damage::Deleted,
            kind => Damage::Inaccessible(kind),
        })?;
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Ok(Self {
            dev,
            ino,
            size: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// The store file as the store last left it.
#[derive(Debug)]
pub(super) struct FileWatch {
    path: PathBuf,
    seen: Seen,
}

impl FileWatch {
    /// Starts watching `path` as it is now.
    pub(super) fn new(path: &Path) -> Result<Self, Damage> {
        Ok(Self {
            path: path.to_owned(),
            seen: Seen::of(path)?,
        })
    }

    /// The watched file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Before an operation: the file must be exactly as the store left it.
    pub(super) fn check(&self) -> Result<(), Damage> {
        let now = Seen::of(&self.path)?;
        self.compare(now)?;
        if now != self.seen {
            return Err(Damage::Modified);
        }
        Ok(())
    }

    /// After a committed write, which may have grown the file (a WAL checkpoint): the same
    /// file, no smaller; remembered as it is now.
    pub(super) fn written(&mut self) -> Result<(), Damage> {
        let now = Seen::of(&self.path)?;
        self.compare(now)?;
        self.seen = now;
        Ok(())
    }

    fn compare(&self, now: Seen) -> Result<(), Damage> {
        if (now.dev, now.ino) != (self.seen.dev, self.seen.ino) {
            return Err(Damage::Replaced);
        }
        if now.size < self.seen.size {
            return Err(Damage::Truncated {
                known: self.seen.size,
                now: now.size,
            });
        }
        Ok(())
    }
}

/// The checks around each operation of the store, under its lock.
impl Inner {
    /// Before an operation: fails if the store was found damaged, or its file changed.
    ///
    /// A file changed by someone else without being replaced or shrunk (its size or time
    /// moved) is checked with `quick_check` before it is called damaged: a file system that
    /// caches attributes (NFS, some container bind mounts) can report the store's own write
    /// late, and a healthy store must not be shut for it.
    pub(super) fn guard(&mut self) -> Result<(), StoreError> {
        if self.damaged.is_none()
            && let Some(Err(damage)) = self.watch.as_ref().map(FileWatch::check)
        {
            // Through a connection of its own: this one's page cache would hide the change.
            let whole = damage == Damage::Modified
                && Connection::open_with_flags(self.path(), OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .is_ok_and(|fresh| quick_check(&fresh).is_ok());
            match self.watch.as_mut().map(FileWatch::written) {
                Some(Ok(())) if whole => tracing::warn!(
                    path = %self.path().display(),
                    "the store file changed outside the emulator's writes; quick_check finds \
                     it whole, so the emulator goes on"
                ),
                _ => self.damage(damage),
            }
        }
        self.damaged_error()
    }

    /// After an operation: an `SQLITE_CORRUPT` answer damages the store; after a write, the
    /// file must still be the store's.
    pub(super) fn settle<T>(
        &mut self,
        result: Result<T, StoreError>,
        wrote: bool,
    ) -> Result<T, StoreError> {
        if let Err(StoreError::Sqlite(e)) = &result
            && let Some(damage) = Damage::from_sqlite(e)
        {
            self.damage(damage);
        }
        if wrote
            && self.damaged.is_none()
            && let Some(Err(damage)) = self.watch.as_mut().map(FileWatch::written)
        {
            self.damage(damage);
        }
        self.damaged_error()?;
        result
    }

    fn damage(&mut self, damage: Damage) {
        let path = self.path();
        tracing::error!(
            path = %path.display(),
            "the store file {damage} while the emulator ran: every read and write is refused \
             from now on; stop the emulator and start it again"
        );
        self.damaged = Some(damage);
    }

    fn damaged_error(&self) -> Result<(), StoreError> {
        match &self.damaged {
            None => Ok(()),
            Some(damage) => Err(StoreError::Damaged {
                path: self.path(),
                damage: damage.clone(),
            }),
        }
    }

    fn path(&self) -> PathBuf {
        self.watch
            .as_ref()
            .map_or_else(|| PathBuf::from(":memory:"), |w| w.path().to_owned())
    }
}

#[cfg(test)]
#[path = "integrity_tests.rs"]
mod tests;
