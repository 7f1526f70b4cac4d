//! Injected faults and per-minute quotas: the SDK retries through transient errors, gives up
//! with the right kind, and the emulator's 429s carry a `Retry-After` that matches its clock.

use dps_e2e::{TestEmulator, rt, send};
use dps_emulator::Faults;
use dps_emulator::Quotas;
use dps_emulator::clock::ManualClock;
use dps_protocol::codes;
use dps_protocol::models::{EnrollmentGroup, QuerySpecification};
use dps_service_client::{ClientOptions, ErrorKind, ProvisioningServiceClient, RetryOptions};
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

fn client_with(t: &TestEmulator, max_retries: u32) -> ProvisioningServiceClient {
    let options = ClientOptions {
        retry: RetryOptions {
            initial_delay: Duration::from_millis(1),
            max_retries,
            max_delay: Duration::from_millis(3),
        },
        ..t.options()
    };
    ProvisioningServiceClient::from_connection_string(
        &t.emulator.service_connection_string(),
        Some(options),
    )
    .expect("client")
}

fn faults(error_rate: f64) -> Faults {
    Faults {
        error_rate,
        status: 503,
        latency: Duration::ZERO,
    }
}

#[test]
fn a_service_that_always_fails_gives_a_server_error() {
    let t = TestEmulator::start_with(|c| c.faults = faults(1.0));
    let client = client_with(&t, 3);
    rt().block_on(async {
        let e = client
            .get_enrollment_group("any", None)
            .await
            .expect_err("always 503");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::Server, Some(503)),
            "{e}"
        );
        let r = send(t.request(Method::GET, "/enrollmentGroups/any")).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.json()["errorCode"].as_u64().map(|c| c / 1000), Some(503));
    });
}

#[test]
fn retries_ride_out_a_flaky_service() {
    let t = TestEmulator::start_with(|c| c.faults = faults(0.5));
    // 0.5^41: no call runs out of attempts in practice.
    let client = client_with(&t, 40);
    rt().block_on(async {
        let g = EnrollmentGroup::symmetric_key("flaky", None);
        let created = client
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("created despite faults");
        let other = EnrollmentGroup::symmetric_key("flaky-2", None);
        client
            .create_enrollment_group(&other, None)
            .await
            .expect("bulk create retried on 503s");
        for _ in 0..20 {
            let got = client
                .get_enrollment_group("flaky", None)
                .await
                .expect("retried to success");
            assert_eq!(got.etag, created.etag);
        }
    });
}

#[test]
fn quotas_throttle_until_the_next_minute() {
    let now = time::OffsetDateTime::now_utc();
    let start = now
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .expect("start of the minute");
    let clock = ManualClock::new(start);
    let shared = clock.clone();
    let t = TestEmulator::start_with(move |c| {
        c.quotas = Some(Quotas {
            operations_per_minute: 3,
            ..Quotas::default()
        });
        c.clock = Arc::new(shared);
    });
    let client = client_with(&t, 0);
    let spec = QuerySpecification::all();
    rt().block_on(async {
        for i in 0..3 {
            client
                .query_enrollment_groups_page(&spec, None, None)
                .await
                .unwrap_or_else(|e| panic!("call {i} within the quota: {e}"));
        }
        let e = client
            .query_enrollment_groups_page(&spec, None, None)
            .await
            .expect_err("quota used up");
        assert_eq!(
            (e.kind(), e.status(), e.code()),
            (ErrorKind::Throttled, Some(429), Some(codes::THROTTLED))
        );

        let r = send(t.request(Method::GET, "/enrollmentGroups/x")).await;
        assert_eq!(r.status, 429, "{}", r.text());
        assert_eq!(
            r.header("retry-after"),
            Some("60"),
            "at second :00 the window ends in 60 s"
        );
        assert_eq!(
            r.header("x-ms-error-code"),
            Some(codes::THROTTLED.to_string().as_str())
        );

        clock.advance(Duration::from_secs(45));
        let r = send(t.request(Method::GET, "/enrollmentGroups/x")).await;
        assert_eq!((r.status, r.header("retry-after")), (429, Some("15")));

        clock.advance(Duration::from_secs(15));
        client
            .query_enrollment_groups_page(&spec, None, None)
            .await
            .expect("a new minute, a new quota");
    });
}
