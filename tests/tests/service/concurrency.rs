//! Concurrent writers: conditional writes and creates have exactly one winner.

use dps_e2e::{TestEmulator, rt};
use dps_protocol::models::{EnrollmentGroup, IndividualEnrollment, ProvisioningStatus};
use dps_service_client::ErrorKind;
use futures_util::future::join_all;

#[test]
fn one_conditional_update_wins() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let base = client
            .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("race", None), None)
            .await
            .expect("created");
        let attempts = (0..12).map(|i| {
            let client = client.clone();
            let mut edit = base.clone();
            edit.iot_hub_host_name = Some(format!("hub-{i}.azure-devices.net"));
            async move { client.update_enrollment_group(&edit, None).await }
        });
        let results = join_all(attempts).await;
        let winners: Vec<EnrollmentGroup> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one update with the same etag wins"
        );
        for r in &results {
            if let Err(e) = r {
                assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");
            }
        }
        let now = client
            .get_enrollment_group("race", None)
            .await
            .expect("get");
        assert_eq!(now.etag, winners[0].etag);
        assert_eq!(now.iot_hub_host_name, winners[0].iot_hub_host_name);
    });
}

#[test]
fn one_create_wins() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let attempts = (0..12).map(|i| {
            let client = client.clone();
            let mut e = IndividualEnrollment::symmetric_key("contested", None);
            e.device_id = Some(format!("device-{i}"));
            async move { client.create_enrollment(&e, None).await }
        });
        let results = join_all(attempts).await;
        let won: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(won.len(), 1, "{results:?}");
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| e.kind() == ErrorKind::Conflict),
            "{results:?}"
        );
    });
}

#[test]
fn concurrent_unconditional_writes_all_land() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let writes = (0..20).map(|i| {
            let client = client.clone();
            let mut e = IndividualEnrollment::symmetric_key(format!("par-{i:02}"), None);
            e.provisioning_status = Some(ProvisioningStatus::Disabled);
            async move { client.create_or_update_enrollment(&e, None).await }
        });
        for r in join_all(writes).await {
            r.expect("written");
        }
        for i in 0..20 {
            let e = client
                .get_enrollment(&format!("par-{i:02}"), None)
                .await
                .expect("stored");
            assert_eq!(e.provisioning_status, Some(ProvisioningStatus::Disabled));
        }
    });
}
