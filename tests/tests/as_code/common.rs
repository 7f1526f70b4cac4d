//! What the enrollments-as-code tests share: an emulator, a folder of files, and the library's
//! steps (read, resolve, plan, apply) with the test's variables.

use dps_as_code::apply::{ApplyOptions, Report, Signer};
use dps_as_code::resolve::Possession;
use dps_as_code::{Action, Desired, Plan, PlanOptions};
use dps_e2e::TestEmulator;
use dps_service_client::{CertificateClient, ProvisioningServiceClient};
use std::path::PathBuf;

/// An emulator, its clients, and a folder for the files.
pub(crate) struct Fixture {
    pub(crate) t: TestEmulator,
    pub(crate) client: ProvisioningServiceClient,
    pub(crate) certs: CertificateClient,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) vars: Vec<(String, String)>,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let t = TestEmulator::start();
        Self {
            client: t.client(),
            certs: t.certificate_client(),
            t,
            dir: tempfile::tempdir().expect("temp dir"),
            vars: Vec::new(),
        }
    }

    /// Writes `text` to the file `name` in the folder; returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Sets a variable the files' `${NAME}` secrets read (the process environment is shared
    /// by parallel tests, so the fixture keeps its own).
    pub(crate) fn var(&mut self, name: &str, value: &str) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_owned(), value.to_owned()));
    }

    /// Reads and resolves `files`.
    pub(crate) fn desired(&self, files: &[PathBuf]) -> Desired {
        let sources = dps_as_code::load::read_paths(files).expect("files read");
        let vars = self.vars.clone();
        let lookup = move |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        dps_as_code::resolve::resolve(&sources, &lookup).expect("files resolve")
    }

    /// Plans `files` against the emulator.
    pub(crate) async fn plan(&self, files: &[PathBuf], prune: bool) -> Plan {
        let options = PlanOptions {
            prune,
            ..PlanOptions::default()
        };
        dps_as_code::plan(
            &self.desired(files),
            &self.client,
            Some(&self.certs),
            &options,
        )
        .await
        .expect("plan")
        .0
    }

    /// Applies `plan`.
    pub(crate) async fn apply(&self, plan: &Plan) -> Report {
        dps_as_code::apply::apply(
            plan,
            &self.client,
            Some(&self.certs),
            Some(&CaSigner),
            &ApplyOptions::default(),
        )
        .await
    }

    /// Plans and applies `files`; every change must apply.
    pub(crate) async fn converge(&self, files: &[PathBuf]) -> Plan {
        let plan = self.plan(files, false).await;
        let report = self.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        plan
    }
}

/// Signs verification certificates with dps-certgen, as `dps-cli` does.
pub(crate) struct CaSigner;

impl Signer for CaSigner {
    fn sign(&self, _: &str, key: &Possession, code: &str) -> Result<Vec<u8>, String> {
        let password = key.password.as_ref().map(|p| p.expose().to_owned());
        let ca = dps_certgen::Credential::load_ca(&key.certificate, &key.key, password.as_deref())
            .map_err(|e| e.to_string())?;
        let cert = ca
            .sign(&dps_certgen::CertSpec {
                common_name: code,
                profile: dps_certgen::Profile::Leaf,
                algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
                days: 1,
            })
            .map_err(|e| e.to_string())?;
        Ok(cert.cert_pem().into_bytes())
    }
}

/// The items of `plan` with `action`, as (id, changed fields).
pub(crate) fn items(plan: &Plan, action: Action) -> Vec<(String, Vec<String>)> {
    plan.items
        .iter()
        .filter(|i| i.action == action)
        .map(|i| {
            (
                i.id.clone(),
                i.changes.iter().map(|c| c.field.clone()).collect(),
            )
        })
        .collect()
}

/// Asserts that `plan` changes nothing.
pub(crate) fn assert_empty(plan: &Plan) {
    assert!(
        plan.is_empty(),
        "expected no changes: {}\n{:#?}",
        plan.summary_line(),
        plan.items
            .iter()
            .filter(|i| !matches!(i.action, Action::Unchanged | Action::NotDeclared))
            .collect::<Vec<_>>()
    );
}
