//! Optional per-minute quotas, answered with 429 and `Retry-After` like the service.

use crate::clock::Clock;
use crate::config::Quotas;
use crate::error::{ApiError, codes};
use std::sync::Mutex;

/// Fixed one-minute windows for service operations and device registrations.
#[derive(Debug)]
pub(crate) struct Throttle {
    quotas: Option<Quotas>,
    state: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    minute: i64,
    operations: u32,
    registrations: u32,
}

impl Throttle {
    /// No limits when `quotas` is `None`.
    pub(crate) fn new(quotas: Option<Quotas>) -> Self {
        Self {
            quotas,
            state: Mutex::new(Windows::default()),
        }
    }

    /// Counts one service API operation.
    pub(crate) fn service(&self, clock: &dyn Clock) -> Result<(), ApiError> {
        self.take(
            clock,
            |q| q.operations_per_minute,
            |w| &mut w.operations,
            "service operations",
        )
    }

    /// Counts one device API call.
    pub(crate) fn registration(&self, clock: &dyn Clock) -> Result<(), ApiError> {
        self.take(
            clock,
            |q| q.registrations_per_minute,
            |w| &mut w.registrations,
            "device registrations",
        )
    }

    fn take(
        &self,
        clock: &dyn Clock,
        limit: impl Fn(&Quotas) -> u32,
        counter: impl Fn(&mut Windows) -> &mut u32,
        what: &str,
    ) -> Result<(), ApiError> {
        let Some(q) = &self.quotas else { return Ok(()) };
        let now = clock.now().unix_timestamp();
        let Ok(mut w) = self.state.lock() else {
            return Ok(());
        };
        if w.minute != now / 60 {
            *w = Windows {
                minute: now / 60,
                ..Windows::default()
            };
        }
        let c = counter(&mut w);
        if *c >= limit(q) {
            let mut e = ApiError::new(
                codes::THROTTLED,
                format!("the quota of {} {what} per minute is used up", limit(q)),
            );
            e.retry_after = Some(u64::try_from(60 - now.rem_euclid(60)).unwrap_or(1));
            return Err(e);
        }
        *c += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use time::macros::datetime;

    #[test]
    fn quota_resets_each_minute() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00:50 UTC));
        let t = Throttle::new(Some(Quotas {
            operations_per_minute: 2,
            registrations_per_minute: 1,
        }));
        assert!(t.service(&clock).is_ok());
        assert!(t.service(&clock).is_ok());
        let e = t.service(&clock).expect_err("third call in the minute");
        assert_eq!((e.code, e.retry_after), (codes::THROTTLED, Some(10)));
        assert!(t.registration(&clock).is_ok(), "separate quota");
        clock.advance(std::time::Duration::from_secs(10));
        assert!(t.service(&clock).is_ok());
    }
}
