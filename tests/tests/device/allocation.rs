//! Allocation across linked hubs: hashed (and geoLatency, hashed locally) spreading 20 devices
//! over two hubs stably, the enrollment's own hub list, and static allocation.

use super::common::{HUB_A, HUB_B, registrations_of, symmetric_group};
use dps_device_client::DeviceAuth;
use dps_e2e::{TestEmulator, rt};
use dps_protocol::auth::Secret;
use dps_protocol::models::{AllocationPolicy, Substatus};
use std::collections::{BTreeMap, BTreeSet};

fn two_hubs() -> TestEmulator {
    TestEmulator::start_with(|c| c.iot_hubs = vec![HUB_A.into(), HUB_B.into()])
}

/// Registers `ids` with `group_key`; returns each device's hub, checking the substatus.
async fn register_all(
    t: &TestEmulator,
    group_key: &str,
    ids: &[String],
    expected: Substatus,
) -> BTreeMap<String, String> {
    let mut hubs = BTreeMap::new();
    for id in ids {
        let device = t.device(id, DeviceAuth::GroupKey(Secret::from(group_key.to_owned())));
        let r = device.register(None).await.expect("assigned");
        assert_eq!(r.substatus.as_ref(), Some(&expected), "{id}");
        assert_eq!(r.device_id.as_deref(), Some(id.as_str()));
        hubs.insert(id.clone(), r.assigned_hub.expect("hub"));
    }
    hubs
}

#[test]
fn hashed_and_geo_latency_spread_devices_over_both_hubs_stably() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        for (group, policy) in [
            ("hashed", AllocationPolicy::Hashed),
            ("geo", AllocationPolicy::GeoLatency),
        ] {
            let key =
                symmetric_group(&service, group, |g| g.allocation_policy = Some(policy)).await;
            let ids: Vec<String> = (0..20).map(|i| format!("{group}-device-{i:02}")).collect();
            let first = register_all(&t, &key, &ids, Substatus::InitialAssignment).await;
            let used: BTreeSet<&str> = first.values().map(String::as_str).collect();
            assert_eq!(
                used,
                BTreeSet::from([HUB_A, HUB_B]),
                "{group}: both hubs get devices: {first:?}"
            );
            let again = register_all(&t, &key, &ids, Substatus::InitialAssignment).await;
            assert_eq!(again, first, "{group}: every device keeps its hub");

            let states = registrations_of(&service, group).await;
            assert_eq!(states.len(), 20);
            for s in states {
                assert_eq!(
                    s.assigned_hub.as_ref(),
                    first.get(&s.registration_id),
                    "{}",
                    s.registration_id
                );
            }
        }
    });
}

#[test]
fn the_enrollment_hub_list_limits_hashed_allocation() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        let key = symmetric_group(&service, "only-b", |g| {
            g.allocation_policy = Some(AllocationPolicy::Hashed);
            g.iot_hubs = Some(vec![HUB_B.into()]);
        })
        .await;
        let ids: Vec<String> = (0..6).map(|i| format!("b-device-{i}")).collect();
        let hubs = register_all(&t, &key, &ids, Substatus::InitialAssignment).await;
        assert!(hubs.values().all(|h| h == HUB_B), "{hubs:?}");
    });
}

#[test]
fn static_allocation_uses_the_named_hub() {
    let t = two_hubs();
    let service = t.client();
    rt().block_on(async {
        let by_name = symmetric_group(&service, "static-name", |g| {
            g.allocation_policy = Some(AllocationPolicy::Static);
            g.iot_hub_host_name = Some(HUB_B.into());
        })
        .await;
        let by_list = symmetric_group(&service, "static-list", |g| {
            g.allocation_policy = Some(AllocationPolicy::Static);
            g.iot_hubs = Some(vec![HUB_B.into()]);
        })
        .await;
        for (key, prefix) in [(by_name, "name"), (by_list, "list")] {
            let ids: Vec<String> = (0..4).map(|i| format!("{prefix}-device-{i}")).collect();
            let hubs = register_all(&t, &key, &ids, Substatus::InitialAssignment).await;
            assert!(hubs.values().all(|h| h == HUB_B), "{prefix}: {hubs:?}");
        }
    });
}
