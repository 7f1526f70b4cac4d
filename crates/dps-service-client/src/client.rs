//! [`ProvisioningServiceClient`]: construction and the shared request helpers. The operations
//! live in `enrollments.rs`, `groups.rs` and `registrations.rs`.

use crate::credential::{Credential, SasAuthorizer};
use crate::error::{Error, ErrorKind, Result};
use crate::options::ClientOptions;
use crate::pipeline::{Call, Pipeline, Response};
use crate::retry::Idempotency;
use dps_protocol::auth::{ConnectionString, Credential as CsCredential};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Everything but RFC 3986 unreserved characters is escaped in path segments.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Client of the DPS service API: enrollment groups, individual enrollments, bulk operations,
/// queries and device registration states.
///
/// Cheap to clone; clones share the connection pool and the SAS token cache.
///
/// ```no_run
/// use dps_service_client::ProvisioningServiceClient;
/// # async fn demo() -> dps_service_client::Result<()> {
/// let client = ProvisioningServiceClient::from_connection_string(
///     "HostName=mydps.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=",
///     None,
/// )?;
/// let group = client.get_enrollment_group("my-group", None).await?;
/// println!("{:?}", group.etag);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ProvisioningServiceClient {
    pub(crate) pipeline: Pipeline,
}

/// Optional parameters of writes and deletes.
///
/// ```
/// use dps_service_client::ConditionalOptions;
/// let options = ConditionalOptions::default().with_if_match("*");
/// assert_eq!(options.if_match.as_deref(), Some("*"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConditionalOptions {
    /// Sent as `If-Match`: the write succeeds only if the record's ETag still equals this
    /// value (412 otherwise). `Some("*")` matches any existing record. For updates, `None`
    /// falls back to the ETag of the record being written.
    pub if_match: Option<String>,
}

impl ConditionalOptions {
    /// These options with `If-Match: etag`.
    pub fn with_if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }
}

impl ProvisioningServiceClient {
    /// A client for `endpoint` (`https://<name>.azure-devices-provisioning.net`, or the
    /// emulator's `https://localhost:8443`).
    pub fn new(
        endpoint: &str,
        credential: Credential,
        options: Option<ClientOptions>,
    ) -> Result<Self> {
        let options = options.unwrap_or_default();
        let endpoint = parse_endpoint(endpoint)?;
        let host = endpoint.host_str().unwrap_or_default();
        let resource = match endpoint.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let auth = SasAuthorizer::new(credential, resource, options.sas_token_ttl);
        Ok(Self {
            pipeline: Pipeline {
                http: options.http_client()?,
                endpoint,
                api_version: options.api_version.clone(),
                retry: options.retry.clone(),
                auth: Arc::new(auth),
            },
        })
    }

    /// A client from a service connection string
    /// (`HostName=...;SharedAccessKeyName=...;SharedAccessKey=...`, or one carrying a
    /// `SharedAccessSignature`). The endpoint is `https://<HostName>`.
    pub fn from_connection_string(
        connection_string: &str,
        options: Option<ClientOptions>,
    ) -> Result<Self> {
        let (host, credential) = parse_connection_string(connection_string)?;
        Self::new(&format!("https://{host}"), credential, options)
    }

    /// The service endpoint.
    pub fn endpoint(&self) -> &url::Url {
        &self.pipeline.endpoint
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        id: Option<&str>,
        method: Method,
        path: String,
        body: Option<&impl Serialize>,
        headers: Vec<(HeaderName, String)>,
    ) -> Result<T> {
        self.raw(
            operation,
            id,
            method,
            path,
            body,
            headers,
            Idempotency::Idempotent,
        )
        .await?
        .json()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn raw(
        &self,
        operation: &'static str,
        id: Option<&str>,
        method: Method,
        path: String,
        body: Option<&impl Serialize>,
        headers: Vec<(HeaderName, String)>,
        idempotency: Idempotency,
    ) -> Result<Response> {
        let body = body
            .map(|b| {
                serde_json::to_vec(b).map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("cannot encode the request: {e}"),
                    )
                    .with_source(e)
                })
            })
            .transpose()?;
        self.pipeline
            .send(Call {
                operation,
                id,
                method,
                path,
                headers,
                body,
                idempotency,
            })
            .await
    }
}

/// The host name and credential of a service connection string.
pub(crate) fn parse_connection_string(connection_string: &str) -> Result<(String, Credential)> {
    let cs: ConnectionString = connection_string.parse().map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("invalid connection string: {e}"),
        )
        .with_source(e)
    })?;
    let credential = match cs.credential() {
        CsCredential::SharedAccessKey(key) => Credential::SharedAccessKey {
            key_name: cs
                .key_name()
                .unwrap_or(dps_protocol::auth::DEFAULT_POLICY_NAME)
                .to_owned(),
            key: key.clone(),
        },
        CsCredential::SharedAccessSignature(token) => {
            Credential::SharedAccessSignature(token.clone())
        }
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "unsupported connection string credential",
            ));
        }
    };
    Ok((cs.host_name().to_owned(), credential))
}

/// `/<collection>/<percent-encoded id><suffix>`, after checking the id against the DPS rule.
pub(crate) fn id_path(collection: &str, id: &str, suffix: &str) -> Result<String> {
    dps_protocol::check_registration_id(id)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, e.to_string()).with_source(e))?;
    Ok(format!(
        "/{collection}/{}{suffix}",
        utf8_percent_encode(id, SEGMENT)
    ))
}

pub(crate) fn if_match_header(value: Option<&str>) -> Vec<(HeaderName, String)> {
    value
        .map(|v| vec![(reqwest::header::IF_MATCH, v.to_owned())])
        .unwrap_or_default()
}

pub(crate) fn parse_endpoint(endpoint: &str) -> Result<url::Url> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("invalid endpoint {endpoint:?}: {why}"),
        )
    };
    let with_scheme = if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("the scheme must be https (or http for local tests)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host name"));
    }
    if url.query().is_some() || !url.username().is_empty() {
        return Err(bad("no query or credentials allowed in the endpoint"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_encoded() {
        assert_eq!(
            id_path("enrollments", "dev:01", "").expect("legal"),
            "/enrollments/dev%3A01"
        );
        assert!(id_path("enrollments", "a/b", "").is_err());
    }

    #[test]
    fn endpoints_are_validated() {
        assert!(parse_endpoint("mydps.azure-devices-provisioning.net").is_ok());
        assert!(parse_endpoint("https://localhost:8443").is_ok());
        assert!(parse_endpoint("ftp://x").is_err());
        assert!(parse_endpoint("https://").is_err());
        assert!(parse_endpoint("https://h/?a=1").is_err());
    }
}
