//! A certificate parsed once, with the facts the chain rule compares: names (raw, for exact
//! comparison, and as text, for messages), validity, CA flag, client-auth usage and key.

use dps_protocol::Thumbprints;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why bytes are not a usable certificate. The messages are words: the parser's own text
/// (`Unexpected Tag (expected: Some(Tag(16)) ..`) is kept in the field for programs, not shown
/// and not a `source`, so no error chain prints it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The DER is not an X.509 certificate.
    #[error(
        "not an X.509 certificate: its DER structure is not a certificate's (a private key, a PKCS#12/PFX \
         file or damaged data?)"
    )]
    Der(x509_parser::error::X509Error),
    /// The extendedKeyUsage extension is malformed.
    #[error("its extendedKeyUsage extension is malformed")]
    ExtendedKeyUsage(x509_parser::error::X509Error),
}

/// One parsed certificate. Parsing happens once; every comparison afterwards is on these
/// fields, so the emulator and doctor see the same facts.
#[derive(Clone)]
pub struct Cert {
    der: CertificateDer<'static>,
    subject: String,
    issuer: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    spki_raw: Vec<u8>,
    public_key: Vec<u8>,
    common_name: Option<String>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    is_ca: bool,
    client_auth: Option<bool>,
    /// Computed on first use: the rule itself rarely needs them.
    thumbprints: std::sync::OnceLock<Thumbprints>,
}

impl std::fmt::Debug for Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cert")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("sha256", &self.thumbprints().sha256)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Cert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Cert {}

impl Cert {
    /// Parses a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, ParseError> {
        let (_, c) = X509Certificate::from_der(der).map_err(|e| match e {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
                ParseError::Der(e)
            }
            x509_parser::nom::Err::Incomplete(_) => {
                ParseError::Der(x509_parser::error::X509Error::InvalidCertificate)
            }
        })?;
        let client_auth = match c.extended_key_usage() {
            Ok(Some(eku)) => Some(eku.value.client_auth || eku.value.any),
            Ok(None) => None,
            Err(e) => return Err(ParseError::ExtendedKeyUsage(e)),
        };
        Ok(Self {
            der: CertificateDer::from(der.to_vec()),
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            subject_raw: c.subject().as_raw().to_vec(),
            issuer_raw: c.issuer().as_raw().to_vec(),
            spki_raw: c.public_key().raw.to_vec(),
            public_key: c.public_key().subject_public_key.data.to_vec(),
            common_name: c
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            not_before: c.validity().not_before.to_datetime(),
            not_after: c.validity().not_after.to_datetime(),
            is_ca: c.is_ca(),
            client_auth,
            thumbprints: std::sync::OnceLock::new(),
        })
    }

    /// Parses every certificate of a list, in order; the error names the position (0 = leaf).
    pub fn parse_all(ders: &[CertificateDer<'_>]) -> Result<Vec<Self>, (usize, ParseError)> {
        ders.iter()
            .enumerate()
            .map(|(i, d)| Self::parse(d).map_err(|e| (i, e)))
            .collect()
    }

    /// The DER encoding.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }
    /// The subject DN as text (`CN=...`), for messages.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The issuer DN as text, for messages.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The subject's first common name.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }
    /// Start of the validity period.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }
    /// End of the validity period.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
    /// basicConstraints CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }
    /// `None` without an extendedKeyUsage extension (any use allowed); otherwise whether it
    /// allows TLS client authentication.
    pub fn client_auth(&self) -> Option<bool> {
        self.client_auth
    }
    /// The subjectPublicKey bits, to compare with a private key's public half.
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }
    /// SHA-1 and SHA-256 thumbprints of the DER.
    pub fn thumbprints(&self) -> &Thumbprints {
        self.thumbprints
            .get_or_init(|| Thumbprints::of_der(&self.der))
    }

    /// Whether the issuer DN equals the subject DN.
    pub fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }
    /// Whether this certificate names `issuer`'s subject as its issuer (byte-exact DN).
    pub fn names_issuer(&self, issuer: &Cert) -> bool {
        self.issuer_raw == issuer.subject_raw
    }
    /// Whether `issuer`'s key signed this certificate.
    pub fn signed_by(&self, issuer: &Cert) -> bool {
        let (Ok((_, me)), Ok((_, them))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        me.verify_signature(Some(them.public_key())).is_ok()
    }
    /// Whether `issuer` issued this certificate: by name and by signature.
    pub fn issued_by(&self, issuer: &Cert) -> bool {
        self.names_issuer(issuer) && self.signed_by(issuer)
    }
    /// A self-signed root.
    pub fn is_root(&self) -> bool {
        self.self_issued() && self.signed_by(self)
    }
    /// The same subject as `other` (byte-exact DN), whatever the key.
    pub fn same_subject(&self, other: &Cert) -> bool {
        self.subject_raw == other.subject_raw
    }
    /// The same CA as `other`: same subject and same key (a re-issued certificate of the same
    /// CA counts; a CA re-created with a new key under the same name does not).
    pub fn same_ca(&self, other: &Cert) -> bool {
        self.subject_raw == other.subject_raw && self.spki_raw == other.spki_raw
    }
    /// Whether `now` lies in the validity period.
    pub fn valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}
