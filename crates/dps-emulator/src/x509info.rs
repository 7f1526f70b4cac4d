//! Certificates as DPS receives them (PEM text or base64 DER) and the `info` block it returns
//! in their place.

use crate::error::{ApiError, ApiResult};
use dps_protocol::Thumbprints;
use dps_protocol::models::X509CertificateInfo;
use dps_protocol::models::timestamp::Timestamp;
use dps_protocol::thumbprint::upper_hex;
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Decodes a certificate field ([`dps_certgen::cert_from_field`]: PEM text or base64 of DER)
/// and checks that it is a certificate, as a 400 when not.
pub(crate) fn decode(text: &str) -> ApiResult<CertificateDer<'static>> {
    let bad =
        |why: String| ApiError::bad_request(format!("the certificate cannot be parsed: {why}"));
    let der = dps_certgen::cert_from_field(text).map_err(|e| bad(e.to_string()))?;
    // dps-chain's parse error is worded for people; x509-parser's own is its Debug text.
    dps_chain::Cert::parse(&der).map_err(|e| bad(e.to_string()))?;
    Ok(der)
}

/// The `X509CertificateInfo` the service computes: DNs, thumbprints, validity in whole seconds,
/// upper-case hex serial, version.
pub(crate) fn certificate_info(der: &[u8]) -> ApiResult<X509CertificateInfo> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| {
        let why = dps_chain::Cert::parse(der).err().map(|e| e.to_string());
        ApiError::bad_request(format!(
            "the certificate cannot be parsed: {}",
            why.as_deref().unwrap_or("not an X.509 certificate")
        ))
    })?;
    let t = Thumbprints::of_der(der);
    let ts = |t: x509_parser::time::ASN1Time| Timestamp::from_datetime_seconds(t.to_datetime());
    Ok(X509CertificateInfo {
        subject_name: cert.subject().to_string(),
        sha1_thumbprint: t.sha1,
        sha256_thumbprint: t.sha256,
        issuer_name: cert.issuer().to_string(),
        not_before_utc: ts(cert.validity().not_before),
        not_after_utc: ts(cert.validity().not_after),
        serial_number: upper_hex(cert.raw_serial()),
        version: i32::try_from(cert.version().0.saturating_add(1)).unwrap_or(i32::MAX),
        extra: serde_json::Map::new(),
    })
}

/// [`certificate_info`] as the JSON stored and sent in place of a certificate.
pub(crate) fn info(der: &[u8]) -> ApiResult<Value> {
    serde_json::to_value(certificate_info(der)?).map_err(|e| {
        ApiError::new(
            crate::error::codes::INTERNAL,
            format!("certificate info: {e}"),
        )
    })
}
