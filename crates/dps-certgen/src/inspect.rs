//! A readable summary of a certificate: what `dps-cli certs inspect` prints.

use crate::credential::read_certs;
use crate::error::{Error, Result};
use dps_protocol::Thumbprints;
use dps_protocol::thumbprint::upper_hex;
use std::path::Path;
use x509_parser::prelude::*;

/// What a user needs to know about one certificate before enrolling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject DN (`CN=...`).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Subject common name, if any.
    pub common_name: Option<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whether `now` lies inside the validity period.
    pub currently_valid: bool,
    /// Key type, e.g. `RSA 4096` or `EC P-256`.
    pub key_type: String,
    /// Whether basicConstraints says CA:TRUE.
    pub is_ca: bool,
    /// Whether the certificate is self-signed (issuer equals subject).
    pub self_signed: bool,
    /// Serial number, upper-case hex.
    pub serial: String,
    /// SHA-1 and SHA-256 thumbprints; DPS shows either, depending on the page.
    pub thumbprints: Thumbprints,
}

/// Summarises every certificate in a PEM or DER file.
pub fn inspect_file(path: &Path) -> Result<Vec<CertSummary>> {
    read_certs(path)?
        .iter()
        .map(|der| {
            summarize(der).map_err(|e| Error::NoCertificate {
                path: path.to_owned(),
                source: Box::new(e),
            })
        })
        .collect()
}

/// Summarises one DER certificate; [`Error::InvalidCertificate`] when it does not parse.
pub fn summarize(der: &[u8]) -> Result<CertSummary> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| Error::InvalidCertificate(e.into()))?;
    // The one date format of dps-rs messages: ISO 8601 UTC, whole seconds.
    let rfc3339 = |t: ASN1Time| {
        dps_protocol::models::Timestamp::from_datetime_seconds(t.to_datetime()).into_string()
    };
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let key_type = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => {
            let curve = cert
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_owned(),
                    "1.3.132.0.34" => "P-384".to_owned(),
                    "1.3.132.0.35" => "P-521".to_owned(),
                    other => other.to_owned(),
                })
                .unwrap_or_else(|| "unknown curve".into());
            format!("EC {curve}")
        }
        Ok(_) | Err(_) => cert.public_key().algorithm.algorithm.to_id_string(),
    };
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        common_name,
        not_before: rfc3339(cert.validity().not_before),
        not_after: rfc3339(cert.validity().not_after),
        currently_valid: cert.validity().is_valid(),
        key_type,
        is_ca: cert.is_ca(),
        self_signed: cert.subject() == cert.issuer(),
        serial: upper_hex(cert.raw_serial()),
        thumbprints: Thumbprints::of_der(der),
    })
}
