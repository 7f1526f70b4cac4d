//! One HTTP call with authentication, retries, error mapping and tracing. Every operation of
//! the client goes through [`Pipeline::send`].

use crate::error::{Error, ErrorKind, Result};
use crate::retry::{self, Attempt, Idempotency, RetryOptions};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use tracing::Instrument;

/// Produces the `Authorization` header value for each attempt, so tokens are renewed before
/// they expire and a retry never reuses a stale one.
pub(crate) trait Authorizer: Send + Sync + std::fmt::Debug {
    /// The header value, or `None` to send no `Authorization`.
    fn authorization(&self) -> Result<Option<String>>;
}

/// A response that passed the status check.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Deserialize,
                format!(
                    "unexpected response body (HTTP {}): {e}",
                    self.status.as_u16()
                ),
            )
            .with_source(e)
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One logical call.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    /// Operation name for tracing (`EnrollmentGroup_Get`, ...).
    pub(crate) operation: &'static str,
    /// The id the call is about, for tracing.
    pub(crate) id: Option<&'a str>,
    pub(crate) method: Method,
    /// Path below the endpoint, already percent-encoded, starting with `/`.
    pub(crate) path: String,
    pub(crate) headers: Vec<(HeaderName, String)>,
    /// JSON body; `None` sends `Content-Length: 0`.
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) idempotency: Idempotency,
}

/// Shared, cheaply cloned state of a client.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: url::Url,
    pub(crate) api_version: String,
    pub(crate) retry: RetryOptions,
    pub(crate) auth: Arc<dyn Authorizer>,
}

impl Pipeline {
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response> {
        let mut url = self.endpoint.clone();
        url.set_path(&format!(
            "{}{}",
            self.endpoint.path().trim_end_matches('/'),
            call.path
        ));
        url.query_pairs_mut()
            .append_pair("api-version", &self.api_version);
        self.send_to(call, url).await
    }

    /// [`Self::send`] to `url` exactly as given (query included), ignoring `call.path`: for
    /// server-provided links such as ARM's `nextLink`. The caller checks that `url` belongs
    /// to the endpoint, since the credential is sent to it.
    pub(crate) async fn send_to(&self, call: Call<'_>, url: url::Url) -> Result<Response> {
        let span = tracing::debug_span!(
            "dps.request",
            operation = call.operation,
            id = call.id.unwrap_or(""),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        let result = self
            .send_with_retries(&call, url)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(r) => span.record("status", r.status.as_u16()),
            Err(e) => span.record("status", e.status().unwrap_or(0)),
        };
        result
    }

    async fn send_with_retries(&self, call: &Call<'_>, url: url::Url) -> Result<Response> {
        let mut retry_no = 0u32;
        loop {
            let attempt = self.attempt(call, url.clone()).await;
            let (outcome, hint) = match &attempt {
                Ok(r) => (
                    Attempt::Status(r.status.as_u16()),
                    retry::server_delay(&r.headers, std::time::SystemTime::now()),
                ),
                Err(AttemptError::Connect(_)) => (Attempt::ConnectFailed, None),
                Err(AttemptError::NoResponse(_)) => (Attempt::NoResponse, None),
                Err(AttemptError::Fatal(_)) => (Attempt::Status(0), None),
            };
            let success = matches!(&attempt, Ok(r) if r.status.is_success());
            let retryable = !success
                && !matches!(attempt, Err(AttemptError::Fatal(_)))
                && retry::should_retry(call.idempotency, outcome);
            if success || !retryable || retry_no >= self.retry.max_retries {
                tracing::Span::current().record("attempts", retry_no + 1);
                return match attempt {
                    Ok(r) if r.status.is_success() => Ok(r),
                    Ok(r) => Err(Error::from_response(
                        r.status.as_u16(),
                        &r.body,
                        r.header("x-ms-request-id"),
                    )),
                    Err(
                        AttemptError::Connect(e)
                        | AttemptError::NoResponse(e)
                        | AttemptError::Fatal(e),
                    ) => Err(e),
                };
            }
            let wait = retry::delay(&self.retry, retry_no, hint, jitter());
            tracing::debug!(
                attempt = retry_no + 1,
                ?outcome,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
            retry_no += 1;
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        url: url::Url,
    ) -> std::result::Result<Response, AttemptError> {
        let mut req = self.http.request(call.method.clone(), url);
        if let Some(auth) = self.auth.authorization().map_err(AttemptError::Fatal)? {
            let mut value = HeaderValue::from_str(&auth).map_err(|_| {
                AttemptError::Fatal(Error::new(
                    ErrorKind::Credential,
                    "the credential produced an invalid header",
                ))
            })?;
            value.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        req = req.header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &call.headers {
            req = req.header(name, value);
        }
        req = match &call.body {
            Some(body) => req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(body.clone()),
            None => req.header(reqwest::header::CONTENT_LENGTH, "0"),
        };
        let resp = req.send().await.map_err(|e| {
            let err = Error::new(
                ErrorKind::Transport,
                format!("{} failed: {}", call.operation, describe(&e)),
            );
            if e.is_connect() {
                AttemptError::Connect(err.with_source(e))
            } else if e.is_builder() {
                AttemptError::Fatal(err.with_source(e))
            } else {
                AttemptError::NoResponse(err.with_source(e))
            }
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            AttemptError::NoResponse(
                Error::new(
                    ErrorKind::Transport,
                    format!(
                        "{}: reading the response failed: {}",
                        call.operation,
                        describe(&e)
                    ),
                )
                .with_source(e),
            )
        })?;
        Ok(Response {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}

#[derive(Debug)]
enum AttemptError {
    Connect(Error),
    NoResponse(Error),
    Fatal(Error),
}

/// A reqwest error without the URL's query (which holds nothing secret, but keeps messages
/// short) and with its innermost cause, which is where TLS and DNS explain themselves.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.without_url_ref().to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let s = self.to_string();
        match self.url() {
            Some(u) => s.replace(&format!(" ({u})"), ""),
            None => s,
        }
    }
}

fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    (h.finish() % 10_000) as f64 / 10_000.0
}
