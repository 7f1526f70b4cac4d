//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while making, loading or writing certificates.
///
/// Messages name the file and, where there is one, the fix in this library's terms (never a
/// command-line flag: a command line adds its own advice). They never contain key material or
/// passwords.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A common name breaks the DPS registration-id rule.
    #[error(transparent)]
    InvalidName(#[from] dps_protocol::IdError),

    /// A verification code that cannot be a certificate's common name. Codes are taken exactly
    /// as DPS gave them: only what no common name can hold is refused.
    #[error(
        "the verification code {code:?} cannot be a certificate's common name: {reason}; use the code exactly as DPS gave it"
    )]
    InvalidVerificationCode {
        /// The code as given.
        code: String,
        /// What is wrong with it.
        reason: CodeProblem,
    },

    /// A device name would overwrite one of the chain's own files.
    #[error("{name:?} is reserved: a device with that name would overwrite the chain's own files")]
    ReservedName {
        /// The rejected name.
        name: String,
    },

    /// The same name was given twice in one batch.
    #[error("{name:?} appears more than once in the batch")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },

    /// A key algorithm name is not one of the supported ones.
    #[error("unknown key algorithm {0:?}; use rsa-2048, rsa-4096, ecdsa-p256 or ecdsa-p384")]
    UnknownAlgorithm(String),

    /// Validity must be at least one day.
    #[error("validity must be between 1 and 36500 days, not {0}")]
    InvalidValidity(u32),

    /// `create_root_and_intermediate` would replace an existing chain (`ChainOptions::force`
    /// replaces it; every certificate the old chain signed then stops verifying).
    #[error("a CA chain already exists in {}", dir.display())]
    ChainExists {
        /// The folder that holds the chain.
        dir: PathBuf,
    },

    /// A file the operation needs is missing.
    #[error("{} does not exist{}", path.display(), hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
        /// What creates it.
        hint: Option<String>,
    },

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A PEM or DER file holds no usable certificate.
    #[error("{}: no X.509 certificate found ({source})", path.display())]
    NoCertificate {
        /// The file read.
        path: PathBuf,
        /// What was wrong with it: [`Error::InvalidPem`], [`Error::NoPemCertificate`],
        /// [`Error::InvalidCertificate`] or [`Error::Rcgen`].
        #[source]
        source: Box<Error>,
    },

    /// Text that should hold PEM certificates is not valid PEM. The message words the PEM
    /// parser's reason (its own text shows bytes as a list of numbers); the reason is kept in
    /// the field, not as a `source`, so no error chain prints it raw.
    #[error("the PEM text is damaged: {}", pem_words(.0))]
    InvalidPem(rustls_pki_types::pem::Error),

    /// A certificate field that is neither PEM text nor base64.
    #[error("neither PEM nor base64 DER ({0})")]
    InvalidBase64(#[source] base64::DecodeError),

    /// PEM text without a `CERTIFICATE` block.
    #[error("no CERTIFICATE block in the file")]
    NoPemCertificate,

    /// DER bytes that are not an X.509 certificate. The parser's reason (`Unexpected Tag
    /// (expected: Some(Tag(16)) ..`) is kept in the field, not shown and not a `source`.
    #[error(
        "not a valid X.509 certificate: its DER structure is not a certificate's (a PKCS#12/PFX \
         file, a private key or damaged data?)"
    )]
    InvalidCertificate(x509_parser::error::X509Error),

    /// A private key file could not be read as any supported format.
    #[error("{}: not a usable private key ({reason})", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// The key is encrypted and no password was given.
    #[error("{} is encrypted; give its password (certGen.sh uses 1234)", path.display())]
    PasswordRequired {
        /// The key file.
        path: PathBuf,
    },

    /// The password does not open the key.
    #[error("{}: wrong password, or the key is damaged", path.display())]
    WrongPassword {
        /// The key file.
        path: PathBuf,
    },

    /// The key uses OpenSSL 1.1's traditional encryption, which is not supported.
    #[error(
        "{} uses the legacy OpenSSL 'Proc-Type: 4,ENCRYPTED' format; convert it to PKCS#8 first:\n  openssl pkey -in {0} -passin pass:PASSWORD -aes256 -passout pass:PASSWORD -out {0}.pkcs8 && mv {0}.pkcs8 {0}",
        path.display()
    )]
    LegacyEncryptedKey {
        /// The key file.
        path: PathBuf,
    },

    /// The signer certificate is not a CA.
    #[error("{} is not a CA certificate (basicConstraints CA:TRUE is missing) and cannot sign", path.display())]
    NotACa {
        /// The certificate file.
        path: PathBuf,
    },

    /// The key does not belong to the certificate.
    #[error("the private key {} does not match the certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },

    /// Certificate or key generation failed.
    #[error("certificate generation failed: {0}")]
    Generation(String),

    /// rcgen refused to make, sign or load a certificate or key.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),

    /// PKCS#12 (PFX) encoding failed.
    #[error("PFX encoding failed: {0}")]
    Pfx(String),
}

/// The PEM parser's reason in words.
fn pem_words(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error as E;
    match e {
        E::MissingSectionEnd { .. } => "a BEGIN line without its END line".into(),
        E::IllegalSectionStart { .. } => "a malformed BEGIN line".into(),
        E::Base64Decode(_) => "a block whose base64 does not decode".into(),
        E::Io(e) => format!("reading it failed: {e}"),
        E::NoItemsFound => "no PEM block".into(),
        E::SectionTooLarge => "a block larger than 256 MB".into(),
        _ => "unreadable PEM".into(),
    }
}

/// Convenience alias for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

/// Why a verification code cannot be a certificate's common name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeProblem {
    /// The code is empty.
    #[error("it is empty")]
    Empty,
    /// The code is longer than a common name may be.
    #[error("it is {len} characters long, and a common name holds at most {max}")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The most a common name holds (64).
        max: usize,
    },
    /// The code holds a control character.
    #[error("it contains a control character at position {position}")]
    ControlCharacter {
        /// The 1-based position of the first one.
        position: usize,
    },
}
