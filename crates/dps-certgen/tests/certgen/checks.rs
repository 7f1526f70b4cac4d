//! The profile checker: every field certGen.sh's OpenSSL configuration fixes (behaviour
//! spec §1.5), read with x509-parser. `load` also runs it on certificates made by OpenSSL
//! itself, which checks the checker.

use crate::common::sha1;
use dps_certgen::NS_COMMENT;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::*;

pub(crate) const SHA256_RSA: &str = "1.2.840.113549.1.1.11";
pub(crate) const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
pub(crate) const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const SKI: &str = "2.5.29.14";
const KU: &str = "2.5.29.15";
const BC: &str = "2.5.29.19";
const AKI: &str = "2.5.29.35";
const EKU: &str = "2.5.29.37";
const NS_CERT_TYPE: &str = "2.16.840.1.113730.1.1";
const NS_COMMENT_OID: &str = "2.16.840.1.113730.1.13";

/// Which certGen.sh extension section a certificate must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `v3_ca` and `v3_intermediate_ca` (identical extension sets).
    Ca,
    /// `usr_cert`.
    Leaf,
}

pub(crate) fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, c) = X509Certificate::from_der(der).expect("parse the certificate");
    assert!(rest.is_empty(), "no bytes after the certificate");
    c
}

fn ext<'a>(c: &'a X509Certificate<'_>, oid: &str) -> Option<&'a X509Extension<'a>> {
    c.extensions().iter().find(|e| e.oid.to_id_string() == oid)
}

fn must<'a>(c: &'a X509Certificate<'_>, oid: &str) -> &'a X509Extension<'a> {
    ext(c, oid).unwrap_or_else(|| panic!("extension {oid} is missing"))
}

/// The name is exactly one RDN holding one UTF8String commonName.
fn assert_cn_only(name: &X509Name<'_>, cn: &str) {
    let rdns: Vec<_> = name.iter_rdn().collect();
    assert_eq!(rdns.len(), 1, "one RDN in {name}");
    let attrs: Vec<_> = rdns[0].iter().collect();
    assert_eq!(attrs.len(), 1, "one attribute in {name}");
    assert_eq!(attrs[0].attr_type().to_id_string(), "2.5.4.3", "commonName");
    assert_eq!(attrs[0].attr_value().tag(), Tag::Utf8String, "UTF8String");
    assert_eq!(attrs[0].as_str().expect("CN is text"), cn);
}

pub(crate) fn ski_of(c: &X509Certificate<'_>) -> Vec<u8> {
    match must(c, SKI).parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(k) => k.0.to_vec(),
        other => panic!("SKI: {other:?}"),
    }
}

pub(crate) fn aki_of(c: &X509Certificate<'_>) -> Vec<u8> {
    match must(c, AKI).parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(a) => {
            assert!(a.authority_cert_issuer.is_none(), "AKI is keyid only");
            assert!(a.authority_cert_serial.is_none(), "AKI is keyid only");
            a.key_identifier.as_ref().expect("AKI keyid").0.to_vec()
        }
        other => panic!("AKI: {other:?}"),
    }
}

/// Asserts every field certGen.sh's profile fixes, except the key and signature algorithms.
pub(crate) fn assert_profile(der: &[u8], issuer_der: &[u8], kind: Kind, cn: &str) {
    let c = parse(der);
    let issuer = parse(issuer_der);
    assert_eq!(c.version(), X509Version::V3);
    assert_cn_only(c.subject(), cn);
    let issuer_cn = issuer
        .subject()
        .iter_common_name()
        .next()
        .expect("issuer CN");
    assert_cn_only(c.issuer(), issuer_cn.as_str().expect("issuer CN text"));
    assert_eq!(
        c.issuer().as_raw(),
        issuer.subject().as_raw(),
        "issuer DN bytes"
    );

    // Exactly the profile's extensions, each once: in particular no SAN.
    let mut oids: Vec<String> = c
        .extensions()
        .iter()
        .map(|e| e.oid.to_id_string())
        .collect();
    oids.sort();
    let mut want: Vec<&str> = match kind {
        Kind::Ca => vec![SKI, AKI, BC, KU],
        Kind::Leaf => vec![BC, NS_CERT_TYPE, NS_COMMENT_OID, SKI, AKI, KU, EKU],
    };
    want.sort_unstable();
    assert_eq!(oids, want, "extension set of {cn}");

    let bc = must(&c, BC);
    let ParsedExtension::BasicConstraints(bcv) = bc.parsed_extension() else {
        panic!("basicConstraints does not parse");
    };
    assert_eq!(bcv.path_len_constraint, None, "no pathlen");
    let ku = must(&c, KU);
    assert!(ku.critical, "keyUsage is critical");
    let ParsedExtension::KeyUsage(kuv) = ku.parsed_extension() else {
        panic!("keyUsage does not parse");
    };
    match kind {
        Kind::Ca => {
            assert!(bc.critical && bcv.ca, "critical CA:TRUE");
            // digitalSignature, keyCertSign, cRLSign; DER as OpenSSL writes it.
            assert_eq!(kuv.flags, 0b110_0001, "{kuv}");
            assert_eq!(ku.value, [0x03, 0x02, 0x01, 0x86]);
            for absent in [EKU, NS_CERT_TYPE, NS_COMMENT_OID] {
                assert!(ext(&c, absent).is_none(), "{absent} absent on a CA");
            }
        }
        Kind::Leaf => {
            assert!(!bc.critical && !bcv.ca, "CA:FALSE, not critical");
            assert_eq!(
                bc.value,
                [0x30, 0x00],
                "SEQUENCE {{}}, as OpenSSL writes CA:FALSE"
            );
            // digitalSignature, nonRepudiation, keyEncipherment.
            assert_eq!(kuv.flags, 0b111, "{kuv}");
            assert_eq!(ku.value, [0x03, 0x02, 0x05, 0xe0]);
            let eku = must(&c, EKU);
            assert!(!eku.critical, "EKU not critical");
            let ParsedExtension::ExtendedKeyUsage(e) = eku.parsed_extension() else {
                panic!("EKU does not parse");
            };
            assert!(e.client_auth && e.email_protection, "{e:?}");
            assert!(!(e.any || e.server_auth || e.code_signing || e.time_stamping));
            assert!(!e.ocsp_signing && e.other.is_empty(), "{e:?}");
            let ns = must(&c, NS_CERT_TYPE);
            assert!(!ns.critical);
            assert_eq!(ns.value, [0x03, 0x02, 0x05, 0xa0], "client, email");
            let ParsedExtension::NSCertType(t) = ns.parsed_extension() else {
                panic!("nsCertType does not parse");
            };
            assert!(t.ssl_client() && t.smime() && !t.ssl_server() && !t.ssl_ca());
            let comment = must(&c, NS_COMMENT_OID);
            assert!(!comment.critical);
            assert_eq!(comment.value[0], 0x16, "IA5String");
            let text = "OpenSSL Generated Client Certificate";
            assert_eq!(
                comment.parsed_extension(),
                &ParsedExtension::NsCertComment(text)
            );
            assert_eq!(NS_COMMENT, text);
        }
    }

    let ski = ski_of(&c);
    assert!(!must(&c, SKI).critical && !must(&c, AKI).critical);
    assert_eq!(
        ski,
        sha1(&c.public_key().subject_public_key.data),
        "SKI = SHA-1(key)"
    );
    assert_eq!(aki_of(&c), ski_of(&issuer), "AKI keyid = issuer's SKI");

    let serial = c.raw_serial();
    assert_eq!(serial.len(), 20, "20-byte serial");
    assert!(
        serial[0] & 0x80 == 0 && serial[0] != 0,
        "positive, minimal serial"
    );
}

/// Signature algorithm (both copies), validity length in days, and UTCTime encoding (until
/// 2049, as RFC 5280 and OpenSSL do).
pub(crate) fn assert_alg_days(der: &[u8], sig_oid: &str, days: i64) {
    let c = parse(der);
    assert_eq!(c.signature_algorithm.algorithm.to_id_string(), sig_oid);
    assert_eq!(
        c.tbs_certificate.signature.algorithm.to_id_string(),
        sig_oid
    );
    let v = c.validity();
    assert!(v.not_before.is_utctime(), "notBefore is UTCTime");
    let before_2050 = v.not_after.to_datetime().year() < 2050;
    assert_eq!(v.not_after.is_utctime(), before_2050, "notAfter encoding");
    assert_eq!(
        v.not_after.timestamp() - v.not_before.timestamp(),
        days * 86_400
    );
}
