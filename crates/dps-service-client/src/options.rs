//! Client configuration.

use crate::error::{Error, ErrorKind, Result};
use crate::retry::RetryOptions;
use std::time::Duration;

/// The api-version this client speaks by default: the latest widely used stable version.
pub const DEFAULT_API_VERSION: &str = "2021-10-01";

/// Options of [`crate::ProvisioningServiceClient`]. `ClientOptions::default()` suits Azure.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The `api-version` query parameter sent on every call.
    pub api_version: String,
    /// Retry policy for transient failures.
    pub retry: RetryOptions,
    /// Extra CA certificates (PEM) to trust besides the system's, e.g. the emulator's CA.
    pub trusted_ca_pem: Vec<Vec<u8>>,
    /// Trust only `trusted_ca_pem`, not the system roots.
    pub trust_only_custom_ca: bool,
    /// An HTTP(S) proxy URL for every request.
    pub proxy: Option<String>,
    /// Timeout of one attempt, from sending to the end of the body.
    pub timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Appended to the `User-Agent` (`dps-rs-service/<version> <suffix>`).
    pub user_agent_suffix: Option<String>,
    /// Lifetime of the SAS tokens the client makes from a shared access key; a token is reused
    /// until 5 minutes before it expires.
    pub sas_token_ttl: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            api_version: DEFAULT_API_VERSION.to_owned(),
            retry: RetryOptions::default(),
            trusted_ca_pem: Vec::new(),
            trust_only_custom_ca: false,
            proxy: None,
            timeout: Duration::from_secs(100),
            connect_timeout: Duration::from_secs(30),
            user_agent_suffix: None,
            sas_token_ttl: Duration::from_secs(3600),
        }
    }
}

impl ClientOptions {
    /// The `User-Agent` header value.
    pub fn user_agent(&self) -> String {
        let base = concat!("dps-rs-service/", env!("CARGO_PKG_VERSION"));
        match &self.user_agent_suffix {
            Some(s) if !s.is_empty() => format!("{base} {s}"),
            _ => base.to_owned(),
        }
    }

    /// Builds the HTTP client these options describe.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client> {
        let invalid = |what: &str, e: reqwest::Error| {
            Error::new(ErrorKind::InvalidInput, format!("{what}: {e}")).with_source(e)
        };
        let mut certs = Vec::new();
        for pem in &self.trusted_ca_pem {
            let found = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| invalid("a trusted CA certificate is not valid PEM", e))?;
            if found.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "a trusted CA file holds no certificate",
                ));
            }
            certs.extend(found);
        }
        let mut b = reqwest::Client::builder()
            .user_agent(self.user_agent())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout);
        b = if self.trust_only_custom_ca {
            b.tls_certs_only(certs)
        } else {
            b.tls_certs_merge(certs)
        };
        if let Some(p) = &self.proxy {
            b = b.proxy(reqwest::Proxy::all(p).map_err(|e| invalid("invalid proxy URL", e))?);
        }
        b.build()
            .map_err(|e| invalid("cannot build the HTTP client", e))
    }
}

/// Declares per-call option structs that have no field yet: `#[non_exhaustive]` and
/// `Default`, so that fields can be added later without breaking callers, who pass `None` or
/// `Some(XxxOptions::default())`.
macro_rules! call_options {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {}
    )*};
}
pub(crate) use call_options;

call_options! {
    /// Optional parameters of reads of one record: enrollments, groups, registration states,
    /// attestation mechanisms and CA certificates. None yet.
    GetOptions;
    /// Optional parameters of the create-only calls
    /// ([`ProvisioningServiceClient::create_enrollment`](crate::ProvisioningServiceClient::create_enrollment),
    /// [`…_group`](crate::ProvisioningServiceClient::create_enrollment_group)). None yet.
    CreateOptions;
    /// Optional parameters of bulk operations
    /// ([`ProvisioningServiceClient::run_bulk_enrollment_operation`](crate::ProvisioningServiceClient::run_bulk_enrollment_operation)
    /// and the group one). None yet.
    BulkOptions;
    /// Optional parameters of
    /// [`ProvisioningServiceClient::create_x509_enrollment_group`](crate::ProvisioningServiceClient::create_x509_enrollment_group)
    /// and its `_from_files` twin. None yet.
    X509EnrollmentGroupOptions;
}
