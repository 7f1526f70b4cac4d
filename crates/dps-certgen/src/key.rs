//! Key generation and the key file formats: PKCS#8 (plain or encrypted the way OpenSSL 3
//! writes it), PKCS#1 and SEC1 on input.

use crate::error::{Error, Result, io_err};
use pkcs8::der::pem::LineEnding;
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, RsaKeySize};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Key algorithms the generator offers. certGen.sh only knows RSA-4096.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyAlgorithm {
    /// RSA 2048-bit, signed with SHA-256.
    Rsa2048,
    /// RSA 4096-bit, signed with SHA-256 (certGen.sh's only choice, the default).
    #[default]
    Rsa4096,
    /// ECDSA on NIST P-256 with SHA-256: about a thousand times faster to generate than RSA-4096.
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order the CLI lists them.
    pub const ALL: [KeyAlgorithm; 4] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
    ];

    /// The name used on the command line and in reports (`rsa-4096`, `ecdsa-p256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
        }
    }

    /// Generates a fresh key pair. RSA uses aws-lc's prime search, the fastest correct one
    /// available here.
    pub fn generate(self) -> Result<KeyPair> {
        Ok(match self {
            KeyAlgorithm::Rsa2048 => {
                KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?
            }
            KeyAlgorithm::Rsa4096 => {
                KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096)?
            }
            KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
            KeyAlgorithm::EcdsaP384 => KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?,
        })
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match norm.as_str() {
            "rsa-2048" | "rsa2048" => KeyAlgorithm::Rsa2048,
            "rsa-4096" | "rsa4096" | "rsa" => KeyAlgorithm::Rsa4096,
            "ecdsa-p256" | "p256" | "p-256" | "ec" | "ecc" | "ecdsa" => KeyAlgorithm::EcdsaP256,
            "ecdsa-p384" | "p384" | "p-384" => KeyAlgorithm::EcdsaP384,
            _ => return Err(Error::UnknownAlgorithm(s.to_owned())),
        })
    }
}

/// OpenSSL 3's `genrsa -aes256` iteration count. Matching it keeps our keys as cheap to open
/// as the ones users already have.
const PBKDF2_ITERATIONS: u32 = 2048;

/// Encodes a key as PEM: plain PKCS#8 (`PRIVATE KEY`) without a password, or encrypted PKCS#8
/// (`ENCRYPTED PRIVATE KEY`: PBES2, PBKDF2-HMAC-SHA256, 2048 iterations, AES-256-CBC) with one,
/// which is exactly what OpenSSL 3 writes, so `openssl pkey -passin` opens it.
pub fn key_to_pem(key: &KeyPair, password: Option<&str>) -> Result<String> {
    let Some(password) = password else {
        return Ok(key.serialize_pem());
    };
    let mut salt = [0u8; 8];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| Error::Generation("no randomness".into()))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| Error::Generation("no randomness".into()))?;
    let params =
        pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
            .map_err(|e| Error::Generation(format!("PBES2 parameters: {e}")))?;
    let der = key.serialize_der();
    let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice())
        .map_err(|e| Error::Generation(format!("PKCS#8 encoding: {e}")))?;
    let doc = info
        .encrypt_with_params(params, password.as_bytes())
        .map_err(|e| Error::Generation(format!("key encryption: {e}")))?;
    let pem = doc
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| Error::Generation(format!("PEM encoding: {e}")))?;
    Ok(pem.to_string())
}

/// Reads a private key from PEM text: PKCS#8 plain or encrypted, PKCS#1 (`RSA PRIVATE KEY`) or
/// SEC1 (`EC PRIVATE KEY`). `path` is only used in error messages.
///
/// A legacy OpenSSL 1.1 key (`Proc-Type: 4,ENCRYPTED`) is refused with the command that
/// converts it.
pub fn key_from_pem(pem: &str, password: Option<&str>, path: &Path) -> Result<KeyPair> {
    let bad = |reason: String| Error::BadKey {
        path: path.to_owned(),
        reason,
    };
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Error::LegacyEncryptedKey {
            path: path.to_owned(),
        });
    }
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(password) = password else {
            return Err(Error::PasswordRequired {
                path: path.to_owned(),
            });
        };
        let (label, der) = pkcs8::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| bad(format!("PEM: {e}")))?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(bad(format!(
                "expected one ENCRYPTED PRIVATE KEY block, found {label}"
            )));
        }
        let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|e| bad(format!("PKCS#8: {e}")))?;
        let plain = info
            .decrypt(password.as_bytes())
            .map_err(|_| Error::WrongPassword {
                path: path.to_owned(),
            })?;
        let key = PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into());
        return KeyPair::try_from(&key).map_err(|_| Error::WrongPassword {
            path: path.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
    KeyPair::try_from(&key).map_err(|e| bad(format!("unsupported key: {e}")))
}

/// Reads a private key file; see [`key_from_pem`].
pub fn load_key(path: &Path, password: Option<&str>) -> Result<KeyPair> {
    let pem = read_text(
        path,
        Some("create the chain first (create_root_and_intermediate)"),
    )?;
    key_from_pem(&pem, password, path)
}

pub(crate) fn read_text(path: &Path, hint: Option<&str>) -> Result<String> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| Error::BadKey {
            path: path.to_owned(),
            reason: "not a PEM text file".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::MissingFile {
            path: path.to_owned(),
            hint: hint.map(str::to_owned),
        }),
        Err(e) => Err(io_err(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(a.name().parse::<KeyAlgorithm>().expect("parses"), a);
        }
        assert!("dsa".parse::<KeyAlgorithm>().is_err());
    }

    #[test]
    fn encrypted_key_round_trips_and_refuses_wrong_password() {
        let key = KeyAlgorithm::EcdsaP256.generate().expect("keygen");
        let pem = key_to_pem(&key, Some("1234")).expect("encrypt");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let p = Path::new("k.pem");
        let back = key_from_pem(&pem, Some("1234"), p).expect("decrypt");
        assert_eq!(back.public_key_raw(), key.public_key_raw());
        assert!(matches!(
            key_from_pem(&pem, Some("nope"), p),
            Err(Error::WrongPassword { .. })
        ));
        assert!(matches!(
            key_from_pem(&pem, None, p),
            Err(Error::PasswordRequired { .. })
        ));
    }

    #[test]
    fn legacy_keys_are_refused_with_the_fix() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = key_from_pem(pem, Some("1234"), Path::new("old.pem")).expect_err("legacy");
        assert!(
            err.to_string().contains("openssl pkey -in old.pem"),
            "{err}"
        );
    }
}
