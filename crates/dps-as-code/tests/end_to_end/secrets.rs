//! Secrets are never printed: the plan as JSON, and the plan, the desired state, the export
//! and the apply report as Debug text hold none of the key values, webhook URLs or key
//! passwords, whether records are created, updated, deleted or refused.

use super::common::{Fixture, certificate, rt};
use dps_as_code::Action;
use dps_certgen::Profile;

const SECRETS: &[(&str, &str)] = &[
    ("GROUP_KEY", "c2VjcmV0cyB0ZXN0IGdyb3VwIHByaW1hcnkga2V5"),
    ("DEVICE_KEY", "c2VjcmV0cyB0ZXN0IGRldmljZSBwcmltYXJ5IGtleQ=="),
    (
        "HOOK",
        "https://hooks.example.net/allocate?code=c2VjcmV0cy1mdW5jdGlvbi1rZXk=",
    ),
    ("CA_PASSWORD", "secrets-test-ca-key-password"),
];
const GROUP_SECONDARY: &str = "c2VjcmV0cyB0ZXN0IGdyb3VwIHNlY29uZGFyeSBrZXk=";
const NEW_KEY: &str = "c2VjcmV0cyB0ZXN0IHJvdGF0ZWQgZ3JvdXAga2V5IQ==";
/// Base64 of 5 bytes: the service refuses it as a key.
const BAD_KEY: &str = "c2hvcnQ=";

const FILE: &str = "certificates:
  - name: ca
    certificate: {file: ca.cert.pem}
    proofOfPossession: {key: ca.key.pem, password: \"${CA_PASSWORD}\"}
enrollmentGroups:
  - enrollmentGroupId: keys
    attestation:
      type: symmetricKey
      symmetricKey: {primaryKey: \"${GROUP_KEY}\", secondaryKey: {file: secondary.key}}
    allocationPolicy: custom
    customAllocationDefinition: {webhookUrl: \"${HOOK}\", apiVersion: \"2021-10-01\"}
enrollments:
  - registrationId: dev-key
    attestation: {type: symmetricKey, symmetricKey: {primaryKey: \"${DEVICE_KEY}\"}}
";

/// Fails when any secret of the test appears in `text`.
fn assert_no_secret(what: &str, text: &str) {
    let values = SECRETS
        .iter()
        .map(|(_, v)| *v)
        .chain([GROUP_SECONDARY, NEW_KEY, BAD_KEY]);
    for value in values {
        // The base64 body without its padding, and the function key inside the URL.
        let core = value.trim_end_matches('=');
        let core = core.rsplit("code=").next().unwrap_or(core);
        assert!(
            !text.contains(core),
            "{what} shows a secret ({value}):\n{text}"
        );
    }
}

#[test]
fn secrets_are_never_in_plans_desired_states_exports_or_reports() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_owned();
    certificate(&dir, "ca", Profile::RootCa, None, Some(SECRETS[3].1));
    for (name, value) in SECRETS {
        f.var(name, value);
    }
    f.write("secondary.key", GROUP_SECONDARY);
    let file = f.write("dps.yaml", FILE);
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        // Create.
        let desired = f.desired(files);
        assert_no_secret("the desired state", &format!("{desired:?}{desired:#?}"));
        let plan = f.plan_desired(&desired, false).await;
        assert_eq!(plan.summary.create, 3, "{}", plan.summary_line());
        let secret_changes: Vec<&str> = plan
            .items
            .iter()
            .flat_map(|i| &i.changes)
            .filter(|c| c.secret)
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(
            secret_changes,
            [
                "attestation.symmetricKey.primaryKey",
                "attestation.symmetricKey.secondaryKey",
                "customAllocationDefinition.webhookUrl",
                "attestation.symmetricKey.primaryKey",
            ]
        );
        let printed = |plan: &dps_as_code::Plan| {
            format!(
                "{}\n{plan:?}\n{plan:#?}",
                serde_json::to_string_pretty(plan).expect("plan JSON")
            )
        };
        assert_no_secret("the create plan", &printed(&plan));
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        let verified = f.certs.get("ca", None).await.expect("ca");
        assert_eq!(verified.properties.is_verified, Some(true));
        assert_no_secret("the report", &format!("{report:?}"));

        // Update (a key rotated) and refusal (a key the service refuses).
        f.var("GROUP_KEY", NEW_KEY);
        f.var("DEVICE_KEY", BAD_KEY);
        let plan = f.plan(files, false).await;
        assert_eq!(plan.summary.update, 2, "{}", plan.summary_line());
        assert_no_secret("the update plan", &printed(&plan));
        let report = f.apply(&plan).await;
        let failed: Vec<&str> = report
            .outcomes
            .iter()
            .filter(|o| !o.ok)
            .map(|o| o.id.as_str())
            .collect();
        assert_eq!(failed, ["dev-key"], "{report:#?}");
        let text = format!(
            "{report:?}\n{}",
            serde_json::to_string(&report).expect("report JSON")
        );
        assert_no_secret("the report of a refused key", &text);

        // Export: the secrets are beside the manifest, never in it or its Debug text.
        let live = dps_as_code::live::read(&f.client, Some(&f.certs), 100)
            .await
            .expect("live");
        let export = dps_as_code::export::export(&live).expect("export");
        let yaml = serde_saphyr::to_string(&export.manifest).expect("YAML");
        assert_no_secret("the export", &format!("{export:?}\n{yaml}"));
        assert!(export.secrets.iter().any(|(_, v)| v == NEW_KEY));

        // Delete: the planned record (as read, keys included) is not shown.
        // (Pruning with files that declare nothing is refused, so one record is declared.)
        let none = f.write(
            "none.yaml",
            "enrollments:\n  - registrationId: keep-me\n    attestation: {type: symmetricKey}\n",
        );
        let plan = f.plan(&[none], true).await;
        assert!(plan.items.iter().any(|i| i.action == Action::Delete));
        assert_no_secret("the delete plan", &printed(&plan));
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert_no_secret("the delete report", &format!("{report:?}"));
    });
}
