//! The client's one error type: a coarse kind plus everything the service said.

use dps_protocol::codes::ErrorCode;
use dps_protocol::errors::{ErrorClass, ErrorResponse};
use std::fmt;

/// Coarse classes of failure, so callers can branch without matching status codes.
///
/// The kinds of HTTP failures come from [`ErrorClass`], as the device client's do, so a status
/// is the same kind in both clients.
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
    /// (`{"error":{"code","message"}}`, whose PascalCase `code` is not an [`Self::error_code`]),
    /// through [`ErrorResponse::parse`]; `request_id` (`x-ms-request-id`) stands in for a
    /// missing `trackingId`.
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

    /// The HTTP status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The DPS `errorCode` (HTTP status × 1000 + detail, e.g.
    /// [`ENROLLMENT_NOT_FOUND`](dps_protocol::codes::ENROLLMENT_NOT_FOUND)), if the service sent one.
    pub fn error_code(&self) -> Option<i64> {
        self.error_code
    }

    /// [`Self::error_code`] typed, to compare with [`dps_protocol::codes`]:
    /// `e.code() == Some(codes::ENROLLMENT_NOT_FOUND)`.
    pub fn code(&self) -> Option<ErrorCode> {
        self.error_code.and_then(|c| ErrorCode::try_from(c).ok())
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
    use dps_protocol::codes;

    #[test]
    fn reads_the_dps_error_body() {
        let code = codes::UNAUTHORIZED;
        let body = format!(
            r#"{{"errorCode":{code},"trackingId":"f40da7ba-1","message":"Invalid certificate","timestampUtc":"2019-03-15T19:43:02.7904455Z"}}"#
        );
        let e = Error::from_response(401, body.as_bytes(), None);
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert_eq!(e.code(), Some(codes::UNAUTHORIZED));
        assert_eq!(e.error_code(), Some(i64::from(codes::UNAUTHORIZED)));
        assert_eq!(e.tracking_id(), Some("f40da7ba-1"));
        assert_eq!(
            e.to_string(),
            format!("HTTP 401 ({code}): Invalid certificate [trackingId f40da7ba-1]")
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
        let body = format!(
            r#"{{"code":"{}","message":"gone"}}"#,
            codes::ENROLLMENT_NOT_FOUND
        );
        let e = Error::from_response(404, body.as_bytes(), None);
        assert_eq!(e.code(), Some(codes::ENROLLMENT_NOT_FOUND));
        let arm =
            br#"{"error":{"code":"InvalidCertificate","message":"The certificate is not valid."}}"#;
        let e = Error::from_response(400, arm, Some("req-2"));
        assert_eq!(e.message(), "The certificate is not valid.");
        assert_eq!(e.error_code(), None);
        assert_eq!(e.tracking_id(), Some("req-2"));
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
