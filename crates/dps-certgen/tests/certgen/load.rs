//! Signing with existing CAs: every key format OpenSSL writes, and a chain made by the
//! `openssl` CLI the way certGen.sh makes it.

use crate::checks::{Kind, assert_profile};
use crate::common::{
    PW, cert, chain_opts, have_openssl, leaf_opts, names, openssl_ok, p256_chain, read, refused,
    rsa_chain, s, skip_without_openssl, tempdir, webpki_verify, webpki_verify_full_chain,
};
use dps_certgen::{
    CertDir, CertSpec, ChainOptions, Credential, Error, INTERMEDIATE_CN, INTERMEDIATE_PREFIX,
    KeyAlgorithm, LeafOptions, Profile, ROOT_CN, ROOT_PREFIX, Signer, load_key,
};
use std::path::Path;

/// Signs a P-256 device with `signer` and checks it against the folder's chain.
fn sign_and_verify(dir: &CertDir, name: &str, signer: Signer, password: Option<&str>) {
    let opts = LeafOptions {
        password: password.map(str::to_owned),
        ..leaf_opts(signer)
    };
    dir.create_device_certificates(&names(&[name]), &opts, &|_, _| {})
        .unwrap_or_else(|e| panic!("sign {name}: {e}"));
    let (ca, issuer_cn) = match signer {
        Signer::Root => (ROOT_PREFIX, ROOT_CN),
        Signer::Intermediate => (INTERMEDIATE_PREFIX, INTERMEDIATE_CN),
    };
    let ca_der = cert(&dir.cert_path(ca));
    assert_profile(&cert(&dir.cert_path(name)), &ca_der, Kind::Leaf, name);
    webpki_verify_full_chain(&dir.full_chain_path(name));
    let loaded = dir.load_ca(signer, password).expect("load the CA again");
    assert_eq!(loaded.subject(), format!("CN={issuer_cn}"));
}

/// Rewrites a key file with `openssl <args> -in key -out key`.
fn convert(dir: &CertDir, key: &Path, args: &[&str]) {
    let out = key.with_extension("converted");
    let mut all = args.to_vec();
    all.extend(["-in", s(key), "-out", s(&out)]);
    openssl_ok(dir.base(), &all);
    std::fs::rename(&out, key).expect("replace the key");
}

/// Runs `openssl` with the words of `line` (which must not need quoting), then `extra`.
fn openssl_line(cwd: &Path, line: &str, extra: &[&str]) {
    let mut args: Vec<&str> = line.split_whitespace().collect();
    args.extend_from_slice(extra);
    openssl_ok(cwd, &args);
}

fn pem_label(path: &Path) -> String {
    let text = String::from_utf8(read(path)).expect("PEM text");
    text.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn pkcs8_plain_ca_keys_sign() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    dir.create_root_and_intermediate(&ChainOptions {
        password: None,
        ..chain_opts(KeyAlgorithm::EcdsaP256)
    })
    .expect("chain");
    assert_eq!(
        pem_label(&dir.key_path(ROOT_PREFIX)),
        "-----BEGIN PRIVATE KEY-----"
    );
    sign_and_verify(&dir, "plain-root", Signer::Root, None);
    sign_and_verify(&dir, "plain-inter", Signer::Intermediate, None);
    // A password given for a plain key is not needed and not an error.
    sign_and_verify(&dir, "plain-pw", Signer::Intermediate, Some(PW));
}

#[test]
fn pkcs8_encrypted_ca_keys_sign_with_credential_api() {
    let (_tmp, dir) = p256_chain();
    let inter_path = dir.cert_path(INTERMEDIATE_PREFIX);
    let ca = Credential::load_ca(&inter_path, &dir.key_path(INTERMEDIATE_PREFIX), Some(PW))
        .expect("load the encrypted intermediate");
    assert_eq!(ca.subject(), format!("CN={INTERMEDIATE_CN}"));
    assert_eq!(ca.der().as_ref(), cert(&inter_path).as_slice());
    assert!(
        !format!("{ca:?}").contains("PRIVATE"),
        "Debug hides the key"
    );
    let leaf = ca
        .sign(&CertSpec {
            common_name: "api-device",
            profile: Profile::Leaf,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        })
        .expect("sign");
    assert_profile(leaf.der(), ca.der(), Kind::Leaf, "api-device");
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    webpki_verify(leaf.der(), &[ca.der().as_ref()], &root).expect("verifies");
    sign_and_verify(&dir, "enc-root", Signer::Root, Some(PW));
}

#[test]
fn pkcs1_rsa_ca_keys_sign() {
    let (_tmp, dir) = rsa_chain();
    if skip_without_openssl("pkcs1_rsa_ca_keys_sign") {
        return;
    }
    let inter = dir.key_path(INTERMEDIATE_PREFIX);
    convert(
        &dir,
        &inter,
        &["pkey", "-passin", "pass:1234", "-traditional"],
    );
    let root = dir.key_path(ROOT_PREFIX);
    convert(
        &dir,
        &root,
        &["rsa", "-passin", "pass:1234", "-traditional"],
    );
    for key in [&inter, &root] {
        assert_eq!(pem_label(key), "-----BEGIN RSA PRIVATE KEY-----");
    }
    sign_and_verify(&dir, "pkcs1-inter", Signer::Intermediate, None);
    sign_and_verify(&dir, "pkcs1-root", Signer::Root, None);
}

#[test]
fn sec1_ec_ca_keys_sign() {
    let (_tmp, dir) = p256_chain();
    if skip_without_openssl("sec1_ec_ca_keys_sign") {
        return;
    }
    for p in [ROOT_PREFIX, INTERMEDIATE_PREFIX] {
        convert(&dir, &dir.key_path(p), &["ec", "-passin", "pass:1234"]);
        assert_eq!(
            pem_label(&dir.key_path(p)),
            "-----BEGIN EC PRIVATE KEY-----"
        );
    }
    sign_and_verify(&dir, "sec1-root", Signer::Root, None);
    sign_and_verify(&dir, "sec1-inter", Signer::Intermediate, None);
}

/// certGen.sh's `v3_ca`, `v3_intermediate_ca` and `usr_cert` sections (behaviour spec §1.5).
const CNF: &str = "\
[ req ]
distinguished_name = req_dn
string_mask = utf8only
[ req_dn ]
commonName = Common Name
[ v3_ca ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always,issuer
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, cRLSign, keyCertSign
[ v3_intermediate_ca ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always,issuer
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, cRLSign, keyCertSign
[ usr_cert ]
basicConstraints = CA:FALSE
nsCertType = client, email
nsComment = \"OpenSSL Generated Client Certificate\"
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
keyUsage = critical, nonRepudiation, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, emailProtection
";

/// A fixed positive 20-byte serial (OpenSSL's random ones are sometimes 19 bytes long).
fn serial(first: u8) -> String {
    format!("-set_serial 0x{first:02X}0102030405060708090A0B0C0D0E0F10111213")
}

#[test]
fn a_chain_made_by_openssl_can_sign() {
    let tmp = tempdir();
    if skip_without_openssl("a_chain_made_by_openssl_can_sign") {
        return;
    }
    let dir = CertDir::new(tmp.path());
    let base = tmp.path();
    std::fs::create_dir_all(base.join("certs")).expect("mkdir certs");
    std::fs::create_dir_all(base.join("private")).expect("mkdir private");
    std::fs::write(base.join("ca.cnf"), CNF).expect("write cnf");
    let (rk, rc) = (dir.key_path(ROOT_PREFIX), dir.cert_path(ROOT_PREFIX));
    let (ik, ic) = (
        dir.key_path(INTERMEDIATE_PREFIX),
        dir.cert_path(INTERMEDIATE_PREFIX),
    );
    // As certGen.sh, but RSA-2048 keeps the suite fast (the key file format is the same).
    for key in [&rk, &ik] {
        let line = format!("genrsa -aes256 -passout pass:1234 -out {} 2048", s(key));
        openssl_line(base, &line, &[]);
        assert_eq!(pem_label(key), "-----BEGIN ENCRYPTED PRIVATE KEY-----");
    }
    let pass = "-passin pass:1234 -days 30 -sha256";
    let (rks, rcs, iks, ics) = (s(&rk), s(&rc), s(&ik), s(&ic));
    let line = format!(
        "req -new -x509 -config ca.cnf -key {rks} {pass} -extensions v3_ca -out {rcs} {}",
        serial(0x7f)
    );
    openssl_line(base, &line, &["-subj", &format!("/CN={ROOT_CN}")]);
    let line =
        format!("req -new -sha256 -config ca.cnf -key {iks} -passin pass:1234 -out inter.csr");
    openssl_line(base, &line, &["-subj", &format!("/CN={INTERMEDIATE_CN}")]);
    let line = format!(
        "x509 -req -in inter.csr -CA {rcs} -CAkey {rks} {pass} -extfile ca.cnf \
         -extensions v3_intermediate_ca -out {ics} {}",
        serial(0x7e)
    );
    openssl_line(base, &line, &[]);
    let root = cert(&rc);
    let inter = cert(&ic);
    // The checker agrees with OpenSSL's own rendering of certGen.sh's profiles.
    assert_profile(&root, &root, Kind::Ca, ROOT_CN);
    assert_profile(&inter, &root, Kind::Ca, INTERMEDIATE_CN);
    let line = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key";
    openssl_line(base, line, &[]);
    let line = "req -new -sha256 -config ca.cnf -key leaf.key -subj /CN=ossl-leaf -out leaf.csr";
    openssl_line(base, line, &[]);
    let line = format!(
        "x509 -req -in leaf.csr -CA {ics} -CAkey {iks} {pass} -extfile ca.cnf \
         -extensions usr_cert -out leaf.pem {}",
        serial(0x7d)
    );
    openssl_line(base, &line, &[]);
    assert_profile(
        &cert(&base.join("leaf.pem")),
        &inter,
        Kind::Leaf,
        "ossl-leaf",
    );

    sign_and_verify(&dir, "ossl-inter", Signer::Intermediate, Some(PW));
    sign_and_verify(&dir, "ossl-root", Signer::Root, Some(PW));
    let out = openssl_ok(
        base,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            s(&rc),
            "-untrusted",
            s(&ic),
            s(&dir.cert_path("ossl-inter")),
        ],
    );
    assert!(out.contains(": OK"), "{out}");
}

#[test]
fn legacy_encrypted_keys_are_refused_with_the_fix() {
    let (tmp, dir) = p256_chain();
    let key = dir.key_path(ROOT_PREFIX);
    if have_openssl() {
        let line = format!(
            "genrsa -traditional -aes256 -passout pass:1234 -out {}",
            s(&key)
        );
        openssl_line(dir.base(), &line, &["2048"]);
    } else {
        eprintln!("no openssl on PATH: using a hand-made legacy key");
        std::fs::write(&key, LEGACY).expect("write a legacy key");
    }
    let text = String::from_utf8(read(&key)).expect("PEM text");
    assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{text}");
    let opts = leaf_opts(Signer::Root);
    let err = refused(tmp.path(), || {
        dir.create_device_certificates(&names(&["dev"]), &opts, &|_, _| {})
    });
    assert!(
        matches!(&err, Error::LegacyEncryptedKey { path } if *path == key),
        "{err:?}"
    );
    assert!(err.to_string().contains("openssl pkey"), "{err}");
    let err = Credential::load_ca(&dir.cert_path(ROOT_PREFIX), &key, Some(PW)).expect_err("legacy");
    assert!(matches!(err, Error::LegacyEncryptedKey { .. }), "{err:?}");
    if skip_without_openssl("legacy_encrypted_keys_are_refused_with_the_fix") {
        return;
    }
    // The suggested conversion gives a key the library opens (it is not the root's key).
    let to_pkcs8 = [
        "pkey",
        "-passin",
        "pass:1234",
        "-aes256",
        "-passout",
        "pass:1234",
    ];
    convert(&dir, &key, &to_pkcs8);
    load_key(&key, Some(PW)).expect("converted key loads");
    let err = dir
        .load_ca(Signer::Root, Some(PW))
        .expect_err("not the root's key");
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err:?}");
}

/// The shape of an OpenSSL 1.1 `genrsa -aes256` key (the body is not a real key).
const LEGACY: &str = "-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-256-CBC,3F1F1C5D0A2B4C6D8E0F1A2B3C4D5E6F

AAAA
-----END RSA PRIVATE KEY-----
";
