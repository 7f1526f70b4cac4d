//! The client's one error type: a coarse kind plus everything the service said.

use std::fmt;

/// Coarse classes of failure, so callers can branch without matching status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: the request was malformed or broke a service rule.
    BadRequest,
    /// 401: the SAS token or bearer token was refused.
    Unauthorized,
    /// 403: authenticated but not allowed (for example a read-only policy writing).
    Forbidden,
    /// 404: the enrollment, group or registration does not exist.
    NotFound,
    /// 409: the record already exists or conflicts.
    Conflict,
    /// 412: the ETag given in `If-Match` is stale.
    PreconditionFailed,
    /// 429: throttled, and the retries ran out.
    Throttled,
    /// 5xx: the service failed, and the retries ran out.
    Server,
    /// Any other HTTP status.
    Http,
    /// No HTTP response: DNS, connection, TLS or timeout.
    Transport,
    /// The response body did not have the expected shape.
    Deserialize,
    /// The input was rejected before anything was sent (for example an invalid id).
    InvalidInput,
    /// The credential could not produce a token.
    Credential,
}

/// A failed service call.
///
/// Carries the HTTP status and the DPS error body's `errorCode`, `trackingId` and `message`
/// when the service sent them. Never contains keys or tokens.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    status: Option<u16>,
    error_code: Option<i64>,
    tracking_id: Option<String>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            error_code: None,
            tracking_id: None,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Builds the error for an HTTP response with a non-success status, reading the DPS error
    /// body (`errorCode`/`code`, `trackingId`, `message`) when there is one, or the ARM one
    /// (`{"error":{"code","message"}}`, whose PascalCase `code` is not an [`Self::error_code`]).
    pub fn from_response(status: u16, body: &[u8], request_id: Option<&str>) -> Self {
        let kind = match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            412 => ErrorKind::PreconditionFailed,
            429 => ErrorKind::Throttled,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Http,
        };
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        // ARM wraps the details in an `error` object.
        let parsed = parsed.map(|v| match v.get("error") {
            Some(inner) if inner.is_object() => inner.clone(),
            _ => v,
        });
        let field = |names: &[&str]| {
            parsed
                .as_ref()
                .and_then(|v| names.iter().find_map(|n| v.get(*n)).cloned())
        };
        let error_code = field(&["errorCode", "code"]).and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        });
        let tracking_id = field(&["trackingId"])
            .and_then(|v| v.as_str().map(str::to_owned))
            .or_else(|| request_id.map(str::to_owned));
        let message = field(&["message", "Message"])
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    text.chars().take(500).collect()
                }
            });
        Self {
            kind,
            status: Some(status),
            error_code,
            tracking_id,
            message,
            source: None,
        }
    }

    /// The coarse kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The DPS `errorCode` (HTTP status × 1000 + detail, e.g. 404201), if the service sent one.
    pub fn error_code(&self) -> Option<i64> {
        self.error_code
    }

    /// The DPS `trackingId` (or `x-ms-request-id`), for support requests.
    pub fn tracking_id(&self) -> Option<&str> {
        self.tracking_id.as_deref()
    }

    /// The service's or client's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status}")?;
            if let Some(code) = self.error_code {
                write!(f, " ({code})")?;
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.message)?;
        if let Some(t) = &self.tracking_id {
            write!(f, " [trackingId {t}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_dps_error_body() {
        let body = br#"{"errorCode":401002,"trackingId":"f40da7ba-1","message":"Invalid certificate","timestampUtc":"2019-03-15T19:43:02.7904455Z"}"#;
        let e = Error::from_response(401, body, None);
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert_eq!(e.error_code(), Some(401_002));
        assert_eq!(e.tracking_id(), Some("f40da7ba-1"));
        assert_eq!(
            e.to_string(),
            "HTTP 401 (401002): Invalid certificate [trackingId f40da7ba-1]"
        );
    }

    #[test]
    fn maps_statuses_and_odd_bodies() {
        for (status, kind) in [
            (400, ErrorKind::BadRequest),
            (403, ErrorKind::Forbidden),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::Conflict),
            (412, ErrorKind::PreconditionFailed),
            (429, ErrorKind::Throttled),
            (503, ErrorKind::Server),
            (418, ErrorKind::Http),
        ] {
            assert_eq!(Error::from_response(status, b"", None).kind(), kind);
        }
        let e = Error::from_response(500, b"upstream died", Some("req-1"));
        assert_eq!(e.message(), "upstream died");
        assert_eq!(e.tracking_id(), Some("req-1"));
        let e = Error::from_response(404, br#"{"code":"404201","message":"gone"}"#, None);
        assert_eq!(e.error_code(), Some(404_201));
        let arm =
            br#"{"error":{"code":"InvalidCertificate","message":"The certificate is not valid."}}"#;
        let e = Error::from_response(400, arm, Some("req-2"));
        assert_eq!(e.message(), "The certificate is not valid.");
        assert_eq!(e.error_code(), None);
        assert_eq!(e.tracking_id(), Some("req-2"));
    }
}
