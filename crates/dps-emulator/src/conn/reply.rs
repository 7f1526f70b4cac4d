//! Responses the connection layer writes itself, on an HTTP/1 connection where hyper is not
//! writing: the DPS-body stand-in for hyper's own bare refusal of a request it could not
//! parse (400, 414, 431 with `content-length: 0`), and the 408 for a request head that did
//! not arrive in time.

use crate::error::{ApiError, codes, new_uuid};
use dps_protocol::codes::ErrorCode;
use std::time::Duration;

/// The limits a refusal names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadLimits {
    /// [`crate::config::Limits::max_uri_bytes`].
    pub(crate) max_uri_bytes: usize,
    /// [`crate::config::Limits::max_header_bytes`].
    pub(crate) max_header_bytes: usize,
}

/// The field count above which hyper refuses a request head (its default, kept).
pub(crate) const MAX_HEADER_FIELDS: usize = 100;

/// Whether `head` (what hyper writes first) starts a response's status line.
pub(super) fn is_status_line(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.")
}

/// The complete response to write instead of hyper's bare `head`: the same status, with the
/// DPS error body saying which rule the request broke.
pub(super) fn instead_of(head: &[u8], limits: HeadLimits) -> Vec<u8> {
    let status = head
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(400);
    let error = match status {
        414 => ApiError::new(
            codes::URI_TOO_LONG,
            format!(
                "the request target is longer than the emulator reads (at most {} bytes)",
                limits.max_uri_bytes
            ),
        ),
        431 => ApiError::new(
            codes::HEADERS_TOO_LARGE,
            format!(
                "the request head is larger than the emulator reads: at most {} bytes of \
                 request target, {} bytes of header fields and {MAX_HEADER_FIELDS} fields",
                limits.max_uri_bytes, limits.max_header_bytes
            ),
        ),
        400 => ApiError::bad_request(
            "the request is not HTTP/1.1: its request line, method, target, version or a \
             header field is malformed",
        ),
        other => ApiError::new(
            ErrorCode::from_parts(other, 1),
            "the request was refused before it could be read",
        ),
    };
    let version = if head.starts_with(b"HTTP/1.0") {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    response(version, status, &error, date_line(head))
}

/// The 408 for a request head that did not arrive within `timeout`.
pub(super) fn head_timeout(timeout: Duration) -> Vec<u8> {
    let error = ApiError::new(
        codes::REQUEST_TIMEOUT,
        format!(
            "the request head (request line and header fields) did not arrive within {timeout:?}"
        ),
    );
    response("HTTP/1.1", 408, &error, None)
}

/// hyper's `date:` line, to keep in the replacement.
fn date_line(head: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(head).ok()?;
    text.split("\r\n").find(|line| {
        line.get(..5)
            .is_some_and(|l| l.eq_ignore_ascii_case("date:"))
    })
}

fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

fn response(version: &str, status: u16, error: &ApiError, date: Option<&str>) -> Vec<u8> {
    let tracking = new_uuid();
    let body = error.dps_body(&tracking).to_string();
    let mut head = format!(
        "{version} {status} {}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nx-ms-error-code: {}\r\nx-ms-request-id: {tracking}\r\n\
         connection: close\r\n",
        reason(status),
        body.len(),
        error.code
    );
    if let Some(date) = date {
        head.push_str(date);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_uri_bytes: 8192,
        max_header_bytes: 32768,
    };

    fn split(bytes: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(bytes.to_vec()).expect("text");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.parse::<usize>().ok())
            .expect("content-length");
        assert_eq!(length, body.len());
        (head.to_owned(), serde_json::from_str(body).expect("JSON"))
    }

    #[test]
    fn hypers_bare_refusals_get_the_dps_body_with_their_status_and_date() {
        for (status, code) in [
            (400, codes::BAD_REQUEST),
            (414, codes::URI_TOO_LONG),
            (431, codes::HEADERS_TOO_LARGE),
        ] {
            let bare = format!(
                "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-length: 0\r\n\
                 date: Fri, 04 Dec 2026 12:40:59 GMT\r\n\r\n"
            );
            let (head, body) = split(&instead_of(bare.as_bytes(), LIMITS));
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(
                head.contains("\r\ndate: Fri, 04 Dec 2026 12:40:59 GMT"),
                "{head}"
            );
            assert!(head.contains("\r\nconnection: close"), "{head}");
            assert_eq!(body["errorCode"], code.get());
        }
        let (head, body) = split(&head_timeout(Duration::from_millis(300)));
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert_eq!(body["errorCode"], codes::REQUEST_TIMEOUT.get());
    }
}
