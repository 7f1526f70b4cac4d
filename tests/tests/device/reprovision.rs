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

#[test]
fn a_deleted_registration_starts_a_new_history() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        let device = enroll(&t, "reborn", None).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment)
        );
        move_to(&service, "reborn", HUB_B).await;
        assert_eq!(
            register(&device).await,
            at(HUB_B, Substatus::DeviceDataMigrated)
        );
        service
            .delete_registration_state("reborn", None)
            .await
            .expect("deleted");
        // A new registration record: its first hub is HUB_B, and HUB_A is no longer "initial".
        assert_eq!(
            register(&device).await,
            at(HUB_B, Substatus::InitialAssignment)
        );
        move_to(&service, "reborn", HUB_A).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::DeviceDataMigrated)
        );
    });
}

#[test]
fn a_registration_stored_before_the_engine_keeps_its_initial_hub() {
    let t = TestEmulator::start_with(|c| {
        c.iot_hubs = vec![HUB_A.into(), HUB_B.into()];
        c.in_memory = false;
    });
    let (primary, _) = rt().block_on(async {
        let (primary, secondary) = symmetric_enrollment(&t.client(), "veteran", |e| {
            e.allocation_policy = Some(AllocationPolicy::Static);
            e.iot_hubs = Some(vec![HUB_A.into()]);
        })
        .await;
        let device = t.device(
            "veteran",
            DeviceAuth::SymmetricKey(Secret::from(primary.clone())),
        );
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::InitialAssignment)
        );
        (primary, secondary)
    });
    // Rewrite the state as an emulator before the registration engine stored it: the first hub
    // inside the registration document (`_initialHub`) and no history record.
    let TestEmulator { emulator, dir } = t;
    emulator.shutdown();
    let db = rusqlite::Connection::open(dir.path().join("state.db")).expect("state.db");
    db.execute("DELETE FROM records WHERE kind = 'device-history'", [])
        .expect("history removed");
    let body: String = db
        .query_row(
            "SELECT body FROM records WHERE kind = 'registration' AND id_lower = 'veteran'",
            [],
            |r| r.get(0),
        )
        .expect("registration");
    let mut body: serde_json::Value = serde_json::from_str(&body).expect("json");
    body["_initialHub"] = serde_json::json!(HUB_A);
    db.execute(
        "UPDATE records SET body = ?1 WHERE kind = 'registration' AND id_lower = 'veteran'",
        [body.to_string()],
    )
    .expect("legacy body");
    drop(db);
    let mut config = dps_emulator::EmulatorConfig::for_tests(dir.path());
    config.in_memory = false;
    config.iot_hubs = vec![HUB_A.into(), HUB_B.into()];
    let t = TestEmulator {
        emulator: dps_emulator::Emulator::spawn(config).expect("emulator restarts"),
        dir,
    };
    let service = t.client();
    rt().block_on(async {
        let device = t.device("veteran", DeviceAuth::SymmetricKey(Secret::from(primary)));
        move_to(&service, "veteran", HUB_B).await;
        assert_eq!(
            register(&device).await,
            at(HUB_B, Substatus::DeviceDataMigrated)
        );
        move_to(&service, "veteran", HUB_A).await;
        assert_eq!(
            register(&device).await,
            at(HUB_A, Substatus::ReprovisionedToInitialAssignment)
        );
        // The legacy field stays internal.
        let r = t
            .request_exact(
                reqwest::Method::GET,
                "/registrations/veteran?api-version=2021-10-01",
            )
            .send()
            .await
            .expect("state");
        assert!(!r.text().await.expect("body").contains("_initialHub"));
    });
}
