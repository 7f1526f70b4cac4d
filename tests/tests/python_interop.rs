//! Opt-in interoperability test: the official Python service SDK the Azure DPS X.509 quickstart
//! uses (`azure-iothub-provisioningserviceclient` 1.2.0) runs `tests/interop/enrollment_group.py`
//! unmodified against the emulator; then the Rust SDK checks what it left behind.
//!
//! Skipped (and passing) unless `DPS_E2E_PYTHON=1`, because it needs `python3` with `venv` and
//! network access to PyPI. See `tests/interop/README.md`.

use dps_certgen::{CertDir, ChainOptions, KeyAlgorithm, ROOT_PREFIX};
use dps_e2e::interop::{describe, python_venv};
use dps_e2e::{TestEmulator, rt};
use dps_service_client::models::{
    AttestationType, EnrollmentGroup, ProvisioningStatus, X509CertificateInfo,
};
use dps_service_client::{ConditionalOptions, ErrorKind};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The SDK release the quickstart's Python sample uses, and the API version it sends.
const SDK_REQUIREMENT: &str = "azure-iothub-provisioningserviceclient==1.2.0";
const SDK_VERSION: &str = "1.2.0";
const SDK_API_VERSION: &str = "2018-09-01-preview";
/// 1.2.0 imports `six` without declaring it.
const EXTRA_REQUIREMENT: &str = "six";

const SUMMARY_PREFIX: &str = "interop-summary: ";

#[test]
fn official_python_sdk_runs_the_enrollment_group_quickstart() {
    if std::env::var("DPS_E2E_PYTHON").as_deref() != Ok("1") {
        println!(
            "skipped: set DPS_E2E_PYTHON=1 to run the official Python SDK ({SDK_REQUIREMENT}) \
             against the emulator (needs python3 with venv, and PyPI)"
        );
        return;
    }
    let python = venv_python();

    let t = TestEmulator::start();
    let certs_dir = tempfile::tempdir().expect("temp dir");
    let certs = CertDir::new(certs_dir.path());
    let outcome = certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            password: None,
            ..ChainOptions::default()
        })
        .expect("test CA chain");
    let root_pem = certs.cert_path(ROOT_PREFIX);
    let root = outcome
        .issued
        .iter()
        .find(|i| i.cert_path == root_pem)
        .expect("the root CA is among the issued certificates");

    // 1. The quickstart's whole lifecycle: create, get, query, delete with etag, 404.
    let group_id = "python-quickstart-group";
    let out = run_script(&python, &t, &root_pem, group_id, false);
    let summary = summary_of(&out);
    assert_eq!(summary["kept"], Value::Bool(false), "{}", describe(&out));
    assert_eq!(
        summary["sha256Thumbprint"],
        root.thumbprints.sha256.as_str(),
        "{}",
        describe(&out)
    );
    assert_eq!(
        summary["sha1Thumbprint"],
        root.thumbprints.sha1.as_str(),
        "{}",
        describe(&out)
    );
    assert_requests(
        &summary,
        &[
            ("PUT", "/enrollmentGroups/python-quickstart-group", 200),
            ("GET", "/enrollmentGroups/python-quickstart-group", 200),
            ("POST", "/enrollmentGroups/query", 200),
            ("DELETE", "/enrollmentGroups/python-quickstart-group", 204),
            ("GET", "/enrollmentGroups/python-quickstart-group", 404),
        ],
        &out,
    );

    let client = t.client();
    rt().block_on(async {
        let err = client
            .get_enrollment_group(group_id, None)
            .await
            .expect_err("the Python SDK deleted the group");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });

    // 2. Cross-check: a group the Python SDK creates (and keeps) reads back identically through
    //    the Rust SDK, and the etag the Python SDK saw is the one a conditional delete needs.
    let kept_id = "python-kept-group";
    let out = run_script(&python, &t, &root_pem, kept_id, true);
    let summary = summary_of(&out);
    assert_eq!(summary["kept"], Value::Bool(true), "{}", describe(&out));
    assert_requests(
        &summary,
        &[
            ("PUT", "/enrollmentGroups/python-kept-group", 200),
            ("GET", "/enrollmentGroups/python-kept-group", 200),
            ("POST", "/enrollmentGroups/query", 200),
        ],
        &out,
    );
    let python_etag = summary["etag"]
        .as_str()
        .expect("etag in the summary")
        .to_owned();
    rt().block_on(async {
        let group = client
            .get_enrollment_group(kept_id, None)
            .await
            .unwrap_or_else(|e| panic!("the group the Python SDK kept: {e}\n{}", describe(&out)));
        assert_eq!(group.enrollment_group_id, kept_id);
        assert_eq!(
            group.etag.as_deref(),
            Some(python_etag.as_str()),
            "{}",
            describe(&out)
        );
        assert_eq!(group.provisioning_status, Some(ProvisioningStatus::Enabled));
        assert_eq!(group.attestation.attestation_type, AttestationType::X509);
        let info = primary_signing_info(&group);
        assert_eq!(info.sha256_thumbprint, root.thumbprints.sha256);
        assert_eq!(info.sha1_thumbprint, root.thumbprints.sha1);
        assert_eq!(
            summary["subjectName"],
            info.subject_name.as_str(),
            "{}",
            describe(&out)
        );

        client
            .delete_enrollment_group(
                kept_id,
                Some(ConditionalOptions::default().with_if_match(python_etag.clone())),
            )
            .await
            .expect("delete with the etag the Python SDK read");
        let err = client
            .get_enrollment_group(kept_id, None)
            .await
            .expect_err("deleted");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
}

fn primary_signing_info(group: &EnrollmentGroup) -> &X509CertificateInfo {
    group
        .attestation
        .x509
        .as_ref()
        .and_then(|x| x.signing_certificates.as_ref())
        .and_then(|s| s.primary.as_ref())
        .and_then(|p| p.info.as_ref())
        .unwrap_or_else(|| panic!("no primary signing certificate info in {group:?}"))
}

/// Runs the interop script with nothing inherited but `PATH` (and, on Windows, what Python
/// needs to start): only the connection string and the CA trust are set, as a user would.
fn run_script(python: &Path, t: &TestEmulator, cert: &Path, group_id: &str, keep: bool) -> Output {
    let mut cmd = Command::new(python);
    cmd.arg(script_path()).arg(cert).arg(group_id);
    if keep {
        cmd.arg("--keep");
    }
    cmd.env_clear()
        .env(
            "DPS_CONNECTION_STRING",
            t.emulator.service_connection_string(),
        )
        .env("REQUESTS_CA_BUNDLE", t.emulator.ca_path())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("NO_PROXY", "localhost,127.0.0.1");
    inherit_minimal_env(&mut cmd);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    println!("{}", describe(&out));
    assert!(
        out.status.success(),
        "enrollment_group.py failed\n{}",
        describe(&out)
    );
    out
}

fn inherit_minimal_env(cmd: &mut Command) {
    let names: &[&str] = if cfg!(windows) {
        &["PATH", "SYSTEMROOT", "TEMP", "TMP"]
    } else {
        &["PATH"]
    };
    for name in names {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
}

/// The JSON the script prints on its `interop-summary:` line.
fn summary_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(SUMMARY_PREFIX))
        .unwrap_or_else(|| panic!("no `{SUMMARY_PREFIX}` line\n{}", describe(out)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad summary ({e})\n{}", describe(out)))
}

/// Every request carried the 1.2.0 SDK's api-version, and the method, path and status
/// sequence is the quickstart's.
fn assert_requests(summary: &Value, expected: &[(&str, &str, u16)], out: &Output) {
    assert_eq!(summary["apiVersion"], SDK_API_VERSION, "{}", describe(out));
    let seen: Vec<&str> = summary["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("no request list\n{}", describe(out)))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let wanted: Vec<String> = expected
        .iter()
        .map(|(method, path, status)| {
            format!("{method} {path}?api-version={SDK_API_VERSION} {status}")
        })
        .collect();
    assert_eq!(seen, wanted, "requests the SDK made\n{}", describe(out));
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join("enrollment_group.py")
}

/// The venv's interpreter, with the pinned SDK release and `six` installed (reused while
/// current).
fn venv_python() -> PathBuf {
    let probe = format!(
        "import importlib.metadata as m, six, provisioningserviceclient; \
         assert m.version('azure-iothub-provisioningserviceclient') == '{SDK_VERSION}'"
    );
    python_venv(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("py-interop-venv"),
        &[SDK_REQUIREMENT, EXTRA_REQUIREMENT],
        &probe,
        "DPS_E2E_PYTHON",
    )
}
