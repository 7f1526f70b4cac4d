//! certGen.sh's `v3_ca`, `v3_intermediate_ca` and `usr_cert` profiles (behaviour spec §1.5)
//! for every operation and key algorithm.

use crate::checks::{
    ECDSA_SHA256, ECDSA_SHA384, Kind, SHA256_RSA, aki_of, assert_alg_days, assert_profile, parse,
    ski_of,
};
use crate::common::{
    PW, RSA_DEVICE, cert, certs, chain_opts, device, leaf_opts, names, p256_chain, rsa_chain,
    tempdir,
};
use dps_certgen::{
    CHAIN_PREFIX, CertDir, ChainOptions, EDGE_PREFIX, INTERMEDIATE_CN, INTERMEDIATE_PREFIX,
    KeyAlgorithm, LeafOptions, ROOT_CN, ROOT_PREFIX, Signer, VERIFICATION_PREFIX,
};
use x509_parser::der_parser::asn1_rs::Tag;

#[test]
fn p256_chain_matches_v3_ca_and_v3_intermediate_ca() {
    let (_tmp, dir) = p256_chain();
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    assert_profile(&root, &root, Kind::Ca, ROOT_CN);
    assert_profile(&inter, &root, Kind::Ca, INTERMEDIATE_CN);
    let r = parse(&root);
    assert_eq!(aki_of(&r), ski_of(&r), "the root's AKI is its own SKI");
    assert_eq!(r.subject().as_raw(), r.issuer().as_raw(), "self-signed");
    for der in [&root, &inter] {
        assert_alg_days(der, ECDSA_SHA256, 30);
    }
    assert_eq!(certs(&dir.cert_path(CHAIN_PREFIX)), vec![inter, root]);
}

#[test]
fn p256_devices_and_verification_match_usr_cert() {
    let (_tmp, dir) = p256_chain();
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    device(&dir, "dev-root", Signer::Root);
    device(&dir, "dev-inter", Signer::Intermediate);
    dir.create_verification_certificate("1234ABCD", &leaf_opts(Signer::Root))
        .expect("verification certificate");
    let by_root = cert(&dir.cert_path("dev-root"));
    let by_inter = cert(&dir.cert_path("dev-inter"));
    let code = cert(&dir.cert_path(VERIFICATION_PREFIX));
    assert_profile(&by_root, &root, Kind::Leaf, "dev-root");
    assert_profile(&by_inter, &inter, Kind::Leaf, "dev-inter");
    assert_profile(&code, &root, Kind::Leaf, "1234ABCD");
    for der in [&by_root, &by_inter, &code] {
        assert_alg_days(der, ECDSA_SHA256, 30);
    }
    // Unlike certGen.sh, the verification certificate can come from the intermediate.
    dir.create_verification_certificate("5678EF", &leaf_opts(Signer::Intermediate))
        .expect("verification certificate from the intermediate");
    assert_profile(
        &cert(&dir.cert_path(VERIFICATION_PREFIX)),
        &inter,
        Kind::Leaf,
        "5678EF",
    );
}

#[test]
fn edge_certificate_is_an_intermediate_ca_named_dot_ca() {
    let (_tmp, dir) = p256_chain();
    let out = dir
        .create_edge_device_certificate("my-edge", &leaf_opts(Signer::Root))
        .expect("edge certificate");
    assert_eq!(out.issued[0].common_name, "my-edge.ca");
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    let edge = cert(&dir.cert_path(EDGE_PREFIX));
    // Signed by the intermediate even though the options said root, as in certGen.sh.
    assert_profile(&edge, &inter, Kind::Ca, "my-edge.ca");
    assert_alg_days(&edge, ECDSA_SHA256, 30);
}

#[test]
fn rsa4096_chain_and_device_use_sha256_with_rsa() {
    let (_tmp, dir) = rsa_chain();
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    let dev = cert(&dir.cert_path(RSA_DEVICE));
    assert_profile(&root, &root, Kind::Ca, ROOT_CN);
    assert_profile(&inter, &root, Kind::Ca, INTERMEDIATE_CN);
    assert_profile(&dev, &inter, Kind::Leaf, RSA_DEVICE);
    for der in [&root, &inter, &dev] {
        assert_alg_days(der, SHA256_RSA, 30);
        let c = parse(der);
        // sha256WithRSAEncryption carries explicit NULL parameters, as OpenSSL writes it.
        let params = c
            .signature_algorithm
            .parameters
            .as_ref()
            .expect("NULL params");
        assert_eq!(params.tag(), Tag::Null);
        match c.public_key().parsed().expect("RSA key") {
            x509_parser::public_key::PublicKey::RSA(rsa) => {
                assert_eq!(rsa.key_size(), 4096);
                assert_eq!(rsa.try_exponent().expect("e"), 65_537);
            }
            other => panic!("not RSA: {other:?}"),
        }
    }
}

#[test]
fn p384_uses_ecdsa_with_sha384() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    dir.create_root_and_intermediate(&chain_opts(KeyAlgorithm::EcdsaP384))
        .expect("P-384 chain");
    let opts = LeafOptions {
        algorithm: KeyAlgorithm::EcdsaP384,
        ..leaf_opts(Signer::Intermediate)
    };
    dir.create_device_certificates(&names(&["dev-384"]), &opts, &|_, _| {})
        .expect("P-384 device");
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    let dev = cert(&dir.cert_path("dev-384"));
    assert_profile(&dev, &inter, Kind::Leaf, "dev-384");
    for der in [&root, &inter, &dev] {
        assert_alg_days(der, ECDSA_SHA384, 30);
    }
}

#[test]
fn validity_starts_now_and_days_are_honoured() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    let before = ::time::OffsetDateTime::now_utc().unix_timestamp();
    dir.create_root_and_intermediate(&ChainOptions {
        days: 365,
        password: Some(PW.to_owned()),
        ..chain_opts(KeyAlgorithm::EcdsaP256)
    })
    .expect("chain with 365 days");
    let opts = LeafOptions {
        days: 7,
        ..leaf_opts(Signer::Intermediate)
    };
    dir.create_device_certificates(&names(&["dev-7"]), &opts, &|_, _| {})
        .expect("device with 7 days");
    // The longest validity allowed ends after 2049, so notAfter becomes GeneralizedTime.
    let opts = LeafOptions {
        days: 36_500,
        ..leaf_opts(Signer::Root)
    };
    dir.create_verification_certificate("c0de", &opts)
        .expect("100-year certificate");
    let after = ::time::OffsetDateTime::now_utc().unix_timestamp();
    let all = [
        (ROOT_PREFIX, 365),
        (INTERMEDIATE_PREFIX, 365),
        ("dev-7", 7),
        (VERIFICATION_PREFIX, 36_500),
    ];
    for (prefix, days) in all {
        let der = cert(&dir.cert_path(prefix));
        assert_alg_days(&der, ECDSA_SHA256, days);
        let start = parse(&der).validity().not_before.timestamp();
        assert!((before..=after).contains(&start), "{prefix} starts now");
    }
}

#[test]
fn serials_are_distinct() {
    let (_tmp, dir) = p256_chain();
    dir.create_device_certificates(
        &names(&["a", "b", "c"]),
        &leaf_opts(Signer::Root),
        &|_, _| {},
    )
    .expect("batch");
    let mut serials: Vec<Vec<u8>> = [ROOT_PREFIX, INTERMEDIATE_PREFIX, "a", "b", "c"]
        .iter()
        .map(|p| parse(&cert(&dir.cert_path(p))).raw_serial().to_vec())
        .collect();
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 5);
}
