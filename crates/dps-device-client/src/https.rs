//! The HTTPS transport: one reqwest client with the device's TLS identity, one request per
//! register, poll or status call, the SAS (if any) in the `Authorization` header.

use crate::client::{DeviceAuth, DeviceClientOptions};
use crate::error::{Error, ErrorKind, Result, chain};
use crate::transport::Reply;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde_json::Value;

/// The HTTPS device API of one registration.
#[derive(Debug, Clone)]
pub(crate) struct HttpsTransport {
    http: reqwest::Client,
    endpoint: url::Url,
    /// `{idScope}/registrations/{registrationId}`, the path every request starts with.
    registration_path: String,
    api_version: String,
}

/// What a request does.
pub(crate) enum Call<'a> {
    /// `PUT .../register` with the registration body.
    Register(&'a Value),
    /// `GET .../operations/{operationId}`.
    Poll(&'a str),
    /// `POST ...`: the registration status.
    Status(&'a Value),
}

impl HttpsTransport {
    /// The client for `endpoint`, trusting and presenting what `options` and `auth` say.
    pub(crate) fn new(
        endpoint: url::Url,
        registration_path: String,
        auth: &DeviceAuth,
        options: &DeviceClientOptions,
    ) -> Result<Self> {
        let invalid = |m: String| Error::new(ErrorKind::InvalidInput, m);
        let mut b = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .user_agent(crate::client::USER_AGENT);
        let mut certs = Vec::new();
        for pem in &options.trusted_ca_pem {
            certs.extend(
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    invalid(format!("a trusted CA certificate is not valid PEM: {e}"))
                })?,
            );
        }
        b = if options.trust_only_custom_ca {
            b.tls_certs_only(certs)
        } else {
            b.tls_certs_merge(certs)
        };
        if let Some(p) = &options.proxy {
            b = b
                .proxy(reqwest::Proxy::all(p).map_err(|e| invalid(format!("invalid proxy: {e}")))?);
        }
        if let DeviceAuth::X509 {
            certificate_chain_pem,
            private_key_pem,
        } = auth
        {
            let mut pem = private_key_pem.expose().as_bytes().to_vec();
            pem.push(b'\n');
            pem.extend_from_slice(certificate_chain_pem);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                invalid(format!(
                    "the certificate chain and key cannot be used for TLS: {e}"
                ))
            })?;
            b = b.identity(identity);
        }
        let http = b
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            registration_path,
            api_version: options.api_version.clone(),
        })
    }

    /// The endpoint, for messages.
    pub(crate) fn endpoint(&self) -> &url::Url {
        &self.endpoint
    }

    fn url(&self, tail: &str) -> url::Url {
        let mut u = self.endpoint.clone();
        u.set_path(&format!(
            "{}/{}{tail}",
            self.endpoint.path().trim_end_matches('/'),
            self.registration_path,
        ));
        u.query_pairs_mut()
            .append_pair("api-version", &self.api_version);
        u
    }

    /// Sends `call` with `authorization` (a SAS token) and reads the whole response.
    pub(crate) async fn send(
        &self,
        call: Call<'_>,
        authorization: Option<String>,
    ) -> Result<Reply> {
        let (method, tail, body) = match call {
            Call::Register(body) => (
                reqwest::Method::PUT,
                "/register".to_owned(),
                body.to_string(),
            ),
            Call::Poll(op) => (
                reqwest::Method::GET,
                format!("/operations/{op}"),
                "{}".to_owned(),
            ),
            Call::Status(body) => (reqwest::Method::POST, String::new(), body.to_string()),
        };
        let mut req = self
            .http
            .request(method, self.url(&tail))
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some(a) = authorization {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await.map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("cannot reach {}: {}", self.endpoint, chain(&e)),
            )
            .with_source(e)
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("reading the response: {}", chain(&e)),
            )
            .with_source(e)
        })?;
        Ok(Reply {
            status,
            body: body.to_vec(),
            retry_after: retry_after(&headers),
            request_id: request_id(&headers).map(str::to_owned),
        })
    }
}

/// The server's retry hint in any of its forms ([`dps_protocol::retry_after::delay`], as the
/// service client reads it).
fn retry_after(headers: &HeaderMap) -> Option<std::time::Duration> {
    dps_protocol::retry_after::delay(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        std::time::SystemTime::now(),
    )
}

/// `x-ms-request-id`, which stands in for a missing `trackingId`.
fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-ms-request-id").and_then(|v| v.to_str().ok())
}
