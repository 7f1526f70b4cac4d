//! Proof of possession: a verification code, the certificate signed for it, and the whole flow.

use super::client::CertificateClient;
use super::operations::{Request, json_body};
use super::{check_etag, check_name};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::Idempotency;
use crate::x509::certificate_for_upload;
use base64::Engine;
use dps_protocol::Thumbprints;
use dps_protocol::models::{
    CertificateResponse, VerificationCodeRequest, VerificationCodeResponse,
};
use reqwest::Method;

impl CertificateClient {
    /// Asks for a fresh verification code for certificate `name`
    /// (`POST …/certificates/{name}/generateVerificationCode`, no body), sending its current
    /// `etag` as `If-Match`.
    ///
    /// The code is in `properties.verificationCode`; the response's new ETag is what
    /// [`Self::verify`] needs. Not retried once the service may have acted: a repeat would
    /// change the code and the ETag again.
    pub async fn generate_verification_code(
        &self,
        name: &str,
        etag: &str,
    ) -> Result<VerificationCodeResponse> {
        check_name(name)?;
        check_etag(etag)?;
        self.send(Request {
            operation: "DpsCertificate_GenerateVerificationCode",
            name,
            method: Method::POST,
            suffix: "/generateVerificationCode",
            body: None,
            if_match: Some(etag),
            idempotency: Idempotency::NotIdempotent,
        })
        .await?
        .json()
    }

    /// Completes proof of possession of certificate `name`
    /// (`POST …/certificates/{name}/verify`): `verification_certificate` (PEM or DER) must have
    /// the latest verification code as its subject CN and be signed by the CA's private key;
    /// `etag` is the one [`Self::generate_verification_code`] returned. The service answers
    /// with the certificate, now `isVerified: true`, or 400.
    pub async fn verify(
        &self,
        name: &str,
        etag: &str,
        verification_certificate: &[u8],
    ) -> Result<CertificateResponse> {
        check_name(name)?;
        check_etag(etag)?;
        let body = VerificationCodeRequest {
            certificate: certificate_for_upload(verification_certificate)?,
        };
        self.send(Request {
            operation: "DpsCertificate_VerifyCertificate",
            name,
            method: Method::POST,
            suffix: "/verify",
            body: Some(json_body(&body)?),
            if_match: Some(etag),
            idempotency: Idempotency::NotIdempotent,
        })
        .await?
        .json()
    }

    /// The whole proof of possession of CA certificate `name` from `ca_certificate` (PEM or
    /// DER): get it, upload it unverified if absent, generate a verification code, call
    /// `sign` with the code for a verification certificate (PEM or DER; subject CN = the code,
    /// signed by the CA's private key), and verify. Returns the verified certificate.
    ///
    /// If a certificate `name` already exists it must be the same certificate (same SHA-1
    /// thumbprint), else [`ErrorKind::Conflict`] and nothing is written; if it is already
    /// verified it is returned as is and `sign` is not called. An error from `sign` is
    /// returned unchanged, leaving the certificate uploaded and unverified.
    pub async fn prove_possession<F>(
        &self,
        name: &str,
        ca_certificate: &[u8],
        sign: F,
    ) -> Result<CertificateResponse>
    where
        F: FnOnce(&str) -> Result<Vec<u8>>,
    {
        check_name(name)?;
        let upload = certificate_for_upload(ca_certificate)?;
        let current = match self.get(name).await {
            Ok(existing) => {
                let theirs = existing.properties.thumbprint.as_deref();
                if let (Some(ours), Some(theirs)) = (sha1_thumbprint(&upload), theirs)
                    && !ours.eq_ignore_ascii_case(theirs.trim())
                {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "certificate {name:?} already exists with thumbprint {theirs}, \
                             not {ours}: delete it or choose another name"
                        ),
                    ));
                }
                if existing.properties.is_verified == Some(true) {
                    return Ok(existing);
                }
                existing
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.create_or_update(name, ca_certificate, Some(false), None)
                    .await?
            }
            Err(e) => return Err(e),
        };
        let etag = required(current.etag.as_deref(), name, "the certificate has no etag")?;
        let code = self.generate_verification_code(name, etag).await?;
        let verification_code = required(
            code.properties.verification_code.as_deref(),
            name,
            "no verificationCode in the response",
        )?;
        let code_etag = required(
            code.etag.as_deref(),
            name,
            "the verification code response has no etag",
        )?;
        let verification_certificate = sign(verification_code)?;
        let verified = self
            .verify(name, code_etag, &verification_certificate)
            .await?;
        if verified.properties.is_verified == Some(false) {
            return Err(Error::new(
                ErrorKind::Deserialize,
                format!("certificate {name:?}: verify succeeded but isVerified is still false"),
            ));
        }
        Ok(verified)
    }
}

/// A non-empty field of a response, or a [`ErrorKind::Deserialize`] error.
fn required<'a>(value: Option<&'a str>, name: &str, why: &str) -> Result<&'a str> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        Error::new(
            ErrorKind::Deserialize,
            format!("certificate {name:?}: {why}"),
        )
    })
}

/// The SHA-1 thumbprint of an upload string (base64 DER, or PEM whose first certificate
/// counts), or `None` when it cannot be decoded.
fn sha1_thumbprint(upload: &str) -> Option<String> {
    let b64: String = match upload.find("-----BEGIN CERTIFICATE-----") {
        Some(start) => {
            let body = &upload[start + "-----BEGIN CERTIFICATE-----".len()..];
            let end = body.find("-----END CERTIFICATE-----")?;
            body[..end].split_whitespace().collect()
        }
        None => upload.split_whitespace().collect(),
    };
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(Thumbprints::of_der(&der).sha1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn futures_can_be_spawned() {
        fn send<T: Send>(_: &T) {}
        let client = CertificateClient::new(
            "https://localhost:8443/subscriptions/s/resourceGroups/rg/providers/Microsoft.Devices/provisioningServices/d",
            crate::Credential::BearerToken(dps_protocol::auth::Secret::from("t")),
            None,
        )
        .expect("valid");
        send(&client.list());
        send(&client.delete("a", "e"));
        send(&client.prove_possession("a", b"", |_| Ok(Vec::new())));
    }

    #[test]
    fn thumbprints_of_pem_and_base64_der_agree() {
        let der = [0x30, 0x03, 0x30, 0x01, 0x00];
        let expected = Thumbprints::of_der(&der).sha1;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        assert_eq!(sha1_thumbprint(&b64), Some(expected.clone()));
        let pem = format!(
            "subject=CN=x\n-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
        );
        assert_eq!(sha1_thumbprint(&pem), Some(expected));
        assert_eq!(sha1_thumbprint("-----BEGIN CERTIFICATE-----\n!!"), None);
    }
}
