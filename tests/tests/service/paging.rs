//! Queries: pages and continuation tokens through the SDK, and the paging headers on the wire.

use dps_e2e::{TestEmulator, rt, send};
use dps_protocol::models::{BulkMode, EnrollmentGroup, IndividualEnrollment, QuerySpecification};
use dps_service_client::QueryOptions;
use futures_util::TryStreamExt;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("page-dev-{i:02}")).collect()
}

#[test]
fn twenty_five_enrollments_in_pages_of_ten() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let records = ids(25)
            .into_iter()
            .map(|id| IndividualEnrollment::symmetric_key(id, None))
            .collect();
        let result = client
            .run_bulk_enrollment_operation(BulkMode::Create, records, None)
            .await
            .expect("bulk create");
        assert!(result.is_successful, "{:?}", result.errors);

        let spec = QuerySpecification::all();
        let options = || Some(QueryOptions::default().with_page_size(10));
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let page = client
                .query_enrollments_page(&spec, token.as_deref(), options())
                .await
                .expect("page");
            assert_eq!(page.item_type.as_deref(), Some("Enrollment"));
            sizes.push(page.items.len());
            seen.extend(page.items.into_iter().map(|e| e.registration_id));
            match page.continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
            assert!(sizes.len() < 5, "runaway paging");
        }
        assert_eq!(sizes, [10, 10, 5]);
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        assert_eq!((seen.len(), unique.len()), (25, 25));

        let streamed: Vec<IndividualEnrollment> = client
            .query_enrollments(spec, options())
            .try_collect()
            .await
            .expect("stream");
        let streamed: Vec<String> = streamed.into_iter().map(|e| e.registration_id).collect();
        let unique: BTreeSet<_> = streamed.iter().cloned().collect();
        assert_eq!(streamed.len(), 25, "each exactly once");
        assert_eq!(unique, ids(25).into_iter().collect());
    });
}

#[test]
fn groups_page_too() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        for i in 0..3 {
            let g = EnrollmentGroup::symmetric_key(format!("g{i}"), None);
            client
                .create_or_update_enrollment_group(&g, None)
                .await
                .expect("created");
        }
        let page = client
            .query_enrollment_groups_page(
                &QuerySpecification::new("SELECT * FROM enrollmentGroups"),
                None,
                Some(QueryOptions::default().with_page_size(2)),
            )
            .await
            .expect("page");
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.item_type.as_deref(), Some("EnrollmentGroup"));
        let all: Vec<EnrollmentGroup> = client
            .query_enrollment_groups(
                QuerySpecification::all(),
                Some(QueryOptions::default().with_page_size(2)),
            )
            .try_collect()
            .await
            .expect("stream");
        assert_eq!(all.len(), 3);
    });
}

#[test]
fn item_types_and_continuation_on_the_wire() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        for id in ["w1", "w2", "w3"] {
            let e = IndividualEnrollment::symmetric_key(id, None);
            client
                .create_or_update_enrollment(&e, None)
                .await
                .expect("created");
        }
        let g = EnrollmentGroup::symmetric_key("wg", None);
        client
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("created");

        let spec = json!({"query": "*"});
        let r = send(t.request(Method::POST, "/enrollments/query").json(&spec)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-ms-item-type"), Some("Enrollment"));
        assert_eq!(r.header("x-ms-continuation"), None, "one page: no token");
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.json().as_array().map(Vec::len), Some(3), "a bare array");

        let r = send(
            t.request(Method::POST, "/enrollmentGroups/query")
                .json(&spec),
        )
        .await;
        assert_eq!(r.header("x-ms-item-type"), Some("EnrollmentGroup"));
        assert_eq!(r.json().as_array().map(Vec::len), Some(1));

        // The preview SDK and the CLI send no body here.
        let r = send(
            t.request(Method::POST, "/registrations/wg/query")
                .header("content-length", "0"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-ms-item-type"), Some("DeviceRegistration"));
        assert_eq!(r.header("x-ms-continuation"), None);
        assert_eq!(r.json(), json!([]));

        // Node sends a body; a page size as a string; the token back as given.
        let r = send(
            t.request(Method::POST, "/registrations/wg/query")
                .json(&spec)
                .header("x-ms-max-item-count", "2"),
        )
        .await;
        assert_eq!(r.status, 200);
        let first = send(
            t.request(Method::POST, "/enrollments/query")
                .json(&spec)
                .header("x-ms-max-item-count", "2"),
        )
        .await;
        let token = first
            .header("x-ms-continuation")
            .expect("more pages")
            .to_owned();
        assert!(!token.is_empty());
        let second = send(
            t.request(Method::POST, "/enrollments/query")
                .json(&spec)
                .header("x-ms-max-item-count", "2")
                .header("x-ms-continuation", &token),
        )
        .await;
        assert_eq!(second.json().as_array().map(Vec::len), Some(1));
        assert_eq!(
            second.header("x-ms-continuation"),
            None,
            "never empty, absent at the end"
        );
    });
}
