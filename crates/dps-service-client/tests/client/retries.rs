//! Retries: which statuses are retried for which operations, how many attempts, and that
//! every attempt is a complete, authenticated request.

use crate::support::*;
use dps_service_client::codes::{self, ErrorCode};
use dps_service_client::models::{
    BulkMode, EnrollmentGroup, IndividualEnrollment, QuerySpecification,
};
use dps_service_client::{ErrorKind, QueryOptions, RetryOptions};
use futures_util::TryStreamExt;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, ResponseTemplate};

/// Answers `m p` with each response once, in order, then with `last` forever.
async fn sequence(
    h: &Harness,
    m: &str,
    p: &str,
    first: Vec<ResponseTemplate>,
    last: ResponseTemplate,
) {
    for r in first {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(r)
            .up_to_n_times(1)
            .mount(&h.server)
            .await;
    }
    h.on(m, p, last).await;
}

fn status(code: u16) -> ResponseTemplate {
    json_response(
        code,
        &dps_error(ErrorCode::from_parts(code, 1), "transient"),
    )
}

#[tokio::test]
async fn get_is_retried_on_503_429_500_until_it_succeeds() {
    let h = Harness::start().await;
    let body = registration_state("device-01", "e1");
    let throttled = status(429).insert_header("retry-after", "0");
    sequence(
        &h,
        "GET",
        "/registrations/device-01",
        vec![status(503), throttled, status(500)],
        json_response(200, &body),
    )
    .await;

    let state = h
        .client
        .get_registration_state("device-01", None)
        .await
        .expect("succeeds on attempt 4");

    assert_eq!(to_json(&state), body);
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 4);
    for req in &reqs {
        h.assert_call(req, "GET", "/registrations/device-01");
        assert_no_body(req);
    }
}

#[tokio::test]
async fn put_is_retried_on_408_with_the_same_request() {
    let h = Harness::start().await;
    let stored = group_x509("contoso-x509-devices", "etag-2");
    let p = "/enrollmentGroups/contoso-x509-devices";
    sequence(
        &h,
        "PUT",
        p,
        vec![ResponseTemplate::new(408)],
        json_response(200, &stored),
    )
    .await;
    let group: EnrollmentGroup = from_json(&group_x509("contoso-x509-devices", "etag-1"));

    let updated = h
        .client
        .update_enrollment_group(&group, None)
        .await
        .expect("retried");

    assert_eq!(updated.etag.as_deref(), Some("etag-2"));
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "PUT", p);
        assert_if_match(req, Some("etag-1"));
        assert_json_body(req, &to_json(&group));
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let h = Harness::start().await;
    for (code, kind) in [
        (400, ErrorKind::BadRequest),
        (404, ErrorKind::NotFound),
        (409, ErrorKind::Conflict),
        (412, ErrorKind::PreconditionFailed),
    ] {
        h.server.reset().await;
        h.on("PUT", "/enrollments/device-01", status(code)).await;
        h.on("GET", "/enrollments/device-01", status(code)).await;
        let e = IndividualEnrollment::symmetric_key("device-01", None);
        let err = h
            .client
            .create_or_update_enrollment(&e, None)
            .await
            .expect_err("client error");
        assert_eq!((err.kind(), err.status()), (kind, Some(code)));
        let err = h
            .client
            .get_enrollment("device-01", None)
            .await
            .expect_err("client error");
        assert_eq!(err.kind(), kind);
        assert_eq!(h.requests().await.len(), 2, "{code} is not retried");
    }
}

#[tokio::test]
async fn retries_give_up_after_max_retries() {
    let h = Harness::with_retry(RetryOptions {
        max_retries: 2,
        initial_delay: Duration::from_millis(1),
        ..Default::default()
    })
    .await;
    h.on("GET", "/enrollmentGroups/g1", status(503)).await;

    let err = h
        .client
        .get_enrollment_group("g1", None)
        .await
        .expect_err("always 503");

    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), Some(codes::SERVICE_UNAVAILABLE));
    assert_eq!(h.requests().await.len(), 3, "1 attempt + 2 retries");
}

#[tokio::test]
async fn throttling_that_never_ends_is_reported_as_throttled() {
    let h = Harness::with_retry(RetryOptions {
        max_retries: 1,
        initial_delay: Duration::from_millis(1),
        ..Default::default()
    })
    .await;
    h.on(
        "POST",
        "/enrollments/device-01/attestationmechanism",
        status(429).insert_header("retry-after", "0"),
    )
    .await;
    let err = h
        .client
        .get_enrollment_attestation_mechanism("device-01", None)
        .await
        .expect_err("throttled");
    assert_eq!(err.kind(), ErrorKind::Throttled);
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    reqs.iter().for_each(assert_no_body);
}

#[tokio::test]
async fn bulk_post_is_retried_on_429_and_503_only() {
    let h = Harness::start().await;
    let ok = json_response(200, &json!({"isSuccessful": true, "errors": []}));
    let throttled = status(429).insert_header("retry-after", "0");
    sequence(&h, "POST", "/enrollments", vec![throttled, status(503)], ok).await;
    let items = vec![IndividualEnrollment::symmetric_key("bulk-sensor-001", None)];
    let result = h
        .client
        .run_bulk_enrollment_operation(BulkMode::Create, items.clone(), None)
        .await
        .expect("bulk");
    assert!(result.is_successful);
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 3);
    for req in &reqs {
        h.assert_call(req, "POST", "/enrollments");
        assert_json_body(
            req,
            &json!({"mode": "create", "enrollments": to_json(&items)}),
        );
    }

    // 500, 502 and 408 may mean the service applied the items: never repeated.
    for code in [500, 502, 408] {
        h.server.reset().await;
        h.on("POST", "/enrollments", status(code)).await;
        let err = h
            .client
            .run_bulk_enrollment_operation(BulkMode::Update, items.clone(), None)
            .await
            .expect_err("fails");
        assert_eq!(err.status(), Some(code));
        let err = h
            .client
            .create_enrollment(&items[0], None)
            .await
            .expect_err("fails");
        assert_eq!(err.status(), Some(code));
        assert_eq!(
            h.requests().await.len(),
            2,
            "bulk POST is not retried on {code}"
        );
    }
    h.server.reset().await;
    h.on("POST", "/enrollments", status(500)).await;
    let err = h
        .client
        .run_bulk_enrollment_operation(BulkMode::Delete, items, None)
        .await
        .expect_err("500");
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::Server, Some(codes::INTERNAL))
    );
    assert_eq!(h.requests().await.len(), 1);
}

#[tokio::test]
async fn a_retried_query_page_keeps_its_continuation_token() {
    let h = Harness::start().await;
    let p = "/enrollmentGroups/query";
    let token = cosmos_token(1);
    let page1 = [group_x509("g1", "e1")];
    let page2 = [group_x509("g2", "e2")];
    Mock::given(method("POST"))
        .and(path(p))
        .and(first_page)
        .respond_with(page_response(&page1, "EnrollmentGroup", Some(&token)))
        .mount(&h.server)
        .await;
    let second = Mock::given(method("POST"))
        .and(path(p))
        .and(header_is("x-ms-continuation", token.as_str()));
    second
        .respond_with(status(503))
        .up_to_n_times(2)
        .mount(&h.server)
        .await;
    let second = Mock::given(method("POST"))
        .and(path(p))
        .and(header_is("x-ms-continuation", token.as_str()));
    second
        .respond_with(page_response(&page2, "EnrollmentGroup", None))
        .mount(&h.server)
        .await;

    let found: Vec<EnrollmentGroup> = h
        .client
        .query_enrollment_groups(
            QuerySpecification::all(),
            Some(QueryOptions::default().with_page_size(1)),
        )
        .try_collect()
        .await
        .expect("both pages");

    assert_eq!(found.len(), 2);
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 4);
    assert_paging(&reqs[0], Some("1"), None);
    for req in &reqs[1..] {
        h.assert_call(req, "POST", p);
        assert_json_body(req, &json!({"query": "SELECT *"}));
        assert_paging(req, Some("1"), Some(&token));
    }
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let retry = RetryOptions {
        max_retries: 3,
        initial_delay: Duration::from_millis(1),
        ..Default::default()
    };
    let client = client_for(&format!("http://127.0.0.1:{port}"), retry);

    let err = client
        .get_enrollment("device-01", None)
        .await
        .expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert_eq!(err.status(), None);
    assert!(err.message().contains("IndividualEnrollment_Get"), "{err}");
    assert!(!err.to_string().contains(KEY));
    let items = vec![IndividualEnrollment::symmetric_key("bulk-sensor-001", None)];
    let err = client
        .run_bulk_enrollment_operation(BulkMode::Create, items, None)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Transport);
}
