//! A thousand enrollments declared in one file: planned as creates, applied in bulk, and
//! planned again as unchanged.

use super::common::{Fixture, assert_unchanged, rt};
use dps_as_code::Action;
use std::fmt::Write as _;

#[test]
fn a_thousand_enrollments_from_one_file_apply_and_then_plan_empty() {
    let mut f = Fixture::new();
    f.var("FLEET_KEY", "c2NhbGUgdGVzdCBzaGFyZWQgZGV2aWNlIGtleSE=");
    let mut text = String::from("enrollments:\n");
    for n in 0..1000 {
        let _ = write!(
            text,
            "  - registrationId: device-{n:04}\n    attestation: {{type: symmetricKey}}\n"
        );
        match n % 4 {
            0 => {
                let _ = write!(
                    text,
                    "    iotHubs: [hub{}.azure-devices.net]\n    initialTwin:\n      tags: {{batch: {}}}\n",
                    n % 2,
                    n / 100
                );
            }
            1 => text.push_str("    provisioningStatus: disabled\n"),
            // Keys the file gives (the plan compares them with the service's).
            2 => text.replace_range(
                text.len() - "{type: symmetricKey}\n".len()..,
                "{type: symmetricKey, symmetricKey: {primaryKey: \"${FLEET_KEY}\"}}\n",
            ),
            _ => {}
        }
    }
    let file = f.write("fleet.yaml", &text);
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        let plan = f.plan(files, false).await;
        assert_eq!(plan.summary.create, 1000, "{}", plan.summary_line());
        assert!(plan.items.iter().all(|i| i.action == Action::Create));
        let report = f.apply(&plan).await;
        assert_eq!(report.outcomes.len(), 1000);
        assert_eq!(report.failed(), 0, "{report:#?}");
        let again = f.plan(files, false).await;
        assert_unchanged(&again);
        assert_eq!(again.summary.unchanged, 1000);
    });
}
