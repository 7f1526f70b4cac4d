//! What the end-to-end tests share: an in-process emulator with its clients, a folder for the
//! files, test certificates made with dps-certgen, a proof-of-possession signer, and the
//! library's steps (read, resolve, plan, apply) with the test's own variables.

use dps_as_code::apply::{ApplyOptions, Report, Signer};
use dps_as_code::resolve::Possession;
use dps_as_code::{Action, Desired, Plan, PlanOptions};
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_service_client::{
    CertificateClient, ClientOptions, ProvisioningServiceClient, RetryOptions,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A tokio runtime for a test body.
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// An emulator (in memory, ephemeral 127.0.0.1 port), its clients, and a folder for files.
pub(crate) struct Fixture {
    pub(crate) emulator: Emulator,
    pub(crate) client: ProvisioningServiceClient,
    pub(crate) certs: CertificateClient,
    pub(crate) dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("emulator");
        std::fs::create_dir(&data).expect("emulator folder");
        let emulator = Emulator::spawn(EmulatorConfig::for_tests(&data)).expect("emulator");
        let options = ClientOptions {
            trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            retry: RetryOptions {
                initial_delay: Duration::from_millis(5),
                max_retries: 4,
                max_delay: Duration::from_millis(200),
            },
            ..ClientOptions::default()
        };
        let cs = emulator.service_connection_string();
        let client = ProvisioningServiceClient::from_connection_string(&cs, Some(options.clone()))
            .expect("service client");
        let certs =
            CertificateClient::for_emulator(&cs, Some(options.into())).expect("certificate client");
        Self {
            emulator,
            client,
            certs,
            dir,
            vars: Vec::new(),
        }
    }

    /// The path of `name` in the folder.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to the file `name` in the folder; returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Sets a variable the files' `${NAME}` secrets read (kept by the fixture: the process
    /// environment is shared by the tests running in parallel).
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
        self.plan_desired(&self.desired(files), prune).await
    }

    /// Plans a desired state against the emulator.
    pub(crate) async fn plan_desired(&self, desired: &Desired, prune: bool) -> Plan {
        let options = PlanOptions {
            prune,
            ..PlanOptions::default()
        };
        dps_as_code::plan(desired, &self.client, Some(&self.certs), &options)
            .await
            .expect("plan")
            .0
    }

    /// Applies `plan`, with the dps-certgen signer for proofs of possession.
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

    /// Plans and applies `files`; every change must apply. Returns the plan.
    pub(crate) async fn converge(&self, files: &[PathBuf]) -> Plan {
        let plan = self.plan(files, false).await;
        let report = self.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        plan
    }
}

/// Signs verification certificates with dps-certgen, as `dps-cli certificate prove` does
/// (crates/dps-cli/src/certificates/client.rs `verification_certificate`).
pub(crate) struct CaSigner;

impl Signer for CaSigner {
    fn sign(&self, _: &str, key: &Possession, code: &str) -> Result<Vec<u8>, String> {
        let password = key.password.as_ref().map(|p| p.expose().to_owned());
        let ca = Credential::load_ca(&key.certificate, &key.key, password.as_deref())
            .map_err(|e| e.to_string())?;
        let cert = ca
            .sign(&CertSpec {
                common_name: code,
                profile: Profile::Leaf,
                algorithm: KeyAlgorithm::EcdsaP256,
                days: 1,
            })
            .map_err(|e| e.to_string())?;
        Ok(cert.cert_pem().into_bytes())
    }
}

/// A test certificate, written as PEM files by [`certificate`].
pub(crate) struct Pem {
    pub(crate) credential: Credential,
}

impl Pem {
    /// The certificate's PEM text.
    pub(crate) fn text(&self) -> String {
        self.credential.cert_pem()
    }
}

/// ECDSA P-256 test certificates in `dir`: a self-signed root, CAs and leaves signed by
/// another, each as `<name>.cert.pem` and `<name>.key.pem` (the key encrypted with
/// `password`, if given).
pub(crate) fn certificate(
    dir: &Path,
    name: &str,
    profile: Profile,
    issuer: Option<&Pem>,
    password: Option<&str>,
) -> Pem {
    let spec = CertSpec {
        common_name: name,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    };
    let credential = match issuer {
        None => Credential::self_signed(&spec),
        Some(ca) => ca.credential.sign(&spec),
    }
    .expect("certificate");
    let cert = dir.join(format!("{name}.cert.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert, credential.cert_pem()).expect("write certificate");
    let key_pem = dps_certgen::key_to_pem(credential.key(), password).expect("key PEM");
    std::fs::write(&key, key_pem).expect("write key");
    Pem { credential }
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

/// Asserts that `plan` changes nothing: it is empty and every item is unchanged.
pub(crate) fn assert_unchanged(plan: &Plan) {
    let other: Vec<_> = plan
        .items
        .iter()
        .filter(|i| i.action != Action::Unchanged)
        .collect();
    assert!(
        plan.is_empty() && other.is_empty(),
        "expected no changes: {}\n{other:#?}",
        plan.summary_line(),
    );
}
