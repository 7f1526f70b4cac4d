//! Micro-benchmarks of X.509 device registration, the emulator's most expensive request.
//!
//! The chain check itself (`chain::verify`) is crate-private, so this measures:
//! * `chain/webpki_leaf_to_root`: one rustls-webpki path build from a P-256 leaf through its
//!   intermediate to the root, the primitive `chain::verify` runs twice per registration;
//! * `register/x509_new_connection`: the public path end to end, a new device client (so a new
//!   TLS connection with a client certificate) registering through an enrollment group on the
//!   intermediate, the root registered as verified, against an in-process emulator;
//! * `certgen/p256_leaf`: making one P-256 device certificate with dps-certgen, for scale.
//!
//! `cargo bench -p dps-emulator`.

use criterion::{Criterion, criterion_group, criterion_main};
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile, key_to_pem};
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_service_client::{ClientOptions, ProvisioningServiceClient};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::hint::black_box;
use std::time::Duration;

fn spec(common_name: &str, profile: Profile) -> CertSpec<'_> {
    CertSpec {
        common_name,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    }
}

struct Chain {
    root: Credential,
    intermediate: Credential,
    leaf: Credential,
}

fn chain() -> Chain {
    let root = Credential::self_signed(&spec("bench-root", Profile::RootCa)).expect("root");
    let intermediate = root
        .sign(&spec("bench-intermediate", Profile::IntermediateCa))
        .expect("intermediate");
    let leaf = intermediate
        .sign(&spec("bench-device", Profile::Leaf))
        .expect("leaf");
    Chain {
        root,
        intermediate,
        leaf,
    }
}

fn webpki_chain(c: &mut Criterion) {
    let ch = chain();
    let anchor = webpki::anchor_from_trusted_cert(ch.root.der()).expect("anchor");
    let intermediates: Vec<CertificateDer<'static>> = vec![ch.intermediate.der().clone()];
    let now = UnixTime::now();
    c.bench_function("chain/webpki_leaf_to_root", |b| {
        b.iter(|| {
            let ee = webpki::EndEntityCert::try_from(black_box(ch.leaf.der())).expect("leaf");
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                std::slice::from_ref(&anchor),
                &intermediates,
                now,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .map(|_| ())
            .expect("verifies")
        })
    });
}

fn register(c: &mut Criterion) {
    let ch = chain();
    let dir = tempfile::tempdir().expect("temp dir");
    let root_path = dir.path().join("root.cert.pem");
    std::fs::write(&root_path, ch.root.cert_pem()).expect("root file");
    let mut config = EmulatorConfig::for_tests(dir.path().join("data"));
    config.ca_certificates = vec![("bench-root".into(), root_path)];
    let emulator = Emulator::spawn(config).expect("emulator");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let service = ProvisioningServiceClient::from_connection_string(
        &emulator.service_connection_string(),
        Some(ClientOptions {
            trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..ClientOptions::default()
        }),
    )
    .expect("service client");
    rt.block_on(service.create_x509_enrollment_group(
        "bench-group",
        ch.intermediate.cert_pem().as_bytes(),
        None,
        None,
    ))
    .expect("group");
    let chain_pem = format!(
        "{}{}{}",
        ch.leaf.cert_pem(),
        ch.intermediate.cert_pem(),
        ch.root.cert_pem()
    );
    let key_pem = key_to_pem(ch.leaf.key(), None).expect("key");
    let options = DeviceClientOptions {
        trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
        trust_only_custom_ca: true,
        default_poll_interval: Duration::from_millis(1),
        ..DeviceClientOptions::default()
    };
    let mut g = c.benchmark_group("register");
    g.sample_size(30);
    g.bench_function("x509_new_connection", |b| {
        b.iter(|| {
            let client = ProvisioningDeviceClient::new(
                &emulator.device_endpoint(),
                emulator.id_scope(),
                "bench-device",
                DeviceAuth::x509(chain_pem.clone().into_bytes(), key_pem.clone().into_bytes()),
                Some(options.clone()),
            )
            .expect("device client");
            rt.block_on(client.register(None)).expect("assigned")
        })
    });
    g.finish();
    emulator.shutdown();
}

fn certgen(c: &mut Criterion) {
    let ch = chain();
    c.bench_function("certgen/p256_leaf", |b| {
        b.iter(|| {
            ch.intermediate
                .sign(&spec(black_box("bench-device"), Profile::Leaf))
                .expect("leaf")
        })
    });
}

criterion_group!(benches, webpki_chain, register, certgen);
criterion_main!(benches);
