//! The data folder: owner-only, locked by the emulator that runs on it, and its store checked
//! before use.
//!
//! * Every folder and file the emulator creates is its owner's only (folders 0700, files
//!   0600; the local CA's certificate, which is public, 0644), whatever the umask: the mode is
//!   set again after creation. A data folder or `tls/` folder that others may open gets a
//!   warning naming the `chmod` that fixes it.
//! * `emulator.lock` holds an exclusive OS lock (`flock` on Unix) for as long as the emulator
//!   runs, and names its pid and port, so a second emulator on the same folder refuses to start
//!   ([`EmulatorError::DataDirInUse`]) instead of overwriting `emulator.json` and fighting over
//!   the database. The OS releases the lock when the process ends, even by `kill -9`.
//! * `state.marker` records that the folder has a store, so a `state.db` that is later missing
//!   is refused rather than silently replaced by an empty one; `--reset` moves the store aside
//!   and starts over.

use crate::EmulatorError;
use crate::store::{Store, StoreError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file inside the data folder.
pub(crate) const LOCK_FILE: &str = "emulator.lock";
/// The store's database file inside the data folder.
pub(crate) const STORE_FILE: &str = "state.db";
/// The file recording that the data folder has a store.
pub(crate) const STORE_MARKER: &str = "state.marker";

/// Creates `dir` (and its missing parents) readable by its owner only, whatever the umask; an
/// existing folder is kept as it is, with a warning if others may open it.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), EmulatorError> {
    let io = |e| EmulatorError::Io(dir.to_owned(), e);
    if dir.is_dir() {
        warn_if_shared(dir);
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)?;
    make_private(dir, true).map_err(io)
}

/// Sets `path`'s mode to its owner's only: 0700 for a folder, 0600 for a file (no-op off Unix).
pub(crate) fn make_private(path: &Path, dir: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if dir { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, dir);
        Ok(())
    }
}

/// Creates `path` if it is missing and makes it its owner's only, whatever the umask; returns
/// the file open for reading and writing.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    make_private(path, false)?;
    Ok(file)
}

/// Warns when others than its owner may write in `dir`: they could replace its store, key or
/// CA. (Reading is harmless: the files with keys are 0600 whatever the folder's mode, so a
/// folder made by a plain `mkdir`, 0755, gets no warning.)
fn warn_if_shared(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o022 != 0
        {
            let mode = meta.permissions().mode() & 0o777;
            tracing::warn!(
                "the folder {} has mode {mode:03o}: other users may replace the emulator's \
                 store, keys and CA in it; make it yours only with `chmod 700 {}`",
                dir.display(),
                dps_protocol::shell::word(&dir.to_string_lossy())
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// What the lock file says of the emulator that holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockHolder {
    /// Its process id, if written yet.
    pub pid: Option<u32>,
    /// Its HTTPS port, once bound.
    pub port: Option<u16>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, self.port) {
            (Some(pid), Some(port)) => write!(f, "pid {pid}, port {port}"),
            (Some(pid), None) => write!(f, "pid {pid}, still starting"),
            (None, _) => f.write_str("its pid is unknown"),
        }
    }
}

/// The data folder's lock, held while the emulator runs; dropping it releases it.
#[derive(Debug)]
pub(crate) struct Lock {
    /// The locked file (`None` where the file system has no locks).
    file: Option<File>,
    path: PathBuf,
}

impl Lock {
    /// Locks `dir` for this process, or names the emulator that holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, EmulatorError> {
        let path = dir.join(LOCK_FILE);
        let io = |e| EmulatorError::Io(path.clone(), e);
        let file = create_private_file(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EmulatorError::DataDirInUse {
                    dir: dir.to_owned(),
                    holder: read_holder(&file),
                });
            }
            Err(std::fs::TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                tracing::warn!(
                    "{} cannot be locked on this file system ({e}): nothing stops a second \
                     emulator from using the same data folder",
                    path.display()
                );
                return Ok(Self { file: None, path });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let lock = Self {
            file: Some(file),
            path,
        };
        lock.publish(serde_json::json!({"pid": std::process::id()}))?;
        Ok(lock)
    }

    /// Writes the bound ports into the lock file, for a second emulator's refusal.
    pub(crate) fn publish_ports(
        &self,
        port: u16,
        mqtt_port: Option<u16>,
        console_port: Option<u16>,
    ) -> Result<(), EmulatorError> {
        self.publish(serde_json::json!({
            "pid": std::process::id(),
            "port": port,
            "mqttPort": mqtt_port,
            "consolePort": console_port,
        }))
    }

    fn publish(&self, holder: serde_json::Value) -> Result<(), EmulatorError> {
        let Some(mut file) = self.file.as_ref() else {
            return Ok(());
        };
        // Rewritten in place: the lock belongs to this file, not to its name.
        let text = format!("{holder}\n");
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(text.as_bytes()))
            .map_err(|e| EmulatorError::Io(self.path.clone(), e))
    }
}

fn read_holder(mut file: &File) -> LockHolder {
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return LockHolder::default();
    }
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let number = |key: &str| value.get(key).and_then(serde_json::Value::as_u64);
    LockHolder {
        pid: number("pid").and_then(|n| u32::try_from(n).ok()),
        port: number("port").and_then(|n| u16::try_from(n).ok()),
    }
}

/// Opens the store of data folder `dir`, checked ([`Store::open`]). With `reset`, whatever
/// store is there, damaged or not, is moved aside first (`state.db.damaged-<time>` or
/// `state.db.reset-<time>`, with its `-wal` and `-shm` files) and an empty store is made.
pub(crate) fn open_store(dir: &Path, reset: bool) -> Result<Store, EmulatorError> {
    let db = dir.join(STORE_FILE);
    let marker = dir.join(STORE_MARKER);
    let had_store = marker.exists().then_some(marker.as_path());
    let opened = Store::open(&db, had_store);
    let store = match (opened, reset) {
        (Ok(store), false) => store,
        (Ok(store), true) => {
            drop(store);
            move_aside(&db, "reset")?;
            Store::open(&db, None)?
        }
        (Err(StoreError::Refused { .. }), true) => {
            move_aside(&db, "damaged")?;
            Store::open(&db, None)?
        }
        (Err(e), _) => return Err(e.into()),
    };
    if had_store.is_none() || reset {
        let io = |e| EmulatorError::Io(marker.clone(), e);
        let mut file = create_private_file(&marker).map_err(io)?;
        file.set_len(0).map_err(io)?;
        writeln!(
            file,
            "This data folder has a dps-emulator store, {STORE_FILE}. If it is missing or \
             empty, the emulator refuses to start rather than start empty; start it with \
             --reset to start over."
        )
        .map_err(io)?;
    }
    Ok(store)
}

/// Renames `db` and its `-wal` and `-shm` files to `<db>.<why>-<UTC time>` (plus the same
/// suffixes, so SQLite still opens the moved copy), logging each move.
fn move_aside(db: &Path, why: &str) -> Result<(), EmulatorError> {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let with = |base: &Path, suffix: &str| {
        let mut s = base.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let mut target = with(db, &format!(".{why}-{stamp}"));
    let mut n = 1;
    while ["", "-wal", "-shm"]
        .iter()
        .any(|suffix| with(&target, suffix).exists())
    {
        n += 1;
        target = with(db, &format!(".{why}-{stamp}-{n}"));
    }
    let mut moved = false;
    for suffix in ["", "-wal", "-shm"] {
        let from = with(db, suffix);
        if !from.exists() {
            continue;
        }
        let to = with(&target, suffix);
        std::fs::rename(&from, &to).map_err(|e| EmulatorError::Io(from.clone(), e))?;
        tracing::warn!("--reset: moved {} to {}", from.display(), to.display());
        moved = true;
    }
    if !moved {
        tracing::warn!(
            "--reset: there was no {} to move aside; starting with an empty store",
            db.display()
        );
    }
    Ok(())
}

/// Writes `emulator.json` (owner-only: it holds connection strings) atomically.
pub(crate) fn write_info(
    path: &Path,
    info: &dps_protocol::EmulatorInfo,
) -> Result<(), EmulatorError> {
    let mut files = dps_certgen::FileSet::new();
    let text = info.to_json_pretty().map_err(EmulatorError::InfoJson)?;
    files.add(path.to_owned(), text, dps_certgen::Mode::Secret);
    files.commit().map_err(EmulatorError::InfoFile)?;
    Ok(())
}
