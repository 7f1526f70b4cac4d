//! Shared helpers: chains, folder snapshots, certificate parsing, rustls-webpki and openssl.

use dps_certgen::{
    CertDir, ChainOptions, Error, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, Outcome,
    ROOT_PREFIX, Result, Signer, read_certs,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use tempfile::TempDir;

/// certGen.sh's password, spelled out so a change of the library constant is noticed.
pub(crate) const PW: &str = "1234";

pub(crate) fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create a temporary folder")
}

pub(crate) fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// certGen.sh's defaults (password 1234, 30 days, its CNs) with the given key algorithm.
pub(crate) fn chain_opts(algorithm: KeyAlgorithm) -> ChainOptions {
    ChainOptions {
        algorithm,
        ..ChainOptions::default()
    }
}

pub(crate) fn leaf_opts(signer: Signer) -> LeafOptions {
    LeafOptions {
        algorithm: KeyAlgorithm::EcdsaP256,
        signer,
        ..LeafOptions::default()
    }
}

/// A fresh folder with a P-256 root and intermediate, keys encrypted with 1234.
pub(crate) fn p256_chain() -> (TempDir, CertDir) {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    dir.create_root_and_intermediate(&chain_opts(KeyAlgorithm::EcdsaP256))
        .expect("create a P-256 chain");
    (tmp, dir)
}

/// One P-256 device signed by `signer`, with certGen.sh's defaults.
pub(crate) fn device(dir: &CertDir, name: &str, signer: Signer) -> Outcome {
    dir.create_device_certificates(&names(&[name]), &leaf_opts(signer), &|_, _| {})
        .expect("create a device certificate")
}

/// Runs `op`, asserts it fails and that no file or folder below `root` changed.
pub(crate) fn refused(root: &Path, op: impl FnOnce() -> Result<Outcome>) -> Error {
    let (files, dirs) = (snapshot(root), tree(root));
    let err = op().expect_err("the operation must fail");
    assert_eq!(snapshot(root), files, "files changed after {err:?}");
    assert_eq!(tree(root), dirs, "folders changed after {err:?}");
    err
}

/// A P-256 batch signed by the intermediate, with certGen.sh's defaults.
pub(crate) fn batch(dir: &CertDir, list: &[&str]) -> Result<Outcome> {
    dir.create_device_certificates(&names(list), &leaf_opts(Signer::Intermediate), &|_, _| {})
}

/// Name of the device in the shared RSA chain (RSA-4096, signed by the intermediate).
pub(crate) const RSA_DEVICE: &str = "rsa-device";

/// Every file of a folder holding a generated RSA-4096 chain plus one RSA-4096 device,
/// generated once per test binary: RSA-4096 key generation dominates the suite's runtime.
fn rsa_files() -> &'static BTreeMap<PathBuf, (Vec<u8>, u32)> {
    static FILES: OnceLock<BTreeMap<PathBuf, (Vec<u8>, u32)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let tmp = tempdir();
        let dir = CertDir::new(tmp.path());
        dir.create_root_and_intermediate(&chain_opts(KeyAlgorithm::Rsa4096))
            .expect("create the RSA-4096 chain");
        let opts = LeafOptions {
            algorithm: KeyAlgorithm::Rsa4096,
            ..leaf_opts(Signer::Intermediate)
        };
        dir.create_device_certificates(&names(&[RSA_DEVICE]), &opts, &|_, _| {})
            .expect("create the RSA-4096 device");
        snapshot(tmp.path())
    })
}

/// A fresh folder holding a copy of the shared RSA-4096 chain and device.
pub(crate) fn rsa_chain() -> (TempDir, CertDir) {
    let tmp = tempdir();
    for (rel, (bytes, mode)) in rsa_files() {
        let path = tmp.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a file has a parent"))
            .expect("create folder");
        std::fs::write(&path, bytes).expect("copy a file of the RSA chain");
        set_mode(&path, *mode);
    }
    let dir = CertDir::new(tmp.path());
    (tmp, dir)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// Permission bits of a file (0 off unix).
pub(crate) fn mode(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0
    }
}

/// Every regular file below `root` (relative path) with its content and permission bits.
pub(crate) type Snapshot = BTreeMap<PathBuf, (Vec<u8>, u32)>;

pub(crate) fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for entry in std::fs::read_dir(dir).expect("list folder") {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("below root").to_owned();
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(rel, (bytes, mode(&path)));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, &mut out);
    out
}

/// Relative paths of every file and folder below `root`, `/`-separated, sorted.
pub(crate) fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("list folder") {
            let path = entry.expect("folder entry").path();
            let rel = path.strip_prefix(root).expect("below root");
            let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
            let mut name = parts.join("/");
            if path.is_dir() {
                name.push('/');
                out.push(name);
                walk(root, &path, out);
            } else {
                out.push(name);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The files certGen.sh's `create_root_and_intermediate` leaves (without its CA database).
pub(crate) fn chain_tree() -> Vec<String> {
    let mut v = vec![
        "certs/".to_owned(),
        format!("certs/{ROOT_PREFIX}.cert.pem"),
        format!("certs/{INTERMEDIATE_PREFIX}.cert.pem"),
        "certs/azure-iot-test-only.chain.ca.cert.pem".to_owned(),
        "private/".to_owned(),
        format!("private/{ROOT_PREFIX}.key.pem"),
        format!("private/{INTERMEDIATE_PREFIX}.key.pem"),
    ];
    v.sort();
    v
}

/// Every certificate of a PEM file, DER-encoded.
pub(crate) fn certs(path: &Path) -> Vec<Vec<u8>> {
    read_certs(path)
        .expect("read certificates")
        .into_iter()
        .map(|c| c.as_ref().to_vec())
        .collect()
}

/// The single certificate of a PEM file.
pub(crate) fn cert(path: &Path) -> Vec<u8> {
    let mut all = certs(path);
    assert_eq!(all.len(), 1, "{} holds one certificate", path.display());
    all.remove(0)
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub(crate) fn sha1(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

/// Verifies `leaf` up to the trust anchor `root` for TLS client authentication, as DPS does.
pub(crate) fn webpki_verify(
    leaf: &[u8],
    intermediates: &[&[u8]],
    root: &[u8],
) -> Result<(), webpki::Error> {
    let root = CertificateDer::from(root.to_vec());
    let anchors = [webpki::anchor_from_trusted_cert(&root)?];
    let leaf = CertificateDer::from(leaf.to_vec());
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.to_vec()))
        .collect();
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &inter,
        UnixTime::now(),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map(|_| ())
}

/// Verifies a `-full-chain` file (leaf, intermediates..., root) with rustls-webpki.
pub(crate) fn webpki_verify_full_chain(path: &Path) {
    let all = certs(path);
    assert!(all.len() >= 2, "{} holds leaf and root", path.display());
    let inter: Vec<&[u8]> = all[1..all.len() - 1].iter().map(Vec::as_slice).collect();
    webpki_verify(&all[0], &inter, &all[all.len() - 1])
        .unwrap_or_else(|e| panic!("{} does not verify: {e:?}", path.display()));
}

/// Whether the `openssl` binary is on PATH.
pub(crate) fn have_openssl() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// True (and a note on stderr) when the test must be skipped for lack of `openssl`.
pub(crate) fn skip_without_openssl(test: &str) -> bool {
    if have_openssl() {
        return false;
    }
    eprintln!("skipping the openssl part of {test}: the openssl binary is not on PATH");
    true
}

/// Runs `openssl` with `args` in `cwd`.
pub(crate) fn openssl(cwd: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run openssl")
}

/// Runs `openssl`, asserts success, returns stdout and stderr together.
pub(crate) fn openssl_ok(cwd: &Path, args: &[&str]) -> String {
    let out = openssl(cwd, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

/// A path as a `&str` for command lines.
pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
