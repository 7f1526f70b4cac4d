//! NSS databases, where Chromium (`~/.pki/nssdb`) and Firefox (each profile's `cert9.db`)
//! keep the CAs they trust, changed with NSS's `certutil` (package libnss3-tools).

use super::ops::{Cmd, Op};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How every CA this command adds is named in a database: `dps-rs emulator local CA HEX`.
pub(super) const NICKNAME_PREFIX: &str = "dps-rs emulator local CA";

/// The nickname of the CA whose short fingerprint is `short`.
pub(super) fn nickname(short: &str) -> String {
    format!("{NICKNAME_PREFIX} {short}")
}

/// One NSS database.
#[derive(Debug, Clone)]
pub(super) struct Db {
    /// Its folder.
    pub(super) dir: PathBuf,
    /// Whose it is: `Chromium`, `Firefox profile NAME`, `--nss-db`.
    pub(super) label: String,
    /// Whether it exists (an `--nss-db` that does not is created).
    pub(super) exists: bool,
}

fn has_db(dir: &Path) -> bool {
    dir.join("cert9.db").is_file()
}

/// The databases under `home` (Chromium's, every Firefox profile's, the snap Firefox's), then
/// the `--nss-db` folders not among them.
pub(super) fn discover(home: Option<&Path>, explicit: &[PathBuf]) -> Vec<Db> {
    let mut dbs = Vec::new();
    if let Some(home) = home {
        let chromium = home.join(".pki/nssdb");
        if has_db(&chromium) {
            dbs.push(Db {
                dir: chromium,
                label: "Chromium".into(),
                exists: true,
            });
        }
        for (base, what) in [
            (home.join(".mozilla/firefox"), "Firefox"),
            (
                home.join("snap/firefox/common/.mozilla/firefox"),
                "Firefox (snap)",
            ),
        ] {
            let Ok(entries) = std::fs::read_dir(&base) else {
                continue;
            };
            let mut profiles: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| has_db(p))
                .collect();
            profiles.sort();
            for dir in profiles {
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                dbs.push(Db {
                    dir,
                    label: format!("{what} profile {name}"),
                    exists: true,
                });
            }
        }
    }
    for dir in explicit {
        let real = dir.canonicalize().ok();
        let same = |d: &Db| d.dir == *dir || (real.is_some() && d.dir.canonicalize().ok() == real);
        if !dbs.iter().any(same) {
            dbs.push(Db {
                dir: dir.clone(),
                label: "--nss-db".into(),
                exists: has_db(dir),
            });
        }
    }
    dbs
}

impl Db {
    /// `sql:DIR`, how certutil names a database.
    fn spec(&self) -> OsString {
        let mut s = OsString::from("sql:");
        s.push(self.dir.as_os_str());
        s
    }

    /// The nicknames of the dps-rs CAs in the database (none if it does not exist yet).
    pub(super) fn installed(&self, certutil: &Path) -> anyhow::Result<Vec<String>> {
        if !self.exists {
            return Ok(Vec::new());
        }
        let listing = Cmd::new(certutil)
            .args([OsString::from("-L"), "-d".into(), self.spec()])
            .run()?;
        Ok(dps_nicknames(&listing))
    }

    /// The steps: create the database if it does not exist, delete `remove` (nicknames), then
    /// add `add` (the CA's short fingerprint and file) trusted to identify websites.
    pub(super) fn ops(
        &self,
        certutil: &Path,
        remove: &[String],
        add: Option<(&str, &Path)>,
    ) -> Vec<Op> {
        let mut ops = Vec::new();
        let base = || Cmd::new(certutil);
        if add.is_some() && !self.exists {
            ops.push(Op::MakeDir(self.dir.clone()));
            ops.push(Op::Run(base().args([
                OsString::from("-N"),
                "--empty-password".into(),
                "-d".into(),
                self.spec(),
            ])));
        }
        for nick in remove {
            ops.push(Op::Run(base().args([
                OsString::from("-D"),
                "-d".into(),
                self.spec(),
                "-n".into(),
                nick.into(),
            ])));
        }
        if let Some((short, file)) = add {
            ops.push(Op::Run(base().args([
                OsString::from("-A"),
                "-d".into(),
                self.spec(),
                "-t".into(),
                "C,,".into(),
                "-n".into(),
                nickname(short).into(),
                "-i".into(),
                file.into(),
            ])));
        }
        ops
    }
}

/// The dps-rs nicknames in `certutil -L` output: each line is a nickname, spaces, and trust
/// flags such as `C,,`.
fn dps_nicknames(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|line| {
            let (nick, flags) = line.trim_end().rsplit_once(char::is_whitespace)?;
            let nick = nick.trim();
            (flags.matches(',').count() == 2 && nick.starts_with(NICKNAME_PREFIX))
                .then(|| nick.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nicknames_are_read_from_certutils_listing() {
        let listing = "\nCertificate Nickname                                         Trust \
                       Attributes\n                                                             \
                       SSL,S/MIME,JAR/XPI\n\ndps-rs emulator local CA 0123456789abcdef         \
                       C,,  \nsomeone else's CA                                  CT,C,C\n";
        assert_eq!(
            super::dps_nicknames(listing),
            ["dps-rs emulator local CA 0123456789abcdef"]
        );
    }
}
