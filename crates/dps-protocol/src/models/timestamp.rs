//! [`Timestamp`]: a DPS date-time kept as the exact text the service sent.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// An ISO-8601 / RFC 3339 date-time exactly as it appears on the wire.
///
/// DPS writes record timestamps in UTC with seven fractional digits
/// (`2023-05-19T23:10:47.3759621Z`) and certificate validity in whole seconds
/// (`2023-05-19T23:10:43Z`). Keeping the text, rather than a parsed value, makes every
/// read-modify-write byte-faithful: nothing is rounded or re-formatted. Use
/// [`Timestamp::to_datetime`] to compare or compute with it and [`Timestamp::from_datetime`]
/// (or [`Timestamp::now`]) to produce the service's own format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    /// Wraps a timestamp string as is, without checking it (the service's text is kept verbatim).
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The current time in the service's record format (UTC, seven fractional digits).
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Formats `at` in UTC with seven fractional digits, as DPS does for record timestamps
    /// (`createdDateTimeUtc`, `lastUpdatedDateTimeUtc`, `timestampUtc`).
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        Self(format!(
            "{}.{:07}Z",
            Self::whole_seconds(at),
            at.nanosecond() / 100
        ))
    }

    /// Formats `at` in UTC with whole seconds, as DPS does for certificate validity
    /// (`notBeforeUtc`, `notAfterUtc`).
    pub fn from_datetime_seconds(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        Self(format!("{}Z", Self::whole_seconds(at)))
    }

    fn whole_seconds(at: OffsetDateTime) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    }

    /// The text as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the timestamp and returns its text.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Parses the text as RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), or `None`
    /// when it is not in that form. Fractions beyond nanoseconds are truncated.
    pub fn to_datetime(&self) -> Option<OffsetDateTime> {
        parse_rfc3339(&self.0)
    }

    /// A date the service sent, as people are shown it (dps-cli's tables, the emulator's
    /// console): RFC 3339 text (`2026-12-04T06:55:25.7763952Z`, records and certificate
    /// validity) or RFC 1123 text (`Sun, 03 Jan 2027 06:55:18 GMT`, the CA-certificate API)
    /// as ISO 8601 UTC in whole seconds (`2026-12-04T06:55:25Z`); other text as is.
    pub fn for_people(text: &str) -> String {
        let text = text.trim();
        Timestamp::new(text)
            .to_datetime()
            .or_else(|| crate::retry_after::parse_http_date(text))
            .map_or_else(
                || text.to_owned(),
                |t| Timestamp::from_datetime_seconds(t).into_string(),
            )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Timestamp {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Timestamp {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::from_datetime(at)
    }
}

impl PartialEq<str> for Timestamp {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Timestamp {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A strict RFC 3339 parser (the `time` crate's `parsing` feature is not enabled here).
fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't') {
        return None;
    }
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, d) in frac.bytes().take(digits).enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
        }
        nanos *= 10u32.pow(9u32.saturating_sub(u32::try_from(digits).ok()?));
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => UtcOffset::UTC,
        _ => {
            let o = rest.as_bytes();
            if o.len() != 6 || o[3] != b':' {
                return None;
            }
            let sign: i8 = match o[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let two = |at: usize| -> Option<i8> {
                let (hi, lo) = (o[at], o[at + 1]);
                (hi.is_ascii_digit() && lo.is_ascii_digit())
                    .then(|| i8::try_from((hi - b'0') * 10 + (lo - b'0')).ok())?
            };
            let (hh, mm) = (two(1)?, two(4)?);
            UtcOffset::from_hms(sign * hh, sign * mm, 0).ok()?
        }
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seven_digits_and_parses_back() {
        let ts = Timestamp::new("2023-05-19T23:10:47.3759621Z");
        let at = ts.to_datetime().expect("valid");
        assert_eq!(at.nanosecond(), 375_962_100);
        assert_eq!(Timestamp::from_datetime(at), ts);
        let whole = Timestamp::from_datetime_seconds(at);
        assert_eq!(whole.as_str(), "2023-05-19T23:10:47Z");
    }

    #[test]
    fn parses_offsets_and_rejects_garbage() {
        let at = Timestamp::new("2023-05-20T01:10:47+02:00")
            .to_datetime()
            .expect("valid");
        assert_eq!(
            Timestamp::from_datetime_seconds(at).as_str(),
            "2023-05-19T23:10:47Z"
        );
        assert!(
            Timestamp::new("Sat, 31 Dec 2039 23:59:59 GMT")
                .to_datetime()
                .is_none()
        );
        assert!(
            Timestamp::new("2023-13-01T00:00:00Z")
                .to_datetime()
                .is_none()
        );
        assert!(
            Timestamp::new("2023-05-19T23:10:47.Z")
                .to_datetime()
                .is_none()
        );
        let long = Timestamp::new("2023-05-19T23:10:47.123456789987Z").to_datetime();
        assert_eq!(long.map(OffsetDateTime::nanosecond), Some(123_456_789));
        let short = Timestamp::new("2025-10-01T17:41:56.5Z").to_datetime();
        assert_eq!(short.map(OffsetDateTime::nanosecond), Some(500_000_000));
    }
}
