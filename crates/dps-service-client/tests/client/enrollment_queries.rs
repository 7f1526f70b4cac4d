//! Individual enrollments: queries (stream and page) and bulk operations in every mode.

use crate::support::*;
use dps_service_client::models::{BulkMode, IndividualEnrollment, QuerySpecification};
use dps_service_client::{QueryOptions, codes};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, Request};

fn enrollments(ids: &[&str]) -> Vec<Value> {
    ids.iter()
        .map(|id| enrollment_tpm(id, &format!("etag-{id}")))
        .collect()
}

#[tokio::test]
async fn query_stream_follows_continuation_tokens_to_the_end() {
    let h = Harness::start().await;
    let pages = [
        enrollments(&["d1", "d2", "d3"]),
        enrollments(&["d4", "d5", "d6"]),
        enrollments(&["d7"]),
    ];
    let p = "/enrollments/query";
    Mock::given(method("POST"))
        .and(path(p))
        .and(first_page)
        .respond_with(page_response(
            &pages[0],
            "Enrollment",
            Some(&cosmos_token(1)),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    for (n, page) in pages.iter().enumerate().skip(1) {
        let next = (n < 2).then(|| cosmos_token(n as u32 + 1));
        Mock::given(method("POST"))
            .and(path(p))
            .and(header_is(
                "x-ms-continuation",
                cosmos_token(n as u32).as_str(),
            ))
            .respond_with(page_response(page, "Enrollment", next.as_deref()))
            .expect(1)
            .mount(&h.server)
            .await;
    }

    let found: Vec<IndividualEnrollment> = h
        .client
        .query_enrollments(
            QuerySpecification::new("*"),
            Some(QueryOptions::default().with_page_size(3)),
        )
        .try_collect()
        .await
        .expect("every page");

    assert_eq!(
        found.iter().map(to_json).collect::<Vec<_>>(),
        pages.concat()
    );
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 3);
    let tokens = [None, Some(cosmos_token(1)), Some(cosmos_token(2))];
    for (req, token) in reqs.iter().zip(&tokens) {
        h.assert_call(req, "POST", p);
        assert_json_body(req, &json!({"query": "*"}));
        assert_paging(req, Some("3"), token.as_deref());
    }
}

#[tokio::test]
async fn query_page_returns_items_token_and_item_type() {
    let h = Harness::start().await;
    let items = enrollments(&["d1", "d2"]);
    h.on(
        "POST",
        "/enrollments/query",
        page_response(&items, "Enrollment", Some(&cosmos_token(9))),
    )
    .await;

    let page = h
        .client
        .query_enrollments_page(
            &QuerySpecification::all(),
            Some("opaque+/="),
            Some(QueryOptions::default().with_page_size(50)),
        )
        .await
        .expect("page");

    assert_eq!(page.items.iter().map(to_json).collect::<Vec<_>>(), items);
    assert_eq!(page.continuation_token, Some(cosmos_token(9)));
    assert_eq!(page.item_type.as_deref(), Some("Enrollment"));
    let req = h.only_request().await;
    h.assert_call(&req, "POST", "/enrollments/query");
    assert_json_body(&req, &json!({"query": "SELECT *"}));
    assert_paging(&req, Some("50"), Some("opaque+/="));
}

fn symkey(id: &str) -> IndividualEnrollment {
    IndividualEnrollment::symmetric_key(id, None)
}

#[tokio::test]
async fn bulk_sends_each_mode_by_its_wire_name() {
    let h = Harness::start().await;
    h.on(
        "POST",
        "/enrollments",
        json_response(200, &json!({"isSuccessful": true, "errors": []})),
    )
    .await;
    let mut read_back: IndividualEnrollment =
        from_json(&enrollment_tpm("tpm-gateway-07", "etag-7"));
    read_back.registration_state = None;
    let cases = [
        (BulkMode::Create, "create"),
        (BulkMode::Update, "update"),
        (BulkMode::UpdateIfMatchETag, "updateIfMatchETag"),
        (BulkMode::Delete, "delete"),
    ];
    for (mode, _) in &cases {
        let result = h
            .client
            .run_bulk_enrollment_operation(
                mode.clone(),
                vec![symkey("bulk-sensor-001"), read_back.clone()],
                None,
            )
            .await
            .expect("bulk");
        assert!(result.is_successful);
        assert!(result.errors.is_empty());
    }

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 4);
    for (req, (_, wire)) in reqs.iter().zip(&cases) {
        h.assert_call(req, "POST", "/enrollments");
        assert_if_match(req, None);
        let items = vec![
            json!({"registrationId": "bulk-sensor-001", "attestation": {"type": "symmetricKey", "symmetricKey": {}}}),
            to_json(&read_back),
        ];
        assert_json_body(req, &json!({"mode": wire, "enrollments": items}));
    }
}

fn ids_of(req: &Request) -> Vec<String> {
    let body: Value = serde_json::from_slice(&req.body).expect("JSON");
    let items = body["enrollments"].as_array().expect("enrollments");
    items
        .iter()
        .map(|e| e["registrationId"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn bulk_of_12_enrollments_merges_chunk_errors_in_order() {
    let h = Harness::start().await;
    Mock::given(method("POST"))
        .and(path("/enrollments"))
        .respond_with(|req: &Request| {
            let ids = ids_of(req);
            let errors: Vec<Value> = ids
                .iter()
                .filter(|id| id.ends_with("01") || id.ends_with("11"))
                .map(|id| json!({"registrationId": id, "errorCode": codes::ALREADY_EXISTS, "errorStatus": "Enrollment already exists."}))
                .collect();
            json_response(200, &json!({"isSuccessful": errors.is_empty(), "errors": errors}))
        })
        .expect(2)
        .mount(&h.server)
        .await;

    let input: Vec<IndividualEnrollment> = (0..12)
        .map(|i| symkey(&format!("bulk-sensor-{i:03}")))
        .collect();
    let result = h
        .client
        .run_bulk_enrollment_operation(BulkMode::Create, input, None)
        .await
        .expect("bulk");

    assert!(!result.is_successful);
    let failed: Vec<&str> = result
        .errors
        .iter()
        .map(|e| e.registration_id.as_str())
        .collect();
    assert_eq!(failed, ["bulk-sensor-001", "bulk-sensor-011"]);
    assert!(
        result
            .errors
            .iter()
            .all(|e| e.code() == Some(codes::ALREADY_EXISTS))
    );
    let mut sizes: Vec<usize> = h.requests().await.iter().map(|r| ids_of(r).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [2, 10]);
}
