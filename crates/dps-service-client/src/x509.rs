//! The quickstart's one-call X.509 enrollment group: from certificate files or bytes, PEM or
//! DER (`.cer`), as the seed's `EnrollmentGroup.py` did with the retired Python SDK.

use crate::client::ProvisioningServiceClient;
use crate::error::{Error, ErrorKind, Result};
use base64::Engine;
use dps_protocol::models::{EnrollmentGroup, ProvisioningStatus};
use std::path::Path;

/// Turns certificate bytes into what the service accepts in `certificate`: PEM text as is, or
/// base64 of DER. Refuses anything that is neither, before a request is made.
pub fn certificate_for_upload(bytes: &[u8]) -> Result<String> {
    let invalid = |why: &str| Error::new(ErrorKind::InvalidInput, format!("not an X.509 certificate: {why}"));
    if bytes.first() == Some(&0x30) {
        return Ok(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("neither DER nor UTF-8 PEM"))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid("no -----BEGIN CERTIFICATE----- block"));
    }
    Ok(text.trim_end().to_owned())
}

impl ProvisioningServiceClient {
    /// Creates (or replaces) an enabled X.509 enrollment group whose signing certificate is
    /// `primary` (and optionally `secondary`), each PEM or DER bytes.
    ///
    /// ```no_run
    /// # async fn demo(client: dps_service_client::ProvisioningServiceClient) -> dps_service_client::Result<()> {
    /// let pem = std::fs::read("certs/certs/azure-iot-test-only.intermediate.cert.pem").expect("readable");
    /// let group = client.create_x509_enrollment_group("my-group", &pem, None).await?;
    /// println!("created {} (etag {:?})", group.enrollment_group_id, group.etag);
    /// # Ok(()) }
    /// ```
    pub async fn create_x509_enrollment_group(
        &self,
        group_id: &str,
        primary: &[u8],
        secondary: Option<&[u8]>,
    ) -> Result<EnrollmentGroup> {
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
    ) -> Result<EnrollmentGroup> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| {
                Error::new(ErrorKind::InvalidInput, format!("cannot read {}: {e}", p.display())).with_source(e)
            })
        };
        let primary = read(primary)?;
        let secondary = secondary.map(read).transpose()?;
        self.create_x509_enrollment_group(group_id, &primary, secondary.as_deref()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_der_are_accepted() {
        assert_eq!(certificate_for_upload(&[0x30, 0x03, 1, 2, 3]).expect("der"), "MAMBAgM=");
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\n";
        assert_eq!(certificate_for_upload(pem.as_bytes()).expect("pem"), pem.trim_end());
        assert!(certificate_for_upload(b"hello").is_err());
        assert!(certificate_for_upload(&[0xff, 0xfe]).is_err());
    }
}
