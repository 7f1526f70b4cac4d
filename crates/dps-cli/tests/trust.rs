//! `dps-cli emulator trust`, run as a user would, on scratch stores only: the system store is
//! Debian's layout under a temporary `--system-store-root` (the real `update-ca-certificates`
//! rebuilds its bundle), the NSS database a temporary `--nss-db` (the real `certutil`), and
//! HOME a temporary folder, so the machine's own stores are never read or changed. Tests that
//! need a tool this machine lacks say so on stderr and skip.

mod common;

use common::bare;
use dps_emulator::{Emulator, EmulatorConfig, LocalCa, regenerate_local_ca};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A temporary folder with a data folder holding a local CA, an empty HOME and the places of
/// a scratch system store and NSS database.
struct Scratch {
    tmp: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(tmp.path().join("home")).expect("home");
        regenerate_local_ca(&tmp.path().join("data"), &[]).expect("a local CA");
        Self { tmp }
    }

    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn nss(&self) -> PathBuf {
        self.tmp.path().join("nss")
    }

    fn ca(&self) -> LocalCa {
        LocalCa::load(&self.data()).expect("CA")
    }

    /// A store that already holds another CA, as every real one does (with none at all,
    /// `update-ca-certificates --fresh` leaves the old bundle in place).
    fn seed_store(&self) {
        let local = self.root().join("usr/local/share/ca-certificates");
        std::fs::create_dir_all(&local).expect("mkdir");
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let other = params.self_signed(&key).expect("other CA");
        std::fs::write(local.join("other-ca.crt"), other.pem()).expect("write");
    }

    fn bundle(&self) -> String {
        std::fs::read_to_string(self.root().join("etc/ssl/certs/ca-certificates.crt"))
            .expect("the bundle")
    }

    /// `dps-cli emulator trust --data-dir DATA ARGS` with HOME in the scratch folder.
    fn trust(&self, args: &[&str]) -> Output {
        bare()
            .current_dir(self.tmp.path())
            .env("HOME", self.tmp.path().join("home"))
            .args(["emulator", "trust", "--data-dir"])
            .arg(self.data())
            .args(args)
            .output()
            .expect("runs")
    }

    /// [`Scratch::trust`] on the scratch stores.
    fn trust_scratch(&self, args: &[&str]) -> Output {
        let root = self.root().display().to_string();
        let nss = self.nss().display().to_string();
        let mut all = vec!["--system-store-root", &root, "--nss-db", &nss];
        all.extend_from_slice(args);
        self.trust(&all)
    }

    /// The nicknames `certutil -L` lists in the scratch NSS database.
    fn nss_listing(&self) -> String {
        let out = std::process::Command::new("certutil")
            .arg("-L")
            .arg("-d")
            .arg(format!("sql:{}", self.nss().display()))
            .output()
            .expect("certutil runs");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed(program: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| Path::new(d).join(program).is_file())
}

/// Whether both tools are here; if not, says which test skips and why.
fn tools_or_skip(test: &str) -> bool {
    let missing: Vec<&str> = ["update-ca-certificates", "certutil"]
        .into_iter()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!(
        "SKIPPED {test}: {} not installed (packages ca-certificates, libnss3-tools)",
        missing.join(" and ")
    );
    false
}

/// The PEM's base64 body, as a bundle holds it.
fn body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn bundle_body(bundle: &str) -> String {
    bundle.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// Every file below `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

#[test]
fn trust_adds_the_ca_to_both_stores_and_uninstall_removes_it() {
    if !tools_or_skip("trust_adds_the_ca_to_both_stores_and_uninstall_removes_it") {
        return;
    }
    let s = Scratch::new();
    s.seed_store();
    let ca = s.ca();
    let short = ca.short_fingerprint();
    let nickname = format!("dps-rs emulator local CA {short}");
    let file = s.root().join(format!(
        "usr/local/share/ca-certificates/dps-rs-emulator-{short}.crt"
    ));

    let plan = succeeded(&s.trust_scratch(&["--yes"]));
    for wanted in [
        ca.sha256.as_str(),
        &ca.subject,
        "localhost, 127.0.0.0/8, ::1/128",
        "update-ca-certificates",
        &nickname,
    ] {
        assert!(plan.contains(wanted), "{wanted:?} missing from:\n{plan}");
    }
    assert!(file.is_file(), "{} was not written", file.display());
    assert!(s.nss_listing().contains(&nickname), "{}", s.nss_listing());
    let bundle = bundle_body(&s.bundle());
    assert!(bundle.contains(&body(&ca.pem)), "the bundle lacks the CA");

    // Once more: the same CA again is no error.
    succeeded(&s.trust_scratch(&["--yes"]));

    let out = succeeded(&s.trust_scratch(&["--uninstall", "--yes"]));
    assert!(out.contains("--fresh"), "{out}");
    assert!(!file.exists(), "{} is still there", file.display());
    assert!(
        !s.nss_listing().contains("dps-rs emulator"),
        "{}",
        s.nss_listing()
    );
    let bundle = bundle_body(&s.bundle());
    assert!(
        !bundle.contains(&body(&ca.pem)),
        "the bundle still has the CA"
    );
    assert!(bundle.len() > 100, "the other CA went too");

    let again = succeeded(&s.trust_scratch(&["--uninstall", "--yes"]));
    assert!(again.contains("Nothing to do"), "{again}");
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    if !tools_or_skip("dry_run_prints_the_plan_and_changes_nothing") {
        return;
    }
    let s = Scratch::new();
    let before = files(s.tmp.path());
    let out = succeeded(&s.trust_scratch(&["--dry-run"]));
    assert!(out.contains(&s.ca().sha256), "{out}");
    assert!(out.contains("certutil -N --empty-password"), "{out}");
    assert!(out.contains("nothing was changed"), "{out}");
    assert_eq!(before, files(s.tmp.path()), "--dry-run changed files");
    assert!(!s.nss().exists() && !s.root().exists());
}

#[test]
fn without_a_terminal_or_yes_it_is_a_usage_error_and_changes_nothing() {
    if !tools_or_skip("without_a_terminal_or_yes_it_is_a_usage_error_and_changes_nothing") {
        return;
    }
    let s = Scratch::new();
    let before = files(s.tmp.path());
    let out = s.trust_scratch(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Plan"));
    assert_eq!(before, files(s.tmp.path()));
}

#[test]
fn regenerate_replaces_the_ca_in_the_stores_and_the_emulator_starts_with_the_new_name() {
    if !tools_or_skip("regenerate_replaces_the_ca_in_the_stores_and_the_emulator_starts") {
        return;
    }
    let s = Scratch::new();
    s.seed_store();
    let old = s.ca();
    succeeded(&s.trust_scratch(&["--yes"]));
    let mut config = EmulatorConfig::for_tests(s.data());
    config.host_names = vec!["devbox.local".into()];
    let refused = Emulator::spawn(config.clone()).expect_err("devbox.local is outside the CA");
    assert!(
        refused.to_string().contains("--host-name devbox.local"),
        "{refused}"
    );

    let out =
        succeeded(&s.trust_scratch(&["--regenerate", "--host-name", "devbox.local", "--yes"]));
    assert!(out.contains("restart"), "{out}");
    let new = s.ca();
    assert_ne!(new.sha256, old.sha256);
    assert!(new.covers("devbox.local") && !new.covers("example.com"));
    let listing = s.nss_listing();
    assert!(listing.contains(&new.short_fingerprint()), "{listing}");
    assert!(!listing.contains(&old.short_fingerprint()), "{listing}");
    let bundle = bundle_body(&s.bundle());
    assert!(bundle.contains(&body(&new.pem)) && !bundle.contains(&body(&old.pem)));

    let emulator = Emulator::spawn(config).expect("starts with devbox.local");
    assert_eq!(emulator.ca_pem(), new.pem);
}

#[test]
fn a_browser_database_without_certutil_is_named_with_the_package_to_install() {
    let s = Scratch::new();
    let chromium = s.tmp.path().join("home/.pki/nssdb");
    std::fs::create_dir_all(&chromium).expect("mkdir");
    std::fs::write(chromium.join("cert9.db"), b"").expect("write");
    let empty = s.tmp.path().join("bin");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let out = bare()
        .env("HOME", s.tmp.path().join("home"))
        .env("PATH", &empty)
        .args([
            "emulator",
            "trust",
            "--no-system-store",
            "--dry-run",
            "--data-dir",
        ])
        .arg(s.data())
        .output()
        .expect("runs");
    let stdout = succeeded(&out);
    assert!(stdout.contains("apt install libnss3-tools"), "{stdout}");
    assert!(stdout.contains(&chromium.display().to_string()), "{stdout}");
}

#[test]
fn a_missing_or_unconstrained_ca_is_refused_with_the_command_that_fixes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let trust = || {
        bare()
            .env("HOME", tmp.path())
            .args([
                "emulator",
                "trust",
                "--no-system-store",
                "--no-nss",
                "--yes",
            ])
            .arg("--data-dir")
            .arg(&data)
            .output()
            .expect("runs")
    };
    let out = trust();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dps-cli emulator start --data-dir"),
        "{stderr}"
    );

    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let key = rcgen::KeyPair::generate().expect("key");
    let old = params.self_signed(&key).expect("CA");
    std::fs::create_dir_all(data.join("tls")).expect("mkdir");
    std::fs::write(data.join("tls/emulator-ca.cert.pem"), old.pem()).expect("write");
    let out = trust();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no name constraints"), "{stderr}");
    assert!(
        stderr.contains("dps-cli emulator trust --regenerate --data-dir"),
        "{stderr}"
    );
}

#[test]
fn host_name_without_regenerate_is_a_usage_error() {
    let out = bare()
        .args([
            "emulator",
            "trust",
            "--host-name",
            "devbox.local",
            "--dry-run",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
