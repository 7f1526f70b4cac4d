//! Why `Emulator::spawn` refuses to start: each failure is its own variant and keeps its cause.

use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_emulator::{CaCertificateError, Emulator, EmulatorConfig, EmulatorError};
use std::error::Error as _;
use std::path::PathBuf;

fn spawn_with_ca(dir: &std::path::Path, file: PathBuf) -> EmulatorError {
    let mut config = EmulatorConfig::for_tests(dir.join("data"));
    config.ca_certificates = vec![("root".into(), file)];
    match Emulator::spawn(config) {
        Ok(_) => panic!("the emulator started"),
        Err(e) => e,
    }
}

#[test]
fn a_ca_certificate_file_without_a_certificate_is_refused_with_its_cause() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, "not a certificate").expect("write");
    let err = spawn_with_ca(tmp.path(), file.clone());
    let EmulatorError::CaCertificate { name, path, source } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((name.as_str(), path), ("root", &file));
    assert!(
        matches!(
            source,
            CaCertificateError::Unreadable(dps_certgen::Error::NoPemCertificate)
        ),
        "{source:?}"
    );
    assert!(err.source().is_some());
    assert!(
        err.to_string().starts_with("CA certificate \"root\": "),
        "{err}"
    );
}

#[test]
fn a_leaf_given_as_ca_certificate_is_refused_as_not_a_ca() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let leaf = Credential::self_signed(&CertSpec {
        common_name: "device-01",
        profile: Profile::Leaf,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 1,
    })
    .expect("leaf");
    let file = tmp.path().join("leaf.pem");
    std::fs::write(&file, leaf.cert_pem()).expect("write");
    let err = spawn_with_ca(tmp.path(), file);
    assert!(
        matches!(
            &err,
            EmulatorError::CaCertificate {
                source: CaCertificateError::NotACa { subject },
                ..
            } if subject == "CN=device-01"
        ),
        "{err:?}"
    );
}
