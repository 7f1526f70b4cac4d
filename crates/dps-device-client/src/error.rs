//! The device client's one error type.

use dps_protocol::codes::ErrorCode;
use dps_protocol::errors::{ErrorClass, ErrorResponse};
use std::fmt;

/// Coarse classes of registration failure.
///
/// The kinds of HTTP failures come from [`ErrorClass`], as the service client's do, so a
/// status is the same kind in both clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the certificate chain or SAS token was refused
    /// ([`UNAUTHORIZED`](dps_protocol::codes::UNAUTHORIZED) and friends).
    Unauthorized,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 400: the request or the registration id was refused.
    BadRequest,
    /// 404: unknown ID scope, registration or operation.
    NotFound,
    /// 409: a conflict.
    Conflict,
    /// 412: a precondition failed.
    PreconditionFailed,
    /// 429 until the time budget ran out.
    Throttled,
    /// 5xx: the service failed (until the time budget ran out, when polling).
    Server,
    /// The service ended the registration with status `failed`.
    Failed,
    /// The enrollment or its group is disabled.
    Disabled,
    /// Any other HTTP status.
    Http,
    /// No response: DNS, connection, TLS, timeout.
    Transport,
    /// The registration did not finish within the time budget.
    Timeout,
    /// A response did not have the expected shape.
    Protocol,
    /// Bad input (certificate, key, id) rejected before anything was sent.
    InvalidInput,
}

impl From<ErrorClass> for ErrorKind {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::BadRequest => Self::BadRequest,
            ErrorClass::Unauthorized => Self::Unauthorized,
            ErrorClass::Forbidden => Self::Forbidden,
            ErrorClass::NotFound => Self::NotFound,
            ErrorClass::Conflict => Self::Conflict,
            ErrorClass::PreconditionFailed => Self::PreconditionFailed,
            ErrorClass::Throttled => Self::Throttled,
            ErrorClass::Server => Self::Server,
            ErrorClass::Other => Self::Http,
        }
    }
}

/// A failed registration, with what the service said.
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
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            error_code: None,
            tracking_id: None,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    pub(crate) fn with_code(mut self, code: Option<i64>) -> Self {
        self.error_code = code;
        self
    }

    /// From a non-success HTTP response: its DPS error body read by
    /// [`ErrorResponse::parse`], `request_id` (`x-ms-request-id`) standing in for a missing
    /// `trackingId`, the kind from the status as in the service client.
    pub fn from_response(status: u16, body: &[u8], request_id: Option<&str>) -> Self {
        Self::from_error_response(ErrorResponse::parse(status, body, request_id))
    }

    /// The error for what the service said, its kind from [`ErrorResponse::class`].
    pub fn from_error_response(response: ErrorResponse) -> Self {
        Self {
            kind: response.class().into(),
            status: Some(response.status),
            error_code: response.code.map(i64::from),
            tracking_id: response.tracking_id,
            message: response.message,
            source: None,
        }
    }

    /// The coarse kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The six-digit DPS error code (e.g. [`UNAUTHORIZED`](dps_protocol::codes::UNAUTHORIZED)).
    pub fn error_code(&self) -> Option<i64> {
        self.error_code
    }

    /// [`Self::error_code`] typed, to compare with [`dps_protocol::codes`]:
    /// `e.code() == Some(codes::UNAUTHORIZED)`.
    pub fn code(&self) -> Option<ErrorCode> {
        self.error_code.and_then(|c| ErrorCode::try_from(c).ok())
    }

    /// The service's tracking id.
    pub fn tracking_id(&self) -> Option<&str> {
        self.tracking_id.as_deref()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.status {
            write!(f, "HTTP {s}")?;
            if self.error_code.is_some() {
                f.write_str(" ")?;
            } else {
                f.write_str(": ")?;
            }
        }
        if let Some(c) = self.error_code {
            write!(f, "({c}): ")?;
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

/// `e` and its sources, joined with `: `; a source whose text is already there (many errors
/// print their source themselves) is left out.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg = format!("{msg}: {text}");
        }
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_protocol::codes;

    #[test]
    fn reads_the_dps_error_body() {
        let code = codes::UNAUTHORIZED;
        let body = format!(
            r#"{{"errorCode":{code},"trackingId":"t-1","message":"Invalid certificate","timestampUtc":"2019-03-15T19:43:02.7904455Z"}}"#
        );
        let e = Error::from_response(401, body.as_bytes(), Some("ignored"));
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert_eq!(e.code(), Some(code));
        assert_eq!(e.tracking_id(), Some("t-1"));
        assert_eq!(
            e.to_string(),
            format!("HTTP 401 ({code}): Invalid certificate [trackingId t-1]")
        );
    }

    #[test]
    fn odd_bodies_and_statuses() {
        let e = Error::from_response(503, b"", Some("req-1"));
        assert_eq!(e.kind(), ErrorKind::Server);
        assert_eq!((e.message(), e.tracking_id()), ("HTTP 503", Some("req-1")));
        assert_eq!(e.to_string(), "HTTP 503: HTTP 503 [trackingId req-1]");
        let e = Error::from_response(403, b"forbidden", None);
        assert_eq!((e.kind(), e.message()), (ErrorKind::Forbidden, "forbidden"));
        let e = Error::from_response(418, br#"{"code":"x"}"#, None);
        assert_eq!((e.kind(), e.code()), (ErrorKind::Http, None));
    }

    #[test]
    fn a_chain_says_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        enum E {
            #[error("outer: {0}")]
            Repeats(#[source] std::io::Error),
            #[error("outer")]
            Hides(#[source] std::io::Error),
        }
        let io = || std::io::Error::other("inner");
        assert_eq!(chain(&E::Repeats(io())), "outer: inner");
        assert_eq!(chain(&E::Hides(io())), "outer: inner");
    }

    #[test]
    fn every_class_has_its_kind() {
        for (class, kind) in [
            (ErrorClass::BadRequest, ErrorKind::BadRequest),
            (ErrorClass::Unauthorized, ErrorKind::Unauthorized),
            (ErrorClass::Forbidden, ErrorKind::Forbidden),
            (ErrorClass::NotFound, ErrorKind::NotFound),
            (ErrorClass::Conflict, ErrorKind::Conflict),
            (
                ErrorClass::PreconditionFailed,
                ErrorKind::PreconditionFailed,
            ),
            (ErrorClass::Throttled, ErrorKind::Throttled),
            (ErrorClass::Server, ErrorKind::Server),
            (ErrorClass::Other, ErrorKind::Http),
        ] {
            assert_eq!(ErrorKind::from(class), kind);
        }
    }
}
