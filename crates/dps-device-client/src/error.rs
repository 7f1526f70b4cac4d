//! The device client's one error type.

use dps_protocol::models::ProvisioningServiceErrorDetails;
use std::fmt;

/// Coarse classes of registration failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the certificate chain or SAS token was refused (DPS code 401002 and friends).
    Unauthorized,
    /// 400: the request or the registration id was refused.
    BadRequest,
    /// 404: unknown ID scope, registration or operation.
    NotFound,
    /// 429 until the time budget ran out.
    Throttled,
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

    /// From a non-success HTTP response and its DPS error body.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        let kind = match status {
            400 => ErrorKind::BadRequest,
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::Throttled,
            _ => ErrorKind::Http,
        };
        match serde_json::from_slice::<ProvisioningServiceErrorDetails>(body) {
            Ok(d) => Self {
                kind,
                status: Some(status),
                error_code: Some(d.error_code),
                tracking_id: d.tracking_id.clone(),
                message: d.message.clone(),
                source: None,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body)
                    .trim()
                    .chars()
                    .take(300)
                    .collect::<String>();
                Self {
                    kind,
                    status: Some(status),
                    error_code: None,
                    tracking_id: None,
                    message: if text.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        text
                    },
                    source: None,
                }
            }
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

    /// The six-digit DPS error code (e.g. 401002).
    pub fn error_code(&self) -> Option<i64> {
        self.error_code
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
