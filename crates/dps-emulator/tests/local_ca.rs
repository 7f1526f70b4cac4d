//! The local CA across versions and configurations: a CA without name constraints (made by an
//! older dps-rs) or an expired one is replaced at start by a constrained one; a host name the
//! CA's constraints leave out stops the start with the command that regenerates the CA; after
//! `regenerate_local_ca` with that name, the emulator starts and a client that trusts only the
//! new CA reaches it by that name (resolved to 127.0.0.1).

use dps_emulator::{
    Emulator, EmulatorConfig, EmulatorError, LocalCa, PermittedName, local_ca_path,
    regenerate_local_ca,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::net::SocketAddr;
use std::path::Path;

/// Writes a CA the way dps-rs did before name constraints, valid until `days` from now.
fn write_unconstrained_ca(data_dir: &Path, days: i64) -> String {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(
        DnType::CommonName,
        "dps-rs emulator local CA (testing only)",
    );
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(30);
    p.not_after = now + time::Duration::days(days);
    let key = KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("self-signed");
    let tls = data_dir.join("tls");
    std::fs::create_dir_all(&tls).expect("mkdir");
    std::fs::write(tls.join("emulator-ca.cert.pem"), cert.pem()).expect("write cert");
    std::fs::write(tls.join("emulator-ca.key.pem"), key.serialize_pem()).expect("write key");
    cert.pem()
}

/// GET `https://HOST:PORT/` trusting only `ca_pem`, with HOST resolved to the emulator's
/// address on 127.0.0.1: the status, or the error text when TLS refused.
fn get(host: &str, addr: SocketAddr, ca_pem: &str) -> Result<u16, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM");
        let client = reqwest::Client::builder()
            .tls_certs_only([ca])
            .resolve(host, addr)
            .http1_only()
            .build()
            .expect("client");
        client
            .get(format!("https://{host}:{}/", addr.port()))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| format!("{e:?}"))
    })
}

#[test]
fn a_ca_without_name_constraints_is_replaced_by_a_constrained_one_at_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let old = write_unconstrained_ca(tmp.path(), 3650);
    assert!(
        LocalCa::load(tmp.path())
            .expect("old CA")
            .permitted
            .is_none()
    );
    let emulator = Emulator::spawn(EmulatorConfig::for_tests(tmp.path())).expect("starts");
    let new = LocalCa::load(tmp.path()).expect("new CA");
    assert_ne!(new.pem, old, "the unconstrained CA was kept");
    assert_eq!(emulator.ca_pem(), new.pem);
    assert_eq!(emulator.ca_path(), local_ca_path(tmp.path()));
    let permitted = new.permitted.expect("the new CA is name-constrained");
    assert!(permitted.contains(&PermittedName::Dns("localhost".into())));
    get("localhost", emulator.addr(), &new.pem).expect("TLS with the new CA");
    let refused = get("localhost", emulator.addr(), &old).expect_err("the old CA is not used");
    assert!(refused.contains("UnknownIssuer"), "{refused}");
}

#[test]
fn an_expired_ca_is_replaced_at_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let old = write_unconstrained_ca(tmp.path(), -1);
    let emulator = Emulator::spawn(EmulatorConfig::for_tests(tmp.path())).expect("starts");
    let new = LocalCa::load(tmp.path()).expect("new CA");
    assert_ne!(new.pem, old);
    assert!(new.currently_valid && new.permitted.is_some());
    emulator.shutdown();
}

#[test]
fn a_constrained_ca_is_kept_across_starts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = Emulator::spawn(EmulatorConfig::for_tests(tmp.path())).expect("starts");
    let pem = first.ca_pem().to_owned();
    first.shutdown();
    let second = Emulator::spawn(EmulatorConfig::for_tests(tmp.path())).expect("starts again");
    assert_eq!(second.ca_pem(), pem);
}

#[test]
fn a_host_name_outside_the_constraints_stops_the_start_until_the_ca_is_regenerated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    regenerate_local_ca(tmp.path(), &[]).expect("a CA for the default names");
    let before = std::fs::read_to_string(local_ca_path(tmp.path())).expect("CA");
    let mut config = EmulatorConfig::for_tests(tmp.path());
    config.host_names = vec!["127.0.0.1".into(), "devbox.local".into()];
    let err = Emulator::spawn(config.clone()).expect_err("devbox.local is outside the CA");
    let EmulatorError::HostNameOutsideLocalCa {
        host_name,
        ca_path,
        allowed,
        data_dir,
        host_names,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(host_name, "devbox.local");
    assert_eq!(ca_path, &local_ca_path(tmp.path()));
    assert_eq!(data_dir, tmp.path());
    assert_eq!(host_names, &config.host_names);
    assert_eq!(allowed.len(), 3, "{allowed:?}");
    let text = err.to_string();
    let command = format!(
        "`dps-cli emulator trust --regenerate --data-dir {} --host-name 127.0.0.1 --host-name \
         devbox.local`",
        tmp.path().display()
    );
    for wanted in [
        "\"devbox.local\"",
        &ca_path.display().to_string(),
        "localhost, 127.0.0.0/8, ::1/128",
        &command,
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing from: {text}");
    }
    let after = std::fs::read_to_string(local_ca_path(tmp.path())).expect("CA");
    assert_eq!(before, after, "a refused start must not touch the CA");

    regenerate_local_ca(tmp.path(), &config.host_names).expect("regenerate");
    let emulator = Emulator::spawn(config).expect("starts with devbox.local");
    let ca = LocalCa::load(tmp.path()).expect("CA");
    assert!(ca.covers("devbox.local"));
    // Any HTTP answer: the TLS handshake to devbox.local succeeded.
    get("devbox.local", emulator.addr(), &ca.pem).expect("TLS to devbox.local");
}
