//! A thousand enrollments from one file: planned, applied in bulk, planned again as empty.

use super::common::{Fixture, assert_empty};
use dps_e2e::rt;
use std::fmt::Write as _;

#[test]
fn a_thousand_enrollments_apply_and_then_plan_empty() {
    let f = Fixture::new();
    let mut text = String::from("enrollments:\n");
    for n in 0..1000 {
        let _ = write!(
            text,
            "  - registrationId: device-{n:04}\n    attestation: {{type: symmetricKey}}\n"
        );
        if n % 3 == 0 {
            let _ = write!(
                text,
                "    iotHubs: [hub{}.azure-devices.net]\n    initialTwin:\n      tags: {{batch: {}}}\n",
                n % 2,
                n / 100
            );
        }
    }
    let file = f.write("fleet.yaml", &text);
    rt().block_on(async {
        let plan = f.plan(std::slice::from_ref(&file), false).await;
        assert_eq!(plan.summary.create, 1000, "{}", plan.summary_line());
        let report = f.apply(&plan).await;
        assert_eq!(report.outcomes.len(), 1000);
        assert_eq!(report.failed(), 0, "{report:#?}");
        let again = f.plan(std::slice::from_ref(&file), false).await;
        assert_empty(&again);
        assert_eq!(again.summary.unchanged, 1000);
    });
}
