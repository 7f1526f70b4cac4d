//! [`CertificateClient`]: the CA certificates of a DPS resource over Azure Resource Manager
//! (`…/provisioningServices/{dps}/certificates`), including proof of possession.
//!
//! Construction lives in `certificates/client.rs`; upload, get, list and delete in
//! `certificates/operations.rs`; verification code, verify and the whole flow in
//! `certificates/possession.rs`.

mod client;
mod operations;
mod possession;

pub use client::CertificateClient;
pub use possession::ProvePossessionError;

use crate::error::{Error, ErrorKind, Result};
use crate::options::ClientOptions;

/// The ARM api-version [`CertificateClient`] speaks by default.
pub const CERTIFICATE_API_VERSION: &str = "2022-02-05";

/// The Azure Resource Manager endpoint of the public cloud, used by
/// [`CertificateClient::for_azure`].
pub const AZURE_RESOURCE_MANAGER: &str = "https://management.azure.com";

/// Longest certificate name accepted.
const MAX_NAME_LEN: usize = 64;

/// Options of [`CertificateClient`]. `CertificateClientOptions::default()` suits Azure.
#[derive(Debug, Clone)]
pub struct CertificateClientOptions {
    /// Transport, retry, TLS and SAS settings. Its `api_version` (the service API's) is
    /// **ignored**: ARM versions are numbered separately, see [`Self::api_version`].
    pub client: ClientOptions,
    /// The ARM `api-version` query parameter sent on every call; [`CERTIFICATE_API_VERSION`]
    /// by default.
    pub api_version: String,
}

impl Default for CertificateClientOptions {
    fn default() -> Self {
        Self {
            client: ClientOptions::default(),
            api_version: CERTIFICATE_API_VERSION.to_owned(),
        }
    }
}

impl From<ClientOptions> for CertificateClientOptions {
    /// These client settings with the default ARM api-version (`client.api_version` is not
    /// used).
    fn from(client: ClientOptions) -> Self {
        Self {
            client,
            ..Self::default()
        }
    }
}

/// Optional parameters of [`CertificateClient::create_or_update`].
///
/// ```
/// use dps_service_client::CertificateUploadOptions;
/// let options = CertificateUploadOptions::default()
///     .with_is_verified(true)
///     .with_if_match("AAAAAAExpNs=");
/// assert_eq!(options.is_verified, Some(true));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateUploadOptions {
    /// `Some(true)` marks the certificate verified without proof of possession; `None` sends
    /// no `isVerified`.
    pub is_verified: Option<bool>,
    /// The ETag of the certificate being replaced, sent as `If-Match` (ARM ignores it on
    /// create); `None` sends no `If-Match`.
    pub if_match: Option<String>,
}

impl CertificateUploadOptions {
    /// These options with `isVerified` set.
    pub fn with_is_verified(mut self, is_verified: bool) -> Self {
        self.is_verified = Some(is_verified);
        self
    }

    /// These options with `If-Match: etag`.
    pub fn with_if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }
}

crate::options::call_options! {
    /// Optional parameters of [`CertificateClient::list`]. None yet.
    ListCertificatesOptions;
    /// Optional parameters of [`CertificateClient::delete`]. None yet.
    DeleteCertificateOptions;
    /// Optional parameters of [`CertificateClient::generate_verification_code`]. None yet.
    VerificationCodeOptions;
    /// Optional parameters of [`CertificateClient::verify`]. None yet.
    VerifyCertificateOptions;
    /// Optional parameters of [`CertificateClient::prove_possession`]. None yet.
    ProvePossessionOptions;
}

/// Checks a certificate name: 1 to 64 ASCII letters, digits, `-`, `_` and `.` (the rule of
/// IoT Hub and DPS certificate names), and not `.` or `..`, which would be path segments.
/// Every accepted name is unreserved in URLs, so it goes into the path unencoded.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let invalid = |why: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("invalid certificate name {name:?}: {why}"),
        )
    };
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(invalid("it must have 1 to 64 characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(invalid(&format!(
            "{c:?} is not allowed (only letters, digits, '-', '_' and '.')"
        )));
    }
    if name == "." || name == ".." {
        return Err(invalid("a dot segment is not a name"));
    }
    Ok(())
}

/// Checks an ETag the API requires as `If-Match`.
pub(crate) fn check_etag(etag: &str) -> Result<()> {
    if etag.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "an ETag is required (If-Match) for this operation",
        ));
    }
    if etag.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "the ETag contains control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_arm_rule() {
        for ok in ["a", "root-ca", "Contoso_CA.2026", &"x".repeat(64), "..."] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "a/b", "ca%2F", "é", &"x".repeat(65)] {
            assert_eq!(
                check_name(bad).map_err(|e| e.kind()),
                Err(ErrorKind::InvalidInput),
                "{bad}"
            );
        }
    }

    #[test]
    fn etags_must_be_present_and_header_safe() {
        assert!(check_etag("AAAAAAExpNs=").is_ok());
        assert!(check_etag("*").is_ok());
        assert!(check_etag("").is_err());
        assert!(check_etag("  ").is_err());
        assert!(check_etag("a\r\nb").is_err());
    }

    #[test]
    fn options_default_to_the_arm_version() {
        let o = CertificateClientOptions::from(ClientOptions {
            api_version: "2021-10-01".into(),
            ..Default::default()
        });
        assert_eq!(o.api_version, CERTIFICATE_API_VERSION);
        assert_eq!(
            CertificateClientOptions::default().api_version,
            "2022-02-05"
        );
    }
}
