//! A certificate's files in the certGen layout, in one place for every hint that names them
//! (doctor's fixes, the warnings of `enrollment-group create` and `update`): the certificate
//! `OUT/certs/NAME.cert.pem` has its private key at `OUT/private/NAME.key.pem`, and the name a
//! hint uploads it under comes from its file.
//!
//! A key file counts as a certificate's only by its content: it must open (plain, or with
//! certGen's password, which `certificate prove` and `dps-cli certs` default to) and hold the
//! certificate's public key. A file of the right name from a re-generated chain is never taken
//! for it, and neither is a key encrypted with another password (nothing says whose it is).

use crate::context::shell_word;
use dps_certgen::{CertDir, DEFAULT_PASSWORD, INTERMEDIATE_PREFIX, ROOT_PREFIX, Signer};
use dps_chain::Cert;
use std::path::{Path, PathBuf};

/// The certGen folder of `OUT/certs/NAME.cert.pem`: `OUT`.
pub(crate) fn folder(file: &Path) -> Option<PathBuf> {
    let certs = file.parent()?;
    if certs.file_name()? != "certs" {
        return None;
    }
    Some(match certs.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

/// The certGen folder whose root or intermediate CA certificate file `file` is, and which of
/// the two: `(OUT, Signer::Root)` for `OUT/certs/azure-iot-test-only.root.ca.cert.pem`. The
/// caller checks that the file holds the certificate it means.
pub(crate) fn ca_role(file: &Path) -> Option<(PathBuf, Signer)> {
    let out = folder(file)?;
    let dir = CertDir::new(&out);
    [
        (ROOT_PREFIX, Signer::Root),
        (INTERMEDIATE_PREFIX, Signer::Intermediate),
    ]
    .into_iter()
    .find(|(prefix, _)| dir.cert_path(prefix).file_name() == file.file_name())
    .map(|(_, signer)| (out, signer))
}

/// The private key of `cert`, held in `file`: the certGen layout's `OUT/private/NAME.key.pem`
/// for `OUT/certs/NAME.cert.pem`, when it exists, opens without a password or with certGen's,
/// and its public key is the certificate's.
pub(crate) fn key(file: &Path, cert: &Cert) -> Option<PathBuf> {
    let stem = file.file_name()?.to_str()?.strip_suffix(".cert.pem")?;
    let key = folder(file)?
        .join("private")
        .join(format!("{stem}.key.pem"));
    if !key.is_file() {
        return None;
    }
    let opened = crate::credentials::key(&key, "--key", Some(DEFAULT_PASSWORD)).ok()?;
    (opened.public_key == cert.public_key()).then_some(key)
}

/// A certificate name on the DPS (1-64 letters, digits, `-`, `_`, `.`) for the certificate in
/// `file`: `azure-iot-test-only.root.ca` for `azure-iot-test-only.root.ca.cert.pem`.
pub(crate) fn upload_name(file: &Path) -> String {
    let base = file.file_name().and_then(|f| f.to_str()).unwrap_or("ca");
    let stem = [".cert.pem", ".pem", ".cer", ".crt", ".der"]
        .iter()
        .find_map(|x| base.strip_suffix(x))
        .unwrap_or(base);
    certificate_name(stem)
}

/// `text` as a certificate name on the DPS: other characters than letters, digits, `-`, `_`
/// and `.` become `-`, at most 64 of them (`ca` for nothing).
pub(crate) fn certificate_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "ca".to_owned()
    } else {
        name
    }
}

/// The first certificate of a file, if it can be read (PEM or DER).
pub(crate) fn read_first(path: &Path) -> Option<Cert> {
    let ders = dps_certgen::read_certs(path).ok()?;
    Cert::parse(ders.first()?).ok()
}

/// A path as one shell word.
pub(crate) fn path_word(p: &Path) -> String {
    shell_word(&p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_certgen::{CertDir, ChainOptions, INTERMEDIATE_PREFIX, KeyAlgorithm, ROOT_PREFIX};

    #[test]
    fn names_and_folders_from_certgen_files() {
        assert_eq!(
            upload_name(Path::new(
                "certs/certs/azure-iot-test-only.root.ca.cert.pem"
            )),
            "azure-iot-test-only.root.ca"
        );
        assert_eq!(upload_name(Path::new("my ca.cer")), "my-ca");
        assert_eq!(certificate_name("host:1/x"), "host-1-x");
        assert_eq!(certificate_name(""), "ca");
        assert_eq!(
            folder(Path::new("x/certs/a.cert.pem")),
            Some(PathBuf::from("x"))
        );
        assert_eq!(folder(Path::new("a.cert.pem")), None);
    }

    fn parsed(file: &Path) -> Cert {
        let der = dps_certgen::read_certs(file).expect("read").remove(0);
        Cert::parse(&der).expect("parse")
    }

    #[test]
    fn a_key_counts_only_when_it_is_the_certificates() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = CertDir::new(tmp.path());
        let chain = |force| ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            force,
            ..ChainOptions::default()
        };
        dir.create_root_and_intermediate(&chain(false))
            .expect("chain");
        let root_file = dir.cert_path(ROOT_PREFIX);
        let old_root = parsed(&root_file);
        assert_eq!(key(&root_file, &old_root), Some(dir.key_path(ROOT_PREFIX)));
        // The intermediate's key is not the root's, whatever the file says.
        let intermediate = parsed(&dir.cert_path(INTERMEDIATE_PREFIX));
        assert_eq!(key(&root_file, &intermediate), None);
        // Re-generated with the same names: the old certificate's key is gone.
        dir.create_root_and_intermediate(&chain(true))
            .expect("chain");
        assert_eq!(key(&root_file, &old_root), None);
        // Another password than certGen's: not opened, so not claimed.
        let other = tempfile::tempdir().expect("tempdir");
        let dir = CertDir::new(other.path());
        dir.create_root_and_intermediate(&ChainOptions {
            password: Some("other".into()),
            ..chain(false)
        })
        .expect("chain");
        let root_file = dir.cert_path(ROOT_PREFIX);
        assert_eq!(key(&root_file, &parsed(&root_file)), None);
    }
}
