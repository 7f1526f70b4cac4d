//! The local CA's name constraints: present and critical, honoured by rustls-webpki (and by
//! `openssl verify` where the binary exists) for the emulator's own server certificate, and
//! refusing a certificate for any other site.

use super::*;
use rcgen::Issuer;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A CA for `hosts` in a fresh data folder: (folder, CA, its PEM and key).
fn ca_for(hosts: &[&str]) -> (tempfile::TempDir, LocalCa, KeyPair) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = regenerate_local_ca(dir.path(), &names(hosts)).expect("regenerate");
    assert_eq!(path, local_ca_path(dir.path()));
    let ca = LocalCa::load(dir.path()).expect("load");
    let key_pem = std::fs::read_to_string(dir.path().join("tls").join(CA_KEY_FILE)).expect("key");
    let key = KeyPair::from_pem(&key_pem).expect("key parses");
    (dir, ca, key)
}

/// A server certificate for `hosts` signed by the CA, as `prepare` issues it.
fn server_cert(ca: &LocalCa, key: &KeyPair, hosts: &[&str]) -> CertificateDer<'static> {
    let issuer = Issuer::from_ca_cert_pem(&ca.pem, key).expect("issuer");
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("leaf key");
    let cert = crate::tls::server_params(&names(hosts))
        .expect("params")
        .signed_by(&leaf_key, &issuer)
        .expect("signed");
    cert.der().clone()
}

fn ca_der(ca: &LocalCa) -> CertificateDer<'static> {
    dps_certgen::certs_from_bytes(ca.pem.as_bytes())
        .expect("pem")
        .remove(0)
}

/// rustls-webpki's verdict on `leaf` for `host`, with the CA as the only anchor.
fn webpki_verify(ca: &LocalCa, leaf: &CertificateDer<'_>, host: &str) -> Result<(), webpki::Error> {
    let ca_der = ca_der(ca);
    let anchors = [webpki::anchor_from_trusted_cert(&ca_der)?];
    let ee = webpki::EndEntityCert::try_from(leaf)?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        UnixTime::now(),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )?;
    let name = ServerName::try_from(host.to_owned()).expect("server name");
    ee.verify_is_valid_for_subject_name(&name)
}

/// `openssl verify -CAfile CA LEAF`, or `None` without the binary.
fn openssl_verify(ca: &LocalCa, leaf: &CertificateDer<'_>) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let leaf_path = dir.path().join("leaf.pem");
    std::fs::write(&leaf_path, dps_certgen::pem_cert(leaf)).expect("write leaf");
    let out = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca.path)
        .arg(&leaf_path)
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

#[test]
fn the_ca_carries_critical_name_constraints_for_the_emulators_names_only() {
    let (_dir, ca, _key) = ca_for(&["devbox.local", "10.1.2.3", "fd00::7", "a.localhost"]);
    let permitted = ca.permitted.clone().expect("name constraints");
    assert_eq!(
        permitted
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "localhost",
            "127.0.0.0/8",
            "::1/128",
            "devbox.local",
            "10.1.2.3/32",
            "fd00::7/128"
        ]
    );
    let der = ca_der(&ca);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("parses");
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid == x509_parser::oid_registry::OID_X509_EXT_NAME_CONSTRAINTS)
        .expect("nameConstraints extension");
    assert!(ext.critical, "nameConstraints must be critical");
    assert!(ca.subject.contains(LOCAL_CA_COMMON_NAME), "{}", ca.subject);
    assert_eq!(ca.sha256.len(), 64);
    assert_eq!(ca.short_fingerprint(), ca.sha256[..16].to_ascii_lowercase());
    for host in [
        "localhost",
        "x.localhost",
        "127.9.9.9",
        "::1",
        "devbox.local",
        "DEVBOX.local.",
    ] {
        assert!(ca.covers(host), "{host}");
    }
    for host in [
        "example.com",
        "local",
        "evil-devbox.local",
        "10.1.2.4",
        "::2",
        "192.168.0.1",
    ] {
        assert!(!ca.covers(host), "{host}");
    }
}

#[test]
fn the_server_certificate_for_configured_names_verifies() {
    let hosts = ["devbox.local", "10.1.2.3"];
    let (_dir, ca, key) = ca_for(&hosts);
    let leaf = server_cert(&ca, &key, &hosts);
    for host in ["localhost", "127.0.0.1", "::1", "devbox.local", "10.1.2.3"] {
        webpki_verify(&ca, &leaf, host).unwrap_or_else(|e| panic!("{host}: {e:?}"));
    }
    match openssl_verify(&ca, &leaf) {
        Some((ok, text)) => assert!(ok, "openssl verify refused the server certificate: {text}"),
        None => eprintln!("SKIPPED openssl verify: no openssl binary here"),
    }
}

#[test]
fn a_certificate_for_another_site_signed_by_the_ca_is_refused() {
    let (_dir, ca, key) = ca_for(&["devbox.local"]);
    let leaf = server_cert(&ca, &key, &["example.com"]);
    assert_eq!(
        webpki_verify(&ca, &leaf, "example.com"),
        Err(webpki::Error::NameConstraintViolation)
    );
    match openssl_verify(&ca, &leaf) {
        Some((ok, text)) => {
            assert!(!ok, "openssl verify accepted example.com: {text}");
            assert!(text.contains("subtree"), "{text}");
        }
        None => eprintln!("SKIPPED openssl verify: no openssl binary here"),
    }
}

#[test]
fn permitted_names_match_subtrees_and_networks() {
    let dns = PermittedName::Dns("devbox.local".into());
    assert!(dns.permits("devbox.local") && dns.permits("api.devbox.local"));
    assert!(!dns.permits("xdevbox.local") && !dns.permits("10.0.0.1"));
    let v4 = PermittedName::Ip {
        network: Ipv4Addr::new(127, 0, 0, 0).into(),
        prefix: 8,
    };
    assert!(v4.permits("127.255.0.1") && !v4.permits("128.0.0.1") && !v4.permits("::1"));
    let any = PermittedName::Ip {
        network: Ipv4Addr::UNSPECIFIED.into(),
        prefix: 0,
    };
    assert!(any.permits("8.8.8.8"));
    assert_eq!(
        local_ca_permitted_names(&names(&["127.0.0.2", "localhost", "x.localhost"])).len(),
        3,
        "names the defaults cover add nothing"
    );
}

#[test]
fn bad_host_names_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["my host", "", "a..b", "dévbox"] {
        match regenerate_local_ca(dir.path(), &names(&[bad])) {
            Err(EmulatorError::InvalidHostName { host_name }) => assert_eq!(host_name, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(!local_ca_path(dir.path()).exists());
}

#[test]
fn the_regenerate_command_quotes_what_the_shell_would_split() {
    assert_eq!(
        regenerate_command(
            Path::new("/tmp/my dps"),
            &names(&["devbox.local", "10.0.0.5"])
        ),
        "dps-cli emulator trust --regenerate --data-dir '/tmp/my dps' --host-name devbox.local \
         --host-name 10.0.0.5"
    );
}
