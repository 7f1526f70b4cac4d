//! Repeat registrations under the reprovisioning policy: the enrollment is moved to another
//! linked hub between registrations and the substatus tells what happened to the device data.

use super::common::{HUB_A, HUB_B, symmetric_enrollment};
use dps_device_client::{DeviceAuth, ProvisioningDeviceClient};
use dps_e2e::{TestEmulator, rt};
use dps_protocol::auth::Secret;
use dps_protocol::models::{AllocationPolicy, ReprovisionPolicy, Substatus};
use dps_service_client::ProvisioningServiceClient;

fn two_hubs() -> TestEmulator {
    TestEmulator::start_with(|c| c.iot_hubs = vec![HUB_A.into(), HUB_B.into()])
}

/// Enrolls `id` with static allocation to `HUB_A` and `policy`; returns its device client.
async fn enroll(
    t: &TestEmulator,
    id: &str,
    policy: Option<ReprovisionPolicy>,
) -> ProvisioningDeviceClient {
    let (primary, _) = symmetric_enrollment(&t.client(), id, |e| {
        e.allocation_policy = Some(AllocationPolicy::Static);
        e.iot_hubs = Some(vec![HUB_A.into()]);
        e.reprovision_policy = policy;
    })
    .await;
    t.device(id, DeviceAuth::SymmetricKey(Secret::from(primary)))
}

/// Points the enrollment at `hub` (read, modify, conditional write).
async fn move_to(service: &ProvisioningServiceClient, id: &str, hub: &str) {
    let mut e = service.get_enrollment(id, None).await.expect("enrollment");
    e.iot_hubs = Some(vec![hub.to_owned()]);
    e.registration_state = None;
    service.update_enrollment(&e, None).await.expect("updated");
}

async fn register(device: &ProvisioningDeviceClient) -> (String, Substatus) {
    let r = device.register(None).await.expect("assigned");
    (
        r.assigned_hub.expect("hub"),
        r.substatus.expect("substatus"),
    )
}

fn at(hub: &str, substatus: Substatus) -> (String, Substatus) {
    (hub.to_owned(), substatus)
}

#[test]
fn the_default_policy_migrates_data_and_knows_the_initial_hub() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        let device = enroll(&t, "roamer", None).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment)
        );
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment),
            "same hub"
        );
        let before = service
            .get_registration_state("roamer", None)
            .await
            .expect("state");

        move_to(&service, "roamer", HUB_B).await;
        assert_eq!(
            register(&device).await,
            at(HUB_B, Substatus::DeviceDataMigrated)
        );
        let after = service
            .get_registration_state("roamer", None)
            .await
            .expect("state");
        assert_eq!(after.assigned_hub.as_deref(), Some(HUB_B));
        assert_eq!(after.substatus, Some(Substatus::DeviceDataMigrated));
        assert_eq!(after.created_date_time_utc, before.created_date_time_utc);
        assert_ne!(after.etag, before.etag);
        let enrollment = service
            .get_enrollment("roamer", None)
            .await
            .expect("enrollment");
        let shown = enrollment.registration_state.expect("registrationState");
        assert_eq!(shown.assigned_hub.as_deref(), Some(HUB_B));

        move_to(&service, "roamer", HUB_A).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::ReprovisionedToInitialAssignment)
        );
    });
}

#[test]
fn migrate_device_data_false_resets_the_device_data() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        let policy = ReprovisionPolicy {
            migrate_device_data: false,
            ..Default::default()
        };
        let device = enroll(&t, "resetter", Some(policy)).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment)
        );
        move_to(&service, "resetter", HUB_B).await;
        assert_eq!(
            register(&device).await,
            at(HUB_B, Substatus::DeviceDataReset)
        );
        let state = service
            .get_registration_state("resetter", None)
            .await
            .expect("state");
        assert_eq!(state.substatus, Some(Substatus::DeviceDataReset));
    });
}

#[test]
fn update_hub_assignment_false_keeps_the_first_hub() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        let policy = ReprovisionPolicy {
            update_hub_assignment: false,
            ..Default::default()
        };
        let device = enroll(&t, "stayer", Some(policy)).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment)
        );
        move_to(&service, "stayer", HUB_B).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment)
        );
        let state = service
            .get_registration_state("stayer", None)
            .await
            .expect("state");
        assert_eq!(state.assigned_hub.as_deref(), Some(HUB_A));
    });
}
