//! [`CertificateClient`]: the type, its constructors and base URLs.

use super::{AZURE_RESOURCE_MANAGER, CertificateClientOptions};
use crate::client::{SEGMENT, parse_connection_string, parse_endpoint};
use crate::credential::{Credential, SasAuthorizer};
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Pipeline;
use dps_protocol::auth::Secret;
use percent_encoding::utf8_percent_encode;
use std::sync::Arc;

/// Placeholders of the emulator's resource path, which it does not check.
const EMULATOR_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
const EMULATOR_RESOURCE_GROUP: &str = "emulator";
const EMULATOR_DPS: &str = "emulator";

/// Client of the CA certificates of one DPS resource, over Azure Resource Manager
/// (`…/providers/Microsoft.Devices/provisioningServices/{dps}/certificates`, api-version
/// [`CERTIFICATE_API_VERSION`](crate::CERTIFICATE_API_VERSION) by default): upload, get,
/// list, delete, and proof of possession, after which enrollment groups can use the
/// certificate through `caReferences`.
///
/// Certificate names are checked before anything is sent: 1 to 64 ASCII letters, digits,
/// `-`, `_` and `.` (but not `.` or `..`). Delete, generateVerificationCode and verify
/// require the certificate's current ETag, sent as `If-Match`. GET, PUT and DELETE are
/// retried like the service API's reads and writes; the two POSTs change state and are
/// retried only when the service provably did nothing (429, 503, no connection).
///
/// Cheap to clone; clones share the connection pool and the SAS token cache.
///
/// Proof of possession of a CA certificate whose private key the caller holds (here with
/// certGen.sh's `create_verification_certificate`; `dps-certgen` makes the same files):
///
/// ```no_run
/// use dps_protocol::auth::Secret;
/// use dps_service_client::CertificateClient;
///
/// /// A certificate whose subject CN is `code`, signed by the CA's private key. Its error
/// /// type is the caller's own; `prove_possession` hands it back unchanged.
/// fn sign_verification_certificate(code: &str) -> std::io::Result<Vec<u8>> {
///     let status = std::process::Command::new("./certGen.sh")
///         .args(["create_verification_certificate", code])
///         .status()?;
///     if !status.success() {
///         return Err(std::io::Error::other(format!("certGen.sh failed: {status}")));
///     }
///     std::fs::read("certs/verification-code.cert.pem")
/// }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = CertificateClient::for_azure(
///     "a1b2c3d4-0000-4000-8000-123456789abc",
///     "contoso-rg",
///     "contoso-dps",
///     Secret::from(std::env::var("ARM_TOKEN").unwrap_or_default()),
///     None,
/// )?;
/// let ca = std::fs::read("certs/azure-iot-test-only.root.ca.cert.pem").unwrap_or_default();
///
/// // Upload if absent, get a verification code, sign it, verify: all in one call...
/// let verified = client
///     .prove_possession("contoso-root", &ca, sign_verification_certificate, None)
///     .await?;
/// assert_eq!(verified.properties.is_verified, Some(true));
///
/// // ...or step by step, each step with the ETag the previous one returned.
/// let uploaded = client.create_or_update("contoso-root-2", &ca, None).await?;
/// let code = client
///     .generate_verification_code("contoso-root-2", uploaded.etag.as_deref().expect("an etag"), None)
///     .await?;
/// let pem = sign_verification_certificate(
///     code.properties.verification_code.as_deref().unwrap_or_default(),
/// )?;
/// let verified = client
///     .verify("contoso-root-2", code.etag.as_deref().expect("an etag"), &pem, None)
///     .await?;
/// println!("{} verified: {:?}", verified.name, verified.properties.is_verified);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CertificateClient {
    pub(super) pipeline: Pipeline,
}

impl CertificateClient {
    /// A client for the DPS resource at `base`: the full resource URL up to and including the
    /// DPS, e.g. `https://management.azure.com/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Devices/provisioningServices/{dps}`
    /// (with [`Credential::BearerToken`]) or the emulator's
    /// `https://localhost:8443/subscriptions/…/provisioningServices/{dps}` (with a SAS
    /// credential, signed for the host and port as on the service API).
    ///
    /// Fails with [`ErrorKind::InvalidInput`] unless the path ends in
    /// `/provisioningServices/{name}`.
    pub fn new(
        base: &str,
        credential: Credential,
        options: Option<CertificateClientOptions>,
    ) -> Result<Self> {
        let options = options.unwrap_or_default();
        if options.api_version.trim().is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "empty api-version"));
        }
        let base = parse_base(base)?;
        let host = base.host_str().unwrap_or_default();
        let resource = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let auth = SasAuthorizer::new(credential, resource, options.client.sas_token_ttl);
        Ok(Self {
            pipeline: Pipeline {
                http: options.client.http_client()?,
                endpoint: base,
                api_version: options.api_version,
                retry: options.client.retry.clone(),
                auth: Arc::new(auth),
            },
        })
    }

    /// A client for DPS `dps_name` in Azure's public cloud
    /// ([`AZURE_RESOURCE_MANAGER`](crate::AZURE_RESOURCE_MANAGER)), authenticated with an
    /// Azure AD access token for `https://management.azure.com/.default`, sent as
    /// `Authorization: Bearer <token>`. Other clouds: use [`Self::new`].
    pub fn for_azure(
        subscription_id: &str,
        resource_group: &str,
        dps_name: &str,
        bearer: Secret,
        options: Option<CertificateClientOptions>,
    ) -> Result<Self> {
        for (what, value) in [
            ("subscription id", subscription_id),
            ("resource group", resource_group),
            ("DPS name", dps_name),
        ] {
            if value.trim().is_empty() {
                return Err(Error::new(ErrorKind::InvalidInput, format!("empty {what}")));
            }
        }
        let base = format!(
            "{AZURE_RESOURCE_MANAGER}{}",
            resource_path(subscription_id, resource_group, dps_name)
        );
        Self::new(&base, Credential::BearerToken(bearer), options)
    }

    /// A client for the emulator named by a service connection string
    /// (`HostName=localhost:8443;SharedAccessKeyName=…;SharedAccessKey=…`): base URL
    /// `https://{HostName}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.Devices/provisioningServices/emulator`
    /// (the emulator ignores the subscription, group and name) and SAS tokens signed for the
    /// host. Trust the emulator's CA through `options.client.trusted_ca_pem`.
    pub fn for_emulator(
        service_connection_string: &str,
        options: Option<CertificateClientOptions>,
    ) -> Result<Self> {
        let (host, credential) = parse_connection_string(service_connection_string)?;
        let base = format!(
            "https://{host}{}",
            resource_path(EMULATOR_SUBSCRIPTION, EMULATOR_RESOURCE_GROUP, EMULATOR_DPS)
        );
        Self::new(&base, credential, options)
    }

    /// The DPS resource URL every path is relative to.
    pub fn base_url(&self) -> &url::Url {
        &self.pipeline.endpoint
    }
}

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Devices/provisioningServices/{dps}`,
/// each value percent-encoded.
fn resource_path(subscription_id: &str, resource_group: &str, dps_name: &str) -> String {
    let e = |s: &str| utf8_percent_encode(s, SEGMENT).to_string();
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Devices/provisioningServices/{}",
        e(subscription_id),
        e(resource_group),
        e(dps_name)
    )
}

/// A base URL: an endpoint whose path ends in `/provisioningServices/{name}`.
fn parse_base(base: &str) -> Result<url::Url> {
    let url = parse_endpoint(base)?;
    let path = url.path().trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let is_dps = matches!(
        segments.as_slice(),
        [.., kind, name] if kind.eq_ignore_ascii_case("provisioningServices") && !name.is_empty()
    );
    if !is_dps || url.fragment().is_some() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "invalid base URL {base:?}: it must be the DPS resource URL, ending in \
                 /providers/Microsoft.Devices/provisioningServices/{{name}}"
            ),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_name_a_dps() {
        let dps = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Devices/provisioningServices/d";
        assert!(parse_base(dps).is_ok());
        assert!(parse_base(&format!("{dps}/")).is_ok());
        assert!(parse_base("https://localhost:8443/x/provisioningservices/emulator").is_ok());
        for bad in [
            "https://management.azure.com",
            "https://management.azure.com/",
            &format!("{dps}/certificates"),
            "https://h/providers/Microsoft.Devices/provisioningServices/",
            &format!("{dps}#frag"),
            &format!("{dps}?a=1"),
        ] {
            assert_eq!(
                parse_base(bad).map_err(|e| e.kind()).err(),
                Some(ErrorKind::InvalidInput),
                "{bad}"
            );
        }
    }

    #[test]
    fn resource_paths_are_encoded() {
        assert_eq!(
            resource_path("s", "my rg(1)", "d"),
            "/subscriptions/s/resourceGroups/my%20rg%281%29/providers/Microsoft.Devices/provisioningServices/d"
        );
    }
}
