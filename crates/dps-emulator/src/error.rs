//! Error responses exactly as DPS sends them: `{"errorCode", "trackingId", "message",
//! "timestampUtc"}` with `x-ms-error-code` and `x-ms-request-id` headers, and ARM's
//! `{"error": {"code", "message"}}` for the certificate API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dps_protocol::models::timestamp::Timestamp;

/// Error codes the emulator uses (HTTP status × 1000 + detail).
pub mod codes {
    /// Malformed request or body.
    pub const BAD_REQUEST: u32 = 400_004;
    /// Invalid registration or group id.
    pub const INVALID_ID: u32 = 400_004;
    /// Missing or unsupported api-version.
    pub const BAD_API_VERSION: u32 = 400_001;
    /// Authentication failed (bad token or certificate).
    pub const UNAUTHORIZED: u32 = 401_002;
    /// The policy lacks the right for the operation.
    pub const FORBIDDEN: u32 = 403_001;
    /// Individual enrollment not found.
    pub const ENROLLMENT_NOT_FOUND: u32 = 404_201;
    /// Registration not found.
    pub const REGISTRATION_NOT_FOUND: u32 = 404_202;
    /// Enrollment group not found.
    pub const GROUP_NOT_FOUND: u32 = 404_204;
    /// Unknown path.
    pub const NOT_FOUND: u32 = 404_001;
    /// Method not allowed on the path.
    pub const METHOD_NOT_ALLOWED: u32 = 405_001;
    /// Record already exists (bulk create).
    pub const ALREADY_EXISTS: u32 = 409_201;
    /// ETag mismatch.
    pub const PRECONDITION_FAILED: u32 = 412_001;
    /// Request body too large.
    pub const TOO_LARGE: u32 = 413_001;
    /// Content type not JSON.
    pub const UNSUPPORTED_MEDIA: u32 = 415_001;
    /// Quota exhausted.
    pub const THROTTLED: u32 = 429_001;
    /// Emulator failure or injected fault.
    pub const INTERNAL: u32 = 500_001;
}

/// A DPS error response.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// The six-digit DPS code; the HTTP status is `code / 1000`.
    pub(crate) code: u32,
    /// Human-readable message naming what is wrong.
    pub(crate) message: String,
    /// Seconds for `Retry-After`, on 429 and injected 503s.
    pub(crate) retry_after: Option<u64>,
    /// ARM-style body instead of the DPS one (certificate API).
    pub(crate) arm_code: Option<&'static str>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub(crate) fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            arm_code: None,
        }
    }

    /// 400 with the generic bad-request code.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(codes::BAD_REQUEST, message)
    }

    /// An ARM error (`{"error":{"code","message"}}`) with this HTTP status.
    pub(crate) fn arm(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code: u32::from(status) * 1000,
            message: message.into(),
            retry_after: None,
            arm_code: Some(code),
        }
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        StatusCode::from_u16(u16::try_from(self.code / 1000).unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        ApiError::new(codes::INTERNAL, e.to_string())
    }
}

/// A random id in UUID form, for tracking ids and operation ids.
pub(crate) fn new_uuid() -> String {
    let mut b = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let tracking = new_uuid();
        let body = match self.arm_code {
            Some(code) => serde_json::json!({"error": {"code": code, "message": self.message}}),
            None => serde_json::json!({
                "errorCode": self.code,
                "trackingId": tracking,
                "message": self.message,
                "timestampUtc": Timestamp::now().as_str(),
            }),
        };
        let mut resp = (self.status(), body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&self.code.to_string()) {
            h.insert("x-ms-error-code", v);
        }
        if let Ok(v) = HeaderValue::from_str(&tracking) {
            h.insert("x-ms-request-id", v);
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
