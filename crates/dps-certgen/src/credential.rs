//! A certificate together with its private key, made fresh or loaded from PEM files, and the
//! signing operations between them.

use crate::error::{Error, Result, io_err};
use crate::key::{self, KeyAlgorithm};
use crate::profile::{self, Profile};
use rcgen::{Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::fmt;
use std::path::Path;
use time::OffsetDateTime;

/// A certificate and its private key.
///
/// `Debug` shows the certificate's subject only; the key never appears in output.
pub struct Credential {
    der: CertificateDer<'static>,
    key: KeyPair,
    /// Present only for CA certificates: what signing needs (subject, key id, a key copy).
    issuer: Option<Issuer<'static, KeyPair>>,
    subject: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("subject", &self.subject)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// What one new certificate looks like: its common name, profile, key and lifetime.
#[derive(Debug, Clone)]
pub struct CertSpec<'a> {
    /// Subject common name (the registration id for device certificates).
    pub common_name: &'a str,
    /// Extension profile.
    pub profile: Profile,
    /// Key algorithm of the new key.
    pub algorithm: KeyAlgorithm,
    /// Validity in days from now.
    pub days: u32,
}

impl Credential {
    /// Makes a self-signed root CA certificate with a fresh key.
    pub fn self_signed(spec: &CertSpec<'_>) -> Result<Self> {
        let key = spec.algorithm.generate()?;
        let params = profile::params(spec.profile, spec.common_name, &key, spec.days, now())?;
        let cert = params.self_signed(&key)?;
        Self::assemble(cert.der().clone(), key, params, spec)
    }

    /// Makes a certificate with a fresh key, signed by this credential, which must be a CA.
    pub fn sign(&self, spec: &CertSpec<'_>) -> Result<Self> {
        let key = spec.algorithm.generate()?;
        self.sign_key(spec, key)
    }

    /// Signs a certificate for an existing key.
    pub fn sign_key(&self, spec: &CertSpec<'_>, key: KeyPair) -> Result<Self> {
        let issuer = self.issuer.as_ref().ok_or_else(|| {
            Error::Generation(format!(
                "{} is not a CA certificate and cannot sign",
                self.subject
            ))
        })?;
        let params = profile::params(spec.profile, spec.common_name, &key, spec.days, now())?;
        let cert = params.signed_by(&key, issuer)?;
        Self::assemble(cert.der().clone(), key, params, spec)
    }

    fn assemble(
        der: CertificateDer<'static>,
        key: KeyPair,
        params: rcgen::CertificateParams,
        spec: &CertSpec<'_>,
    ) -> Result<Self> {
        let issuer = match spec.profile {
            // The issuer owns its own copy of the key; re-reading the DER is cheap next to keygen.
            Profile::RootCa | Profile::IntermediateCa => Some(Issuer::new(
                params,
                KeyPair::try_from(key.serialized_der())?,
            )),
            Profile::Leaf => None,
        };
        Ok(Self {
            der,
            key,
            issuer,
            subject: format!("CN={}", spec.common_name),
        })
    }

    /// Loads a CA certificate and its key from PEM files, to sign more certificates with an
    /// existing chain. Checks that the certificate is a CA and that the key belongs to it.
    pub fn load_ca(cert_path: &Path, key_path: &Path, password: Option<&str>) -> Result<Self> {
        let der = read_first_cert(cert_path)?;
        let key = key::load_key(key_path, password)?;
        Self::ca_from_parts(der, key, cert_path, key_path)
    }

    /// A CA from a certificate and its key already read (both from one PKCS#12 file, say),
    /// with the checks of [`Credential::load_ca`]: the certificate is a CA and the key is its.
    /// `cert_path` and `key_path` name where they came from in errors (the same file for a
    /// PKCS#12).
    pub fn ca_from_parts(
        der: CertificateDer<'static>,
        key: KeyPair,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Self> {
        let (_, x509) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| Error::NoCertificate {
                path: cert_path.to_owned(),
                source: Box::new(Error::InvalidCertificate(e.into())),
            })?;
        let is_ca = matches!(x509.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(Error::NotACa {
                path: cert_path.to_owned(),
            });
        }
        if x509.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(Error::KeyMismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
            });
        }
        let subject = x509.subject().to_string();
        let signer = KeyPair::try_from(key.serialized_der()).map_err(|e| Error::BadKey {
            path: key_path.to_owned(),
            reason: e.to_string(),
        })?;
        let issuer = Issuer::from_ca_cert_der(&der, signer).map_err(|e| Error::NoCertificate {
            path: cert_path.to_owned(),
            source: Box::new(Error::Rcgen(e)),
        })?;
        Ok(Self {
            der,
            key,
            issuer: Some(issuer),
            subject,
        })
    }

    /// The certificate, DER-encoded.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The certificate as a PEM `CERTIFICATE` block.
    pub fn cert_pem(&self) -> String {
        pem_cert(&self.der)
    }

    /// The private key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The subject as an RFC 4514-style string (`CN=...`).
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Encodes a DER certificate as a PEM `CERTIFICATE` block with 64-column lines, as OpenSSL does.
pub fn pem_cert(der: &[u8]) -> String {
    use pkcs8::der::pem::{LineEnding, encode_string};
    encode_string("CERTIFICATE", LineEnding::LF, der).unwrap_or_default()
}

/// Reads every certificate in a file: PEM (any number of blocks) or a single DER certificate.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingFile {
                path: path.to_owned(),
                hint: None,
            }
        } else {
            io_err(path)(e)
        }
    })?;
    certs_from_bytes(&bytes).map_err(|e| Error::NoCertificate {
        path: path.to_owned(),
        source: Box::new(e),
    })
}

/// Parses PEM (one or more `CERTIFICATE` blocks) or DER bytes into certificates.
///
/// Bytes starting like DER (a SEQUENCE tag) and holding no PEM block are taken as one
/// certificate without parsing it. Fails with
/// [`Error::InvalidPem`] or, when the text has no certificate, [`Error::NoPemCertificate`].
pub fn certs_from_bytes(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    // DER starts with a SEQUENCE tag (0x30, the character `0`); PEM text may too (a comment
    // line before the block), so text holding a PEM block is always read as PEM.
    let has_pem_block = bytes.windows(10).any(|w| w == b"-----BEGIN");
    if bytes.first() == Some(&0x30) && !has_pem_block {
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::InvalidPem)?;
    if certs.is_empty() {
        return Err(Error::NoPemCertificate);
    }
    Ok(certs)
}

/// Decodes a certificate as the DPS APIs carry it in a JSON field: PEM text (header and
/// newlines included; the first certificate of a bundle counts) or base64 of DER. The DER is
/// not parsed here.
pub fn cert_from_field(text: &str) -> Result<CertificateDer<'static>> {
    use base64::Engine;
    let trimmed = text.trim();
    if trimmed.contains("-----BEGIN") {
        return certs_from_bytes(trimmed.as_bytes())?
            .into_iter()
            .next()
            .ok_or(Error::NoPemCertificate);
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map(CertificateDer::from)
        .map_err(Error::InvalidBase64)
}

fn read_first_cert(path: &Path) -> Result<CertificateDer<'static>> {
    let hint = Some("create the chain first (create_root_and_intermediate)".to_owned());
    match read_certs(path) {
        Err(Error::MissingFile { path, .. }) => Err(Error::MissingFile { path, hint }),
        Err(e) => Err(e),
        Ok(mut certs) => Ok(certs.swap_remove(0)),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
