//! A record changed on the service between plan and apply is refused for that record alone
//! (ETag mismatch), never overwritten; the other records apply.

use super::common::{Fixture, assert_empty, items};
use dps_as_code::Action;
use dps_e2e::rt;

const FILE: &str = "enrollments:
  - registrationId: e1
    attestation: {type: symmetricKey}
    provisioningStatus: STATUS
  - registrationId: e2
    attestation: {type: symmetricKey}
    provisioningStatus: STATUS
  - registrationId: e3
    attestation: {type: symmetricKey}
    provisioningStatus: STATUS
enrollmentGroups:
  - enrollmentGroupId: g1
    attestation: {type: symmetricKey}
    provisioningStatus: STATUS
";

#[test]
fn a_record_changed_after_the_plan_is_refused_alone_and_keeps_its_change() {
    let f = Fixture::new();
    rt().block_on(async {
        let file = f.write("dps.yaml", &FILE.replace("STATUS", "enabled"));
        f.converge(std::slice::from_ref(&file)).await;

        f.write("dps.yaml", &FILE.replace("STATUS", "disabled"));
        let plan = f.plan(std::slice::from_ref(&file), false).await;
        assert_eq!(items(&plan, Action::Update).len(), 4, "{plan:#?}");

        // Someone else changes e2 and g1 after the plan read them.
        let mut e2 = f.client.get_enrollment("e2", None).await.expect("e2");
        e2.device_id = Some("changed-elsewhere".into());
        f.client
            .update_enrollment(&e2, None)
            .await
            .expect("e2 changed");
        let mut g1 = f.client.get_enrollment_group("g1", None).await.expect("g1");
        g1.iot_hubs = Some(vec!["other.azure-devices.net".into()]);
        f.client
            .update_enrollment_group(&g1, None)
            .await
            .expect("g1 changed");

        let report = f.apply(&plan).await;
        let outcome = |id: &str| {
            report
                .outcomes
                .iter()
                .find(|o| o.id == id)
                .unwrap_or_else(|| panic!("an outcome for {id}: {report:#?}"))
        };
        for id in ["e1", "e3"] {
            assert!(outcome(id).ok, "{report:#?}");
        }
        for id in ["e2", "g1"] {
            let o = outcome(id);
            assert!(!o.ok && o.conflict, "{id}: {report:#?}");
            assert_eq!(o.error_code.map(|c| c / 1000), Some(412), "{id}: {o:?}");
        }
        // The concurrent changes stand, and the planned ones were not written over them.
        let e2 = f.client.get_enrollment("e2", None).await.expect("e2");
        assert_eq!(e2.device_id.as_deref(), Some("changed-elsewhere"));
        assert_eq!(
            e2.provisioning_status.map(|s| s.to_string()).as_deref(),
            Some("enabled")
        );
        let g1 = f.client.get_enrollment_group("g1", None).await.expect("g1");
        assert_eq!(
            g1.iot_hubs,
            Some(vec!["other.azure-devices.net".to_owned()])
        );
        let e1 = f.client.get_enrollment("e1", None).await.expect("e1");
        assert_eq!(
            e1.provisioning_status.map(|s| s.to_string()).as_deref(),
            Some("disabled")
        );

        // A new plan reads the new ETags; the declared fields apply over the concurrent
        // change, which the file does not manage and so keeps.
        f.converge(std::slice::from_ref(&file)).await;
        assert_empty(&f.plan(std::slice::from_ref(&file), false).await);
        let e2 = f.client.get_enrollment("e2", None).await.expect("e2");
        assert_eq!(e2.device_id.as_deref(), Some("changed-elsewhere"));
    });
}

#[test]
fn a_deletion_planned_before_a_concurrent_change_is_refused() {
    let f = Fixture::new();
    rt().block_on(async {
        let file = f.write("dps.yaml", &FILE.replace("STATUS", "enabled"));
        f.converge(std::slice::from_ref(&file)).await;
        f.write(
            "dps.yaml",
            "enrollments:\n  - registrationId: e1\n    attestation: {type: symmetricKey}\n",
        );
        let plan = f.plan(std::slice::from_ref(&file), true).await;
        let deleted: Vec<String> = items(&plan, Action::Delete)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(deleted, ["g1", "e2", "e3"], "{plan:#?}");

        let mut e3 = f.client.get_enrollment("e3", None).await.expect("e3");
        e3.device_id = Some("still-wanted".into());
        f.client
            .update_enrollment(&e3, None)
            .await
            .expect("e3 changed");

        let report = f.apply(&plan).await;
        let failed: Vec<&str> = report
            .outcomes
            .iter()
            .filter(|o| !o.ok)
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(failed, ["e3"], "{report:#?}");
        assert!(report.outcomes.iter().any(|o| o.id == "e3" && o.conflict));
        f.client
            .get_enrollment("e3", None)
            .await
            .expect("e3 was not deleted");
        let gone = f
            .client
            .get_enrollment("e2", None)
            .await
            .expect_err("e2 deleted");
        assert_eq!(gone.status(), Some(404));
    });
}
