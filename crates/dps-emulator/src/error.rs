//! Error responses exactly as DPS sends them: `{"errorCode", "trackingId", "message",
//! "timestampUtc"}` with `x-ms-error-code` and `x-ms-request-id` headers, and ARM's
//! `{"error": {"code", "message"}}` for the certificate API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dps_protocol::codes::ErrorCode;
use dps_protocol::models::timestamp::Timestamp;

/// Error codes the emulator uses (HTTP status × 1000 + detail): the one table in
/// [`dps_protocol::codes`], re-exported so the emulator's code and public API keep the name.
pub use dps_protocol::codes;

/// A DPS error response.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// The six-digit DPS code; the HTTP status is `code / 1000`.
    pub(crate) code: ErrorCode,
    /// Human-readable message naming what is wrong.
    pub(crate) message: String,
    /// Seconds for `Retry-After`, on 429 and injected 503s.
    pub(crate) retry_after: Option<u64>,
    /// ARM-style body instead of the DPS one (certificate API).
    pub(crate) arm_code: Option<&'static str>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
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
            code: ErrorCode::from_parts(status, 0),
            message: message.into(),
            retry_after: None,
            arm_code: Some(code),
        }
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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

impl ApiError {
    /// The DPS error body, `{"errorCode", "trackingId", "message", "timestampUtc"}`, as every
    /// transport sends it.
    pub(crate) fn dps_body(&self, tracking_id: &str) -> serde_json::Value {
        serde_json::json!({
            "errorCode": self.code,
            "trackingId": tracking_id,
            "message": self.message,
            "timestampUtc": Timestamp::now().as_str(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let tracking = new_uuid();
        let body = match self.arm_code {
            Some(code) => serde_json::json!({"error": {"code": code, "message": self.message}}),
            None => self.dps_body(&tracking),
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
