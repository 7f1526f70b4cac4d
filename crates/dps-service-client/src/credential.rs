//! How the client authenticates: SAS tokens made from a shared access key (renewed before they
//! expire), a fixed SAS token, or a bearer token.

use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Authorizer;
use dps_protocol::auth::{SasToken, Secret, unix_now};
use std::sync::Mutex;
use std::time::Duration;

/// A token is renewed this long before it expires.
const RENEW_MARGIN_SECS: u64 = 300;

/// A credential for the DPS service API.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credential {
    /// A shared access policy: the client signs SAS tokens for the service host itself.
    SharedAccessKey {
        /// Policy name (`provisioningserviceowner` by default in Azure).
        key_name: String,
        /// The policy's base64 key.
        key: Secret,
    },
    /// A ready-made `SharedAccessSignature ...` token, sent as is and never renewed.
    SharedAccessSignature(Secret),
    /// An Azure AD access token, sent as `Authorization: Bearer <token>`.
    BearerToken(Secret),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::SharedAccessKey { key_name, .. } => f
                .debug_struct("SharedAccessKey")
                .field("key_name", key_name)
                .field("key", &"<redacted>")
                .finish(),
            Credential::SharedAccessSignature(_) => {
                f.write_str("SharedAccessSignature(<redacted>)")
            }
            Credential::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
        }
    }
}

/// Turns a [`Credential`] into `Authorization` headers, caching SAS tokens.
pub(crate) struct SasAuthorizer {
    credential: Credential,
    resource: String,
    ttl: Duration,
    cached: Mutex<Option<(String, u64)>>,
}

impl std::fmt::Debug for SasAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasAuthorizer")
            .field("credential", &self.credential)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl SasAuthorizer {
    /// `resource` is what SAS tokens are signed for: the service host name (with its port,
    /// if the endpoint has one).
    pub(crate) fn new(credential: Credential, resource: String, ttl: Duration) -> Self {
        Self {
            credential,
            resource,
            ttl,
            cached: Mutex::new(None),
        }
    }
}

impl Authorizer for SasAuthorizer {
    fn authorization(&self) -> Result<Option<String>> {
        match &self.credential {
            Credential::SharedAccessSignature(token) => Ok(Some(token.expose().to_owned())),
            Credential::BearerToken(token) => Ok(Some(format!("Bearer {}", token.expose()))),
            Credential::SharedAccessKey { key_name, key } => {
                let now = unix_now();
                let mut cache = self
                    .cached
                    .lock()
                    .map_err(|_| Error::new(ErrorKind::Credential, "token cache poisoned"))?;
                if let Some((token, expiry)) = cache.as_ref()
                    && now + RENEW_MARGIN_SECS < *expiry
                {
                    return Ok(Some(token.clone()));
                }
                let expiry = now + self.ttl.as_secs().max(RENEW_MARGIN_SECS + 60);
                let token = SasToken::generate(&self.resource, key, Some(key_name), expiry)
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::Credential,
                            format!("cannot sign a SAS token: {e}"),
                        )
                    })?;
                *cache = Some((token.clone(), expiry));
                Ok(Some(token))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_tokens_are_cached_and_verify() {
        let key = Secret::from("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=");
        let auth = SasAuthorizer::new(
            Credential::SharedAccessKey {
                key_name: "provisioningserviceowner".into(),
                key: key.clone(),
            },
            "localhost:8443".into(),
            Duration::from_secs(3600),
        );
        let a = auth.authorization().expect("signs").expect("header");
        let b = auth.authorization().expect("signs").expect("header");
        assert_eq!(a, b, "a fresh token is reused");
        let parsed = SasToken::parse(&a).expect("parses");
        parsed
            .verify(&[&key], "localhost:8443/enrollments/x", unix_now(), 0)
            .expect("valid for the host");
        assert_eq!(parsed.policy_name(), Some("provisioningserviceowner"));
        assert!(format!("{:?}", auth.credential).contains("<redacted>"));
        assert!(!format!("{auth:?}").contains("ZGVm"));
    }
}
