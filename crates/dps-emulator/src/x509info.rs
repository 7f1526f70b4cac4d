//! Certificates as DPS receives them (PEM text or base64 DER) and the `info` block it returns
//! in their place.

use crate::error::{ApiError, ApiResult};
use base64::Engine;
use dps_protocol::Thumbprints;
use dps_protocol::models::X509CertificateInfo;
use dps_protocol::models::timestamp::Timestamp;
use dps_protocol::thumbprint::upper_hex;
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Decodes a certificate field: PEM text (header and newlines included) or base64 of DER.
/// The first certificate of a PEM bundle is the one that counts.
pub(crate) fn decode(text: &str) -> ApiResult<CertificateDer<'static>> {
    let bad =
        |why: String| ApiError::bad_request(format!("the certificate cannot be parsed: {why}"));
    let trimmed = text.trim();
    let der = if trimmed.contains("-----BEGIN") {
        dps_certgen::certs_from_bytes(trimmed.as_bytes())
            .map_err(|e| bad(e.to_string()))?
            .into_iter()
            .next()
            .ok_or_else(|| bad("no certificate in the PEM text".into()))?
    } else {
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| bad(format!("neither PEM nor base64 DER ({e})")))?;
        CertificateDer::from(bytes)
    };
    X509Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
    Ok(der)
}

/// The `X509CertificateInfo` the service computes: DNs, thumbprints, validity in whole seconds,
/// upper-case hex serial, version.
pub(crate) fn certificate_info(der: &[u8]) -> ApiResult<X509CertificateInfo> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| ApiError::bad_request(format!("invalid certificate: {e}")))?;
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
