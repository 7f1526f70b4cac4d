//! Micro-benchmarks of the wire-level hot paths: SAS tokens as the SDK signs them and as the
//! emulator checks them on every request, a derived device key, and the JSON of an individual
//! enrollment and of a query page of 100.
//!
//! `cargo bench -p dps-protocol` (add `-- sas` or `-- models` to pick a group).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dps_protocol::auth::{SasToken, Secret, derive_device_key, device_resource};
use dps_protocol::models::IndividualEnrollment;
use std::hint::black_box;

const KEY: &str = "ZHBzLXJzIGVtdWxhdG9yIG93bmVyIGtleSAtIG5vdCBhIHNlY3JldCEhISE=";
const HOST: &str = "localhost:8443";
const POLICY: &str = "provisioningserviceowner";
const EXPIRY: u64 = 4_102_444_800;
const ENROLLMENT: &str = include_str!("../tests/fixtures/individual_enrollment_x509.json");

fn sas(c: &mut Criterion) {
    let key = Secret::from(KEY);
    let token = SasToken::generate(HOST, &key, Some(POLICY), EXPIRY).expect("token");
    let audience = format!("{HOST}/enrollments/device-01");
    let mut g = c.benchmark_group("sas");
    g.bench_function("generate", |b| {
        b.iter(|| SasToken::generate(black_box(HOST), &key, Some(POLICY), EXPIRY).expect("token"))
    });
    g.bench_function("parse", |b| {
        b.iter(|| SasToken::parse(black_box(&token)).expect("parses"))
    });
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            SasToken::parse(black_box(&token))
                .expect("parses")
                .verify(&[&key], &audience, EXPIRY - 60, 0)
                .expect("valid")
        })
    });
    let device = device_resource("0ne000E1A70", "device-01");
    g.bench_function("derive_device_key_and_sign", |b| {
        b.iter(|| {
            let device_key = derive_device_key(&key, black_box("device-01")).expect("derives");
            SasToken::generate(&device, &device_key, Some("registration"), EXPIRY).expect("token")
        })
    });
    g.finish();
}

/// A page of `n` enrollments made from the fixture, with distinct ids.
fn page(n: usize) -> Vec<IndividualEnrollment> {
    let one: IndividualEnrollment = serde_json::from_str(ENROLLMENT).expect("fixture");
    (0..n)
        .map(|i| {
            let mut e = one.clone();
            e.registration_id = format!("device-{i:03}");
            e
        })
        .collect()
}

fn models(c: &mut Criterion) {
    let one: IndividualEnrollment = serde_json::from_str(ENROLLMENT).expect("fixture");
    let one_json = serde_json::to_string(&one).expect("serializes");
    let hundred = page(100);
    let hundred_json = serde_json::to_string(&hundred).expect("serializes");

    let mut g = c.benchmark_group("models");
    g.throughput(Throughput::Bytes(one_json.len() as u64));
    g.bench_function("enrollment/deserialize", |b| {
        b.iter(|| {
            serde_json::from_str::<IndividualEnrollment>(black_box(&one_json)).expect("parses")
        })
    });
    g.bench_function("enrollment/serialize", |b| {
        b.iter(|| serde_json::to_string(black_box(&one)).expect("serializes"))
    });
    g.throughput(Throughput::Bytes(hundred_json.len() as u64));
    g.bench_function("query_page_100/deserialize", |b| {
        b.iter(|| {
            serde_json::from_str::<Vec<IndividualEnrollment>>(black_box(&hundred_json))
                .expect("parses")
        })
    });
    g.bench_function("query_page_100/serialize", |b| {
        b.iter(|| serde_json::to_string(black_box(&hundred)).expect("serializes"))
    });
    g.finish();
}

criterion_group!(benches, sas, models);
criterion_main!(benches);
