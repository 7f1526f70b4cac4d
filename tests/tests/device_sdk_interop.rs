//! Opt-in interoperability test: the official device SDKs, unmodified, provision over MQTT
//! against the emulator. The Python SDK (`azure-iot-device` 2.14.0, which provisions only over
//! MQTT) registers an X.509 device of an enrollment group (leaf + intermediate), the same over
//! WebSockets, a group-derived and an individual symmetric-key device, and is refused for a rogue
//! self-signed certificate and a wrong key; the Node MQTT transport does the same for X.509
//! (over TCP and WebSockets), a group-derived key, a rogue certificate and a wrong key. Each
//! SDK result is checked, and so is the registration state the Rust service client reads back.
//!
//! The SDKs connect only to ports 8883 and 443, so the emulator listens on exactly those, inside
//! a private network namespace: the test re-runs itself under `unshare -n` (as root; else
//! `unshare -r -n`), where the loopback is its own. Skipped (and passing) unless
//! `DPS_E2E_DEVICE_SDK=1`; with it, a missing prerequisite fails. See `tests/interop/README.md`.

use base64::Engine;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile, ROOT_PREFIX, Signer};
use dps_e2e::{TestChain, TestEmulator, rt};
use dps_protocol::models::{
    EnrollmentGroup, IndividualEnrollment, RegistrationStatus, SymmetricKeyAttestation,
};
use dps_service_client::{ErrorKind, ProvisioningServiceClient};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "device_sdk_interop/sdks.rs"]
mod sdks;
use dps_e2e::interop::describe;
use sdks::{Script, interop_dir, node_modules, package_lock, script_command, venv_python};

const GATE: &str = "DPS_E2E_DEVICE_SDK";
/// Set (to the venv's interpreter) only on the run inside the namespace.
const INSIDE_PYTHON: &str = "DPS_E2E_DEVICE_SDK_INSIDE_PYTHON";
/// The `node_modules` folder, for the run inside the namespace.
const INSIDE_NODE_PATH: &str = "DPS_E2E_DEVICE_SDK_INSIDE_NODE_PATH";
const TEST_NAME: &str = "official_device_sdks_provision_over_mqtt";
const DONE: &str = "device-sdk-interop: every case checked";

const PY_REQUIREMENT: &str = "azure-iot-device==2.14.0";
const PY_VERSION: &str = "2.14.0";
const NODE_PACKAGES: [&str; 4] = [
    "azure-iot-provisioning-device",
    "azure-iot-provisioning-device-mqtt",
    "azure-iot-security-x509",
    "azure-iot-security-symmetric-key",
];
const CASE_PREFIX: &str = "device-sdk-case: ";
const SUMMARY_PREFIX: &str = "device-sdk-summary: ";

const HTTPS_LISTEN: &str = "127.0.0.1:443";
const MQTT_LISTEN: &str = "127.0.0.1:8883";
const HUB: &str = "device-sdk-hub.azure-devices.net";
const X509_GROUP: &str = "device-sdk-x509-group";
const KEY_GROUP: &str = "device-sdk-key-group";

/// How a case's device proves who it is.
#[derive(Clone, Copy)]
enum Proof {
    /// The intermediate-signed leaf of the test chain, sent with the CAs above it.
    ChainCert,
    /// A self-signed certificate no enrollment knows.
    RogueCert,
    /// The key derived from [`KEY_GROUP`]'s key.
    GroupKey,
    /// The individual enrollment's own primary key.
    OwnKey,
    /// A key of nothing.
    WrongKey,
}

/// What the SDK must report.
#[derive(Clone, Copy)]
enum Expect {
    /// Assigned to [`HUB`] with this device id; the group the state must name, if any.
    Assigned(&'static str, Option<&'static str>),
    /// Refused: the SDK's error type (Python exception class, Node error name), and text its
    /// report must contain (message, causes, or the DPS error body the SDK passed on).
    Refused(&'static str, &'static str),
}

struct Case {
    sdk: &'static str,
    name: &'static str,
    registration_id: &'static str,
    proof: Proof,
    /// Python: WebSockets on; Node: the `MqttWs` transport.
    websockets: bool,
    expect: Expect,
}

const fn case(
    sdk: &'static str,
    name: &'static str,
    registration_id: &'static str,
    proof: Proof,
    websockets: bool,
    expect: Expect,
) -> Case {
    Case {
        sdk,
        name,
        registration_id,
        proof,
        websockets,
        expect,
    }
}

use Expect::{Assigned, Refused};
use Proof::{ChainCert, GroupKey, OwnKey, RogueCert, WrongKey};

#[rustfmt::skip]
const CASES: &[Case] = &[
    case("python", "x509-group", "py-x509-device", ChainCert, false,
         Assigned("py-x509-device", Some(X509_GROUP))),
    case("python", "x509-group-websockets", "py-x509-ws-device", ChainCert, true,
         Assigned("py-x509-ws-device", Some(X509_GROUP))),
    case("python", "group-derived-key", "py-group-key-device", GroupKey, false,
         Assigned("py-group-key-device", Some(KEY_GROUP))),
    case("python", "individual-key", "py-individual-device", OwnKey, false,
         Assigned("py-individual-device-id", None)),
    // CONNECT accepted, the register request answered 401: the SDK raises ClientError, its
    // cause a ServiceError naming the status.
    case("python", "rogue-certificate", "py-rogue-device", RogueCert, false,
         Refused("ClientError", "service error status code 401")),
    // CONNACK 5, not authorised.
    case("python", "wrong-key", "py-wrong-key-device", WrongKey, false,
         Refused("CredentialError", "not authorised")),
    case("node", "x509-group", "node-x509-device", ChainCert, false,
         Assigned("node-x509-device", Some(X509_GROUP))),
    case("node", "x509-group-websockets", "node-x509-ws-device", ChainCert, true,
         Assigned("node-x509-ws-device", Some(X509_GROUP))),
    case("node", "group-derived-key", "node-key-device", GroupKey, false,
         Assigned("node-key-device", Some(KEY_GROUP))),
    // Node passes the 401 response's DPS error body on as the error's result.
    case("node", "rogue-certificate", "node-rogue-device", RogueCert, false,
         Refused("UnauthorizedError", "\"errorCode\":401002")),
    // mqtt.js's text for CONNACK 5.
    case("node", "wrong-key", "node-wrong-key-device", WrongKey, false,
         Refused("Error", "Connection refused: Not authorized")),
];

#[test]
fn official_device_sdks_provision_over_mqtt() {
    if let Some(python) = std::env::var_os(INSIDE_PYTHON) {
        let node_path = std::env::var_os(INSIDE_NODE_PATH).expect("node_modules path");
        inside_namespace(Path::new(&python), Path::new(&node_path));
        return;
    }
    if std::env::var(GATE).as_deref() != Ok("1") {
        println!(
            "skipped: set {GATE}=1 to run the official device SDKs ({PY_REQUIREMENT} from PyPI, \
             the Node MQTT transport from npm) against the emulator on ports 443 and 8883 in a \
             private network namespace (needs root or user namespaces, unshare, ip, python3 \
             with venv, npm)"
        );
        return;
    }
    let flags = namespace_flags();
    let python = venv_python();
    let node_modules = node_modules();

    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new("unshare")
        .args(flags)
        .arg("--")
        .arg(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE_PYTHON, &python)
        .env(INSIDE_NODE_PATH, &node_modules)
        .stdin(Stdio::null())
        .output()
        .expect("unshare runs");
    println!("{}", describe(&out));
    assert!(
        out.status.success(),
        "the run inside the network namespace failed ({}); its output is above",
        out.status
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(DONE),
        "the run inside the namespace did not reach its end (`{DONE}` missing); output above"
    );
}

/// The `unshare` flags that give this user a private network namespace with a working
/// loopback: `-n` as root; else `-r -n` (a user namespace mapping the user to root), where the
/// kernel allows unprivileged user namespaces.
fn namespace_flags() -> &'static [&'static str] {
    let mut tried = String::new();
    for flags in [&["-n"][..], &["-r", "-n"][..]] {
        let out = Command::new("unshare")
            .args(flags)
            .args(["--", "ip", "link", "set", "lo", "up"])
            .output();
        match out {
            Ok(o) if o.status.success() => return flags,
            Ok(o) => tried.push_str(&format!(
                "\n`unshare {} -- ip link set lo up`: {}",
                flags.join(" "),
                describe(&o)
            )),
            Err(e) => panic!("{GATE}=1 but `unshare` cannot start ({e}); install util-linux"),
        }
    }
    panic!(
        "{GATE}=1 but no private network namespace is available: run as root (or with \
         CAP_SYS_ADMIN), or allow unprivileged user namespaces; `ip` comes with iproute2{tried}"
    );
}

// ---------------------------------------------------------------------------------------------
// Inside the namespace: one emulator on 443 and 8883, the enrollments, the SDKs, the checks.
// ---------------------------------------------------------------------------------------------

fn inside_namespace(python: &Path, node_modules: &Path) {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .output()
        .expect("ip runs");
    assert!(up.status.success(), "ip link set lo up\n{}", describe(&up));
    dps_emulator::cli::init_logging(false);

    let chain = TestChain::new();
    let files = DeviceFiles::make(&chain);
    let root = chain.certs.cert_path(ROOT_PREFIX);
    let t = TestEmulator::start_with(|c| {
        // The root is a verified CA, as after `dps-cli certificate prove`.
        c.ca_certificates = vec![("device-sdk-root".to_owned(), root)];
        c.listen = addr(HTTPS_LISTEN);
        c.mqtt_listen = Some(addr(MQTT_LISTEN));
        c.iot_hubs = vec![HUB.to_owned()];
        // The binary's defaults: one "assigning" poll with retry-after 1, as a user sees.
        c.retry_after_secs = 1;
        c.pending_polls = 1;
    });
    assert_eq!(t.emulator.addr(), addr(HTTPS_LISTEN));
    assert_eq!(t.emulator.mqtt_addr(), Some(addr(MQTT_LISTEN)));
    // What a user reads to point a device SDK at the emulator.
    let info = std::fs::read_to_string(t.emulator.info_path()).expect("emulator.json");
    let info: Value = serde_json::from_str(&info).expect("emulator.json is JSON");
    assert_eq!(info["mqttEndpoint"], "mqtts://localhost:8883", "{info}");
    let service = t.client();
    let keys = Keys::default();
    rt().block_on(enroll(&service, &chain, &keys));

    let work = tempfile::tempdir().expect("temp dir");
    let cases_json = |sdk: &str| {
        let path = work.path().join(format!("{sdk}-cases.json"));
        let doc = case_file(sdk, &t, &files, &keys);
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("JSON")).expect("case file");
        path
    };
    let interop = interop_dir();

    let mut py = script_command(python);
    py.arg(interop.join("python_register.py"))
        .arg(cases_json("python"))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8");
    let mut node = script_command("node");
    node.arg(interop.join("node_register.js"))
        .arg(cases_json("node"))
        .env("NODE_EXTRA_CA_CERTS", t.emulator.ca_path())
        .env("NODE_PATH", node_modules);
    // Both SDKs at once, against the one emulator.
    let py = Script::start(py, work.path(), "python");
    let node = Script::start(node, work.path(), "node");
    let (py, node) = (py.finish(), node.finish());
    println!(
        "== python ==\n{}\n== node ==\n{}",
        describe(&py),
        describe(&node)
    );

    let results = sdk_results(&[&py, &node]);
    check_summaries(&py, &node);
    rt().block_on(check_cases(&service, &results));
    println!("{DONE} ({} cases)", CASES.len());
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a socket address")
}

/// The certificate files the X.509 cases use.
struct DeviceFiles {
    /// registration id -> (certificate file with the chain, key file)
    certs: BTreeMap<&'static str, (PathBuf, PathBuf)>,
}

impl DeviceFiles {
    fn make(chain: &TestChain) -> Self {
        let mut certs = BTreeMap::new();
        for c in CASES {
            let paths = match c.proof {
                ChainCert => {
                    chain.device(c.registration_id, Signer::Intermediate);
                    // Leaf, intermediate, root: the SDKs send the whole file.
                    (
                        chain.certs.full_chain_path(c.registration_id),
                        chain.certs.key_path(c.registration_id),
                    )
                }
                RogueCert => {
                    let rogue = Credential::self_signed(&CertSpec {
                        common_name: c.registration_id,
                        profile: Profile::Leaf,
                        algorithm: KeyAlgorithm::EcdsaP256,
                        days: 30,
                    })
                    .expect("rogue certificate");
                    let dir = chain.dir.path();
                    let cert = dir.join(format!("{}.rogue.cert.pem", c.registration_id));
                    let key = dir.join(format!("{}.rogue.key.pem", c.registration_id));
                    std::fs::write(&cert, rogue.cert_pem()).expect("write");
                    let key_pem = dps_certgen::key_to_pem(rogue.key(), None).expect("key PEM");
                    std::fs::write(&key, key_pem).expect("write");
                    (cert, key)
                }
                _ => continue,
            };
            certs.insert(c.registration_id, paths);
        }
        Self { certs }
    }
}

/// The symmetric keys: the group's, each individual enrollment's, and one of nothing.
struct Keys {
    group: String,
    group_secondary: String,
    individual: String,
    individual_secondary: String,
    wrong: String,
}

impl Default for Keys {
    fn default() -> Self {
        let b64 = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        Self {
            group: b64(0x11),
            group_secondary: b64(0x12),
            individual: b64(0x21),
            individual_secondary: b64(0x22),
            wrong: b64(0x33),
        }
    }
}

/// base64(HMAC-SHA256(base64decode(group key), registration id)), from the documented rule.
fn derived_key(group_key: &str, registration_id: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &b64.decode(group_key).expect("base64"),
    );
    b64.encode(aws_lc_rs::hmac::sign(&key, registration_id.as_bytes()).as_ref())
}

/// The X.509 group on the root CA, the symmetric-key group, and an individual symmetric-key
/// enrollment for each `OwnKey` and `WrongKey` case.
async fn enroll(service: &ProvisioningServiceClient, chain: &TestChain, keys: &Keys) {
    let root = chain.root_pem();
    service
        .create_x509_enrollment_group(X509_GROUP, root.as_bytes(), None, None)
        .await
        .expect("X.509 group");
    let group = SymmetricKeyAttestation::new(keys.group.clone(), keys.group_secondary.clone());
    service
        .create_or_update_enrollment_group(
            &EnrollmentGroup::symmetric_key(KEY_GROUP, Some(group)),
            None,
        )
        .await
        .expect("symmetric-key group");
    for c in CASES
        .iter()
        .filter(|c| matches!(c.proof, OwnKey | WrongKey))
    {
        let own = SymmetricKeyAttestation::new(
            keys.individual.clone(),
            keys.individual_secondary.clone(),
        );
        let mut e = IndividualEnrollment::symmetric_key(c.registration_id, Some(own));
        if let Assigned(device_id, _) = c.expect {
            e.device_id = Some(device_id.to_owned());
        }
        service
            .create_or_update_enrollment(&e, None)
            .await
            .unwrap_or_else(|e| panic!("enrollment {}: {e}", c.registration_id));
    }
}

/// The case file `python_register.py` and `node_register.js` read.
fn case_file(sdk: &str, t: &TestEmulator, files: &DeviceFiles, keys: &Keys) -> Value {
    let cases: Vec<Value> = CASES
        .iter()
        .filter(|c| c.sdk == sdk)
        .map(|c| {
            let mut v = json!({
                "name": c.name,
                "registrationId": c.registration_id,
                "websockets": c.websockets,
                "transport": if c.websockets { "mqttWs" } else { "mqtt" },
            });
            match c.proof {
                ChainCert | RogueCert => {
                    let (cert, key) = &files.certs[c.registration_id];
                    v["attestation"] = json!("x509");
                    v["certFile"] = json!(cert);
                    v["keyFile"] = json!(key);
                }
                GroupKey | OwnKey | WrongKey => {
                    v["attestation"] = json!("symmetricKey");
                    v["symmetricKey"] = json!(match c.proof {
                        GroupKey => derived_key(&keys.group, c.registration_id),
                        OwnKey => keys.individual.clone(),
                        _ => keys.wrong.clone(),
                    });
                }
            }
            v
        })
        .collect();
    json!({
        "host": "localhost",
        "idScope": t.emulator.id_scope(),
        "caFile": t.emulator.ca_path(),
        "cases": cases,
    })
}

type Results<'a> = BTreeMap<(String, String), (Value, &'a Output)>;

/// Every `device-sdk-case:` line, by (sdk, case name).
fn sdk_results<'a>(outputs: &[&'a Output]) -> Results<'a> {
    let mut results = BTreeMap::new();
    for out in outputs {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(json) = line.strip_prefix(CASE_PREFIX) {
                let v: Value = serde_json::from_str(json)
                    .unwrap_or_else(|e| panic!("bad case line ({e}): {line}\n{}", describe(out)));
                let key = (str_of(&v["sdk"]), str_of(&v["case"]));
                results.insert(key, (v, *out));
            }
        }
    }
    results
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn summary_of(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(SUMMARY_PREFIX))
        .unwrap_or_else(|| panic!("no `{SUMMARY_PREFIX}` line\n{}", describe(out)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad summary ({e})\n{}", describe(out)))
}

/// Both scripts ran to the end, with the pinned releases, over every case.
fn check_summaries(py: &Output, node: &Output) {
    for (out, sdk) in [(py, "python"), (node, "node")] {
        assert!(
            out.status.success(),
            "the {sdk} script failed\n{}",
            describe(out)
        );
        let summary = summary_of(out);
        let count = CASES.iter().filter(|c| c.sdk == sdk).count();
        assert_eq!(summary["cases"], count, "{sdk}\n{}", describe(out));
    }
    assert_eq!(summary_of(py)["version"], PY_VERSION, "{}", describe(py));
    let lock = package_lock();
    let packages = &summary_of(node)["packages"];
    for name in NODE_PACKAGES {
        let locked = &lock["packages"][format!("node_modules/{name}")]["version"];
        assert_eq!(&packages[name], locked, "{name}\n{}", describe(node));
    }
}

/// Each case's SDK result, then the registration state the service client reads back.
async fn check_cases(service: &ProvisioningServiceClient, results: &Results<'_>) {
    for c in CASES {
        let (line, out) = results
            .get(&(c.sdk.to_owned(), c.name.to_owned()))
            .unwrap_or_else(|| panic!("no result line for {} {}", c.sdk, c.name));
        let what = format!("{} {} ({})", c.sdk, c.name, c.registration_id);
        let state = service
            .get_registration_state(c.registration_id, None)
            .await;
        match c.expect {
            Assigned(device_id, group) => {
                assert_eq!(line["ok"], true, "{what}: {line}\n{}", describe(out));
                // Python reports the fields flat; Node returns the registration state.
                let r = if c.sdk == "node" {
                    &line["result"]
                } else {
                    line
                };
                if c.sdk == "node" {
                    assert_eq!(r["registrationId"], c.registration_id, "{what}: {line}");
                    let block = if matches!(c.proof, ChainCert) {
                        "x509"
                    } else {
                        "symmetricKey"
                    };
                    assert_eq!(
                        r[block]["enrollmentGroupId"].as_str(),
                        group,
                        "{what}: {line}"
                    );
                }
                assert_eq!(r["status"], "assigned", "{what}: {line}");
                assert_eq!(r["assignedHub"], HUB, "{what}: {line}");
                assert_eq!(r["deviceId"], device_id, "{what}: {line}");
                let etag = r["etag"].as_str().filter(|e| !e.is_empty());
                assert!(etag.is_some(), "{what}: no etag in {line}");

                let state = state.unwrap_or_else(|e| panic!("{what}: registration state: {e}"));
                assert_eq!(state.status, RegistrationStatus::Assigned, "{what}");
                assert_eq!(state.assigned_hub.as_deref(), Some(HUB), "{what}");
                assert_eq!(state.device_id.as_deref(), Some(device_id), "{what}");
                assert_eq!(state.etag.as_deref(), etag, "{what}: the SDK's etag");
            }
            Refused(error, needle) => {
                assert_eq!(line["ok"], false, "{what}: {line}\n{}", describe(out));
                assert_eq!(line["error"], error, "{what}: {line}\n{}", describe(out));
                let report = line.to_string();
                assert!(
                    report.contains(needle),
                    "{what}: {needle:?} not in {report}"
                );
                let err = state.expect_err("a refused device has no registration state");
                assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
            }
        }
    }
    for group in [X509_GROUP, KEY_GROUP] {
        let states: Vec<_> = service
            .query_registration_states(group, None)
            .try_collect()
            .await
            .expect("registration query");
        let mut listed: Vec<String> = states.into_iter().map(|s| s.registration_id).collect();
        listed.sort();
        let mut wanted: Vec<&str> = CASES
            .iter()
            .filter(|c| matches!(c.expect, Assigned(_, Some(g)) if g == group))
            .map(|c| c.registration_id)
            .collect();
        wanted.sort_unstable();
        assert_eq!(listed, wanted, "registrations of {group}");
    }
}
