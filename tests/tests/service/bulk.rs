//! Bulk operations: per-item results in input order across the SDK's chunks of 10, every mode,
//! and the request limits on the wire.

use dps_e2e::{TestEmulator, rt, send};
use dps_protocol::codes;
use dps_protocol::models::{BulkMode, EnrollmentGroup, IndividualEnrollment, QuerySpecification};
use futures_util::TryStreamExt;
use reqwest::Method;
use serde_json::json;

fn enrollment(id: &str) -> IndividualEnrollment {
    IndividualEnrollment::symmetric_key(id, None)
}

#[test]
fn create_update_and_delete_23_items() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let ids: Vec<String> = (0..23).map(|i| format!("bulk-{i:02}")).collect();
        let existing = ["bulk-02", "bulk-07", "bulk-11", "bulk-15", "bulk-22"];
        for id in existing {
            client
                .create_or_update_enrollment(&enrollment(id), None)
                .await
                .expect("created");
        }
        let all = || ids.iter().map(|id| enrollment(id)).collect::<Vec<_>>();

        let created = client
            .run_bulk_enrollment_operation(BulkMode::Create, all(), None)
            .await
            .expect("bulk create");
        assert!(!created.is_successful);
        let failed: Vec<&str> = created
            .errors
            .iter()
            .map(|e| e.registration_id.as_str())
            .collect();
        assert_eq!(failed, existing, "errors in input order");
        assert!(
            created
                .errors
                .iter()
                .all(|e| e.error_code == codes::ALREADY_EXISTS),
            "{:?}",
            created.errors
        );
        let listed: Vec<IndividualEnrollment> = client
            .query_enrollments(QuerySpecification::all(), None)
            .try_collect()
            .await
            .expect("query");
        assert_eq!(listed.len(), 23);

        let updated = client
            .run_bulk_enrollment_operation(BulkMode::Update, all(), None)
            .await
            .expect("bulk update");
        assert!(
            updated.is_successful && updated.errors.is_empty(),
            "{:?}",
            updated.errors
        );

        // `listed` holds the etags from before the update: all stale now.
        let stale: Vec<IndividualEnrollment> = listed.iter().take(3).cloned().collect();
        let refused = client
            .run_bulk_enrollment_operation(BulkMode::UpdateIfMatchETag, stale.clone(), None)
            .await
            .expect("bulk updateIfMatchETag");
        assert!(!refused.is_successful);
        assert_eq!(refused.errors.len(), 3);
        for (e, sent) in refused.errors.iter().zip(&stale) {
            assert_eq!(e.registration_id, sent.registration_id);
            assert_eq!(e.error_code / 1000, 412, "{e:?}");
        }
        let fresh = client
            .get_enrollment(&stale[0].registration_id, None)
            .await
            .expect("get");
        let ok = client
            .run_bulk_enrollment_operation(BulkMode::UpdateIfMatchETag, vec![fresh], None)
            .await
            .expect("bulk updateIfMatchETag");
        assert!(ok.is_successful, "{:?}", ok.errors);

        let mut doomed = vec![
            enrollment("bulk-00"),
            enrollment("no-such-device"),
            enrollment("bulk-01"),
        ];
        doomed[0].etag = None;
        let deleted = client
            .run_bulk_enrollment_operation(BulkMode::Delete, doomed, None)
            .await
            .expect("bulk delete");
        assert!(!deleted.is_successful);
        assert_eq!(deleted.errors.len(), 1);
        assert_eq!(deleted.errors[0].registration_id, "no-such-device");
        assert_eq!(deleted.errors[0].error_code, codes::ENROLLMENT_NOT_FOUND);
        for id in ["bulk-00", "bulk-01"] {
            let e = client.get_enrollment(id, None).await.expect_err("deleted");
            assert_eq!(e.code(), Some(codes::ENROLLMENT_NOT_FOUND));
        }
        client
            .get_enrollment("bulk-02", None)
            .await
            .expect("untouched");
    });
}

#[test]
fn group_bulk_reports_group_ids() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let g = |id: &str| EnrollmentGroup::symmetric_key(id, None);
        client
            .create_or_update_enrollment_group(&g("old"), None)
            .await
            .expect("created");
        let r = client
            .run_bulk_enrollment_group_operation(BulkMode::Create, vec![g("new"), g("old")], None)
            .await
            .expect("bulk");
        assert!(!r.is_successful);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(
            (
                r.errors[0].enrollment_group_id.as_str(),
                r.errors[0].error_code
            ),
            ("old", i64::from(codes::ALREADY_EXISTS))
        );
        client
            .get_enrollment_group("new", None)
            .await
            .expect("created by bulk");
    });
}

#[test]
fn bulk_limits_on_the_wire() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let item = |i: usize| json!({"registrationId": format!("raw-{i}"), "attestation": {"type": "symmetricKey"}});
        let eleven: Vec<_> = (0..11).map(item).collect();
        for body in [
            json!({"mode": "create", "enrollments": eleven}),
            json!({"mode": "create", "enrollments": []}),
            json!({"mode": "upsert", "enrollments": [item(1)]}),
            json!({"enrollments": [item(1)]}),
            json!({"mode": "create"}),
        ] {
            let r = send(t.request(Method::POST, "/enrollments").json(&body)).await;
            assert_eq!(r.status, 400, "{body}: {}", r.text());
            assert_eq!(r.json()["errorCode"].as_u64().map(|c| c / 1000), Some(400));
        }
        let ten: Vec<_> = (0..10).map(item).collect();
        let r = send(t.request(Method::POST, "/enrollments").json(&json!({"mode": "create", "enrollments": ten}))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!({"isSuccessful": true, "errors": []}));
        // Valid request, failing items: still 200.
        let again = json!({"mode": "create", "enrollments": [item(3)]});
        let r = send(t.request(Method::POST, "/enrollments").json(&again)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["errors"][0]["registrationId"], "raw-3");
        assert_eq!(r.json()["errors"][0]["errorCode"], codes::ALREADY_EXISTS);
        assert!(r.json()["errors"][0]["errorStatus"].is_string());
    });
}
