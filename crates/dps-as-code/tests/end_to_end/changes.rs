//! Applying a file twice changes nothing the second time; a change in each kind of field is
//! one update with the right changed fields, applied, and then the plan is empty.

use super::common::{Fixture, assert_unchanged, rt};
use super::scenario::{GROUP_KEY_2, GROUP_SECONDARY_2, write_base};
use dps_as_code::{Action, Kind};
use serde_json::Value;

#[test]
fn a_file_applied_twice_changes_nothing_the_second_time() {
    let mut f = Fixture::new();
    write_base(&mut f);
    // A folder of two files: the certificates and groups in YAML, the enrollments in JSON.
    let base = super::scenario::base_file();
    let (head, tail) = base.split_at(base.find("enrollments:").expect("enrollments"));
    let manifest = dps_as_code::load::parse(std::path::Path::new("e.yaml"), tail).expect("YAML");
    let json = serde_json::to_string_pretty(&manifest).expect("JSON");
    f.write("dps.yaml", head);
    f.write("enrollments.json", &json);
    let files = &[f.dir.path().to_owned()];
    rt().block_on(async {
        let plan = f.plan(files, false).await;
        assert_eq!(plan.summary.create, 8, "{}", plan.summary_line());
        assert!(plan.items.iter().all(|i| i.action == Action::Create));
        let report = f.apply(&plan).await;
        assert_eq!(report.outcomes.len(), 8, "{report:#?}");
        assert_eq!(report.failed(), 0, "{report:#?}");
        for name in ["root", "second"] {
            let c = f.certs.get(name, None).await.expect("certificate");
            assert_eq!(c.properties.is_verified, Some(true), "{name} verified");
        }

        let again = f.plan(files, false).await;
        assert_unchanged(&again);
        assert_eq!(again.summary.unchanged, 8, "{}", again.summary_line());
        let etags = |live: &dps_as_code::live::Live| -> Vec<Value> {
            live.groups
                .iter()
                .chain(&live.enrollments)
                .chain(live.certificates.iter().flatten())
                .map(|r| r["etag"].clone())
                .collect()
        };
        let before = dps_as_code::live::read(&f.client, Some(&f.certs), 100)
            .await
            .expect("live");
        let report = f.apply(&again).await;
        assert!(report.outcomes.is_empty(), "{report:#?}");
        let after = dps_as_code::live::read(&f.client, Some(&f.certs), 100)
            .await
            .expect("live");
        assert_eq!(etags(&before), etags(&after), "nothing was written");
        assert_eq!(etags(&after).len(), 8);
    });
}

/// One edit of the file (or of what it reads) and the update it must plan.
struct Edit {
    what: &'static str,
    edit: fn(&mut Fixture, &str) -> String,
    kind: Kind,
    id: &'static str,
    fields: &'static [&'static str],
}

fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} in the file");
    text.replacen(from, to, 1)
}

const EDITS: &[Edit] = &[
    Edit {
        what: "a scalar enum",
        edit: |_, t| {
            replace(
                t,
                "provisioningStatus: enabled # the TPM's",
                "provisioningStatus: disabled # the TPM's",
            )
        },
        kind: Kind::Enrollment,
        id: "dev-tpm",
        fields: &["provisioningStatus"],
    },
    Edit {
        what: "a list",
        edit: |_, t| {
            replace(
                t,
                "[hub1.azure-devices.net]",
                "[hub1.azure-devices.net, hub2.azure-devices.net]",
            )
        },
        kind: Kind::EnrollmentGroup,
        id: "by-ca",
        fields: &["iotHubs"],
    },
    Edit {
        what: "nested twin tags and desired properties, one removed",
        edit: |_, t| {
            let t = replace(t, "{site: lab, floor: 3}", "{floor: 4}");
            replace(&t, "{interval: 30}", "{interval: 60, mode: eco}")
        },
        kind: Kind::EnrollmentGroup,
        id: "by-signing",
        fields: &[
            "initialTwin.properties.desired.interval",
            "initialTwin.properties.desired.mode",
            "initialTwin.tags.floor",
            "initialTwin.tags.site",
        ],
    },
    Edit {
        what: "reprovisionPolicy",
        edit: |_, t| replace(t, "migrateDeviceData: true", "migrateDeviceData: false"),
        kind: Kind::EnrollmentGroup,
        id: "keys",
        fields: &["reprovisionPolicy.migrateDeviceData"],
    },
    Edit {
        what: "capabilities",
        edit: |_, t| replace(t, "{iotEdge: false}", "{iotEdge: true}"),
        kind: Kind::Enrollment,
        id: "dev-x509",
        fields: &["capabilities.iotEdge"],
    },
    Edit {
        what: "a string",
        edit: |_, t| replace(t, "deviceId: device-one", "deviceId: device-uno"),
        kind: Kind::Enrollment,
        id: "dev-x509",
        fields: &["deviceId"],
    },
    Edit {
        what: "an enrollment's certificate file replaced",
        edit: |_, t| replace(t, "{file: dev.cert.pem}", "{file: dev2.cert.pem}"),
        kind: Kind::Enrollment,
        id: "dev-x509",
        fields: &["attestation.x509.clientCertificates.primary.sha256Thumbprint"],
    },
    Edit {
        what: "a group's signing certificate file replaced",
        edit: |_, t| replace(t, "{file: inter.cert.pem}", "{file: inter2.cert.pem}"),
        kind: Kind::EnrollmentGroup,
        id: "by-signing",
        fields: &["attestation.x509.signingCertificates.primary.sha256Thumbprint"],
    },
    Edit {
        what: "a CA certificate file replaced",
        edit: |_, t| replace(t, "{file: second.cert.pem}", "{file: second2.cert.pem}"),
        kind: Kind::Certificate,
        id: "second",
        fields: &["certificate.sha1Thumbprint"],
    },
    Edit {
        what: "a CA reference",
        edit: |_, t| {
            replace(
                t,
                "caReferences: {primary: root}",
                "caReferences: {primary: second}",
            )
        },
        kind: Kind::EnrollmentGroup,
        id: "by-ca",
        fields: &["attestation.x509.caReferences.primary"],
    },
    Edit {
        what: "a symmetric key from a variable",
        edit: |f, t| {
            f.var("GROUP_KEY", GROUP_KEY_2);
            t.to_owned()
        },
        kind: Kind::EnrollmentGroup,
        id: "keys",
        fields: &["attestation.symmetricKey.primaryKey"],
    },
    Edit {
        what: "a symmetric key from a file",
        edit: |f, t| {
            f.write("group-secondary.key", GROUP_SECONDARY_2);
            t.to_owned()
        },
        kind: Kind::EnrollmentGroup,
        id: "keys",
        fields: &["attestation.symmetricKey.secondaryKey"],
    },
    Edit {
        what: "a passThrough field changed and one added",
        edit: |_, t| {
            replace(
                t,
                "{futureField: {level: 1}}",
                "{futureField: {level: 2}, otherField: [x]}",
            )
        },
        kind: Kind::Enrollment,
        id: "dev-x509",
        fields: &["futureField.level", "otherField"],
    },
    Edit {
        what: "a passThrough field set to null (removed)",
        edit: |_, t| replace(t, "otherField: [x]", "otherField: null"),
        kind: Kind::Enrollment,
        id: "dev-x509",
        fields: &["otherField"],
    },
];

#[test]
fn a_change_in_each_field_kind_is_one_update_then_the_plan_is_empty() {
    let mut f = Fixture::new();
    let file = write_base(&mut f);
    let files = std::slice::from_ref(&file);
    let mut text = super::scenario::base_file();
    rt().block_on(async {
        f.converge(files).await;
        assert_unchanged(&f.plan(files, false).await);
    });
    for e in EDITS {
        text = (e.edit)(&mut f, &text);
        f.write("dps.yaml", &text);
        rt().block_on(async {
            let plan = f.plan(files, false).await;
            let changed: Vec<_> = plan
                .items
                .iter()
                .filter(|i| i.action != Action::Unchanged)
                .collect();
            assert_eq!(changed.len(), 1, "{}: {changed:#?}", e.what);
            let item = changed[0];
            assert_eq!(
                (item.kind, item.id.as_str(), item.action),
                (e.kind, e.id, Action::Update),
                "{}",
                e.what
            );
            let fields: Vec<&str> = item.changes.iter().map(|c| c.field.as_str()).collect();
            assert_eq!(fields, e.fields, "{}", e.what);
            for c in &item.changes {
                let secret = c.field.starts_with("attestation.symmetricKey.");
                assert_eq!(c.secret, secret, "{}: {c:?}", e.what);
                if secret {
                    assert!(c.from.is_none() && c.to.is_none(), "{}: {c:?}", e.what);
                } else {
                    assert_ne!(c.from, c.to, "{}: {c:?}", e.what);
                }
            }
            let report = f.apply(&plan).await;
            assert_eq!(report.outcomes.len(), 1, "{}: {report:#?}", e.what);
            assert_eq!(report.failed(), 0, "{}: {report:#?}", e.what);
            assert_unchanged(&f.plan(files, false).await);
        });
    }
    // What the service holds now.
    rt().block_on(async {
        let keys = f
            .client
            .get_enrollment_group_attestation_mechanism("keys", None)
            .await
            .expect("keys")
            .symmetric_key
            .expect("symmetric keys");
        assert_eq!(keys.primary_key.as_deref(), Some(GROUP_KEY_2));
        assert_eq!(keys.secondary_key.as_deref(), Some(GROUP_SECONDARY_2));
        let twin = f
            .client
            .get_enrollment_group("by-signing", None)
            .await
            .expect("by-signing")
            .initial_twin
            .expect("twin");
        let tags = twin.tags.expect("tags");
        assert_eq!(tags.keys().collect::<Vec<_>>(), ["floor"]);
        let dev = f
            .client
            .get_enrollment("dev-x509", None)
            .await
            .expect("dev-x509");
        assert_eq!(
            dev.extra.get("futureField"),
            Some(&serde_json::json!({"level": 2}))
        );
        assert!(!dev.extra.contains_key("otherField"), "{dev:?}");
        let second = f.certs.get("second", None).await.expect("second");
        assert_eq!(
            second.properties.is_verified,
            Some(true),
            "replaced, verified"
        );
    });
}
