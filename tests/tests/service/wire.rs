//! Wire details the official clients depend on: path casing, trailing slashes, encoded ids,
//! api-versions, status codes, error bodies and headers, `If-Match` forms, unknown fields.

use dps_e2e::{RawResponse, TestEmulator, rt, send};
use dps_protocol::codes;
use dps_protocol::models::EnrollmentGroup;
use reqwest::Method;
use serde_json::json;

fn sym_group(id: &str) -> serde_json::Value {
    json!({"enrollmentGroupId": id, "attestation": {"type": "symmetricKey"}})
}

fn assert_error_shape(r: &RawResponse, status: u16, code: u64) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.header("x-ms-error-code"), Some(code.to_string().as_str()));
    let body = r.json();
    assert_eq!(body["errorCode"].as_u64(), Some(code), "a number: {body}");
    let tracking = body["trackingId"].as_str().expect("trackingId");
    assert!(!tracking.is_empty());
    assert_eq!(r.header("x-ms-request-id"), Some(tracking));
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let ts = dps_protocol::models::timestamp::Timestamp::new(
        body["timestampUtc"].as_str().expect("timestampUtc"),
    );
    assert!(ts.to_datetime().is_some(), "{ts}");
}

#[test]
fn paths_ignore_case_and_trailing_slashes_and_decode_ids() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let g = EnrollmentGroup::symmetric_key("casey", None);
        client
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("created");
        let r = send(t.request(Method::GET, "/ENROLLMENTGROUPS/casey")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = send(
            t.request(Method::POST, "/enrollmentgroups/casey/attestationmechanism")
                .header("content-length", "0"),
        )
        .await;
        assert_eq!(r.status, 200, "Node's lower-case path: {}", r.text());
        assert_eq!(r.json()["type"], "symmetricKey");
        assert!(r.json()["symmetricKey"]["primaryKey"].is_string());

        let bulk = json!({"mode": "create", "enrollments": [
            {"registrationId": "slash", "attestation": {"type": "symmetricKey"}}]});
        let r = send(t.request(Method::POST, "/enrollments/").json(&bulk)).await;
        assert_eq!(
            (r.status, r.json()["isSuccessful"].as_bool()),
            (200, Some(true)),
            "{}",
            r.text()
        );

        let body = json!({"registrationId": "dev:01", "attestation": {"type": "symmetricKey"}});
        let r = send(t.request(Method::PUT, "/enrollments/dev%3A01").json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["registrationId"], "dev:01");
        let got = client
            .get_enrollment("dev:01", None)
            .await
            .expect("SDK encodes the id too");
        assert_eq!(got.registration_id, "dev:01");
        let r = send(t.request(Method::GET, "/Enrollments/DEV%3a01")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    });
}

#[test]
fn api_versions() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let r = send(
            t.request(Method::PUT, "/enrollmentGroups/v")
                .json(&sym_group("v")),
        )
        .await;
        assert_eq!(r.status, 200);
        let r = send(t.request_exact(Method::GET, "/enrollmentGroups/v")).await;
        assert_error_shape(&r, 400, u64::from(codes::BAD_API_VERSION));
        let r =
            send(t.request_exact(Method::GET, "/enrollmentGroups/v?api-version=2016-01-01")).await;
        assert_eq!(r.status, 400, "{}", r.text());
        for v in [
            "2017-11-15",
            "2018-09-01-preview",
            "2019-03-31",
            "2021-10-01",
            "2026-04-01",
        ] {
            let r =
                send(t.request_exact(Method::GET, &format!("/enrollmentGroups/v?api-version={v}")))
                    .await;
            assert_eq!(r.status, 200, "{v}: {}", r.text());
        }
    });
}

#[test]
fn statuses_errors_and_if_match_forms() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let r = send(t.request(Method::GET, "/enrollmentGroups/missing")).await;
        assert_error_shape(&r, 404, u64::from(codes::GROUP_NOT_FOUND));
        let r = send(t.request(Method::GET, "/enrollments/missing")).await;
        assert_error_shape(&r, 404, u64::from(codes::ENROLLMENT_NOT_FOUND));

        let created = send(
            t.request(Method::PUT, "/enrollmentGroups/st")
                .json(&sym_group("st")),
        )
        .await;
        assert_eq!(created.status, 200, "create is 200, never 201");
        assert_eq!(
            created.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            created.header("etag"),
            None,
            "the etag lives in the body only"
        );
        let etag = created.json()["etag"].as_str().expect("etag").to_owned();
        let quoted = format!("\"{etag}\"");
        let updated = send(
            t.request(Method::PUT, "/enrollmentGroups/st")
                .header("if-match", &quoted)
                .json(&sym_group("st")),
        )
        .await;
        assert_eq!(updated.status, 200, "quoted If-Match: {}", updated.text());
        let r = send(
            t.request(Method::PUT, "/enrollmentGroups/st")
                .header("if-match", &quoted)
                .json(&sym_group("st")),
        )
        .await;
        assert_error_shape(&r, 412, u64::from(codes::PRECONDITION_FAILED));

        let r = send(
            t.request(Method::PUT, "/enrollmentGroups/nothere")
                .header("if-match", &etag)
                .json(&sym_group("nothere")),
        )
        .await;
        assert_eq!(r.status, 412, "If-Match on a missing record: {}", r.text());
        let r = send(t.request(Method::GET, "/enrollmentGroups/nothere")).await;
        assert_eq!(r.status, 404, "not created");

        let current = updated.json()["etag"].as_str().expect("etag").to_owned();
        let r = send(
            t.request(Method::DELETE, "/enrollmentGroups/st")
                .header("if-match", format!("\"{current}\"")),
        )
        .await;
        assert_eq!(r.status, 204, "{}", r.text());
        assert!(r.body.is_empty());
        assert_eq!(r.header("content-type"), None);

        let r = send(t.request(Method::GET, "/nowhere/x")).await;
        assert_eq!(r.status, 404);
        let r = send(t.request(Method::PATCH, "/enrollmentGroups/st")).await;
        assert_eq!(r.status, 405, "{}", r.text());
    });
}

#[test]
fn unknown_fields_are_kept_and_odd_queries_accepted() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let mut body = sym_group("future");
        body["futureField"] = json!({"nested": [1, 2, {"deep": true}]});
        body["attestation"]["symmetricKey"] = json!({"laterKeyField": "x"});
        body["initialTwin"] =
            json!({"tags": {"a": {"b": 1}}, "properties": {"desired": {"d": "v"}}});
        let r = send(
            t.request(Method::PUT, "/enrollmentGroups/future")
                .json(&body),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        for got in [
            r.json(),
            send(t.request(Method::GET, "/enrollmentGroups/future"))
                .await
                .json(),
        ] {
            assert_eq!(got["futureField"], body["futureField"]);
            assert_eq!(got["attestation"]["symmetricKey"]["laterKeyField"], "x");
            assert_eq!(got["initialTwin"], body["initialTwin"]);
        }
        let cli = json!({"query": "{'additional_properties': {}, 'query': 'SELECT *'}"});
        for (path, spec) in [
            ("/enrollmentGroups/query", cli.clone()),
            ("/enrollments/query", cli),
            ("/enrollmentGroups/query", json!({"query": "select *"})),
            (
                "/enrollmentGroups/query",
                json!({"query": "SELECT * FROM enrollmentGroups"}),
            ),
        ] {
            let r = send(t.request(Method::POST, path).json(&spec)).await;
            assert_eq!(r.status, 200, "{spec}: {}", r.text());
            assert!(r.json().is_array());
        }
        let r = send(
            t.request(Method::POST, "/enrollmentGroups/query")
                .json(&json!({})),
        )
        .await;
        assert_eq!(r.status, 400, "a query needs a query string: {}", r.text());
    });
}
