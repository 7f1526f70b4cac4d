//! The files each operation writes (behaviour spec §1.4, §5), and chain replacement.

use crate::common::{
    PW, cert, certs, chain_opts, chain_tree, device, leaf_opts, mode, names, p256_chain, read,
    tempdir, tree, webpki_verify, webpki_verify_full_chain,
};
use dps_certgen::{
    CHAIN_PREFIX, CertDir, ChainOptions, DEVICE_PREFIX, EDGE_PREFIX, INTERMEDIATE_PREFIX,
    KeyAlgorithm, ROOT_PREFIX, Signer, VERIFICATION_PREFIX,
};
use std::path::PathBuf;
use std::sync::Mutex;

/// The four files of one device prefix, relative to the folder.
fn leaf_files(prefix: &str) -> Vec<String> {
    vec![
        format!("certs/{prefix}-full-chain.cert.pem"),
        format!("certs/{prefix}.cert.pem"),
        format!("certs/{prefix}.cert.pfx"),
        format!("private/{prefix}.key.pem"),
    ]
}

fn expected_tree(prefixes: &[&str]) -> Vec<String> {
    let mut v = chain_tree();
    for p in prefixes {
        v.extend(leaf_files(p));
    }
    v.sort();
    v
}

/// Decrypts a PFX and returns (its certificates, its key), both DER.
fn pfx_content(path: &std::path::Path, password: &str) -> (Vec<Vec<u8>>, Vec<u8>) {
    use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
    let store = KeyStore::from_pkcs12(&read(path), password, Pkcs12ImportPolicy::Strict)
        .expect("decode the PFX");
    assert_eq!(store.entries_len(), 1, "one key entry");
    let (_, chain) = store
        .private_key_chain()
        .expect("a key with its certificate");
    let certs = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
    (certs, chain.key().as_der().to_vec())
}

#[test]
fn root_and_intermediate_write_exactly_certgen_files() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    let out = dir
        .create_root_and_intermediate(&chain_opts(KeyAlgorithm::EcdsaP256))
        .expect("chain");
    // No csr/, newcerts/, intermediateCerts/, index.txt or serial; no temporary files left.
    assert_eq!(tree(tmp.path()), chain_tree());
    let mut written = out.files.clone();
    written.sort();
    let mut want: Vec<PathBuf> = [ROOT_PREFIX, INTERMEDIATE_PREFIX, CHAIN_PREFIX]
        .iter()
        .map(|p| dir.cert_path(p))
        .chain(
            [ROOT_PREFIX, INTERMEDIATE_PREFIX]
                .iter()
                .map(|p| dir.key_path(p)),
        )
        .collect();
    want.sort();
    assert_eq!(written, want);

    let root = read(&dir.cert_path(ROOT_PREFIX));
    let inter = read(&dir.cert_path(INTERMEDIATE_PREFIX));
    assert_eq!(
        read(&dir.chain_path()),
        [inter, root].concat(),
        "intermediate, then root"
    );
    for p in [ROOT_PREFIX, INTERMEDIATE_PREFIX] {
        let key = String::from_utf8(read(&dir.key_path(p))).expect("PEM text");
        assert!(
            key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{key}"
        );
        if cfg!(unix) {
            assert_eq!(mode(&dir.key_path(p)), 0o600, "{p} key mode");
            assert_eq!(
                mode(&dir.cert_path(p)) & 0o022,
                0,
                "{p} cert not writable by others"
            );
        }
    }
    assert_eq!(out.issued.len(), 2);
    assert_eq!(out.issued[0].cert_path, dir.cert_path(ROOT_PREFIX));
    assert_eq!(out.issued[1].key_path, dir.key_path(INTERMEDIATE_PREFIX));
    assert!(out.issued.iter().all(|i| i.full_chain_path.is_none()));
    assert!(out.warnings.is_empty());
}

#[test]
fn without_password_ca_keys_are_plain_pkcs8() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    dir.create_root_and_intermediate(&ChainOptions {
        password: None,
        ..chain_opts(KeyAlgorithm::EcdsaP256)
    })
    .expect("chain");
    for p in [ROOT_PREFIX, INTERMEDIATE_PREFIX] {
        let key = String::from_utf8(read(&dir.key_path(p))).expect("PEM text");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    }
}

#[test]
fn one_device_also_writes_new_device_files() {
    let (tmp, dir) = p256_chain();
    let out = device(&dir, "dev-01", Signer::Intermediate);
    assert_eq!(tree(tmp.path()), expected_tree(&["dev-01", DEVICE_PREFIX]));
    assert_eq!(out.files.len(), 8);
    let i = &out.issued[0];
    assert_eq!(i.common_name, "dev-01");
    assert_eq!(i.cert_path, dir.cert_path("dev-01"));
    assert_eq!(i.key_path, dir.key_path("dev-01"));
    assert_eq!(i.full_chain_path, Some(dir.full_chain_path("dev-01")));
    assert_eq!(
        i.thumbprints,
        dps_protocol::Thumbprints::of_der(&cert(&i.cert_path))
    );

    for (a, b) in [
        (dir.cert_path("dev-01"), dir.cert_path(DEVICE_PREFIX)),
        (dir.key_path("dev-01"), dir.key_path(DEVICE_PREFIX)),
        (
            dir.full_chain_path("dev-01"),
            dir.full_chain_path(DEVICE_PREFIX),
        ),
    ] {
        assert_eq!(read(&a), read(&b), "{} = {}", a.display(), b.display());
    }
    // Same certificate and key in both PFX files (the encryption salt may differ).
    let leaf = cert(&dir.cert_path("dev-01"));
    let (pfx_certs, pfx_key) = pfx_content(&dir.pfx_path("dev-01"), PW);
    assert_eq!(pfx_certs, vec![leaf.clone()], "leaf only, as certGen.sh");
    assert_eq!(
        pfx_content(&dir.pfx_path(DEVICE_PREFIX), PW),
        (vec![leaf], pfx_key)
    );

    let key = String::from_utf8(read(&dir.key_path("dev-01"))).expect("PEM text");
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "leaf keys are plain PKCS#8"
    );
    if cfg!(unix) {
        assert_eq!(mode(&dir.key_path("dev-01")), 0o600);
        assert_eq!(mode(&dir.pfx_path("dev-01")), 0o600);
    }
    let full = certs(&dir.full_chain_path("dev-01"));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    assert_eq!(full, vec![cert(&dir.cert_path("dev-01")), inter, root]);
}

#[test]
fn root_signed_full_chain_is_leaf_then_root() {
    let (_tmp, dir) = p256_chain();
    device(&dir, "dev-r", Signer::Root);
    let full = certs(&dir.full_chain_path("dev-r"));
    assert_eq!(
        full,
        vec![
            cert(&dir.cert_path("dev-r")),
            cert(&dir.cert_path(ROOT_PREFIX))
        ]
    );
}

#[test]
fn batch_writes_per_name_files_only() {
    let (tmp, dir) = p256_chain();
    let progress = Mutex::new(Vec::new());
    let batch = names(&["dev-a", "dev-b", "dev-c"]);
    let out = dir
        .create_device_certificates(&batch, &leaf_opts(Signer::Intermediate), &|done, total| {
            progress.lock().expect("lock").push((done, total));
        })
        .expect("batch");
    assert_eq!(
        tree(tmp.path()),
        expected_tree(&["dev-a", "dev-b", "dev-c"])
    );
    let cns: Vec<_> = out.issued.iter().map(|i| i.common_name.as_str()).collect();
    assert_eq!(cns, ["dev-a", "dev-b", "dev-c"], "in input order");
    let mut seen = progress.into_inner().expect("lock");
    seen.sort_unstable();
    assert_eq!(seen, [(1, 3), (2, 3), (3, 3)]);
    for n in &batch {
        webpki_verify_full_chain(&dir.full_chain_path(n));
    }
}

#[test]
fn a_second_device_does_not_overwrite_the_first() {
    let (_tmp, dir) = p256_chain();
    device(&dir, "first", Signer::Root);
    let first: Vec<_> = ["first", DEVICE_PREFIX]
        .iter()
        .flat_map(|p| [read(&dir.cert_path(p)), read(&dir.key_path(p))])
        .collect();
    device(&dir, "second", Signer::Root);
    assert_eq!(read(&dir.cert_path("first")), first[0]);
    assert_eq!(read(&dir.key_path("first")), first[1]);
    // new-device.* now holds the latest device, like certGen.sh.
    assert_eq!(
        read(&dir.cert_path(DEVICE_PREFIX)),
        read(&dir.cert_path("second"))
    );
    assert_eq!(
        read(&dir.key_path(DEVICE_PREFIX)),
        read(&dir.key_path("second"))
    );
    assert_ne!(read(&dir.cert_path(DEVICE_PREFIX)), first[2]);
}

#[test]
fn verification_certificate_files() {
    let (tmp, dir) = p256_chain();
    let out = dir
        .create_verification_certificate("ABCDEF0123", &leaf_opts(Signer::Root))
        .expect("verification");
    let mut want = chain_tree();
    want.extend([
        format!("certs/{VERIFICATION_PREFIX}.cert.pem"),
        format!("certs/{VERIFICATION_PREFIX}.cert.pfx"),
        format!("private/{VERIFICATION_PREFIX}.key.pem"),
    ]);
    want.sort();
    assert_eq!(
        tree(tmp.path()),
        want,
        "no full chain for the verification certificate"
    );
    assert_eq!(out.issued[0].common_name, "ABCDEF0123");
    assert_eq!(out.issued[0].full_chain_path, None);
    let leaf = cert(&dir.cert_path(VERIFICATION_PREFIX));
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    webpki_verify(&leaf, &[], &root).expect("verification certificate verifies");
    // A second code replaces the first.
    dir.create_verification_certificate("99887766", &leaf_opts(Signer::Root))
        .expect("second verification");
    assert_ne!(cert(&dir.cert_path(VERIFICATION_PREFIX)), leaf);
}

#[test]
fn edge_certificate_files() {
    let (tmp, dir) = p256_chain();
    let out = dir
        .create_edge_device_certificate("edge-1", &leaf_opts(Signer::Intermediate))
        .expect("edge");
    assert_eq!(tree(tmp.path()), expected_tree(&["edge-1.ca", EDGE_PREFIX]));
    assert_eq!(
        out.issued[0].full_chain_path,
        Some(dir.full_chain_path("edge-1.ca"))
    );
    assert_eq!(
        read(&dir.cert_path(EDGE_PREFIX)),
        read(&dir.cert_path("edge-1.ca"))
    );
    let full = certs(&dir.full_chain_path(EDGE_PREFIX));
    let want = [EDGE_PREFIX, INTERMEDIATE_PREFIX, ROOT_PREFIX].map(|p| cert(&dir.cert_path(p)));
    assert_eq!(full, want);
}
