//! The error body of every DPS call, service and device API alike.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::timestamp::Timestamp;

/// The error body DPS returns with any non-success status (`ProvisioningServiceErrorDetails`),
/// e.g. `{"errorCode":401002,"trackingId":"…","message":"Invalid certificate","timestampUtc":"…"}`.
///
/// `errorCode` is the HTTP status times 1000 plus a detail (401002, 404201, 409201, 412001,
/// 429101, …). On input `code` is accepted as an alias, as the C# client does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningServiceErrorDetails {
    /// The six-digit DPS error code.
    #[serde(alias = "code")]
    pub error_code: i64,
    /// Correlation id for support (the real service also sends it as `x-ms-request-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Extra string details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Map<String, Value>>,
    /// When the error happened (UTC, seven fractional digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_utc: Option<Timestamp>,
    /// Fields this version does not model, kept so nothing the service sent is lost.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Short name for [`ProvisioningServiceErrorDetails`].
pub type ErrorDetails = ProvisioningServiceErrorDetails;

impl ProvisioningServiceErrorDetails {
    /// An error body with a code and message, stamped now, without tracking id or info.
    pub fn new(error_code: i64, message: impl Into<String>) -> Self {
        Self {
            error_code,
            tracking_id: None,
            message: message.into(),
            info: None,
            timestamp_utc: Some(Timestamp::now()),
            extra: Map::new(),
        }
    }

    /// [`Self::error_code`] as a typed code, when it is one.
    pub fn code(&self) -> Option<crate::codes::ErrorCode> {
        crate::codes::ErrorCode::try_from(self.error_code).ok()
    }

    /// The HTTP status encoded in the error code (`401002` → 401), when it is a plausible one.
    pub fn http_status(&self) -> Option<u16> {
        u16::try_from(self.error_code / 1000)
            .ok()
            .filter(|status| (100..600).contains(status))
    }
}

impl fmt::Display for ProvisioningServiceErrorDetails {
    /// `DPS error 401002: Invalid certificate (tracking id f40da7ba-…)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DPS error {}: {}", self.error_code, self.message)?;
        if let Some(tracking_id) = &self.tracking_id {
            write!(f, " (tracking id {tracking_id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProvisioningServiceErrorDetails {}
