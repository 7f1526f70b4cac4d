//! DPS error codes: the six-digit `errorCode` of every error body, as one typed table.
//!
//! A DPS error code is the HTTP status times 1000 plus a detail (`401002`: 401, detail 2). The
//! emulator sends these codes, the clients and the tests compare against them, and the CLI
//! explains them; so that the numbers cannot drift apart, this module is the only place in
//! the workspace that spells one out. Everything else names a constant ([`UNAUTHORIZED`],
//! [`ENROLLMENT_NOT_FOUND`], …) or builds a code from its parts ([`ErrorCode::from_parts`]).
//!
//! ```
//! use dps_protocol::codes::{self, ErrorCode};
//! assert_eq!(codes::UNAUTHORIZED.get(), 401_002);
//! assert_eq!(codes::UNAUTHORIZED.status(), 401);
//! assert_eq!(codes::UNAUTHORIZED.name(), Some("UNAUTHORIZED"));
//! assert_eq!(ErrorCode::from_parts(429, 1), codes::THROTTLED);
//! assert_eq!(codes::UNAUTHORIZED.to_string(), "401002");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::errors::ErrorClass;

/// A six-digit DPS error code (`errorCode` on the wire): HTTP status × 1000 + detail.
///
/// Serialized as the bare number, as DPS does. Any number is representable, so a code this
/// table does not know survives a round trip; [`Self::name`] tells whether it is known.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(u32);

impl ErrorCode {
    /// The code with this number.
    pub const fn new(code: u32) -> Self {
        Self(code)
    }

    /// The code for an HTTP `status` and a `detail` below 1000 (`(429, 1)` → 429001); a
    /// larger detail is reduced modulo 1000.
    pub const fn from_parts(status: u16, detail: u16) -> Self {
        Self(status as u32 * 1000 + (detail % 1000) as u32)
    }

    /// The number (`401002`).
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The HTTP status the code encodes: the number divided by 1000 (`401002` → 401),
    /// saturating at `u16::MAX` for numbers no DPS code has.
    pub const fn status(self) -> u16 {
        let status = self.0 / 1000;
        if status > u16::MAX as u32 {
            u16::MAX
        } else {
            status as u16
        }
    }

    /// The detail below the status (`401002` → 2).
    pub const fn detail(self) -> u16 {
        (self.0 % 1000) as u16
    }

    /// The constant's name in this table (`"UNAUTHORIZED"`), or `None` for a code the table
    /// does not hold. Where two constants share a number, the first listed wins.
    pub fn name(self) -> Option<&'static str> {
        ALL.iter()
            .find(|(code, _)| *code == self)
            .map(|(_, name)| *name)
    }

    /// The class of error the code stands for, from its HTTP status.
    pub const fn class(self) -> ErrorClass {
        ErrorClass::from_status(self.status())
    }
}

impl fmt::Display for ErrorCode {
    /// The bare number, as on the wire: `401002`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for ErrorCode {
    /// The number and, when known, the name: `401002 (UNAUTHORIZED)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> Self {
        code.0
    }
}

impl From<ErrorCode> for u64 {
    fn from(code: ErrorCode) -> Self {
        u64::from(code.0)
    }
}

impl From<ErrorCode> for i64 {
    fn from(code: ErrorCode) -> Self {
        i64::from(code.0)
    }
}

impl From<u32> for ErrorCode {
    fn from(code: u32) -> Self {
        Self(code)
    }
}

impl TryFrom<i64> for ErrorCode {
    type Error = std::num::TryFromIntError;

    /// The models keep `errorCode` as `i64`, as the service's schema does; this is the checked
    /// way from there (negative or oversized numbers are no DPS code).
    fn try_from(code: i64) -> Result<Self, Self::Error> {
        u32::try_from(code).map(Self)
    }
}

impl PartialEq<i64> for ErrorCode {
    fn eq(&self, other: &i64) -> bool {
        i64::from(self.0) == *other
    }
}

impl PartialEq<ErrorCode> for i64 {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == i64::from(other.0)
    }
}

/// A JSON body's `errorCode` equals a code when it is that number:
/// `assert_eq!(body["errorCode"], codes::UNAUTHORIZED)`.
impl PartialEq<ErrorCode> for serde_json::Value {
    fn eq(&self, other: &ErrorCode) -> bool {
        self.as_u64() == Some(u64::from(other.0))
    }
}

impl PartialEq<serde_json::Value> for ErrorCode {
    fn eq(&self, other: &serde_json::Value) -> bool {
        other == self
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $value:expr; )*) => {
        $( $(#[$doc])* pub const $name: ErrorCode = ErrorCode::new($value); )*

        /// Every code of this table with its constant's name, in table order.
        pub const ALL: &[(ErrorCode, &str)] = &[ $( ($name, stringify!($name)), )* ];
    };
}

codes! {
    /// 400: a malformed request or body, the generic bad-request code (`400004`).
    BAD_REQUEST = 400_004;
    /// 400: an invalid registration or group id; the same number as [`BAD_REQUEST`].
    INVALID_ID = 400_004;
    /// 400: a missing or unsupported `api-version` (`400001`).
    BAD_API_VERSION = 400_001;
    /// 401: authentication failed: a bad SAS token, or an X.509 chain the service refused
    /// (`401002`, the code of every device refusal).
    UNAUTHORIZED = 401_002;
    /// 403: the policy lacks the right for the operation (`403001`).
    FORBIDDEN = 403_001;
    /// 403: a limit of the DPS instance is reached (individual enrollments, groups per
    /// attestation type) (`403002`).
    QUOTA_EXCEEDED = 403_002;
    /// 403 as the real service sent it in a C# SDK test (`403101`); its precise cause is not
    /// documented.
    SERVICE_FORBIDDEN = 403_101;
    /// 404: an unknown path or ID scope (`404001`).
    NOT_FOUND = 404_001;
    /// 404: the individual enrollment does not exist (`404201`).
    ENROLLMENT_NOT_FOUND = 404_201;
    /// 404: the registration (state or operation) does not exist (`404202`).
    REGISTRATION_NOT_FOUND = 404_202;
    /// 404: the enrollment group does not exist (`404204`).
    GROUP_NOT_FOUND = 404_204;
    /// 405: the method is not allowed on the path (`405001`).
    METHOD_NOT_ALLOWED = 405_001;
    /// 409: the record already exists (bulk `create`) (`409201`).
    ALREADY_EXISTS = 409_201;
    /// 408: a request stopped arriving: its head or its body made no progress within the
    /// emulator's timeout (`408001`; the emulator's own code, for a limit DPS does not publish).
    REQUEST_TIMEOUT = 408_001;
    /// 412: the `If-Match` ETag is stale, or the record is missing (`412001`).
    PRECONDITION_FAILED = 412_001;
    /// 411: a PUT, POST or PATCH over HTTP/1.x sent neither `Content-Length` nor
    /// `Transfer-Encoding`, so its body cannot be delimited (`411001`).
    LENGTH_REQUIRED = 411_001;
    /// 413: the request body is too large (`413001`).
    TOO_LARGE = 413_001;
    /// 414: the request target (path and query) is too long (`414001`).
    URI_TOO_LONG = 414_001;
    /// 415: the content type is not JSON (`415001`).
    UNSUPPORTED_MEDIA = 415_001;
    /// 429: a quota per minute is exhausted, as the emulator reports it (`429001`).
    THROTTLED = 429_001;
    /// 429 as the real service reports throttling (`429101`).
    SERVICE_THROTTLED = 429_101;
    /// 431: the request's header section is too large (`431001`).
    HEADERS_TOO_LARGE = 431_001;
    /// 500: an internal failure or an injected fault (`500001`).
    INTERNAL = 500_001;
    /// 503: the service is unavailable, e.g. an injected fault (`503001`).
    SERVICE_UNAVAILABLE = 503_001;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_six_digits_of_a_real_status() {
        for (code, name) in ALL {
            assert!((100_000..600_000).contains(&code.get()), "{name}");
            assert!((400..600).contains(&code.status()), "{name}");
            assert_eq!(
                ErrorCode::from_parts(code.status(), code.detail()),
                *code,
                "{name}"
            );
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        let mut names: Vec<&str> = ALL.iter().map(|(_, n)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(ENROLLMENT_NOT_FOUND.name(), Some("ENROLLMENT_NOT_FOUND"));
        // Shared numbers resolve to the first constant listed.
        assert_eq!(INVALID_ID, BAD_REQUEST);
        assert_eq!(INVALID_ID.name(), Some("BAD_REQUEST"));
        assert_eq!(ErrorCode::new(418_123).name(), None);
    }

    #[test]
    fn status_detail_and_conversions() {
        assert_eq!(UNAUTHORIZED.status(), 401);
        assert_eq!(UNAUTHORIZED.detail(), 2);
        assert_eq!(ErrorCode::from_parts(503, 1), SERVICE_UNAVAILABLE);
        assert_eq!(ErrorCode::from_parts(400, 1004), BAD_REQUEST);
        assert_eq!(ErrorCode::new(u32::MAX).status(), u16::MAX);
        assert_eq!(u64::from(THROTTLED), 429_001);
        assert_eq!(i64::from(THROTTLED), 429_001);
        assert_eq!(ErrorCode::try_from(404_204_i64), Ok(GROUP_NOT_FOUND));
        assert!(ErrorCode::try_from(-1_i64).is_err());
        assert_eq!(GROUP_NOT_FOUND, 404_204_i64);
        assert_eq!(404_204_i64, GROUP_NOT_FOUND);
        assert_eq!(
            format!("{UNAUTHORIZED} {UNAUTHORIZED:?}"),
            "401002 401002 (UNAUTHORIZED)"
        );
        assert_eq!(format!("{:?}", ErrorCode::new(499_999)), "499999");
    }

    #[test]
    fn serializes_as_the_bare_number() {
        assert_eq!(
            serde_json::to_string(&ALREADY_EXISTS).expect("serializes"),
            "409201"
        );
        let back: ErrorCode = serde_json::from_str("409201").expect("parses");
        assert_eq!(back, ALREADY_EXISTS);
        assert!(serde_json::from_str::<ErrorCode>("\"409201\"").is_err());
        let body = serde_json::json!({"errorCode": 409_201, "other": "409201"});
        assert_eq!(body["errorCode"], ALREADY_EXISTS);
        assert_eq!(ALREADY_EXISTS, body["errorCode"]);
        assert_ne!(body["other"], ALREADY_EXISTS);
    }

    #[test]
    fn classes_follow_the_status() {
        assert_eq!(UNAUTHORIZED.class(), ErrorClass::Unauthorized);
        assert_eq!(QUOTA_EXCEEDED.class(), ErrorClass::Forbidden);
        assert_eq!(ALREADY_EXISTS.class(), ErrorClass::Conflict);
        assert_eq!(SERVICE_UNAVAILABLE.class(), ErrorClass::Server);
        assert_eq!(METHOD_NOT_ALLOWED.class(), ErrorClass::Other);
    }
}
