//! The request rules checked before routing, once for every API: framing (411, and 413 for a
//! body over the limit), the body's media type (415) and the api-version (a real date within
//! the served range). `docs/bad-input.md` lists what each refuses.

use crate::error::{ApiError, ApiResult, codes};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method};
use futures_util::StreamExt;

/// API versions the real service has served: 2017-08-31-preview through 2026-04-01, each a
/// real calendar date (`YYYY-MM-DD`, so `2021-13-45` is not one), optionally `-preview`.
pub(crate) fn api_version_supported(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let ok_shape = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    ok_shape && is_calendar_date(date) && ("2017-08-31"..="2026-04-01").contains(&date)
}

/// Whether `YYYY-MM-DD` (digits already checked) names a day of the calendar.
fn is_calendar_date(date: &str) -> bool {
    let part = |r: std::ops::Range<usize>| date.get(r).and_then(|p| p.parse::<u16>().ok());
    let (Some(year), Some(month), Some(day)) = (part(0..4), part(5..7), part(8..10)) else {
        return false;
    };
    let (Ok(month), Ok(day)) = (time::Month::try_from(month as u8), u8::try_from(day)) else {
        return false;
    };
    time::Date::from_calendar_date(i32::from(year), month, day).is_ok()
}

/// Whether a `Content-Type` is JSON: `application/json` in any case, with any parameters
/// (`; charset=utf-8`, as Node, the 1.2.0 Python SDK and the Azure CLI send it).
pub(crate) fn is_json_content_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The framing rules of a request, checked before its body is read: 411 for a PUT, POST or
/// PATCH over HTTP/1.x that sent neither `Content-Length` nor `Transfer-Encoding` (HTTP/1.1
/// then reads an empty body, which the sender did not necessarily mean; every official
/// client sends `Content-Length: 0` for an empty body), and 413 for a `Content-Length` so far
/// above the body limit that it is not worth reading ([`DRAIN_BYTES`]).
pub(super) fn check_framing(parts: &axum::http::request::Parts, max_body: usize) -> ApiResult<()> {
    use axum::http::{Version, header};
    let h = &parts.headers;
    let body_method = matches!(parts.method, Method::PUT | Method::POST | Method::PATCH);
    let http1 = matches!(parts.version, Version::HTTP_10 | Version::HTTP_11);
    if body_method
        && http1
        && !h.contains_key(header::CONTENT_LENGTH)
        && !h.contains_key(header::TRANSFER_ENCODING)
    {
        return Err(ApiError::new(
            codes::LENGTH_REQUIRED,
            format!(
                "{} needs a Content-Length (Content-Length: 0 for an empty body) or \
                 Transfer-Encoding: chunked",
                parts.method
            ),
        ));
    }
    let declared = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > (max_body as u64).saturating_add(DRAIN_BYTES)) {
        return Err(too_large(max_body));
    }
    Ok(())
}

/// How much of a body beyond the limit is still read, and dropped, before the 413 (1 MiB): a
/// client that sends a little too much then reads the answer, where an early answer would
/// meet it with a reset connection in the middle of its upload. A body announced larger than
/// that is answered at once ([`check_framing`]).
pub(super) const DRAIN_BYTES: u64 = 1024 * 1024;

/// The request body, at most `max_body` bytes; a larger one is read on up to
/// [`DRAIN_BYTES`] more, dropped, and answered 413.
pub(super) async fn read_body(body: Body, max_body: usize) -> ApiResult<Bytes> {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        })?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > max_body as u64 {
            if seen > (max_body as u64).saturating_add(DRAIN_BYTES) {
                break;
            }
            continue;
        }
        kept.extend_from_slice(&chunk);
    }
    if seen > max_body as u64 {
        return Err(too_large(max_body));
    }
    Ok(Bytes::from(kept))
}

/// 413 for a body above `max_body` bytes.
fn too_large(max_body: usize) -> ApiError {
    ApiError::new(
        codes::TOO_LARGE,
        format!("the request body exceeds {max_body} bytes"),
    )
}

/// 415 for a body that is not declared JSON; a request without a body is not checked (the
/// Azure CLI sends `Content-Type: application/json` with no body, Node a JSON `{}` on GET).
pub(super) fn check_content_type(headers: &HeaderMap, body: &[u8]) -> ApiResult<()> {
    if body.is_empty() {
        return Ok(());
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match content_type {
        Some(t) if is_json_content_type(&t) => Ok(()),
        Some(t) => Err(ApiError::new(
            codes::UNSUPPORTED_MEDIA,
            format!("the request body is {t:?}; send it as Content-Type: application/json"),
        )),
        None => Err(ApiError::new(
            codes::UNSUPPORTED_MEDIA,
            "the request has a body but no Content-Type; send it as Content-Type: application/json",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for v in [
            "2017-11-15",
            "2018-09-01-preview",
            "2019-03-31",
            "2021-10-01",
            "2026-04-01",
            "2017-08-31-preview",
        ] {
            assert!(api_version_supported(v), "{v}");
        }
        for v in [
            "",
            "2016-01-01",
            "2026-04-02",
            "latest",
            "2021-10-1",
            "2021-13-45",
            "2021-02-30",
            "2021-00-10",
            "2021-10-00",
            "2019-02-29-preview",
        ] {
            assert!(!api_version_supported(v), "{v}");
        }
        assert!(api_version_supported("2020-02-29"), "a leap day");
    }

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
            " application/json ",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/xml",
            "application/jsonx",
            "application/json-patch+json",
            "text/json",
            "",
        ] {
            assert!(!is_json_content_type(bad), "{bad}");
        }
    }
}
