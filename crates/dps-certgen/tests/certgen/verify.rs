//! Independent verification: rustls-webpki (what a Rust DPS client does) and the `openssl`
//! binary (what certGen.sh users run).

use crate::common::{
    RSA_DEVICE, cert, device, leaf_opts, openssl, openssl_ok, p256_chain, rsa_chain, s,
    skip_without_openssl, webpki_verify, webpki_verify_full_chain,
};
use dps_certgen::{
    CertDir, EDGE_PREFIX, INTERMEDIATE_PREFIX, ROOT_PREFIX, Signer, VERIFICATION_PREFIX,
};
use std::path::Path;

/// `openssl verify` of `leaf` against the folder's root, with the intermediate as untrusted.
fn openssl_verify(dir: &CertDir, leaf: &Path, via_intermediate: bool) {
    let root = dir.cert_path(ROOT_PREFIX);
    let inter = dir.cert_path(INTERMEDIATE_PREFIX);
    let mut args = vec!["verify", "-x509_strict", "-CAfile", s(&root)];
    if via_intermediate {
        args.extend(["-untrusted", s(&inter)]);
    }
    args.push(s(leaf));
    let out = openssl_ok(dir.base(), &args);
    assert!(out.contains(&format!("{}: OK", s(leaf))), "{out}");
}

#[test]
fn every_device_chain_verifies_with_webpki() {
    let (_tmp, dir) = p256_chain();
    device(&dir, "by-root", Signer::Root);
    device(&dir, "by-inter", Signer::Intermediate);
    webpki_verify_full_chain(&dir.full_chain_path("by-root"));
    webpki_verify_full_chain(&dir.full_chain_path("by-inter"));
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    let leaf = cert(&dir.cert_path("by-inter"));
    webpki_verify(&leaf, &[&inter], &root).expect("leaf + intermediate + root");
    assert!(
        webpki_verify(&leaf, &[], &root).is_err(),
        "needs the intermediate"
    );
    for signer in [Signer::Root, Signer::Intermediate] {
        dir.create_verification_certificate("c0de", &leaf_opts(signer))
            .expect("verification");
        let code = cert(&dir.cert_path(VERIFICATION_PREFIX));
        webpki_verify(&code, &[&inter], &root).expect("verification certificate");
    }
}

#[test]
fn openssl_verifies_p256_chains() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("openssl_verifies_p256_chains") {
        return;
    }
    device(&dir, "by-root", Signer::Root);
    device(&dir, "by-inter", Signer::Intermediate);
    dir.create_verification_certificate("1234ABCD", &leaf_opts(Signer::Root))
        .expect("verification");
    dir.create_edge_device_certificate("edge", &leaf_opts(Signer::Intermediate))
        .expect("edge");
    openssl_verify(&dir, &dir.cert_path(INTERMEDIATE_PREFIX), false);
    openssl_verify(&dir, &dir.cert_path("by-root"), false);
    openssl_verify(&dir, &dir.cert_path("by-inter"), true);
    openssl_verify(&dir, &dir.cert_path(VERIFICATION_PREFIX), false);
    openssl_verify(&dir, &dir.cert_path(EDGE_PREFIX), true);
    // certGen.sh's own check: verify against the chain file.
    let chain = dir.chain_path();
    let out = openssl_ok(
        dir.base(),
        &[
            "verify",
            "-CAfile",
            s(&chain),
            s(&dir.cert_path("by-inter")),
        ],
    );
    assert!(out.contains(": OK"), "{out}");
}

#[test]
fn rsa_chain_verifies_with_webpki_and_openssl() {
    let (_tmp, dir) = rsa_chain();
    webpki_verify_full_chain(&dir.full_chain_path(RSA_DEVICE));
    if skip_without_openssl("rsa_chain_verifies_with_webpki_and_openssl") {
        return;
    }
    openssl_verify(&dir, &dir.cert_path(RSA_DEVICE), true);
    let key = dir.key_path(ROOT_PREFIX);
    let text = openssl_ok(
        dir.base(),
        &[
            "pkey",
            "-in",
            s(&key),
            "-passin",
            "pass:1234",
            "-noout",
            "-text",
        ],
    );
    assert!(text.contains("Private-Key: (4096 bit, 2 primes)"), "{text}");
    assert!(text.contains("publicExponent: 65537"), "{text}");
}

#[test]
fn openssl_opens_ca_keys_only_with_the_password() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("openssl_opens_ca_keys_only_with_the_password") {
        return;
    }
    for p in [ROOT_PREFIX, INTERMEDIATE_PREFIX] {
        let key = dir.key_path(p);
        openssl_ok(
            dir.base(),
            &["pkey", "-in", s(&key), "-passin", "pass:1234", "-noout"],
        );
        let wrong = openssl(
            dir.base(),
            &["pkey", "-in", s(&key), "-passin", "pass:4321", "-noout"],
        );
        assert!(!wrong.status.success(), "{p}: a wrong password must fail");
        // The key opened by openssl is the one in the certificate.
        let from_key = openssl_ok(
            dir.base(),
            &["pkey", "-in", s(&key), "-passin", "pass:1234", "-pubout"],
        );
        let from_cert = openssl_ok(
            dir.base(),
            &["x509", "-in", s(&dir.cert_path(p)), "-noout", "-pubkey"],
        );
        assert_eq!(from_key, from_cert, "{p}: key matches certificate");
    }
}

#[test]
fn openssl_reads_pfx_without_legacy() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("openssl_reads_pfx_without_legacy") {
        return;
    }
    device(&dir, "dev", Signer::Intermediate);
    let pfx = dir.pfx_path("dev");
    let base = ["pkcs12", "-in", s(&pfx), "-passin", "pass:1234"];
    let certs_out = openssl_ok(dir.base(), &[&base[..], &["-nokeys"]].concat());
    assert_eq!(
        certs_out.matches("-----BEGIN CERTIFICATE-----").count(),
        1,
        "leaf only"
    );
    let leaf_pem = std::fs::read_to_string(dir.cert_path("dev")).expect("leaf PEM");
    assert!(
        certs_out.contains(&leaf_pem),
        "the PFX holds the leaf:\n{certs_out}"
    );
    assert!(certs_out.contains("subject=CN = dev"), "{certs_out}");
    assert!(certs_out.contains("localKeyID:"), "{certs_out}");

    let key_out = openssl_ok(dir.base(), &[&base[..], &["-nocerts", "-nodes"]].concat());
    assert_eq!(
        key_out.matches("-----BEGIN PRIVATE KEY-----").count(),
        1,
        "{key_out}"
    );
    assert!(key_out.contains("localKeyID:"), "{key_out}");

    let info = openssl_ok(dir.base(), &[&base[..], &["-info", "-noout"]].concat());
    assert!(info.contains("MAC: sha256, Iteration 2048"), "{info}");
    let pbes2 = "PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256";
    assert!(
        info.contains(&format!("Shrouded Keybag: {pbes2}")),
        "{info}"
    );
    assert!(
        info.contains(&format!("PKCS7 Encrypted data: {pbes2}")),
        "{info}"
    );

    let wrong = openssl(
        dir.base(),
        &["pkcs12", "-in", s(&pfx), "-passin", "pass:x", "-noout"],
    );
    assert!(!wrong.status.success(), "a wrong PFX password must fail");
}

#[test]
fn encrypted_ca_key_uses_openssl3_pbes2_parameters() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("encrypted_ca_key_uses_openssl3_pbes2_parameters") {
        return;
    }
    let key = dir.key_path(ROOT_PREFIX);
    let out = openssl_ok(dir.base(), &["asn1parse", "-in", s(&key)]);
    for needle in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
        assert!(
            out.contains(&format!(":{needle}")),
            "{needle} missing:\n{out}"
        );
    }
    // The PBKDF2 parameters: an 8-byte salt, then the iteration count 2048 (0x800).
    let lines: Vec<&str> = out.lines().collect();
    let kdf = lines
        .iter()
        .position(|l| l.contains(":PBKDF2"))
        .expect("PBKDF2 line");
    assert!(lines[kdf + 2].contains("OCTET STRING"), "salt:\n{out}");
    assert!(
        lines[kdf + 3].contains("INTEGER") && lines[kdf + 3].ends_with(":0800"),
        "{out}"
    );
    // An IV of 16 bytes after aes-256-cbc.
    let aes = lines
        .iter()
        .position(|l| l.contains(":aes-256-cbc"))
        .expect("AES line");
    assert!(
        lines[aes + 1].contains("OCTET STRING") && lines[aes + 1].contains("l=  16"),
        "{out}"
    );
}

#[test]
fn openssl_matches_our_view_of_the_device() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("openssl_matches_our_view_of_the_device") {
        return;
    }
    device(&dir, "dev-x", Signer::Root);
    let text = openssl_ok(
        dir.base(),
        &["x509", "-in", s(&dir.cert_path("dev-x")), "-noout", "-text"],
    );
    for needle in [
        "Version: 3 (0x2)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "Issuer: CN = Azure IoT Hub CA Cert Test Only",
        "Subject: CN = dev-x",
        "X509v3 Basic Constraints: \n                CA:FALSE",
        "Netscape Cert Type: \n                SSL Client, S/MIME",
        "Netscape Comment: \n                OpenSSL Generated Client Certificate",
        "X509v3 Key Usage: critical\n                Digital Signature, Non Repudiation, Key Encipherment",
        "X509v3 Extended Key Usage: \n                TLS Web Client Authentication, E-mail Protection",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    assert!(!text.contains("Subject Alternative Name"), "{text}");
}
