//! The quickstart's one-call X.509 enrollment group: from certificate files or bytes, PEM or
//! DER (`.cer`), as the seed's `EnrollmentGroup.py` did with the retired Python SDK.

use crate::client::ProvisioningServiceClient;
use crate::error::{Error, ErrorKind, Result};
use crate::options::X509EnrollmentGroupOptions;
use base64::Engine;
use dps_protocol::models::{EnrollmentGroup, ProvisioningStatus};
use std::path::Path;

/// Turns certificate bytes into what the service accepts in `certificate`: PEM text as is, or
/// base64 of DER. Refuses anything that is neither (and PEM that also holds a private key),
/// before a request is made.
pub fn certificate_for_upload(bytes: &[u8]) -> Result<String> {
    let invalid = |why: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("not an X.509 certificate: {why}"),
        )
    };
    if is_der_certificate_outline(bytes) {
        return Ok(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("neither DER nor UTF-8 PEM"))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid("no -----BEGIN CERTIFICATE----- block"));
    }
    // The PEM is uploaded verbatim, so a key bundled in the same file would be sent too.
    if text.contains("PRIVATE KEY-----") {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "the PEM holds a private key as well as the certificate; pass the certificate alone",
        ));
    }
    Ok(text.trim_end().to_owned())
}

/// The DER of what [`certificate_for_upload`] returns (the first PEM block, or the base64),
/// e.g. for its thumbprint; `None` when it does not decode.
pub fn uploaded_der(upload: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    let b64: String = match upload.find(BEGIN) {
        Some(start) => {
            let body = &upload[start + BEGIN.len()..];
            let end = body.find("-----END CERTIFICATE-----")?;
            body[..end].split_whitespace().collect()
        }
        None => upload.split_whitespace().collect(),
    };
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Whether `bytes` has the outline of a DER certificate: one SEQUENCE spanning exactly the
/// input whose content starts with another SEQUENCE (`tbsCertificate`). Cheap, and enough to
/// tell DER from text that merely starts with `0` (0x30) or a truncated file.
fn is_der_certificate_outline(bytes: &[u8]) -> bool {
    /// (header length, content length) of a SEQUENCE header at the start of `b`.
    fn sequence(b: &[u8]) -> Option<(usize, usize)> {
        if *b.first()? != 0x30 {
            return None;
        }
        let first = usize::from(*b.get(1)?);
        if first < 0x80 {
            return Some((2, first));
        }
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        Some((2 + n, len))
    }
    sequence(bytes).is_some_and(|(header, len)| {
        header.checked_add(len) == Some(bytes.len()) && sequence(&bytes[header..]).is_some()
    })
}

impl ProvisioningServiceClient {
    /// Creates (or replaces) an enabled X.509 enrollment group whose signing certificate is
    /// `primary` (and optionally `secondary`), each PEM or DER bytes.
    ///
    /// ```no_run
    /// # async fn demo(client: dps_service_client::ProvisioningServiceClient) -> dps_service_client::Result<()> {
    /// let pem = std::fs::read("certs/certs/azure-iot-test-only.intermediate.cert.pem").expect("readable");
    /// let group = client.create_x509_enrollment_group("my-group", &pem, None, None).await?;
    /// println!("created {} (etag {:?})", group.enrollment_group_id, group.etag);
    /// # Ok(()) }
    /// ```
    pub async fn create_x509_enrollment_group(
        &self,
        group_id: &str,
        primary: &[u8],
        secondary: Option<&[u8]>,
        options: Option<X509EnrollmentGroupOptions>,
    ) -> Result<EnrollmentGroup> {
        let _ = options;
        let primary = certificate_for_upload(primary)?;
        let secondary = secondary.map(certificate_for_upload).transpose()?;
        let mut group = EnrollmentGroup::x509_signing(group_id, primary, secondary);
        group.provisioning_status = Some(ProvisioningStatus::Enabled);
        self.create_or_update_enrollment_group(&group, None).await
    }

    /// [`Self::create_x509_enrollment_group`] from certificate files (`.pem` or `.cer`).
    pub async fn create_x509_enrollment_group_from_files(
        &self,
        group_id: &str,
        primary: &Path,
        secondary: Option<&Path>,
        options: Option<X509EnrollmentGroupOptions>,
    ) -> Result<EnrollmentGroup> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("cannot read {}: {e}", p.display()),
                )
                .with_source(e)
            })
        };
        let primary = read(primary)?;
        let secondary = secondary.map(read).transpose()?;
        self.create_x509_enrollment_group(group_id, &primary, secondary.as_deref(), options)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_der_are_accepted() {
        assert_eq!(
            certificate_for_upload(&[0x30, 0x03, 0x30, 0x01, 0x00]).expect("der"),
            "MAMwAQA="
        );
        assert!(
            certificate_for_upload(&[0x30, 0x03, 1, 2, 3]).is_err(),
            "no inner SEQUENCE"
        );
        assert!(
            certificate_for_upload(&[0x30, 0x82, 0x01, 0xa9, 0x30]).is_err(),
            "truncated"
        );
        assert!(
            certificate_for_upload(b"0 is text").is_err(),
            "text starting with 0x30"
        );
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\n";
        assert_eq!(
            certificate_for_upload(pem.as_bytes()).expect("pem"),
            pem.trim_end()
        );
        assert!(certificate_for_upload(b"hello").is_err());
        assert!(certificate_for_upload(&[0xff, 0xfe]).is_err());
    }
}
