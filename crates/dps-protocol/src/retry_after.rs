//! The server's retry hint: how long a response asks the client to wait before the next try.
//!
//! DPS sends `Retry-After` in seconds with 429, with injected 503s and with every pending
//! device operation; Azure front ends may send `retry-after-ms` or `x-ms-retry-after-ms`, and
//! HTTP allows `Retry-After` as a date. Both clients honour every form through [`delay`], so
//! a polling device and a retrying service call wait alike.
//!
//! The functions are pure: headers come in through a lookup closure (or name/value pairs) and
//! the current time as an argument, so this crate needs no HTTP library and every case is
//! unit-tested.

use std::time::{Duration, SystemTime};

use time::format_description::well_known::Rfc2822;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// `retry-after-ms`: milliseconds (Azure).
pub const RETRY_AFTER_MS: &str = "retry-after-ms";
/// `x-ms-retry-after-ms`: milliseconds (Azure).
pub const X_MS_RETRY_AFTER_MS: &str = "x-ms-retry-after-ms";
/// `retry-after`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
pub const RETRY_AFTER: &str = "retry-after";

/// The wait a response asks for, or `None` when it sends no usable hint.
///
/// `get` looks a header up by its lower-case name and must match names ignoring case, as
/// `http::HeaderMap::get` does. The first usable of these wins:
/// 1. `retry-after-ms`, then `x-ms-retry-after-ms`: whole milliseconds;
/// 2. `retry-after` as whole seconds;
/// 3. `retry-after` as an HTTP date ([`parse_http_date`]), relative to `now`; a date in the
///    past means no wait ([`Duration::ZERO`]).
///
/// Values are trimmed; an unparsable value is skipped, so the next form still counts.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use dps_protocol::retry_after::delay;
/// let headers = [("Retry-After", "3")];
/// let get = |name: &str| {
///     headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
/// };
/// assert_eq!(delay(get, SystemTime::now()), Some(Duration::from_secs(3)));
/// ```
pub fn delay<'a>(get: impl Fn(&str) -> Option<&'a str>, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| get(name).map(str::trim);
    for name in [RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS] {
        if let Some(ms) = get(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = get(RETRY_AFTER)?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = SystemTime::from(parse_http_date(value)?);
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// [`delay`] over name/value pairs, names compared ignoring ASCII case; the first pair of a
/// name counts.
pub fn delay_from_pairs<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    now: SystemTime,
) -> Option<Duration> {
    let headers: Vec<(&str, &str)> = headers.into_iter().collect();
    delay(
        |name| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        },
        now,
    )
}

/// Parses an HTTP date: the IMF-fixdate every server should send
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete asctime form
/// (`Sun Nov  6 08:49:37 1994`, UTC), or any RFC 2822 date (`…+0100`).
pub fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let imf_fixdate = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let asctime = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    let value = value.trim();
    PrimitiveDateTime::parse(value, imf_fixdate)
        .or_else(|_| PrimitiveDateTime::parse(value, asctime))
        .map(PrimitiveDateTime::assume_utc)
        .or_else(|_| OffsetDateTime::parse(value, &Rfc2822))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14T22:13:20Z.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn from(pairs: &[(&str, &str)]) -> Option<Duration> {
        delay_from_pairs(pairs.iter().copied(), now())
    }

    #[test]
    fn nothing_without_a_hint() {
        assert_eq!(from(&[]), None);
        assert_eq!(from(&[("content-type", "application/json")]), None);
        assert_eq!(from(&[("retry-after", "soon")]), None);
        assert_eq!(from(&[("retry-after", "-1")]), None);
    }

    #[test]
    fn seconds() {
        assert_eq!(from(&[("Retry-After", "7")]), Some(Duration::from_secs(7)));
        assert_eq!(from(&[("retry-after", " 0 ")]), Some(Duration::ZERO));
    }

    #[test]
    fn dates_relative_to_now() {
        assert_eq!(
            from(&[("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT")]),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            from(&[("retry-after", "Tue Nov 14 22:13:35 2023")]),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            from(&[("retry-after", "Tue, 14 Nov 2023 23:13:40 +0100")]),
            Some(Duration::from_secs(20))
        );
        // A date in the past: no wait.
        assert_eq!(
            from(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn milliseconds_win_in_order() {
        let both = [
            ("retry-after", "7"),
            ("x-ms-retry-after-ms", "1500"),
            ("Retry-After-Ms", "250"),
        ];
        assert_eq!(from(&both), Some(Duration::from_millis(250)));
        assert_eq!(from(&both[..2]), Some(Duration::from_millis(1500)));
        // An unusable millisecond value falls through to Retry-After.
        assert_eq!(
            from(&[("retry-after-ms", "x"), ("retry-after", "2")]),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn http_dates() {
        let expected = OffsetDateTime::from_unix_timestamp(784_111_777).ok();
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(parse_http_date("Sun, 6 Nov 1994 08:49:37 +0000"), expected);
        assert_eq!(parse_http_date("06 Nov 1994"), None);
        assert_eq!(parse_http_date(""), None);
    }
}
