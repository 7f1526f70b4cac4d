//! Reading a failed response: the error body in either of its two shapes, and the class of
//! failure that a status and code stand for.
//!
//! DPS answers errors with `{"errorCode":401002,"trackingId":…,"message":…,"timestampUtc":…}`
//! (the service and device APIs), while the CA-certificate API goes through Azure Resource
//! Manager and answers `{"error":{"code":"InvalidCertificate","message":…}}`. Clients in the
//! wild also send or accept `code` for `errorCode`, as a number or a numeric string. Both
//! clients of this workspace read every one of these through [`ErrorResponse::parse`] and
//! classify the outcome with [`ErrorClass`], so that the same response is the same error kind
//! whichever client received it.

use serde_json::{Map, Value};

use crate::codes::ErrorCode;
use crate::models::timestamp::Timestamp;

/// How much of a body that is not a DPS or ARM error is kept as the message, in characters.
pub const MAX_TEXT_MESSAGE: usize = 500;

/// The class of a failed call, from its HTTP status (or, without one, its DPS error code).
///
/// Both clients derive their `ErrorKind`s from this, so a status means the same thing to each.
/// It is deliberately exhaustive: a new class must be handled by both clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// 400: the request was malformed or broke a service rule.
    BadRequest,
    /// 401: the token, key or certificate chain was refused.
    Unauthorized,
    /// 403: authenticated but not allowed, or a limit is reached.
    Forbidden,
    /// 404: the record, path or ID scope does not exist.
    NotFound,
    /// 409: the record already exists or conflicts.
    Conflict,
    /// 412: the `If-Match` ETag is stale.
    PreconditionFailed,
    /// 429: throttled.
    Throttled,
    /// 5xx: the service failed.
    Server,
    /// Any other status.
    Other,
}

impl ErrorClass {
    /// The class of an HTTP status.
    pub const fn from_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            412 => Self::PreconditionFailed,
            429 => Self::Throttled,
            500..=599 => Self::Server,
            _ => Self::Other,
        }
    }

    /// The class of a failure: the HTTP status decides when there is one; otherwise (a failed
    /// bulk item, a failed registration) the status the DPS code encodes; otherwise
    /// [`Self::Other`].
    pub fn classify(status: Option<u16>, code: Option<ErrorCode>) -> Self {
        match (status, code) {
            (Some(status), _) => Self::from_status(status),
            (None, Some(code)) => code.class(),
            (None, None) => Self::Other,
        }
    }

    /// Whether a retry may succeed without changing the request (429 and 5xx).
    pub const fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::Server)
    }
}

/// The shape an error body had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorFormat {
    /// A JSON object of DPS's shape (`errorCode`/`code`, `trackingId`, `message`, …), or
    /// another JSON object.
    Dps,
    /// Azure Resource Manager's `{"error":{"code","message"}}`.
    Arm,
    /// A body that is not a JSON object (plain text, HTML, a JSON array or string).
    Text,
    /// No body, or only white space.
    Empty,
}

/// What a non-success response said, read from either error shape.
///
/// Built by [`Self::parse`] from the status, the body and the `x-ms-request-id` header, or by
/// [`Self::from_code`] for errors reported inside a successful response (bulk items).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// The HTTP status.
    pub status: u16,
    /// The shape of the body.
    pub format: ErrorFormat,
    /// The six-digit DPS code: `errorCode`, else `code`, as a number or a numeric string.
    pub code: Option<ErrorCode>,
    /// A `code` that is not a number: ARM's PascalCase code, e.g. `InvalidCertificate`.
    pub arm_code: Option<String>,
    /// `trackingId`, else the `x-ms-request-id` header (the real service sends the same value
    /// in both).
    pub tracking_id: Option<String>,
    /// `message` (or `Message`); else the body's text (trimmed, at most
    /// [`MAX_TEXT_MESSAGE`] characters); else `HTTP {status}`. Never empty unless the
    /// service sent an empty `message`.
    pub message: String,
    /// `timestampUtc`, when sent.
    pub timestamp_utc: Option<Timestamp>,
    /// `info`, the extra string details, when sent.
    pub info: Option<Map<String, Value>>,
}

impl ErrorResponse {
    /// Reads the body of a response with a non-success `status`. Never fails: what cannot be
    /// read as JSON becomes the message.
    ///
    /// ```
    /// use dps_protocol::codes;
    /// use dps_protocol::errors::{ErrorClass, ErrorFormat, ErrorResponse};
    /// let body = br#"{"errorCode":401002,"trackingId":"t-1","message":"Invalid certificate"}"#;
    /// let e = ErrorResponse::parse(401, body, None);
    /// assert_eq!((e.code, e.class()), (Some(codes::UNAUTHORIZED), ErrorClass::Unauthorized));
    /// assert_eq!((e.tracking_id.as_deref(), e.message.as_str()), (Some("t-1"), "Invalid certificate"));
    ///
    /// let arm = br#"{"error":{"code":"InvalidCertificate","message":"Not valid."}}"#;
    /// let e = ErrorResponse::parse(400, arm, Some("req-2"));
    /// assert_eq!((e.format, e.code, e.arm_code.as_deref()), (ErrorFormat::Arm, None, Some("InvalidCertificate")));
    /// assert_eq!(e.tracking_id.as_deref(), Some("req-2"));
    /// ```
    pub fn parse(status: u16, body: &[u8], request_id: Option<&str>) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let (format, object) = match parsed {
            Some(Value::Object(mut outer)) => match outer.remove("error") {
                Some(Value::Object(inner)) => (ErrorFormat::Arm, Some(inner)),
                Some(other) => {
                    outer.insert("error".to_owned(), other);
                    (ErrorFormat::Dps, Some(outer))
                }
                None => (ErrorFormat::Dps, Some(outer)),
            },
            _ if String::from_utf8_lossy(body).trim().is_empty() => (ErrorFormat::Empty, None),
            _ => (ErrorFormat::Text, None),
        };
        let object = object.unwrap_or_default();
        let field = |names: &[&str]| names.iter().find_map(|n| object.get(*n));
        let text = |names: &[&str]| field(names).and_then(Value::as_str).map(str::to_owned);

        let (code, arm_code) = match field(&["errorCode", "code"]) {
            Some(Value::Number(n)) => (
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(ErrorCode::new),
                None,
            ),
            Some(Value::String(s)) => match s.trim().parse::<u32>() {
                Ok(n) => (Some(ErrorCode::new(n)), None),
                Err(_) => (None, Some(s.clone())),
            },
            _ => (None, None),
        };
        let message = text(&["message", "Message"]).unwrap_or_else(|| {
            let body = String::from_utf8_lossy(body);
            let body = body.trim();
            if body.is_empty() {
                format!("HTTP {status}")
            } else {
                body.chars().take(MAX_TEXT_MESSAGE).collect()
            }
        });
        Self {
            status,
            format,
            code,
            arm_code,
            tracking_id: text(&["trackingId"]).or_else(|| request_id.map(str::to_owned)),
            message,
            timestamp_utc: text(&["timestampUtc"]).map(Timestamp::new),
            info: field(&["info"]).and_then(Value::as_object).cloned(),
        }
    }

    /// An error reported with a DPS code but no response of its own (a failed item of a bulk
    /// operation): the status is the one the code encodes.
    pub fn from_code(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            format: ErrorFormat::Dps,
            code: Some(code),
            arm_code: None,
            tracking_id: None,
            message: message.into(),
            timestamp_utc: None,
            info: None,
        }
    }

    /// An error with only a status and a message (no body was read, or the body is not the
    /// service's): no code, no tracking id.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            format: ErrorFormat::Text,
            code: None,
            arm_code: None,
            tracking_id: None,
            message: message.into(),
            timestamp_utc: None,
            info: None,
        }
    }

    /// The class of this failure ([`ErrorClass::classify`] of the status and code).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::classify(Some(self.status), self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn reads_the_dps_body() {
        let body = br#"{"errorCode":401002,"trackingId":"f40da7ba-1","message":"Invalid certificate","timestampUtc":"2019-03-15T19:43:02.7904455Z","info":{"a":"b"}}"#;
        let e = ErrorResponse::parse(401, body, Some("ignored"));
        assert_eq!(e.format, ErrorFormat::Dps);
        assert_eq!(e.code, Some(codes::UNAUTHORIZED));
        assert_eq!(e.tracking_id.as_deref(), Some("f40da7ba-1"));
        assert_eq!(e.message, "Invalid certificate");
        assert_eq!(
            e.timestamp_utc.as_ref().map(Timestamp::as_str),
            Some("2019-03-15T19:43:02.7904455Z")
        );
        assert_eq!(e.class(), ErrorClass::Unauthorized);
        assert_eq!(
            e.info.and_then(|i| i.get("a").cloned()),
            Some(Value::from("b"))
        );
    }

    #[test]
    fn reads_code_as_number_or_string() {
        let e = ErrorResponse::parse(404, br#"{"code":"404201","message":"gone"}"#, None);
        assert_eq!(e.code, Some(codes::ENROLLMENT_NOT_FOUND));
        let e = ErrorResponse::parse(404, br#"{"code":404204,"Message":"gone"}"#, None);
        assert_eq!(
            (e.code, e.message.as_str()),
            (Some(codes::GROUP_NOT_FOUND), "gone")
        );
        // errorCode wins over code.
        let e = ErrorResponse::parse(409, br#"{"errorCode":409201,"code":1}"#, None);
        assert_eq!(e.code, Some(codes::ALREADY_EXISTS));
        let e = ErrorResponse::parse(400, br#"{"errorCode":-4,"message":"m"}"#, None);
        assert_eq!(e.code, None);
    }

    #[test]
    fn reads_the_arm_body() {
        let arm =
            br#"{"error":{"code":"InvalidCertificate","message":"The certificate is not valid."}}"#;
        let e = ErrorResponse::parse(400, arm, Some("req-2"));
        assert_eq!(e.format, ErrorFormat::Arm);
        assert_eq!(e.message, "The certificate is not valid.");
        assert_eq!(e.code, None);
        assert_eq!(e.arm_code.as_deref(), Some("InvalidCertificate"));
        assert_eq!(e.tracking_id.as_deref(), Some("req-2"));
        assert_eq!(e.class(), ErrorClass::BadRequest);
    }

    #[test]
    fn falls_back_to_text_and_status() {
        let e = ErrorResponse::parse(500, b"  upstream died\n", Some("req-1"));
        assert_eq!(e.format, ErrorFormat::Text);
        assert_eq!(e.message, "upstream died");
        assert_eq!(e.tracking_id.as_deref(), Some("req-1"));
        let e = ErrorResponse::parse(503, b"", None);
        assert_eq!(
            (e.format, e.message.as_str()),
            (ErrorFormat::Empty, "HTTP 503")
        );
        let long = "x".repeat(2 * MAX_TEXT_MESSAGE);
        let e = ErrorResponse::parse(502, long.as_bytes(), None);
        assert_eq!(e.message.chars().count(), MAX_TEXT_MESSAGE);
        // JSON that is not an object is text; an object without a message shows its text.
        let e = ErrorResponse::parse(400, b"[1,2]", None);
        assert_eq!((e.format, e.message.as_str()), (ErrorFormat::Text, "[1,2]"));
        let e = ErrorResponse::parse(400, br#"{"error":"nope"}"#, None);
        assert_eq!(e.format, ErrorFormat::Dps);
        assert_eq!(e.message, r#"{"error":"nope"}"#);
    }

    #[test]
    fn bulk_items_take_the_status_of_their_code() {
        let e = ErrorResponse::from_code(codes::ALREADY_EXISTS, "exists");
        assert_eq!((e.status, e.class()), (409, ErrorClass::Conflict));
        let e = ErrorResponse::from_status(400, "{not json");
        assert_eq!((e.code, e.message.as_str()), (None, "{not json"));
    }

    #[test]
    fn classes() {
        for (status, class) in [
            (400, ErrorClass::BadRequest),
            (401, ErrorClass::Unauthorized),
            (403, ErrorClass::Forbidden),
            (404, ErrorClass::NotFound),
            (409, ErrorClass::Conflict),
            (412, ErrorClass::PreconditionFailed),
            (429, ErrorClass::Throttled),
            (500, ErrorClass::Server),
            (503, ErrorClass::Server),
            (405, ErrorClass::Other),
            (418, ErrorClass::Other),
        ] {
            assert_eq!(ErrorClass::from_status(status), class, "{status}");
            assert_eq!(ErrorClass::classify(Some(status), None), class, "{status}");
        }
        // The status decides; the code only stands in when there is no status.
        assert_eq!(
            ErrorClass::classify(Some(400), Some(codes::UNAUTHORIZED)),
            ErrorClass::BadRequest
        );
        assert_eq!(
            ErrorClass::classify(None, Some(codes::UNAUTHORIZED)),
            ErrorClass::Unauthorized
        );
        assert_eq!(ErrorClass::classify(None, None), ErrorClass::Other);
        assert!(ErrorClass::Throttled.is_transient() && ErrorClass::Server.is_transient());
        assert!(!ErrorClass::Conflict.is_transient());
    }
}
