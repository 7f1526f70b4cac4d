//! `inspect_file`: what `dps-cli certs inspect` prints before a user enrolls a certificate.

use crate::common::{
    RSA_DEVICE, cert, device, openssl_ok, p256_chain, rsa_chain, s, skip_without_openssl, tempdir,
};
use dps_certgen::{
    CertSummary, Error, INTERMEDIATE_CN, INTERMEDIATE_PREFIX, ROOT_CN, ROOT_PREFIX, Signer,
    certs_from_bytes, inspect_file, summarize,
};
use dps_protocol::Thumbprints;
use dps_protocol::thumbprint::upper_hex;
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn one(path: &Path) -> CertSummary {
    let mut all = inspect_file(path).expect("inspect");
    assert_eq!(all.len(), 1, "{}", path.display());
    all.remove(0)
}

/// Fields that follow from the DER alone.
fn assert_der_fields(s: &CertSummary, der: &[u8]) {
    let (_, c) = x509_parser::parse_x509_certificate(der).expect("parse");
    assert_eq!(s.thumbprints, Thumbprints::of_der(der));
    assert_eq!(s.thumbprints.sha1.len(), 40);
    assert_eq!(s.thumbprints.sha256.len(), 64);
    assert_eq!(s.serial, upper_hex(c.raw_serial()));
    assert_eq!(s.serial.len(), 40);
    let start = OffsetDateTime::parse(&s.not_before, &Rfc3339).expect("RFC 3339 start");
    let end = OffsetDateTime::parse(&s.not_after, &Rfc3339).expect("RFC 3339 end");
    assert_eq!(start.unix_timestamp(), c.validity().not_before.timestamp());
    assert_eq!((end - start).whole_days(), 30);
    assert!(s.currently_valid);
}

#[test]
fn root_and_device_summaries() {
    let (_tmp, dir) = p256_chain();
    device(&dir, "dev-01", Signer::Intermediate);
    let root_path = dir.cert_path(ROOT_PREFIX);
    let root = one(&root_path);
    assert_eq!(root.subject, format!("CN={ROOT_CN}"));
    assert_eq!(root.issuer, root.subject);
    assert_eq!(root.common_name.as_deref(), Some(ROOT_CN));
    assert!(root.is_ca && root.self_signed);
    assert_eq!(root.key_type, "EC P-256");
    assert_der_fields(&root, &cert(&root_path));

    let dev_path = dir.cert_path("dev-01");
    let dev = one(&dev_path);
    assert_eq!(dev.subject, "CN=dev-01");
    assert_eq!(dev.issuer, format!("CN={INTERMEDIATE_CN}"));
    assert_eq!(dev.common_name.as_deref(), Some("dev-01"));
    assert!(!dev.is_ca && !dev.self_signed);
    assert_eq!(dev.key_type, "EC P-256");
    assert_der_fields(&dev, &cert(&dev_path));
}

#[test]
fn rsa_summary() {
    let (_tmp, dir) = rsa_chain();
    for prefix in [ROOT_PREFIX, INTERMEDIATE_PREFIX, RSA_DEVICE] {
        let path = dir.cert_path(prefix);
        let summary = one(&path);
        assert_eq!(summary.key_type, "RSA 4096", "{prefix}");
        assert_der_fields(&summary, &cert(&path));
    }
}

#[test]
fn chain_files_give_one_summary_per_certificate() {
    let (_tmp, dir) = p256_chain();
    device(&dir, "dev", Signer::Intermediate);
    let cns = |path: &Path| -> Vec<String> {
        inspect_file(path)
            .expect("inspect")
            .into_iter()
            .map(|s| s.common_name.expect("CN"))
            .collect()
    };
    assert_eq!(cns(&dir.chain_path()), [INTERMEDIATE_CN, ROOT_CN]);
    assert_eq!(
        cns(&dir.full_chain_path("dev")),
        ["dev", INTERMEDIATE_CN, ROOT_CN]
    );
    let chain = inspect_file(&dir.full_chain_path("dev")).expect("inspect");
    assert_eq!(chain[1], one(&dir.cert_path(INTERMEDIATE_PREFIX)));
}

#[test]
fn der_files_and_bad_files() {
    let (tmp, dir) = p256_chain();
    let der_path = tmp.path().join("root.der");
    std::fs::write(&der_path, cert(&dir.cert_path(ROOT_PREFIX))).expect("write DER");
    assert_eq!(one(&der_path), one(&dir.cert_path(ROOT_PREFIX)));

    let missing = tmp.path().join("nope.pem");
    let err = inspect_file(&missing).expect_err("missing");
    assert!(
        matches!(&err, Error::MissingFile { path, .. } if *path == missing),
        "{err:?}"
    );
    // A key file is not a certificate.
    let key = dir.key_path(ROOT_PREFIX);
    let err = inspect_file(&key).expect_err("not a certificate");
    assert!(
        matches!(&err, Error::NoCertificate { path, source } if *path == key && matches!(**source, Error::NoPemCertificate)),
        "{err:?}"
    );
    assert!(std::error::Error::source(&err).is_some());
    let empty = tempdir();
    let blank = empty.path().join("blank.pem");
    std::fs::write(&blank, "").expect("write");
    assert!(matches!(
        inspect_file(&blank),
        Err(Error::NoCertificate { .. })
    ));
    // DER that does not parse: the parser's error is kept.
    let junk = empty.path().join("junk.der");
    std::fs::write(&junk, [0x30, 0x03, 0x02, 0x01, 0x00]).expect("write");
    let err = inspect_file(&junk).expect_err("not a certificate");
    assert!(
        matches!(&err, Error::NoCertificate { source, .. } if matches!(**source, Error::InvalidCertificate(_))),
        "{err:?}"
    );
}

#[test]
fn bytes_that_hold_no_certificate_are_typed_errors() {
    assert!(matches!(
        certs_from_bytes(b"hello"),
        Err(Error::NoPemCertificate)
    ));
    let broken = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    let err = certs_from_bytes(broken.as_bytes()).expect_err("unterminated PEM");
    assert!(matches!(err, Error::InvalidPem(_)), "{err:?}");
    // The parsers' reasons are kept in the variants but worded, never chained as a `source`:
    // their own texts are Debug renderings (`[45, 45, ..]`, `Tag(16)`).
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(
        err.to_string(),
        "the PEM text is damaged: a BEGIN line without its END line"
    );
    let err = summarize(&[0x30, 0x00]).expect_err("empty DER");
    assert!(matches!(err, Error::InvalidCertificate(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_none());
    assert!(!err.to_string().contains("Tag("), "{err}");
}

#[test]
fn thumbprints_match_openssl_fingerprints() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("thumbprints_match_openssl_fingerprints") {
        return;
    }
    device(&dir, "dev", Signer::Root);
    for path in [dir.cert_path(ROOT_PREFIX), dir.cert_path("dev")] {
        let summary = one(&path);
        for (digest, want) in [
            ("-sha1", &summary.thumbprints.sha1),
            ("-sha256", &summary.thumbprints.sha256),
        ] {
            let out = openssl_ok(
                dir.base(),
                &["x509", "-in", s(&path), "-noout", "-fingerprint", digest],
            );
            let hex = out
                .trim()
                .split_once('=')
                .expect("Fingerprint=...")
                .1
                .replace(':', "");
            assert_eq!(&hex, want, "{digest} of {}", path.display());
        }
    }
}
