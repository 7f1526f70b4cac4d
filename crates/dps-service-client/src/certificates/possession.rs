//! Proof of possession: a verification code, the certificate signed for it, and the whole flow.

use super::client::CertificateClient;
use super::operations::{Request, json_body};
use super::{
    CertificateUploadOptions, ProvePossessionOptions, VerificationCodeOptions,
    VerifyCertificateOptions, check_etag, check_name,
};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::Idempotency;
use crate::x509::certificate_for_upload;
use dps_protocol::Thumbprints;
use dps_protocol::models::{
    CertificateResponse, VerificationCodeRequest, VerificationCodeResponse,
};
use reqwest::Method;

/// Why [`CertificateClient::prove_possession`] failed: a call to the service, or the caller's
/// own signing callback, whose error comes back as it was.
///
/// With a callback that fails with this crate's [`Error`] too,
/// [`into_error`](ProvePossessionError::into_error) gives back a plain [`Error`].
#[derive(Debug, thiserror::Error)]
pub enum ProvePossessionError<E> {
    /// A call to the service failed, or the input was refused before sending.
    #[error(transparent)]
    Service(Error),
    /// The signing callback failed; the certificate stays uploaded and unverified.
    #[error("signing the verification certificate failed")]
    Sign(#[source] E),
}

impl<E> ProvePossessionError<E> {
    /// The service error, when a call to the service is what failed.
    pub fn service(&self) -> Option<&Error> {
        match self {
            Self::Service(e) => Some(e),
            Self::Sign(_) => None,
        }
    }
}

impl ProvePossessionError<Error> {
    /// When the callback fails with this crate's [`Error`] too: the one that happened.
    /// (Not a `From` impl, which would make `?` ambiguous where error types are inferred.)
    pub fn into_error(self) -> Error {
        match self {
            Self::Service(e) | Self::Sign(e) => e,
        }
    }
}

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
        options: Option<VerificationCodeOptions>,
    ) -> Result<VerificationCodeResponse> {
        let _ = options;
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
        options: Option<VerifyCertificateOptions>,
    ) -> Result<CertificateResponse> {
        let _ = options;
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
    /// returned unchanged as [`ProvePossessionError::Sign`], leaving the certificate uploaded
    /// and unverified; every other failure is [`ProvePossessionError::Service`].
    pub async fn prove_possession<F, E>(
        &self,
        name: &str,
        ca_certificate: &[u8],
        sign: F,
        options: Option<ProvePossessionOptions>,
    ) -> Result<CertificateResponse, ProvePossessionError<E>>
    where
        F: FnOnce(&str) -> std::result::Result<Vec<u8>, E>,
    {
        let _ = options;
        let (code_etag, verification_code) = match self
            .start_proof(name, ca_certificate)
            .await
            .map_err(ProvePossessionError::Service)?
        {
            Proof::AlreadyVerified(existing) => return Ok(*existing),
            Proof::Code { etag, code } => (etag, code),
        };
        let verification_certificate =
            sign(&verification_code).map_err(ProvePossessionError::Sign)?;
        self.finish_proof(name, &code_etag, &verification_certificate)
            .await
            .map_err(ProvePossessionError::Service)
    }

    /// The steps of [`Self::prove_possession`] before signing: the certificate uploaded (or
    /// found) and a fresh verification code, unless it is verified already.
    async fn start_proof(&self, name: &str, ca_certificate: &[u8]) -> Result<Proof> {
        check_name(name)?;
        let upload = certificate_for_upload(ca_certificate)?;
        let current = match self.get(name, None).await {
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
                    return Ok(Proof::AlreadyVerified(Box::new(existing)));
                }
                existing
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let unverified = CertificateUploadOptions::default().with_is_verified(false);
                self.create_or_update(name, ca_certificate, Some(unverified))
                    .await?
            }
            Err(e) => return Err(e),
        };
        let etag = required(current.etag.as_deref(), name, "the certificate has no etag")?;
        let code = self.generate_verification_code(name, etag, None).await?;
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
        Ok(Proof::Code {
            etag: code_etag.to_owned(),
            code: verification_code.to_owned(),
        })
    }

    /// The last step of [`Self::prove_possession`]: verify, and check the outcome.
    async fn finish_proof(
        &self,
        name: &str,
        code_etag: &str,
        verification_certificate: &[u8],
    ) -> Result<CertificateResponse> {
        let verified = self
            .verify(name, code_etag, verification_certificate, None)
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

/// Where [`CertificateClient::prove_possession`] stands before signing.
enum Proof {
    /// Nothing to do: the certificate is verified.
    AlreadyVerified(Box<CertificateResponse>),
    /// The latest verification code and the ETag that goes with it.
    Code { etag: String, code: String },
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
    Some(Thumbprints::of_der(&crate::x509::uploaded_der(upload)?).sha1)
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
        send(&client.list(None));
        send(&client.delete("a", "e", None));
        send(&client.prove_possession("a", b"", |_| Ok::<_, std::io::Error>(Vec::new()), None));
    }

    #[test]
    fn thumbprints_of_pem_and_base64_der_agree() {
        let der = [0x30, 0x03, 0x30, 0x01, 0x00];
        let expected = Thumbprints::of_der(&der).sha1;
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
        assert_eq!(sha1_thumbprint(&b64), Some(expected.clone()));
        let pem = format!(
            "subject=CN=x\n-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
        );
        assert_eq!(sha1_thumbprint(&pem), Some(expected));
        assert_eq!(sha1_thumbprint("-----BEGIN CERTIFICATE-----\n!!"), None);
    }
}
