//! When to retry, and how long to wait. Pure functions, so every decision is unit-tested.

use std::time::Duration;

/// Exponential backoff with jitter, as the Azure SDKs do it.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOptions {
    /// Delay before the first retry.
    pub initial_delay: Duration,
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    /// Upper bound of a single delay, including a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryOptions {
    /// 200 ms, doubling, 8 retries, at most 30 s per wait.
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(200),
            max_retries: 8,
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryOptions {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
}

/// How safe an operation is to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PUT, DELETE, queries and attestation lookups: repeating them is harmless.
    Idempotent,
    /// Bulk POST: a repeat after the service acted could apply items twice, so retry only
    /// when the service said it did nothing (429, 503) or the request never left.
    NotIdempotent,
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// A response with this status arrived.
    Status(u16),
    /// The connection failed before the request was sent.
    ConnectFailed,
    /// The request may have been sent, but no response arrived (reset, timeout).
    NoResponse,
}

/// Whether an attempt with this outcome should be retried.
pub fn should_retry(idempotency: Idempotency, attempt: Attempt) -> bool {
    match (idempotency, attempt) {
        (_, Attempt::ConnectFailed) => true,
        (Idempotency::Idempotent, Attempt::NoResponse) => true,
        (Idempotency::Idempotent, Attempt::Status(s)) => {
            s == 408 || s == 429 || (500..=599).contains(&s)
        }
        (Idempotency::NotIdempotent, Attempt::Status(s)) => s == 429 || s == 503,
        (Idempotency::NotIdempotent, Attempt::NoResponse) => false,
    }
}

/// The wait before retry number `retry` (0-based): exponential from `initial_delay` with up to
/// 20 % jitter below the nominal value, never less than the server's `Retry-After`, never more
/// than `max_delay`. `jitter` is a number in `[0, 1)`.
pub fn delay(
    options: &RetryOptions,
    retry: u32,
    server: Option<Duration>,
    jitter: f64,
) -> Duration {
    let factor = 2f64.powi(retry.min(30) as i32);
    let nominal = options.initial_delay.as_secs_f64() * factor;
    let jittered = nominal * (1.0 - 0.2 * jitter.clamp(0.0, 1.0));
    let policy = Duration::from_secs_f64(jittered.min(options.max_delay.as_secs_f64()));
    server
        .map_or(policy, |s| s.max(policy))
        .min(options.max_delay)
}

/// Reads a server's retry hint: `retry-after-ms`, `x-ms-retry-after-ms`, or `Retry-After` in
/// seconds or as an HTTP date relative to `now` ([`dps_protocol::retry_after::delay`], which
/// the device client uses too).
pub fn server_delay(
    headers: &reqwest::header::HeaderMap,
    now: std::time::SystemTime,
) -> Option<Duration> {
    dps_protocol::retry_after::delay(|name| headers.get(name).and_then(|v| v.to_str().ok()), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn idempotent_calls_retry_on_transient_statuses() {
        let i = Idempotency::Idempotent;
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(should_retry(i, Attempt::Status(s)), "{s}");
        }
        for s in [200, 204, 400, 401, 403, 404, 409, 412] {
            assert!(!should_retry(i, Attempt::Status(s)), "{s}");
        }
        assert!(should_retry(i, Attempt::ConnectFailed));
        assert!(should_retry(i, Attempt::NoResponse));
    }

    #[test]
    fn bulk_post_retries_only_when_nothing_happened() {
        let n = Idempotency::NotIdempotent;
        assert!(should_retry(n, Attempt::Status(429)));
        assert!(should_retry(n, Attempt::Status(503)));
        assert!(should_retry(n, Attempt::ConnectFailed));
        for s in [408, 500, 502, 504] {
            assert!(!should_retry(n, Attempt::Status(s)), "{s}");
        }
        assert!(!should_retry(n, Attempt::NoResponse));
    }

    #[test]
    fn backoff_doubles_jitters_and_caps() {
        let o = RetryOptions::default();
        assert_eq!(delay(&o, 0, None, 0.0), Duration::from_millis(200));
        assert_eq!(delay(&o, 1, None, 0.0), Duration::from_millis(400));
        assert_eq!(delay(&o, 3, None, 0.0), Duration::from_millis(1600));
        assert_eq!(delay(&o, 1, None, 0.5), Duration::from_millis(360));
        assert_eq!(delay(&o, 20, None, 0.0), Duration::from_secs(30));
        // The server's hint wins when longer, but never beyond the cap.
        assert_eq!(
            delay(&o, 0, Some(Duration::from_secs(5)), 0.0),
            Duration::from_secs(5)
        );
        assert_eq!(
            delay(&o, 0, Some(Duration::from_secs(500)), 0.0),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn reads_every_retry_hint_format() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(server_delay(&h, now), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(server_delay(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Tue, 14 Nov 2023 22:13:30 GMT"),
        );
        assert_eq!(server_delay(&h, now), Some(Duration::from_secs(10)));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(server_delay(&h, now), Some(Duration::from_millis(1500)));
    }
}
