//! All-or-nothing writes of a set of files.
//!
//! Every file is first written to a temporary name in its own folder; only when all of them
//! are written are they renamed into place. If anything fails, the temporaries are removed and
//! files that were already replaced are restored, so a failed command leaves the folder as it
//! was. Private keys are created with mode 0600 from the start (never widened afterwards).

use crate::error::{Result, io_err};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// File permission classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Private keys and PFX files: owner read/write only (0600).
    Secret,
    /// Certificates: world-readable (0644).
    Public,
}

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    bytes: Vec<u8>,
    mode: Mode,
}

/// A set of files to be written together.
#[derive(Debug, Default)]
pub struct FileSet {
    entries: Vec<Entry>,
    index: std::collections::HashMap<PathBuf, usize>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn sibling(path: &Path, tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{tag}-{}-{n}", std::process::id()))
}

impl FileSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file; a later entry for the same path replaces an earlier one.
    pub fn add(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>, mode: Mode) {
        let entry = Entry {
            path: path.into(),
            bytes: bytes.into(),
            mode,
        };
        match self.index.get(&entry.path) {
            Some(&i) => self.entries[i] = entry,
            None => {
                self.index.insert(entry.path.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// The paths in the set, in the order they were added.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.entries.iter().map(|e| e.path.as_path())
    }

    /// Moves every file of `other` into this set.
    pub fn extend(&mut self, other: FileSet) {
        for e in other.entries {
            self.add(e.path, e.bytes, e.mode);
        }
    }

    /// Number of files in the set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes every file, or none. Returns the written paths.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        let mut created_dirs = Vec::new();
        let mut temps: Vec<PathBuf> = Vec::with_capacity(self.entries.len());
        let staged = (|| -> Result<()> {
            for e in &self.entries {
                if let Some(dir) = e.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_dirs(dir, &mut created_dirs)?;
                }
                let tmp = sibling(&e.path, "tmp");
                write_new(&tmp, &e.bytes, e.mode)?;
                temps.push(tmp);
            }
            Ok(())
        })();
        if let Err(err) = staged {
            cleanup(&temps, &created_dirs);
            return Err(err);
        }

        // Rename into place, keeping a hard link to each replaced file until the end.
        let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
        for (e, tmp) in self.entries.iter().zip(&temps) {
            let backup = if e.path.exists() {
                let b = sibling(&e.path, "bak");
                match fs::hard_link(&e.path, &b) {
                    Ok(()) => Some(b),
                    Err(_) => None,
                }
            } else {
                None
            };
            if let Err(err) = fs::rename(tmp, &e.path) {
                if let Some(b) = backup {
                    let _ = fs::remove_file(b);
                }
                rollback(&done);
                cleanup(&temps, &created_dirs);
                return Err(io_err(&e.path)(err));
            }
            done.push((e.path.clone(), backup));
        }
        for (_, backup) in &done {
            if let Some(b) = backup {
                let _ = fs::remove_file(b);
            }
        }
        Ok(self.entries.into_iter().map(|e| e.path).collect())
    }
}

fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dirs(parent, created)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {
            created.push(dir.to_owned());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

fn write_new(path: &Path, bytes: &[u8], mode: Mode) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(match mode {
            Mode::Secret => 0o600,
            Mode::Public => 0o644,
        });
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    Ok(())
}

fn rollback(done: &[(PathBuf, Option<PathBuf>)]) {
    for (path, backup) in done.iter().rev() {
        match backup {
            Some(b) => {
                let _ = fs::rename(b, path);
            }
            None => {
                let _ = fs::remove_file(path);
            }
        }
    }
}

fn cleanup(temps: &[PathBuf], created_dirs: &[PathBuf]) {
    for t in temps {
        let _ = fs::remove_file(t);
    }
    for d in created_dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_all_with_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut set = FileSet::new();
        set.add(dir.path().join("a/b/key.pem"), "k", Mode::Secret);
        set.add(dir.path().join("a/cert.pem"), "c", Mode::Public);
        set.commit().expect("commit");
        assert_eq!(
            fs::read_to_string(dir.path().join("a/b/key.pem")).expect("read"),
            "k"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &str| {
                fs::metadata(dir.path().join(p))
                    .expect("meta")
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode("a/b/key.pem"), 0o600);
            assert_eq!(mode("a/cert.pem") & 0o600, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a"))
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_failure_leaves_everything_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keep = dir.path().join("keep.pem");
        fs::write(&keep, "old").expect("seed");
        // A path below a regular file cannot be created.
        let blocked = keep.join("child.pem");
        let mut set = FileSet::new();
        set.add(&keep, "new", Mode::Public);
        set.add(dir.path().join("fresh/new.pem"), "x", Mode::Public);
        set.add(&blocked, "x", Mode::Public);
        assert!(set.commit().is_err());
        assert_eq!(fs::read_to_string(&keep).expect("read"), "old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["keep.pem".to_owned()]);
    }
}
