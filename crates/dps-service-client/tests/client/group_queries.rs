//! Enrollment groups: queries (stream and page) and chunked bulk operations.

use crate::support::*;
use dps_service_client::codes::{self, ErrorCode};
use dps_service_client::models::{BulkMode, EnrollmentGroup, QuerySpecification};
use dps_service_client::{ErrorKind, QueryOptions};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, Request};

fn groups(ids: &[&str]) -> Vec<Value> {
    ids.iter()
        .map(|id| group_x509(id, &format!("etag-{id}")))
        .collect()
}

/// Mounts a 3-page query at `p`: [g1,g2] -> token 1, [g3,g4] -> token 2, [g5] -> end.
async fn mount_three_pages(h: &Harness, p: &str) -> Vec<Value> {
    let pages = [
        groups(&["g1", "g2"]),
        groups(&["g3", "g4"]),
        groups(&["g5"]),
    ];
    Mock::given(method("POST"))
        .and(path(p))
        .and(first_page)
        .respond_with(page_response(
            &pages[0],
            "EnrollmentGroup",
            Some(&cosmos_token(1)),
        ))
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(p))
        .and(header_is("x-ms-continuation", cosmos_token(1).as_str()))
        .respond_with(page_response(
            &pages[1],
            "EnrollmentGroup",
            Some(&cosmos_token(2)),
        ))
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(p))
        .and(header_is("x-ms-continuation", cosmos_token(2).as_str()))
        .respond_with(page_response(&pages[2], "EnrollmentGroup", None))
        .mount(&h.server)
        .await;
    pages.concat()
}

#[tokio::test]
async fn query_stream_follows_continuation_tokens_to_the_end() {
    let h = Harness::start().await;
    let all = mount_three_pages(&h, "/enrollmentGroups/query").await;

    let found: Vec<EnrollmentGroup> = h
        .client
        .query_enrollment_groups(
            QuerySpecification::all(),
            Some(QueryOptions::default().with_page_size(2)),
        )
        .try_collect()
        .await
        .expect("every page");

    assert_eq!(found.iter().map(to_json).collect::<Vec<_>>(), all);
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 3, "one request per page, none after the last");
    let tokens = [None, Some(cosmos_token(1)), Some(cosmos_token(2))];
    for (req, token) in reqs.iter().zip(&tokens) {
        h.assert_call(req, "POST", "/enrollmentGroups/query");
        assert_json_body(req, &json!({"query": "SELECT *"}));
        assert_paging(req, Some("2"), token.as_deref());
        assert_if_match(req, None);
    }
}

#[tokio::test]
async fn query_page_returns_items_token_and_item_type() {
    let h = Harness::start().await;
    let all = mount_three_pages(&h, "/enrollmentGroups/query").await;
    let spec = QuerySpecification::new("SELECT * FROM enrollmentGroups");

    let first = h
        .client
        .query_enrollment_groups_page(&spec, None, None)
        .await
        .expect("page 1");
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.continuation_token, Some(cosmos_token(1)));
    assert_eq!(first.item_type.as_deref(), Some("EnrollmentGroup"));
    let token = cosmos_token(2);
    let last = h
        .client
        .query_enrollment_groups_page(&spec, Some(&token), None)
        .await
        .expect("page 3");
    assert_eq!(last.items.iter().map(to_json).collect::<Vec<_>>(), all[4..]);
    assert_eq!(
        last.continuation_token, None,
        "no x-ms-continuation on the last page"
    );

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "POST", "/enrollmentGroups/query");
        assert_json_body(req, &json!({"query": "SELECT * FROM enrollmentGroups"}));
    }
    assert_paging(&reqs[0], None, None);
    assert_paging(&reqs[1], None, Some(&token));
}

#[tokio::test]
async fn empty_query_result_is_an_empty_stream() {
    let h = Harness::start().await;
    h.on(
        "POST",
        "/enrollmentGroups/query",
        page_response(&[], "EnrollmentGroup", None),
    )
    .await;
    let found: Vec<EnrollmentGroup> = h
        .client
        .query_enrollment_groups(QuerySpecification::all(), None)
        .try_collect()
        .await
        .expect("empty");
    assert!(found.is_empty());
    assert_paging(&h.only_request().await, None, None);
}

fn ids_of(req: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&req.body).expect("JSON");
    let items = body["enrollmentGroups"]
        .as_array()
        .expect("enrollmentGroups");
    items
        .iter()
        .map(|g| g["enrollmentGroupId"].as_str().expect("id").to_owned())
        .collect()
}

fn failed(id: &str) -> Value {
    json!({"enrollmentGroupId": id, "errorCode": codes::ALREADY_EXISTS, "errorStatus": "Enrollment already exists."})
}

#[tokio::test]
async fn bulk_of_25_groups_goes_in_chunks_of_10_with_results_in_input_order() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path("/enrollmentGroups"))
        .respond_with(|req: &Request| {
            let ids = ids_of(req);
            let (errors, delay) = match ids[0].as_str() {
                // The first chunk answers last: order must come from the input, not arrival.
                "group-00" => (vec![failed("group-03")], 40),
                "group-20" => (vec![failed("group-21"), failed("group-24")], 0),
                _ => (vec![], 0),
            };
            let body = json!({"isSuccessful": errors.is_empty(), "errors": errors});
            json_response(200, &body).set_delay(Duration::from_millis(delay))
        })
        .expect(3)
        .mount(&h.server)
        .await;

    let input: Vec<EnrollmentGroup> = (0..25)
        .map(|i| EnrollmentGroup::symmetric_key(format!("group-{i:02}"), None))
        .collect();
    let result = h
        .client
        .run_bulk_enrollment_group_operation(BulkMode::Create, input.clone(), None)
        .await
        .expect("bulk");

    assert!(!result.is_successful);
    let errors: Vec<(&str, Option<ErrorCode>)> = result
        .errors
        .iter()
        .map(|e| (e.enrollment_group_id.as_str(), e.code()))
        .collect();
    assert_eq!(
        errors,
        [
            ("group-03", Some(codes::ALREADY_EXISTS)),
            ("group-21", Some(codes::ALREADY_EXISTS)),
            ("group-24", Some(codes::ALREADY_EXISTS))
        ]
    );
    assert_eq!(result.errors[0].error_status, "Enrollment already exists.");

    let mut reqs = h.requests().await;
    assert_eq!(reqs.len(), 3);
    reqs.sort_by_key(|r| ids_of(r)[0].clone());
    let sizes: Vec<usize> = reqs.iter().map(|r| ids_of(r).len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    for (n, req) in reqs.iter().enumerate() {
        h.assert_call(req, "POST", "/enrollmentGroups");
        let chunk = &input[n * 10..(n * 10 + 10).min(25)];
        assert_json_body(
            req,
            &json!({"mode": "create", "enrollmentGroups": to_json(&chunk)}),
        );
    }
}

#[tokio::test]
async fn bulk_success_and_bad_input() {
    let h = Harness::start().await;
    h.on(
        "POST",
        "/enrollmentGroups",
        json_response(200, &json!({"isSuccessful": true, "errors": []})),
    )
    .await;
    let group: EnrollmentGroup = from_json(&group_x509("contoso-x509-devices", "etag-1"));
    let result = h
        .client
        .run_bulk_enrollment_group_operation(BulkMode::Delete, vec![group.clone()], None)
        .await
        .expect("bulk");
    assert!(result.is_successful && result.errors.is_empty());
    let req = h.only_request().await;
    assert_json_body(
        &req,
        &json!({"mode": "delete", "enrollmentGroups": [to_json(&group)]}),
    );

    let err = h
        .client
        .run_bulk_enrollment_group_operation(BulkMode::Create, vec![], None)
        .await
        .expect_err("empty");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let bad = vec![group, EnrollmentGroup::symmetric_key("bad/id", None)];
    let err = h
        .client
        .run_bulk_enrollment_group_operation(BulkMode::Create, bad, None)
        .await
        .expect_err("id");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        h.requests().await.len(),
        1,
        "nothing sent for invalid input"
    );
}

#[tokio::test]
async fn a_failed_chunk_fails_the_bulk_call() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path("/enrollmentGroups"))
        .respond_with(|req: &Request| match ids_of(req)[0].as_str() {
            "group-10" => {
                json_response(400, &dps_error(codes::BAD_REQUEST, "Bad enrollment group."))
            }
            _ => json_response(200, &json!({"isSuccessful": true, "errors": []})),
        })
        .mount(&h.server)
        .await;
    let input: Vec<EnrollmentGroup> = (0..15)
        .map(|i| EnrollmentGroup::symmetric_key(format!("group-{i:02}"), None))
        .collect();
    let err = h
        .client
        .run_bulk_enrollment_group_operation(BulkMode::Update, input, None)
        .await
        .expect_err("chunk 2 failed");
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.code(), Some(codes::BAD_REQUEST));
}
