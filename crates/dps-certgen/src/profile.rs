//! The X.509 v3 profiles of certGen.sh's OpenSSL configuration (`v3_ca`,
//! `v3_intermediate_ca`, `usr_cert`), reproduced field by field.
//!
//! Known differences, all forced by rcgen's encoder and harmless to verifiers: extensions are
//! emitted in a different order (rcgen: AKI, KU, EKU, SKI, BC, then custom extensions; OpenSSL:
//! SKI, AKI, BC, KU for CAs and BC, nsCertType, nsComment, SKI, AKI, KU, EKU for leaves), and
//! serial numbers are 20 random bytes instead of the 01, 02, ... of an `openssl ca` database.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// Which certGen.sh extension section a certificate gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `v3_ca`: the self-signed root.
    RootCa,
    /// `v3_intermediate_ca`: the intermediate CA, and certGen.sh's edge device "CA" certificate.
    IntermediateCa,
    /// `usr_cert`: device and verification (proof-of-possession) certificates.
    Leaf,
}

/// certGen.sh's default validity for every certificate.
pub const DEFAULT_VALIDITY_DAYS: u32 = 30;

/// The Netscape comment certGen.sh's `usr_cert` adds.
pub const NS_COMMENT: &str = "OpenSSL Generated Client Certificate";

const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_NS_CERT_TYPE: &[u64] = &[2, 16, 840, 1, 113_730, 1, 1];
const OID_NS_COMMENT: &[u64] = &[2, 16, 840, 1, 113_730, 1, 13];

/// The subject key identifier as OpenSSL computes it (RFC 5280 method 1): SHA-1 over the
/// subjectPublicKey BIT STRING's contents.
pub fn subject_key_id(key: &KeyPair) -> Vec<u8> {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        key.public_key_raw(),
    )
    .as_ref()
    .to_vec()
}

/// Builds the parameters of one certificate: CN-only UTF8String subject, the profile's
/// extensions, `now` to `now + days`, a random positive 20-byte serial.
pub(crate) fn params(
    profile: Profile,
    common_name: &str,
    key: &KeyPair,
    days: u32,
    now: OffsetDateTime,
) -> crate::Result<CertificateParams> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        DnValue::Utf8String(common_name.to_owned()),
    );
    p.distinguished_name = dn;
    // Whole seconds, as OpenSSL writes them.
    let now = now.replace_nanosecond(0).unwrap_or(now);
    p.not_before = now;
    p.not_after = now + Duration::days(i64::from(days));
    p.serial_number = Some(random_serial()?);
    p.use_authority_key_identifier_extension = true;
    let ski = subject_key_id(key);
    match profile {
        Profile::RootCa | Profile::IntermediateCa => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
            ];
            p.key_identifier_method = KeyIdMethod::PreSpecified(ski);
        }
        Profile::Leaf => {
            p.is_ca = IsCa::NoCa;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
                KeyUsagePurpose::KeyEncipherment,
            ];
            p.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ClientAuth,
                ExtendedKeyUsagePurpose::EmailProtection,
            ];
            // rcgen writes basicConstraints critical; certGen.sh's CA:FALSE is not critical.
            // SEQUENCE {} (cA defaults to FALSE).
            p.custom_extensions.push(CustomExtension::from_oid_content(
                OID_BASIC_CONSTRAINTS,
                vec![0x30, 0x00],
            ));
            // nsCertType: BIT STRING, bits 0 (SSL client) and 2 (S/MIME), 5 unused bits.
            p.custom_extensions.push(CustomExtension::from_oid_content(
                OID_NS_CERT_TYPE,
                vec![0x03, 0x02, 0x05, 0xa0],
            ));
            let mut comment = vec![0x16, NS_COMMENT.len() as u8];
            comment.extend_from_slice(NS_COMMENT.as_bytes());
            p.custom_extensions
                .push(CustomExtension::from_oid_content(OID_NS_COMMENT, comment));
            // rcgen only writes the SKI for CA certificates; usr_cert has `hash` too.
            let mut ski_der = vec![0x04, ski.len() as u8];
            ski_der.extend_from_slice(&ski);
            p.custom_extensions.push(CustomExtension::from_oid_content(
                OID_SUBJECT_KEY_ID,
                ski_der,
            ));
            p.key_identifier_method = KeyIdMethod::PreSpecified(ski);
        }
    }
    Ok(p)
}

fn random_serial() -> crate::Result<SerialNumber> {
    let mut serial = [0u8; 20];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| crate::Error::Generation("no randomness".into()))?;
    // Positive and exactly 20 bytes long: the top bit clear, the top byte non-zero.
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&serial))
}
