//! A certificate parsed once, with the facts the chain rule compares: names (raw, for exact
//! comparison, and as text, for messages), validity, CA flag, client-auth usage and key.

use dps_protocol::Thumbprints;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::{AttributeTypeAndValue, FromDer, X509Certificate};

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
    /// Bytes follow the certificate's DER. DPS refuses such input rather than compute a
    /// thumbprint over bytes that are not the certificate.
    #[error(
        "{trailing} unexpected bytes follow the certificate (its DER encoding is {certificate} bytes); \
         send the certificate alone"
    )]
    TrailingBytes {
        /// Length of the certificate's own DER encoding.
        certificate: usize,
        /// How many bytes follow it.
        trailing: usize,
    },
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

/// The text of a name attribute (a DirectoryString, X.520), whatever string type encodes it:
/// UTF8String, PrintableString, IA5String, NumericString and VisibleString as UTF-8,
/// BMPString as UTF-16BE, UniversalString as UTF-32BE, TeletexString as Latin-1 (what
/// OpenSSL and Windows show for it). `None` when the bytes are not valid in their type, or
/// the type is not a string.
///
/// x509-parser's `as_str` reads the UTF-8 types only, so a BMPString common name (Windows
/// certificate tools make them) would read as absent; every common name goes through here.
pub fn directory_string(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    let value = attr.attr_value();
    decode_string(value.tag(), value.data)
}

/// The text of string bytes of ASN.1 type `tag`, for [`directory_string`].
fn decode_string(tag: Tag, bytes: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(bytes).ok().map(str::to_owned),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if !bytes.len().is_multiple_of(4) {
                return None;
            }
            bytes
                .chunks_exact(4)
                .map(|q| char::from_u32(u32::from_be_bytes([q[0], q[1], q[2], q[3]])))
                .collect()
        }
        Tag::T61String => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

impl Cert {
    /// Parses a DER certificate: exactly one, with nothing after it. This is the one place
    /// certificate input is checked: the emulator's certificate API, enrollment attestation
    /// certificates, the TLS client chain and doctor all parse through here.
    pub fn parse(der: &[u8]) -> Result<Self, ParseError> {
        let (rest, c) = X509Certificate::from_der(der).map_err(|e| match e {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
                ParseError::Der(e)
            }
            x509_parser::nom::Err::Incomplete(_) => {
                ParseError::Der(x509_parser::error::X509Error::InvalidCertificate)
            }
        })?;
        if !rest.is_empty() {
            return Err(ParseError::TrailingBytes {
                certificate: der.len() - rest.len(),
                trailing: rest.len(),
            });
        }
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
                .and_then(directory_string),
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

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair};

    /// A self-signed certificate whose subject CN is `cn`, encoded as given.
    fn with_cn(cn: DnValue) -> Vec<u8> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        params.distinguished_name = dn;
        let key = KeyPair::generate().expect("key");
        params
            .self_signed(&key)
            .expect("certificate")
            .der()
            .to_vec()
    }

    #[test]
    fn trailing_bytes_after_the_der_are_refused_with_their_count() {
        let der = with_cn(DnValue::Utf8String("device-1".into()));
        assert!(Cert::parse(&der).is_ok());
        let mut junk = der.clone();
        junk.extend_from_slice(b"junk!");
        let e = Cert::parse(&junk).expect_err("trailing bytes");
        assert_eq!(
            e,
            ParseError::TrailingBytes {
                certificate: der.len(),
                trailing: 5
            }
        );
        assert!(
            e.to_string().starts_with("5 unexpected bytes follow"),
            "{e}"
        );
        // A second certificate glued to the first is trailing bytes too.
        let mut two = der.clone();
        two.extend_from_slice(&der);
        assert!(matches!(
            Cert::parse(&two),
            Err(ParseError::TrailingBytes { trailing, .. }) if trailing == der.len()
        ));
    }

    #[test]
    fn common_names_are_read_in_every_string_type() {
        let cases = [
            DnValue::Utf8String("dev-é".into()),
            DnValue::PrintableString("dev-1".try_into().expect("printable")),
            DnValue::Ia5String("dev-1".try_into().expect("ia5")),
            DnValue::BmpString("dev-é".try_into().expect("bmp")),
            DnValue::UniversalString("dev-é".try_into().expect("universal")),
            DnValue::TeletexString("dev-1".try_into().expect("teletex")),
        ];
        for cn in cases {
            let wanted = match &cn {
                DnValue::PrintableString(_) | DnValue::Ia5String(_) | DnValue::TeletexString(_) => {
                    "dev-1"
                }
                _ => "dev-é",
            };
            let cert = Cert::parse(&with_cn(cn.clone())).expect("parses");
            assert_eq!(cert.common_name(), Some(wanted), "{cn:?}");
        }
    }

    #[test]
    fn malformed_wide_strings_read_as_no_text() {
        let bmp = |b: &[u8]| decode_string(Tag::BmpString, b);
        let universal = |b: &[u8]| decode_string(Tag::UniversalString, b);
        assert_eq!(bmp(&[0x00, 0x41, 0x00, 0xe9]).as_deref(), Some("Aé"));
        // An odd number of bytes, a lone surrogate.
        assert_eq!(bmp(&[0x00, 0x41, 0x00]), None);
        assert_eq!(bmp(&[0xd8, 0x00]), None);
        // A surrogate pair is decoded (UTF-16, as Windows writes BMPStrings).
        assert_eq!(bmp(&[0xd8, 0x3d, 0xde, 0x00]).as_deref(), Some("\u{1f600}"));
        assert_eq!(universal(&[0, 0, 0, 0x41]).as_deref(), Some("A"));
        assert_eq!(universal(&[0, 0, 0x41]), None);
        assert_eq!(universal(&[0, 0x11, 0, 0]), None);
        assert_eq!(
            decode_string(Tag::T61String, &[0x41, 0xe9]).as_deref(),
            Some("Aé")
        );
        assert_eq!(decode_string(Tag::Utf8String, &[0xff]), None);
        assert_eq!(decode_string(Tag::Integer, &[0x01]), None);
    }

    #[test]
    fn the_identity_rule_reads_wide_common_names_and_caps_their_length() {
        let bmp = Cert::parse(&with_cn(DnValue::BmpString(
            "dev-bmp".try_into().expect("bmp"),
        )))
        .expect("parses");
        assert!(crate::check_identity(&bmp, "dev-bmp").is_ok());
        let at_limit = "a".repeat(64);
        let ok = Cert::parse(&with_cn(DnValue::Utf8String(at_limit.clone()))).expect("parses");
        assert!(crate::check_identity(&ok, &at_limit).is_ok());
        for len in [65, 128] {
            let cn = "a".repeat(len);
            for value in [
                DnValue::Utf8String(cn.clone()),
                DnValue::BmpString(cn.as_str().try_into().expect("bmp")),
            ] {
                let leaf = Cert::parse(&with_cn(value)).expect("parses");
                let e = crate::check_identity(&leaf, &cn).expect_err("too long");
                assert!(
                    matches!(
                        &e,
                        crate::ChainError::CommonNameTooLong { common_name, len: l, max: 64 }
                            if *common_name == cn && *l == len
                    ),
                    "{e:?}"
                );
                assert!(
                    e.to_string()
                        .contains(&format!("is {len} characters long, more than the 64")),
                    "{e}"
                );
            }
        }
    }
}
