//! A change in each kind of field is one update with the right changed fields; after apply the
//! plan is empty; and the live state exported, written as YAML and read back plans empty.

use super::common::{Fixture, assert_empty, items};
use dps_as_code::Action;
use dps_e2e::{TestChain, rt};
use std::path::PathBuf;

const KEY_A: &str = "ZHBzLXJzIGFzLWNvZGUgdGVzdCBrZXkgQSEhISEhISE=";
const KEY_B: &str = "ZHBzLXJzIGFzLWNvZGUgdGVzdCBrZXkgQiEhISEhISE=";
const HOOK: &str = "https://hooks.example.net/api/allocate?code=c2VjcmV0LWZ1bmN0aW9uLWtleQ==";

/// The base file, with `{ROOT}`, `{INTERMEDIATE}` and `{DEVICE}` standing for certificate paths.
const BASE: &str = r#"certificates:
  - name: root
    certificate: {file: ROOT}
    proofOfPossession: {key: ROOT_KEY}
  - name: intermediate
    certificate: {file: INTERMEDIATE}
    isVerified: true
enrollmentGroups:
  - enrollmentGroupId: by-ca
    attestation:
      type: x509
      x509:
        caReferences: {primary: root}
    iotHubs: [hub1.azure-devices.net]
  - enrollmentGroupId: by-signing
    attestation:
      type: x509
      x509:
        signingCertificates:
          primary: {file: INTERMEDIATE}
    initialTwin:
      tags: {site: lab}
      properties:
        desired: {interval: 30}
  - enrollmentGroupId: keys
    attestation:
      type: symmetricKey
      symmetricKey: {primaryKey: "${GROUP_KEY}"}
    allocationPolicy: custom
    customAllocationDefinition: {webhookUrl: "${HOOK}", apiVersion: 2021-10-01}
enrollments:
  - registrationId: dev1
    deviceId: device-one
    attestation:
      type: x509
      x509:
        clientCertificates:
          primary: {file: DEVICE}
    reprovisionPolicy: {updateHubAssignment: true, migrateDeviceData: true}
    capabilities: {iotEdge: false}
  - registrationId: tpm1
    attestation:
      type: tpm
      tpm: {endorsementKey: AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAxsj2gUScTk1UjuioeTlfGYZrrimExB+bScH75adUMRIi2UOMxG1kw4y+9RW/IVoMl4e620VxZad0ARX2gUqVjYO7KPVt3dyKhZS3dkcvfBisBhP1XH9B33VqHG9SHnbnQXdBUaCgKAfxome8UmBKfe+naTsE5fkvjb/do3/dD6l4sGBwFCnKRdln4XpM03zLpoHFao8zOwt8l/uP3qUIxmCYv9A7m69Ms+5/pCkTu/rK4mRDsfhZ0QLfbzVI6zQFOKF/rwsfBtFeWlWtcuJMKlXdD8TXWElTzgh7JS4qhFzreL0c1mI0GCj+Aws0usZh7dLIVPnlgZcBhgy1SSDQMQ==}
    provisioningStatus: enabled
"#;

struct Paths {
    root: PathBuf,
    root_key: PathBuf,
    intermediate: PathBuf,
    device: PathBuf,
    device2: PathBuf,
}

fn paths(chain: &TestChain) -> Paths {
    chain.device_pem("dev1");
    chain.device_pem("dev1b");
    Paths {
        root: chain.certs.cert_path(dps_certgen::ROOT_PREFIX),
        root_key: chain.certs.key_path(dps_certgen::ROOT_PREFIX),
        intermediate: chain.certs.cert_path(dps_certgen::INTERMEDIATE_PREFIX),
        device: chain.certs.cert_path("dev1"),
        device2: chain.certs.cert_path("dev1b"),
    }
}

fn base(p: &Paths) -> String {
    BASE.replace("ROOT_KEY", &p.root_key.display().to_string())
        .replace("ROOT", &p.root.display().to_string())
        .replace("INTERMEDIATE", &p.intermediate.display().to_string())
        .replace("DEVICE", &p.device.display().to_string())
}

#[test]
fn each_field_kind_changes_as_one_update_and_then_plans_empty() {
    let chain = TestChain::new();
    let p = paths(&chain);
    let mut f = Fixture::new();
    f.var("GROUP_KEY", KEY_A);
    f.var("HOOK", HOOK);
    let text = base(&p);
    let file = f.write("dps.yaml", &text);
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        let first = f.converge(files).await;
        assert_eq!(first.summary.create, 7, "{}", first.summary_line());
        let root = f.certs.get("root", None).await.expect("root");
        assert_eq!(root.properties.is_verified, Some(true), "proven");
        let inter = f.certs.get("intermediate", None).await.expect("intermediate");
        assert_eq!(inter.properties.is_verified, Some(true), "uploaded verified");
        assert_empty(&f.plan(files, false).await);

        // (description, edit of the file, the record, its changed fields)
        let device2 = p.device2.display().to_string();
        let device = p.device.display().to_string();
        let edits: Vec<(&str, String, &str, Vec<&str>)> = vec![
            (
                "an enum",
                text.replace("provisioningStatus: enabled", "provisioningStatus: disabled"),
                "tpm1",
                vec!["provisioningStatus"],
            ),
            (
                "a list",
                text.replace("[hub1.azure-devices.net]", "[hub1.azure-devices.net, hub2.azure-devices.net]"),
                "by-ca",
                vec!["iotHubs"],
            ),
            (
                "nested twin values",
                text.replace("{interval: 30}", "{interval: 60, mode: eco}"),
                "by-signing",
                vec!["initialTwin.properties.desired.interval", "initialTwin.properties.desired.mode"],
            ),
            (
                "an object's flag",
                text.replace("migrateDeviceData: true", "migrateDeviceData: false"),
                "dev1",
                vec!["reprovisionPolicy.migrateDeviceData"],
            ),
            (
                "capabilities",
                text.replace("iotEdge: false", "iotEdge: true"),
                "dev1",
                vec!["capabilities.iotEdge"],
            ),
            (
                "a string",
                text.replace("deviceId: device-one", "deviceId: device-uno"),
                "dev1",
                vec!["deviceId"],
            ),
            (
                "a certificate file",
                text.replace(&device, &device2),
                "dev1",
                vec!["attestation.x509.clientCertificates.primary.sha256Thumbprint"],
            ),
            (
                "a CA reference",
                text.replace("caReferences: {primary: root}", "caReferences: {primary: intermediate}"),
                "by-ca",
                vec!["attestation.x509.caReferences.primary"],
            ),
            (
                "a pass-through field",
                text.replace("    capabilities: {iotEdge: false}\n", "    capabilities: {iotEdge: false}\n    passThrough: {futureField: {level: 2}}\n"),
                "dev1",
                vec!["futureField.level"],
            ),
        ];
        for (what, edited, id, fields) in edits {
            f.write("dps.yaml", &edited);
            let plan = f.plan(files, false).await;
            let updates = items(&plan, Action::Update);
            assert_eq!(
                updates,
                vec![(id.to_owned(), fields.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())],
                "{what}: {}",
                plan.summary_line()
            );
            let report = f.apply(&plan).await;
            assert_eq!(report.failed(), 0, "{what}: {report:#?}");
            assert_empty(&f.plan(files, false).await);
            // Back to the base for the next edit.
            f.write("dps.yaml", &text);
            f.converge(files).await;
        }

        // Secrets: a key and a webhook URL change, as secrets (no values).
        f.var("GROUP_KEY", KEY_B);
        f.var("HOOK", &HOOK.replace("code=", "code=x"));
        let plan = f.plan(files, false).await;
        let item = plan.items.iter().find(|i| i.id == "keys").expect("keys group");
        assert_eq!(item.action, Action::Update);
        let secret_fields: Vec<(&str, bool, bool)> = item
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.secret, c.from.is_none() && c.to.is_none()))
            .collect();
        assert_eq!(
            secret_fields,
            [
                ("attestation.symmetricKey.primaryKey", true, true),
                ("customAllocationDefinition.webhookUrl", true, true)
            ]
        );
        let printed = format!("{}{plan:?}", serde_json::to_string(&plan).expect("json"));
        for secret in [KEY_A, KEY_B, "c2VjcmV0LWZ1bmN0aW9uLWtleQ"] {
            assert!(!printed.contains(secret), "a secret in the plan: {printed}");
        }
        f.converge(files).await;
        let keys = f
            .client
            .get_enrollment_group_attestation_mechanism("keys", None)
            .await
            .expect("keys");
        assert_eq!(keys.symmetric_key.and_then(|k| k.primary_key).as_deref(), Some(KEY_B));
        assert_empty(&f.plan(files, false).await);
    });
}

#[test]
fn the_live_state_exported_as_yaml_plans_empty() {
    let chain = TestChain::new();
    let p = paths(&chain);
    let mut f = Fixture::new();
    f.var("GROUP_KEY", KEY_A);
    f.var("HOOK", HOOK);
    let file = f.write("dps.yaml", &base(&p));
    rt().block_on(async {
        f.converge(std::slice::from_ref(&file)).await;
        let live = dps_as_code::live::read(&f.client, Some(&f.certs), 100)
            .await
            .expect("live state");
        let export = dps_as_code::export::export(&live).expect("export");
        let yaml = serde_saphyr::to_string(&export.manifest).expect("yaml");
        for secret in [KEY_A, HOOK] {
            assert!(!yaml.contains(secret), "{yaml}");
        }
        let exported = f.write("exported.yaml", &yaml);
        let mut g = Fixture {
            vars: Vec::new(),
            ..f
        };
        for (name, value) in &export.secrets {
            g.var(name, value);
        }
        let plan = g.plan(std::slice::from_ref(&exported), true).await;
        assert_empty(&plan);
        assert_eq!(plan.summary.unchanged, 7, "{}", plan.summary_line());
    });
}
