//! Pacing: at most `rate` requests per second across every task of a plan or an apply (the
//! real service's quota is per unit), as `--rate` asks.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The longest wait between two requests, whatever the rate.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Paces requests to at most `rate` per second, across every task.
pub(crate) struct Pacer {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pacer {
    pub(crate) fn new(rate: Option<f64>) -> Self {
        Self {
            // A rate so small that its interval would not fit is one request an hour.
            interval: rate.filter(|r| r.is_finite() && *r > 0.0).map(|r| {
                Duration::try_from_secs_f64(1.0 / r)
                    .unwrap_or(MAX_INTERVAL)
                    .min(MAX_INTERVAL)
            }),
            next: Mutex::new(Instant::now()),
        }
    }

    pub(crate) async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at.checked_add(interval).unwrap_or(at);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: the clock moves only when every task waits, so the spacing is exact.
    #[tokio::test(start_paused = true)]
    async fn the_pacer_spaces_requests_by_the_rate_across_tasks() {
        let pacer = Pacer::new(Some(10.0));
        let start = Instant::now();
        let waits = (0..5).map(|_| async {
            pacer.wait().await;
            Instant::now() - start
        });
        let mut at: Vec<Duration> = futures_util::future::join_all(waits).await;
        at.sort();
        let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 100, 200, 300, 400]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_rate_or_with_a_nonsense_one_nothing_waits() {
        for rate in [
            None,
            Some(0.0),
            Some(-1.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ] {
            let pacer = Pacer::new(rate);
            let start = Instant::now();
            for _ in 0..3 {
                pacer.wait().await;
            }
            assert_eq!(Instant::now(), start, "{rate:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_tiny_rate_waits_an_hour_at_most_and_never_panics() {
        for rate in [1e-300, 5e-324, 1e-19] {
            let pacer = Pacer::new(Some(rate));
            let start = Instant::now();
            pacer.wait().await;
            pacer.wait().await;
            assert_eq!(Instant::now() - start, MAX_INTERVAL, "{rate}");
        }
    }
}
