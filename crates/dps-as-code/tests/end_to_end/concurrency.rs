//! A record changed on the service between plan and apply is refused for that record alone
//! (the ETag the plan read no longer matches), never overwritten; the others apply.

use super::common::{Fixture, assert_unchanged, rt};
use super::scenario::write_base;
use dps_as_code::{Action, Kind};
use dps_service_client::CertificateUploadOptions;

#[test]
fn a_record_changed_between_plan_and_apply_is_refused_alone_and_keeps_its_change() {
    let mut f = Fixture::new();
    let file = write_base(&mut f);
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        f.converge(files).await;
        // Every enrollment and group disabled, a CA certificate replaced, dev-tpm no longer
        // declared (deleted: the plan prunes).
        let text = super::scenario::base_file()
            .replace(
                "    provisioningStatus: enabled\n  - enrollmentGroupId: keys",
                "    provisioningStatus: disabled\n  - enrollmentGroupId: keys",
            )
            .replace("allocationPolicy: hashed", "allocationPolicy: geoLatency")
            .replace("{iotEdge: false}", "{iotEdge: true}")
            .replace("{model: m1}", "{model: m2}")
            .replace("migrateDeviceData: true", "migrateDeviceData: false")
            .replace("{file: second.cert.pem}", "{file: second2.cert.pem}");
        let text = text
            .split("  - registrationId: dev-tpm")
            .next()
            .expect("file")
            .to_owned();
        f.write("dps.yaml", &text);
        let plan = f.plan(files, true).await;
        let planned: Vec<(Kind, &str, Action)> = plan
            .items
            .iter()
            .filter(|i| i.action != Action::Unchanged)
            .map(|i| (i.kind, i.id.as_str(), i.action))
            .collect();
        assert_eq!(
            planned,
            [
                (Kind::Certificate, "second", Action::Update),
                (Kind::EnrollmentGroup, "by-ca", Action::Update),
                (Kind::EnrollmentGroup, "by-signing", Action::Update),
                (Kind::EnrollmentGroup, "keys", Action::Update),
                (Kind::Enrollment, "dev-x509", Action::Update),
                (Kind::Enrollment, "dev-key", Action::Update),
                (Kind::Enrollment, "dev-tpm", Action::Delete),
            ],
            "{plan:#?}"
        );

        // Someone else changes a group, an enrollment, the enrollment to delete and the CA
        // certificate after the plan read them.
        let mut keys = f
            .client
            .get_enrollment_group("keys", None)
            .await
            .expect("keys");
        keys.iot_hubs = Some(vec!["elsewhere.azure-devices.net".into()]);
        f.client
            .update_enrollment_group(&keys, None)
            .await
            .expect("keys changed");
        let mut dev = f
            .client
            .get_enrollment("dev-key", None)
            .await
            .expect("dev-key");
        dev.device_id = Some("changed-elsewhere".into());
        f.client
            .update_enrollment(&dev, None)
            .await
            .expect("dev-key changed");
        let mut tpm = f
            .client
            .get_enrollment("dev-tpm", None)
            .await
            .expect("dev-tpm");
        tpm.device_id = Some("still-wanted".into());
        f.client
            .update_enrollment(&tpm, None)
            .await
            .expect("dev-tpm changed");
        let second = f.certs.get("second", None).await.expect("second");
        let pem = std::fs::read(f.path("second.cert.pem")).expect("second.cert.pem");
        let etag = second.etag.clone().expect("an etag");
        f.certs
            .create_or_update(
                "second",
                &pem,
                Some(
                    CertificateUploadOptions::default()
                        .with_is_verified(false)
                        .with_if_match(etag),
                ),
            )
            .await
            .expect("second changed");

        let report = f.apply(&plan).await;
        let outcomes: Vec<(&str, bool, bool)> = report
            .outcomes
            .iter()
            .map(|o| (o.id.as_str(), o.ok, o.conflict))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("second", false, true),
                ("by-ca", true, false),
                ("by-signing", true, false),
                ("keys", false, true),
                ("dev-x509", true, false),
                ("dev-key", false, true),
                ("dev-tpm", false, true),
            ],
            "{report:#?}"
        );
        for o in report.outcomes.iter().filter(|o| o.conflict) {
            let error = o.error.as_deref().unwrap_or_default();
            assert!(error.contains("run plan again"), "{o:?}");
        }

        // The concurrent changes stand; the planned ones were not written over them.
        let keys = f
            .client
            .get_enrollment_group("keys", None)
            .await
            .expect("keys");
        assert_eq!(
            keys.iot_hubs,
            Some(vec!["elsewhere.azure-devices.net".to_owned()])
        );
        assert!(keys.reprovision_policy.expect("policy").migrate_device_data);
        let dev = f
            .client
            .get_enrollment("dev-key", None)
            .await
            .expect("dev-key");
        assert_eq!(dev.device_id.as_deref(), Some("changed-elsewhere"));
        let info = dev.optional_device_information.expect("information");
        assert_eq!(info.get("model"), Some(&serde_json::json!("m1")));
        let tpm = f
            .client
            .get_enrollment("dev-tpm", None)
            .await
            .expect("not deleted");
        assert_eq!(tpm.device_id.as_deref(), Some("still-wanted"));
        let second = f.certs.get("second", None).await.expect("second");
        assert_eq!(second.properties.is_verified, Some(false));
        // The others applied.
        let x509 = f
            .client
            .get_enrollment("dev-x509", None)
            .await
            .expect("dev-x509");
        assert_eq!(x509.capabilities.map(|c| c.iot_edge), Some(true));

        // A new plan reads the new ETags and applies over what the file manages; the fields
        // it does not manage keep the concurrent change.
        let plan = f.plan(files, true).await;
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert_unchanged(&f.plan(files, true).await);
        let dev = f
            .client
            .get_enrollment("dev-key", None)
            .await
            .expect("dev-key");
        assert_eq!(dev.device_id.as_deref(), Some("changed-elsewhere"));
    });
}

#[test]
fn a_record_created_or_deleted_between_plan_and_apply_is_a_conflict() {
    let f = Fixture::new();
    let record =
        |id: &str| format!("  - registrationId: {id}\n    attestation: {{type: symmetricKey}}\n");
    let file = f.write(
        "dps.yaml",
        &format!("enrollments:\n{}{}", record("updated"), record("deleted")),
    );
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        f.converge(files).await;
        f.write(
            "dps.yaml",
            &format!(
                "enrollments:\n{}    deviceId: ours\n{}",
                record("updated"),
                record("created")
            ),
        );
        let plan = f.plan(files, true).await;
        let planned: Vec<(&str, Action)> = plan
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.action))
            .collect();
        assert_eq!(
            planned,
            [
                ("updated", Action::Update),
                ("created", Action::Create),
                ("deleted", Action::Delete)
            ]
        );

        // Meanwhile: the record to update and the one to delete are deleted, the one to
        // create is created.
        for id in ["updated", "deleted"] {
            f.client.delete_enrollment(id, None).await.expect("deleted");
        }
        let mut theirs =
            dps_service_client::models::IndividualEnrollment::symmetric_key("created", None);
        theirs.device_id = Some("theirs".into());
        f.client
            .create_enrollment(&theirs, None)
            .await
            .expect("created");

        let report = f.apply(&plan).await;
        let outcomes: Vec<(&str, bool, bool)> = report
            .outcomes
            .iter()
            .map(|o| (o.id.as_str(), o.ok, o.conflict))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("updated", false, true),
                ("created", false, true),
                ("deleted", false, true)
            ],
            "{report:#?}"
        );
        let created = f
            .client
            .get_enrollment("created", None)
            .await
            .expect("created");
        assert_eq!(
            created.device_id.as_deref(),
            Some("theirs"),
            "not overwritten"
        );
        let gone = f
            .client
            .get_enrollment("updated", None)
            .await
            .expect_err("not recreated");
        assert_eq!(gone.status(), Some(404));
    });
}
