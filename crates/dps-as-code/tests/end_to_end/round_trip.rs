//! Records made with the service client (not by this crate), exported, written as YAML, read
//! back and planned with the exported secrets as variables: nothing to change.

use super::common::{Fixture, assert_unchanged, certificate, rt};
use dps_as_code::Action;
use dps_certgen::Profile;
use dps_service_client::CertificateUploadOptions;
use dps_service_client::models::{
    AllocationPolicy, CustomAllocationDefinition, DeviceCapabilities, EnrollmentGroup,
    IndividualEnrollment, InitialTwin, InitialTwinProperties, ProvisioningStatus,
    ReprovisionPolicy, SymmetricKeyAttestation, TwinCollection, X509Attestation,
};
use serde_json::{Map, Value, json};

const KEYS: [&str; 4] = [
    "cm91bmQtdHJpcCBncm91cCBwcmltYXJ5IGtleSEhIQ==",
    "cm91bmQtdHJpcCBncm91cCBzZWNvbmRhcnkga2V5ISE=",
    "cm91bmQtdHJpcCBkZXZpY2UgcHJpbWFyeSBrZXkhISE=",
    "cm91bmQtdHJpcCBkZXZpY2Ugc2Vjb25kYXJ5IGtleSE=",
];
const HOOK: &str = "https://hooks.example.net/api/allocate?code=cm91bmQtdHJpcC1mdW5jdGlvbg==";
/// A TPM endorsement key (base64 of a TPM2B_PUBLIC).
pub(crate) const EK: &str = "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAxsj2gUScTk1UjuioeTlfGYZrrimExB+bScH75adUMRIi2UOMxG1kw4y+9RW/IVoMl4e620VxZad0ARX2gUqVjYO7KPVt3dyKhZS3dkcvfBisBhP1XH9B33VqHG9SHnbnQXdBUaCgKAfxome8UmBKfe+naTsE5fkvjb/do3/dD6l4sGBwFCnKRdln4XpM03zLpoHFao8zOwt8l/uP3qUIxmCYv9A7m69Ms+5/pCkTu/rK4mRDsfhZ0QLfbzVI6zQFOKF/rwsfBtFeWlWtcuJMKlXdD8TXWElTzgh7JS4qhFzreL0c1mI0GCj+Aws0usZh7dLIVPnlgZcBhgy1SSDQMQ==";

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Tags and desired properties, with values YAML could read as other types if written bare.
fn twin() -> InitialTwin {
    InitialTwin {
        tags: Some(TwinCollection(map(json!({
            "site": "lab",
            "floor": 3,
            "zip": "01234",
            "enabled": "true",
            "version": "1.10",
            "empty": "",
            "nothing": null,
            "nested": {"a": [1, "2", {"b": false}], "ratio": 0.5},
        })))),
        properties: Some(InitialTwinProperties {
            desired: Some(TwinCollection(map(json!({"interval": 30, "mode": "eco"})))),
            extra: Map::new(),
        }),
        extra: Map::new(),
    }
}

fn hubs(names: &[&str]) -> Option<Vec<String>> {
    Some(
        names
            .iter()
            .map(|h| format!("{h}.azure-devices.net"))
            .collect(),
    )
}

#[test]
fn records_made_by_the_service_client_export_and_plan_empty() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_owned();
    let root = certificate(&dir, "root", Profile::RootCa, None, None);
    let inter = certificate(&dir, "inter", Profile::IntermediateCa, Some(&root), None);
    let dev = certificate(&dir, "dev-x509", Profile::Leaf, Some(&inter), None);
    let dev2 = certificate(&dir, "dev-x509-b", Profile::Leaf, Some(&inter), None);
    rt().block_on(async {
        let verified = CertificateUploadOptions::default().with_is_verified(true);
        f.certs
            .create_or_update("root-ca", root.text().as_bytes(), Some(verified))
            .await
            .expect("root uploaded verified");
        f.certs
            .create_or_update("pending-ca", inter.text().as_bytes(), None)
            .await
            .expect("intermediate uploaded unverified");

        let mut by_signing = EnrollmentGroup::x509_signing("by-signing", inter.text(), None);
        by_signing.initial_twin = Some(twin());
        by_signing.iot_hubs = hubs(&["hub1", "hub2"]);
        by_signing.allocation_policy = Some(AllocationPolicy::Hashed);
        by_signing.reprovision_policy = Some(ReprovisionPolicy {
            update_hub_assignment: false,
            migrate_device_data: true,
            extra: Map::new(),
        });
        by_signing.capabilities = Some(DeviceCapabilities {
            iot_edge: true,
            extra: Map::new(),
        });
        by_signing.provisioning_status = Some(ProvisioningStatus::Disabled);
        let mut by_ca = EnrollmentGroup::x509_ca_references("by-ca", "root-ca", None);
        by_ca.iot_hubs = hubs(&["hub1"]);
        by_ca.allocation_policy = Some(AllocationPolicy::Static);
        let mut keys = EnrollmentGroup::symmetric_key(
            "Keys-Group",
            Some(SymmetricKeyAttestation::new(KEYS[0], KEYS[1])),
        );
        keys.allocation_policy = Some(AllocationPolicy::Custom);
        keys.custom_allocation_definition =
            Some(CustomAllocationDefinition::new(HOOK, "2021-10-01"));
        keys.iot_hubs = hubs(&["hub2"]);
        // A field of a newer service: kept under passThrough.
        keys.extra
            .insert("futureField".into(), json!({"level": 2, "on": true}));
        for g in [by_signing, by_ca, keys] {
            f.client
                .create_enrollment_group(&g, None)
                .await
                .expect("group created");
        }

        let mut x509 = IndividualEnrollment::new(
            "dev-x509",
            dps_service_client::models::AttestationMechanism::x509(X509Attestation::client(
                dev.text(),
                Some(dev2.text()),
            )),
        );
        x509.device_id = Some("device-x509".into());
        x509.initial_twin = Some(twin());
        x509.reprovision_policy = Some(ReprovisionPolicy {
            update_hub_assignment: true,
            migrate_device_data: false,
            extra: Map::new(),
        });
        x509.capabilities = Some(DeviceCapabilities {
            iot_edge: false,
            extra: Map::new(),
        });
        x509.provisioning_status = Some(ProvisioningStatus::Disabled);
        let mut key = IndividualEnrollment::symmetric_key(
            "dev-key",
            Some(SymmetricKeyAttestation::new(KEYS[2], KEYS[3])),
        );
        key.device_id = Some("device-key".into());
        key.iot_hubs = hubs(&["hub1", "hub2"]);
        key.allocation_policy = Some(AllocationPolicy::GeoLatency);
        key.optional_device_information = Some(TwinCollection(map(
            json!({"model": "m1", "serial": "0042"}),
        )));
        let mut tpm = IndividualEnrollment::tpm("dev-tpm", EK);
        tpm.iot_hub_host_name = Some("hub1.azure-devices.net".into());
        tpm.initial_twin = Some(InitialTwin::empty());
        for e in [x509, key, tpm] {
            f.client
                .create_enrollment(&e, None)
                .await
                .expect("enrollment created");
        }

        // Small pages: the reads follow continuation tokens.
        let live = dps_as_code::live::read(&f.client, Some(&f.certs), 2)
            .await
            .expect("live state");
        assert_eq!(
            (live.groups.len(), live.enrollments.len()),
            (3, 3),
            "{live:#?}"
        );
        let export = dps_as_code::export::export(&live).expect("export");
        let yaml = serde_saphyr::to_string(&export.manifest).expect("YAML");
        for secret in KEYS.iter().chain([&HOOK]) {
            assert!(!yaml.contains(secret), "a secret in the export:\n{yaml}");
            assert!(
                export.secrets.iter().any(|(_, v)| v == secret),
                "{secret} exported as a variable: {:?}",
                export.secrets.iter().map(|(n, _)| n).collect::<Vec<_>>()
            );
        }
        assert!(yaml.contains("passThrough"), "{yaml}");

        let file = f.write("exported.yaml", &yaml);
        for (name, value) in &export.secrets {
            f.var(name, value);
        }
        // With prune: a record the export missed would be a deletion.
        let files = std::slice::from_ref(&file);
        let plan = f.plan_desired(&f.desired(files), true).await;
        assert_unchanged(&plan);
        assert_eq!(plan.summary.unchanged, 8, "{}\n{yaml}", plan.summary_line());

        // The export edited: records whose certificates it gives only by thumbprint update
        // (the service keeps the certificates), and their certificates stay.
        let edited = yaml
            .replacen(
                "provisioningStatus: disabled",
                "provisioningStatus: enabled",
                2,
            )
            .replace("deviceId: device-x509", "deviceId: device-x509-renamed");
        f.write("exported.yaml", &edited);
        let plan = f.plan(files, true).await;
        let updates: Vec<(&str, usize, bool)> = plan
            .items
            .iter()
            .filter(|i| i.action != Action::Unchanged)
            .map(|i| (i.id.as_str(), i.changes.len(), i.problem.is_none()))
            .collect();
        assert_eq!(
            updates,
            [("by-signing", 1, true), ("dev-x509", 2, true)],
            "{plan:#?}"
        );
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert_unchanged(&f.plan(files, true).await);
        let group = f
            .client
            .get_enrollment_group("by-signing", None)
            .await
            .expect("group");
        let signing = group.attestation.x509.and_then(|x| x.signing_certificates);
        let info = signing
            .and_then(|s| s.primary)
            .and_then(|p| p.info)
            .expect("info");
        assert_eq!(info.subject_name, "CN=inter");

        // A record given only by thumbprint and gone from the service cannot be created.
        f.client
            .delete_enrollment("dev-x509", None)
            .await
            .expect("deleted");
        let plan = f.plan(files, true).await;
        let item = plan
            .items
            .iter()
            .find(|i| i.id == "dev-x509")
            .expect("dev-x509");
        assert_eq!(item.action, Action::Create);
        assert!(
            item.problem
                .as_deref()
                .unwrap_or_default()
                .contains("file:"),
            "{item:?}"
        );
        assert!(!plan.is_empty());
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 1, "{report:#?}");
    });
}
