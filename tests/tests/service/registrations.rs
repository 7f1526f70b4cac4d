//! Registration states made by real device registrations, read through the service API:
//! queries by group with paging, get, conditional delete, no cascade from the group.

use dps_device_client::DeviceAuth;
use dps_e2e::{TestEmulator, rt, send};
use dps_protocol::auth::{Secret, derive_device_key};
use dps_protocol::codes;
use dps_protocol::models::{DeviceRegistrationState, EnrollmentGroup, RegistrationStatus};
use dps_service_client::{ConditionalOptions, ErrorKind, ProvisioningServiceClient, QueryOptions};
use futures_util::TryStreamExt;
use reqwest::Method;
use std::collections::BTreeSet;

/// Creates a symmetric-key group and returns its primary key.
async fn group(client: &ProvisioningServiceClient, id: &str) -> Secret {
    let g = client
        .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key(id, None), None)
        .await
        .expect("group");
    let key = g
        .attestation
        .symmetric_key
        .and_then(|k| k.primary_key)
        .expect("key");
    Secret::from(key)
}

async fn register(t: &TestEmulator, group_key: &Secret, id: &str) -> Option<String> {
    let key = derive_device_key(group_key, id).expect("derived key");
    let r = t
        .device(id, DeviceAuth::SymmetricKey(key))
        .register(None)
        .await
        .expect("registered");
    assert_eq!(r.status, RegistrationStatus::Assigned);
    r.etag
}

#[test]
fn registrations_of_a_group_page_and_delete() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let fleet = group(&client, "Fleet").await;
        let other = group(&client, "other").await;
        let ids: Vec<String> = (0..12).map(|i| format!("fleet-dev-{i:02}")).collect();
        for id in &ids {
            register(&t, &fleet, id).await;
        }
        register(&t, &other, "loner").await;

        let mut sizes = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .query_registration_states_page(
                    "fleet",
                    token.as_deref(),
                    Some(QueryOptions::default().with_page_size(5)),
                )
                .await
                .expect("page");
            assert_eq!(page.item_type.as_deref(), Some("DeviceRegistration"));
            sizes.push(page.items.len());
            token = page.continuation_token;
            if token.is_none() || sizes.len() > 4 {
                break;
            }
        }
        assert_eq!(sizes, [5, 5, 2]);
        let all: Vec<DeviceRegistrationState> = client
            .query_registration_states("FLEET", Some(QueryOptions::default().with_page_size(5)))
            .try_collect()
            .await
            .expect("stream");
        let got: BTreeSet<String> = all.iter().map(|s| s.registration_id.clone()).collect();
        assert_eq!(
            (all.len(), got),
            (12, ids.iter().cloned().collect()),
            "only this group's, once each"
        );
        assert!(all.iter().all(|s| s.status == RegistrationStatus::Assigned));

        let r = send(t.request(Method::POST, "/registrations/other/query")).await;
        assert_eq!(r.header("x-ms-item-type"), Some("DeviceRegistration"));
        assert_eq!(r.json()[0]["registrationId"], "loner");

        // Re-registering writes a new state, so the first etag is stale.
        let first = client
            .get_registration_state("fleet-dev-00", None)
            .await
            .expect("state");
        let second = register(&t, &fleet, "fleet-dev-00").await;
        assert_ne!(second, first.etag);
        let stale = first
            .etag
            .clone()
            .map(|etag| ConditionalOptions::default().with_if_match(etag));
        let e = client
            .delete_registration_state("fleet-dev-00", stale)
            .await
            .expect_err("stale etag");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::PreconditionFailed, Some(412))
        );
        let current = second.map(|etag| ConditionalOptions::default().with_if_match(etag));
        client
            .delete_registration_state("FLEET-DEV-00", current)
            .await
            .expect("deleted with its etag");
        let e = client
            .get_registration_state("fleet-dev-00", None)
            .await
            .expect_err("gone");
        assert_eq!(e.code(), Some(codes::REGISTRATION_NOT_FOUND));
        let r = send(t.request(Method::DELETE, "/registrations/fleet-dev-01")).await;
        assert_eq!((r.status, r.body.len()), (204, 0));

        // Deleting the group leaves its devices' registration states alone.
        client
            .delete_enrollment_group("fleet", None)
            .await
            .expect("group deleted");
        let left: Vec<DeviceRegistrationState> = client
            .query_registration_states("fleet", None)
            .try_collect()
            .await
            .expect("stream");
        assert_eq!(left.len(), 10);
    });
}
