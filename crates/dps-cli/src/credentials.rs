//! Certificate and key files of `device register`, `doctor` and `certificate prove`, read in one
//! place. A file's kind is told from its content, never from its name: PEM by its labels
//! (`CERTIFICATE`, `PRIVATE KEY`, ...), DER by its structure (an X.509 certificate, a PKCS#12
//! archive, a PKCS#8 key). So a PFX works as `--cert` (its password is `--password`; its key
//! stands in for `--key`), and a key given as `--cert` (or a certificate as `--key`) is met
//! with "were --cert and --key swapped?" instead of a parser's complaint.

use crate::Hint;
use anyhow::Context;
use dps_certgen::Credential;
use rustls_pki_types::CertificateDer;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a file holds, from its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// PEM `CERTIFICATE` blocks, or one DER certificate.
    Certificates,
    /// A private key: PEM (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `RSA PRIVATE KEY`,
    /// `EC PRIVATE KEY`) or PKCS#8 DER.
    PrivateKey,
    /// A PKCS#12 (PFX) archive.
    Pkcs12,
    /// PEM blocks of another kind (`CERTIFICATE REQUEST`, `PUBLIC KEY`, ...): their labels.
    OtherPem(String),
    /// Neither PEM nor a DER structure dps-cli knows.
    Unknown,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Certificates => f.write_str("a certificate"),
            Kind::PrivateKey => f.write_str("a private key"),
            Kind::Pkcs12 => f.write_str("a PKCS#12 (PFX) file"),
            Kind::OtherPem(label) => write!(f, "a PEM {label}, not a certificate or a key"),
            Kind::Unknown => {
                f.write_str("neither PEM nor a DER certificate, private key or PKCS#12 file")
            }
        }
    }
}

/// The PEM labels of private keys.
const KEY_LABELS: [&str; 4] = [
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
];

/// The labels of the PEM blocks in `text` (`-----BEGIN LABEL-----`), in order.
fn pem_labels(text: &str) -> Vec<&str> {
    text.split("-----BEGIN ")
        .skip(1)
        .filter_map(|rest| rest.split_once("-----").map(|(label, _)| label.trim()))
        .collect()
}

/// The first private-key block of PEM text, from its BEGIN line to its END line (a PEM file
/// may hold a certificate and its key, or EC parameters before the key).
fn key_block(text: &str) -> Option<&str> {
    KEY_LABELS
        .iter()
        .filter_map(|label| {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let start = text.find(&begin)?;
            let stop = start + text[start..].find(&end)? + end.len();
            Some((start, &text[start..stop]))
        })
        .min_by_key(|(start, _)| *start)
        .map(|(_, block)| block)
}

/// A PEM private key (the first key block of `text`), normalised.
fn pem_key(text: &str, password: Option<&str>, path: &Path) -> anyhow::Result<Key> {
    let key = dps_certgen::key_from_pem(key_block(text).unwrap_or(text), password, path)
        .map_err(crate::errors::explain_certgen)?;
    Ok(Key {
        pem: key.serialize_pem(),
        public_key: key.public_key_raw().to_vec(),
    })
}

/// Tells what `bytes` hold.
pub(crate) fn kind(bytes: &[u8]) -> Kind {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let labels = pem_labels(text);
        if labels.contains(&"CERTIFICATE") {
            return Kind::Certificates;
        }
        if labels.iter().any(|l| KEY_LABELS.contains(l)) {
            return Kind::PrivateKey;
        }
        if !labels.is_empty() {
            return Kind::OtherPem(labels.join(", "));
        }
    }
    if bytes.first() != Some(&0x30) {
        return Kind::Unknown;
    }
    if dps_chain::Cert::parse(bytes).is_ok() {
        return Kind::Certificates;
    }
    match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, "") {
        Ok(_) => return Kind::Pkcs12,
        Err(
            p12_keystore::error::Error::DerError(_) | p12_keystore::error::Error::InvalidVersion,
        ) => {}
        Err(_) => return Kind::Pkcs12,
    }
    if dps_certgen::key_from_pem(&pem("PRIVATE KEY", bytes), None, Path::new("")).is_ok() {
        return Kind::PrivateKey;
    }
    Kind::Unknown
}

/// DER as one PEM block.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A private key, normalised to unencrypted PKCS#8 PEM.
pub(crate) struct Key {
    /// PKCS#8 PEM.
    pub(crate) pem: String,
    /// The public key bits, to compare with a certificate's.
    pub(crate) public_key: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").finish_non_exhaustive()
    }
}

/// What a certificate file (`--cert`, `--chain`, ...) gave.
#[derive(Debug)]
pub(crate) struct CertFile {
    /// Its certificates in file order; for a PKCS#12, the certificate of its key first.
    pub(crate) certs: Vec<CertificateDer<'static>>,
    /// The private key (or why it cannot be read), when the file holds one: a PKCS#12, or PEM
    /// with a key block beside the certificates.
    pub(crate) key: Option<anyhow::Result<Key>>,
}

/// The hint for a key where a certificate belongs, or the other way round.
const SWAP_HINT: &str = "--cert takes the certificate (certGen layout: certs/<name>.cert.pem, or \
                         certs/<name>-full-chain.cert.pem for a device; a .pfx with --password \
                         works too) and --key its private key (private/<name>.key.pem)";

/// Reads the certificates of `path`, given with `flag`: PEM, DER or a PKCS#12 opened with
/// `password`. A key file, a PEM of another kind or an unreadable PKCS#12 is an error that
/// says so in words, with the fix.
pub(crate) fn certificates(
    path: &Path,
    flag: &str,
    password: Option<&str>,
) -> anyhow::Result<CertFile> {
    let bytes = read(path, flag)?;
    match kind(&bytes) {
        Kind::Certificates => {
            let certs = dps_certgen::certs_from_bytes(&bytes)
                .with_context(|| format!("{flag} {}", path.display()))?;
            let key = std::str::from_utf8(&bytes)
                .ok()
                .filter(|text| key_block(text).is_some())
                .map(|text| pem_key(text, password, path));
            Ok(CertFile { certs, key })
        }
        Kind::Pkcs12 => pkcs12(&bytes, path, flag, password),
        Kind::PrivateKey => Err(Hint::error(
            format!(
                "{flag} {} is a private key, not a certificate: were --cert and --key swapped?",
                path.display()
            ),
            SWAP_HINT,
        )),
        other => Err(Hint::error(
            format!(
                "{flag} {} is {other}: it holds no X.509 certificate",
                path.display()
            ),
            "give a certificate file: PEM (-----BEGIN CERTIFICATE-----), DER (.cer) or a PKCS#12 \
             .pfx with --password",
        )),
    }
}

/// Reads the certificates of `path` for a command that uploads a certificate and has no
/// `--password` (groups, enrollments, `certificate upload` and `verify`): PEM or DER. A PKCS#12
/// or a key file is an error saying how to get the certificate alone.
pub(crate) fn upload_certificates(
    path: &Path,
    flag: &str,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let bytes = read(path, flag)?;
    let shown = crate::context::shell_word(&path.display().to_string());
    match kind(&bytes) {
        Kind::Pkcs12 => Err(Hint::error(
            format!(
                "{flag} {} is a PKCS#12 (PFX) file: this command takes the certificate alone",
                path.display()
            ),
            format!(
                "give the certificate as PEM: openssl pkcs12 -in {shown} -nokeys -out cert.pem \
                 (add -legacy for a .pfx from older tools), then {flag} cert.pem"
            ),
        )),
        Kind::PrivateKey => Err(Hint::error(
            format!(
                "{flag} {} is a private key, not a certificate",
                path.display()
            ),
            "give the certificate file (certGen layout: certs/<name>.cert.pem, the key's \
             certificate beside private/<name>.key.pem)",
        )),
        _ => Ok(certificates(path, flag, None)?.certs),
    }
}

/// Reads the private key of `path`, given with `flag`: PEM (PKCS#8 plain or encrypted with
/// `password`, PKCS#1, SEC1), PKCS#8 DER, or the key of a PKCS#12. A certificate given as the
/// key is an error asking whether --cert and --key were swapped.
pub(crate) fn key(path: &Path, flag: &str, password: Option<&str>) -> anyhow::Result<Key> {
    let bytes = read(path, flag)?;
    let text = std::str::from_utf8(&bytes).ok();
    // PEM with a key block (alone, or beside certificates) is read as its key.
    if let Some(text) = text.filter(|t| key_block(t).is_some()) {
        return pem_key(text, password, path);
    }
    match kind(&bytes) {
        Kind::PrivateKey => pem_key(&pem("PRIVATE KEY", &bytes), password, path),
        Kind::Pkcs12 => pkcs12(&bytes, path, flag, password)?.key.ok_or_else(|| {
            Hint::error(
                format!(
                    "{flag} {}: the PKCS#12 (PFX) file holds no private key",
                    path.display()
                ),
                "give the private key's own file (PEM), or a .pfx exported with its key",
            )
        })?,
        Kind::Certificates => Err(Hint::error(
            format!(
                "{flag} {} is a certificate, not a private key: were --cert and --key swapped?",
                path.display()
            ),
            SWAP_HINT,
        )),
        other => Err(Hint::error(
            format!(
                "{flag} {} is {other}: it holds no private key",
                path.display()
            ),
            "give the private key as PEM (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY, \
             RSA PRIVATE KEY, EC PRIVATE KEY)",
        )),
    }
}

/// `--cert` and `--key` given the other way round: both files say so, so the error can give
/// the command's fix outright.
pub(crate) fn swapped(cert: &Path, key: Option<&Path>) -> anyhow::Result<()> {
    let Some(key) = key else { return Ok(()) };
    let (Ok(c), Ok(k)) = (std::fs::read(cert), std::fs::read(key)) else {
        return Ok(());
    };
    if kind(&c) == Kind::PrivateKey && kind(&k) == Kind::Certificates {
        return Err(Hint::error(
            format!(
                "--cert and --key are swapped: --cert {} is a private key and --key {} a \
                 certificate",
                cert.display(),
                key.display()
            ),
            format!(
                "give --cert {} --key {}",
                crate::context::shell_word(&key.display().to_string()),
                crate::context::shell_word(&cert.display().to_string())
            ),
        ));
    }
    Ok(())
}

/// A device's credentials: the certificates it sends (leaf first: `--cert`, then each
/// `--chain` file, without repeats) and its key (`--key`, else the key of a PKCS#12 `--cert`).
#[derive(Debug)]
pub(crate) struct Device {
    /// What the device sends, leaf first.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    /// The key (or why it cannot be read), or `None` when neither --key nor a PKCS#12 gave
    /// one.
    pub(crate) key: Option<anyhow::Result<Key>>,
}

/// Reads a device's certificate (`cert`, with the `chain` files after it) and key (`key`, else
/// the PKCS#12's). Key errors are returned, not raised, for a caller (doctor) that reports
/// them as a finding.
pub(crate) fn device(
    cert: &Path,
    chain: &[PathBuf],
    key_file: Option<&Path>,
    password: Option<&str>,
) -> anyhow::Result<Device> {
    swapped(cert, key_file)?;
    let main = certificates(cert, "--cert", password)?;
    let mut certs = main.certs;
    for f in chain {
        for c in certificates(f, "--chain", password)?.certs {
            if !certs.contains(&c) {
                certs.push(c);
            }
        }
    }
    let key = match key_file {
        Some(k) => Some(key(k, "--key", password)),
        None => main.key,
    };
    Ok(Device { chain: certs, key })
}

/// The CA `certificate prove` signs with, and its certificate as PEM for the upload: `cert`
/// with `key`, or a PKCS#12 `cert` alone (its key). Errors say which file is what.
pub(crate) fn signing_ca(
    cert: &Path,
    key_file: Option<&Path>,
    password: Option<&str>,
) -> anyhow::Result<(Credential, String)> {
    swapped(cert, key_file)?;
    let file = certificates(cert, "--cert", password)?;
    let Some(der) = file.certs.first().cloned() else {
        anyhow::bail!("--cert {} holds no certificate", cert.display());
    };
    if file.key.is_none() && file.certs.len() > 1 {
        crate::output::eprint_note(
            "note: ",
            &format!(
                "{} holds {} certificates; the first one is used",
                cert.display(),
                file.certs.len()
            ),
        );
    }
    let (key_pem, key_path) = match (key_file, file.key) {
        (Some(k), _) => (key(k, "--key", password)?.pem, k),
        (None, Some(own)) => (own?.pem, cert),
        (None, None) => {
            return Err(crate::Usage::error(format!(
                "--key is required: {} holds no private key (only a PKCS#12 .pfx carries its \
                 own)",
                cert.display()
            )));
        }
    };
    let pair = dps_certgen::key_from_pem(&key_pem, None, key_path)?;
    let pem = dps_certgen::pem_cert(&der);
    let ca = Credential::ca_from_parts(der, pair, cert, key_path)?;
    Ok((ca, pem))
}

/// The bytes of a file given with `flag`.
fn read(path: &Path, flag: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("{flag} {} does not exist", path.display())
        } else {
            anyhow::Error::new(e).context(format!("reading {flag} {}", path.display()))
        }
    })
}

/// The certificates and key of a PKCS#12 archive: the certificate of the key first, then the
/// others in their order.
fn pkcs12(
    bytes: &[u8],
    path: &Path,
    flag: &str,
    password: Option<&str>,
) -> anyhow::Result<CertFile> {
    use p12_keystore::error::Error as P12;
    let shown = crate::context::shell_word(&path.display().to_string());
    let archive = match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password.unwrap_or("")) {
        Ok(a) => a,
        Err(P12::MacError(_) | P12::Pkcs5Error(_) | P12::UnpadError) => {
            let message = match password {
                None => format!(
                    "{flag} {} is a PKCS#12 (PFX) file protected by a password",
                    path.display()
                ),
                Some(_) => format!(
                    "{flag} {}: the password does not open this PKCS#12 (PFX) file",
                    path.display()
                ),
            };
            return Err(Hint::error(
                message,
                "give its password with --password (certGen's is 1234)",
            ));
        }
        Err(_) => {
            return Err(Hint::error(
                format!(
                    "{flag} {} is a PKCS#12 (PFX) file dps-cli cannot read (an encryption \
                     older than AES, or damaged)",
                    path.display()
                ),
                format!(
                    "convert it to PEM and give the certificate and key separately: openssl \
                     pkcs12 -legacy -in {shown} -nokeys -out cert.pem && openssl pkcs12 -legacy \
                     -in {shown} -nocerts -nodes -out key.pem, then --cert cert.pem --key key.pem"
                ),
            ));
        }
    };
    let key = archive
        .keys
        .first()
        .map(|k| -> anyhow::Result<Key> {
            let pair = dps_certgen::key_from_pem(&pem("PRIVATE KEY", k.key.as_der()), None, path)?;
            Ok(Key {
                pem: pair.serialize_pem(),
                public_key: pair.public_key_raw().to_vec(),
            })
        })
        .transpose()?;
    let mut certs: Vec<CertificateDer<'static>> = archive
        .certs
        .iter()
        .map(|b| CertificateDer::from(b.cert.as_der().to_vec()))
        .collect();
    if let Some(k) = &key
        && let Some(i) = certs.iter().position(|c| {
            dps_chain::Cert::parse(c).is_ok_and(|c| c.public_key() == k.public_key.as_slice())
        })
    {
        let leaf = certs.remove(i);
        certs.insert(0, leaf);
    }
    if certs.is_empty() {
        return Err(Hint::error(
            format!(
                "{flag} {}: the PKCS#12 (PFX) file holds no certificate",
                path.display()
            ),
            "export the .pfx with its certificate, or give the certificate as PEM",
        ));
    }
    Ok(CertFile {
        certs,
        key: key.map(Ok),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_certgen::{CertSpec, KeyAlgorithm, Profile};

    fn ca() -> Credential {
        Credential::self_signed(&CertSpec {
            common_name: "Root",
            profile: Profile::RootCa,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        })
        .expect("root")
    }

    #[test]
    fn kinds_are_told_by_content() {
        let root = ca();
        let key_pem = root.key().serialize_pem();
        let pfx = dps_certgen::to_pfx(&root, &[], "1234").expect("pfx");
        assert_eq!(kind(root.cert_pem().as_bytes()), Kind::Certificates);
        assert_eq!(kind(root.der()), Kind::Certificates);
        assert_eq!(kind(key_pem.as_bytes()), Kind::PrivateKey);
        assert_eq!(kind(&root.key().serialize_der()), Kind::PrivateKey);
        assert_eq!(kind(&pfx), Kind::Pkcs12);
        assert_eq!(
            kind(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Kind::OtherPem("PUBLIC KEY".into())
        );
        assert_eq!(kind(b"hello"), Kind::Unknown);
    }

    #[test]
    fn a_pfx_gives_its_certificate_and_key() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = ca();
        let path = tmp.path().join("root.pfx");
        std::fs::write(&path, dps_certgen::to_pfx(&root, &[], "1234").expect("pfx"))
            .expect("write");
        let file = certificates(&path, "--cert", Some("1234")).expect("opens");
        assert_eq!(file.certs, vec![root.der().clone()]);
        let key = file.key.expect("a key").expect("readable");
        assert_eq!(key.public_key, root.key().public_key_raw());
        let (ca, pem) = signing_ca(&path, None, Some("1234")).expect("a CA");
        assert_eq!(ca.der(), root.der());
        assert_eq!(pem, root.cert_pem());
        for password in [None, Some("wrong")] {
            let e = certificates(&path, "--cert", password).expect_err("locked");
            let hint = e.downcast_ref::<Hint>().expect("a hint");
            assert!(hint.hint.contains("--password"), "{}", hint.hint);
        }
    }

    #[test]
    fn a_pem_with_certificate_and_key_gives_both() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = ca();
        let encrypted = dps_certgen::key_to_pem(root.key(), Some("1234")).expect("encrypt");
        let path = tmp.path().join("both.pem");
        std::fs::write(&path, format!("{}{encrypted}", root.cert_pem())).expect("write");
        let file = certificates(&path, "--cert", Some("1234")).expect("reads");
        assert_eq!(file.certs, vec![root.der().clone()]);
        let key = file.key.expect("a key").expect("decrypts");
        assert_eq!(key.public_key, root.key().public_key_raw());
        // The same file as --key is its key; without the password, the key says it is locked.
        let again = super::key(&path, "--key", Some("1234")).expect("the key");
        assert_eq!(again.public_key, key.public_key);
        let locked = certificates(&path, "--cert", None).expect("the certificate");
        assert!(locked.key.expect("a key block").is_err());
    }
}
