//! `--prune`: what the files do not declare is deleted only when asked, and deleting a group
//! with device registrations is flagged in the plan.

use super::common::{Fixture, assert_empty, items};
use dps_as_code::Action;
use dps_device_client::DeviceAuth;
use dps_e2e::rt;
use dps_protocol::auth::Secret;

#[test]
fn undeclared_records_are_kept_without_prune_and_deleted_with_it_and_registrations_warn() {
    let mut f = Fixture::new();
    let key = "ZHBzLXJzIGFzLWNvZGUgcHJ1bmUgZ3JvdXAga2V5ISE=";
    f.var("FLEET_KEY", key);
    let both = f.write(
        "dps.yaml",
        "enrollmentGroups:
  - enrollmentGroupId: fleet
    attestation:
      type: symmetricKey
      symmetricKey:
        primaryKey: ${FLEET_KEY}
  - enrollmentGroupId: spare
    attestation: {type: symmetricKey}
",
    );
    rt().block_on(async {
        f.converge(std::slice::from_ref(&both)).await;
        let device = f.t.device(
            "truck-1",
            DeviceAuth::GroupKey(Secret::from(key.to_owned())),
        );
        device.register(None).await.expect("the device registers");

        let none = f.write("none.yaml", "enrollments: []\n");
        let kept = f.plan(std::slice::from_ref(&none), false).await;
        assert!(kept.is_empty(), "{}", kept.summary_line());
        assert_eq!(kept.summary.not_declared, 2);
        assert!(f.apply(&kept).await.outcomes.is_empty());

        let pruned = f.plan(std::slice::from_ref(&none), true).await;
        assert_eq!(items(&pruned, Action::Delete).len(), 2);
        let warned: Vec<(&str, usize)> = pruned
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.warnings.len()))
            .collect();
        assert_eq!(warned, [("fleet", 1), ("spare", 0)], "{pruned:#?}");
        assert!(pruned.items[0].warnings[0].contains("registrations"));
        let report = f.apply(&pruned).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert_empty(&f.plan(std::slice::from_ref(&none), true).await);
    });
}
