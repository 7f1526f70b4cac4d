//! Certificate files as the checks need them (read by [`crate::credentials`], which tells a
//! file's kind by its content). The certificates themselves are [`dps_chain::Cert`], the very
//! type the emulator's device API decides with.

use dps_chain::Cert;
use rustls_pki_types::CertificateDer;
use std::path::{Path, PathBuf};

/// Every certificate in `files` (`--cert` and `--chain` files), in order, without repeats.
pub(crate) fn read_all(files: &[&Path]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let mut out: Vec<CertificateDer<'static>> = Vec::new();
    for f in files {
        for c in crate::credentials::certificates(f, "--cert", None)?.certs {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Every certificate of a file given with `flag`, parsed; the error names the file.
pub(crate) fn read_parsed(path: &Path, flag: &str) -> anyhow::Result<Vec<Cert>> {
    crate::credentials::certificates(path, flag, None)?
        .certs
        .iter()
        .map(|der| {
            Cert::parse(der).map_err(|e| {
                anyhow::anyhow!(
                    "{flag} {}: a certificate cannot be parsed: {e}",
                    path.display()
                )
            })
        })
        .collect()
}

/// At most this many files of the device certificate's folder are looked at.
const NEARBY_FILES: usize = 256;
/// Larger files are not certificates of a certGen folder.
const NEARBY_BYTES: u64 = 256 * 1024;

/// The certificates in the folder of `cert` (the certGen layout keeps the device's, the
/// intermediate's and the root's side by side), with their files, in file-name order.
/// They only identify certificates the service reports by thumbprint and name the file that
/// holds a missing one: they are never taken as sent by the device or as trusted.
/// Unreadable files are skipped.
pub(crate) fn nearby(cert: &Path) -> Vec<(PathBuf, Cert)> {
    // Paths as the user spelled --cert's: `dev.pem` rather than `./dev.pem` for a file in the
    // current folder, so that a fix names the very file given.
    let parent = cert.parent().filter(|d| !d.as_os_str().is_empty());
    let Ok(entries) = std::fs::read_dir(parent.unwrap_or(Path::new("."))) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= NEARBY_BYTES)
        })
        .map(|e| parent.map_or_else(|| PathBuf::from(e.file_name()), |d| d.join(e.file_name())))
        .filter(|p| {
            p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                ["pem", "cer", "crt", "der"].contains(&x.to_ascii_lowercase().as_str())
            })
        })
        .collect();
    files.sort();
    files.truncate(NEARBY_FILES);
    let mut out = Vec::new();
    for f in files {
        let Ok(ders) = dps_certgen::read_certs(&f) else {
            continue;
        };
        for der in ders {
            if let Ok(c) = Cert::parse(&der) {
                out.push((f.clone(), c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};

    #[test]
    fn nearby_finds_the_certificates_beside_the_device_certificate() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spec = |cn, profile| CertSpec {
            common_name: cn,
            profile,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        };
        let root = Credential::self_signed(&spec("Root", Profile::RootCa)).expect("root");
        let leaf = root.sign(&spec("dev", Profile::Leaf)).expect("leaf");
        std::fs::write(tmp.path().join("root.pem"), root.cert_pem()).expect("write");
        std::fs::write(tmp.path().join("dev.pem"), leaf.cert_pem()).expect("write");
        std::fs::write(tmp.path().join("notes.txt"), root.cert_pem()).expect("write");
        std::fs::write(tmp.path().join("broken.pem"), "not a certificate").expect("write");
        let found = nearby(&tmp.path().join("dev.pem"));
        let names: Vec<String> = found
            .iter()
            .map(|(p, c)| {
                format!(
                    "{} {}",
                    p.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default(),
                    c.subject()
                )
            })
            .collect();
        assert_eq!(names, ["dev.pem CN=dev", "root.pem CN=Root"]);
    }
}
