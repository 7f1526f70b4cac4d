//! Records the files do not declare (CA certificates, groups, enrollments): kept
//! (NotDeclared) without prune, deleted with it; a group with a device registration to delete
//! gets a warning.

use super::common::{Fixture, assert_unchanged, certificate, items, rt};
use dps_as_code::Action;
use dps_certgen::Profile;
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient};
use dps_protocol::auth::Secret;
use std::time::Duration;

const FLEET_KEY: &str = "cHJ1bmUgdGVzdCBmbGVldCBncm91cCBrZXkhIQ==";

const ALL: &str = "enrollmentGroups:
  - enrollmentGroupId: fleet
    attestation: {type: symmetricKey, symmetricKey: {primaryKey: \"${FLEET_KEY}\"}}
  - enrollmentGroupId: spare
    attestation: {type: symmetricKey}
enrollments:
  - registrationId: kept
    attestation: {type: symmetricKey}
  - registrationId: extra-1
    attestation: {type: symmetricKey}
  - registrationId: extra-2
    attestation: {type: symmetricKey}
";

#[test]
fn undeclared_records_are_kept_without_prune_and_deleted_with_it() {
    let mut f = Fixture::new();
    f.var("FLEET_KEY", FLEET_KEY);
    let all = f.write("all.yaml", ALL);
    let some = f.write(
        "some.yaml",
        "enrollments:\n  - registrationId: kept\n    attestation: {type: symmetricKey}\n",
    );
    rt().block_on(async {
        f.converge(std::slice::from_ref(&all)).await;
        let ca = certificate(f.dir.path(), "old", Profile::RootCa, None, None);
        f.certs
            .create_or_update("old-ca", ca.text().as_bytes(), None)
            .await
            .expect("a CA certificate");
        // A device registers through the group.
        let device = ProvisioningDeviceClient::new(
            &f.emulator.device_endpoint(),
            f.emulator.id_scope(),
            "truck-1",
            DeviceAuth::GroupKey(Secret::from(FLEET_KEY.to_owned())),
            Some(DeviceClientOptions {
                trusted_ca_pem: vec![f.emulator.ca_pem().as_bytes().to_vec()],
                trust_only_custom_ca: true,
                default_poll_interval: Duration::from_millis(10),
                ..DeviceClientOptions::default()
            }),
        )
        .expect("device client");
        device.register(None).await.expect("the device registers");

        let kept = f.plan(std::slice::from_ref(&some), false).await;
        assert!(kept.is_empty(), "{}", kept.summary_line());
        let not_declared = items(&kept, Action::NotDeclared);
        let ids: Vec<&str> = not_declared.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["old-ca", "fleet", "spare", "extra-1", "extra-2"],
            "{kept:#?}"
        );
        assert!(kept.items.iter().all(|i| i.warnings.is_empty()));
        assert!(f.apply(&kept).await.outcomes.is_empty());
        let live = dps_as_code::live::read(&f.client, None, 100)
            .await
            .expect("live");
        assert_eq!((live.groups.len(), live.enrollments.len()), (2, 3));

        let pruned = f.plan(std::slice::from_ref(&some), true).await;
        assert!(!pruned.is_empty());
        let deletes: Vec<(&str, usize)> = pruned
            .items
            .iter()
            .filter(|i| i.action == Action::Delete)
            .map(|i| (i.id.as_str(), i.warnings.len()))
            .collect();
        assert_eq!(
            deletes,
            [
                ("old-ca", 0),
                ("fleet", 1),
                ("spare", 0),
                ("extra-1", 0),
                ("extra-2", 0)
            ],
            "{pruned:#?}"
        );
        let fleet = pruned
            .items
            .iter()
            .find(|i| i.id == "fleet")
            .expect("fleet");
        assert!(fleet.warnings[0].contains("registrations"), "{fleet:?}");
        let report = f.apply(&pruned).await;
        assert_eq!(report.outcomes.len(), 5, "{report:#?}");
        assert_eq!(report.failed(), 0, "{report:#?}");
        let live = dps_as_code::live::read(&f.client, None, 100)
            .await
            .expect("live");
        assert_eq!((live.groups.len(), live.enrollments.len()), (0, 1));
        let gone = f.certs.get("old-ca", None).await.expect_err("deleted");
        assert_eq!(gone.status(), Some(404));
        assert_unchanged(&f.plan(std::slice::from_ref(&some), true).await);
    });
}
