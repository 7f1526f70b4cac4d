//! Regressions found by review: the chain order a device sends does not choose its group, an
//! expired verified CA does not let devices in, and proof of possession needs the exact ETag.

use super::common::{assert_refused, with_verified_root};
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile, Signer};
use dps_device_client::{DeviceAuth, ErrorKind};
use dps_e2e::{TestChain, TestEmulator, rt};
use dps_protocol::codes;
use std::sync::Arc;

#[test]
fn the_group_follows_the_signature_path_not_the_order_sent() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    let device = chain.device("ordered", Signer::Intermediate);
    rt().block_on(async {
        service
            .create_x509_enrollment_group("g-root", chain.root_pem().as_bytes(), None, None)
            .await
            .expect("root group");
        service
            .create_x509_enrollment_group("g-int", chain.intermediate_pem().as_bytes(), None, None)
            .await
            .expect("intermediate group");
        // Leaf, then root, then intermediate: the intermediate is still the leaf's issuer.
        let pem = format!(
            "{}{}{}",
            device.leaf_pem, device.issuers_pem[1], device.issuers_pem[0]
        );
        let r = t
            .device(
                "ordered",
                DeviceAuth::x509(pem.into_bytes(), device.key_pem.clone().into_bytes()),
            )
            .register(None)
            .await
            .expect("assigned");
        let x509 = r.x509.expect("x509 block");
        assert_eq!(x509.enrollment_group_id.as_deref(), Some("g-int"));
    });
}

#[test]
fn an_expired_verified_root_does_not_admit_devices() {
    let spec = |cn, profile, days| CertSpec {
        common_name: cn,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days,
    };
    let root =
        Credential::self_signed(&spec("Short Lived Root", Profile::RootCa, 1)).expect("root");
    let intermediate = root
        .sign(&spec(
            "Long Lived Intermediate",
            Profile::IntermediateCa,
            90,
        ))
        .expect("int");
    let leaf = intermediate
        .sign(&spec("late-device", Profile::Leaf, 90))
        .expect("leaf");
    let dir = tempfile::tempdir().expect("tmp");
    let root_path = dir.path().join("root.pem");
    std::fs::write(&root_path, root.cert_pem()).expect("root file");
    let clock = dps_emulator::clock::ManualClock::new(time::OffsetDateTime::now_utc());
    let emulator_clock = clock.clone();
    let t = TestEmulator::start_with(|c| {
        c.ca_certificates = vec![("root".into(), root_path.clone())];
        c.clock = Arc::new(emulator_clock);
    });
    rt().block_on(async {
        t.client()
            .create_x509_enrollment_group("g-int", intermediate.cert_pem().as_bytes(), None, None)
            .await
            .expect("group");
        // Ten days on, the root has expired; the intermediate and the leaf have not.
        clock.advance(std::time::Duration::from_secs(10 * 24 * 3600));
        let pem = format!("{}{}", leaf.cert_pem(), intermediate.cert_pem());
        let e = t
            .device(
                "late-device",
                DeviceAuth::x509(pem.into_bytes(), leaf.key().serialize_pem().into_bytes()),
            )
            .register(None)
            .await
            .expect_err("the only verified CA has expired");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["verified CA"],
        );
    });
}

#[test]
fn verify_needs_the_exact_etag_of_the_verification_code() {
    let chain = TestChain::new();
    let t = TestEmulator::start();
    let ca = t.certificate_client();
    rt().block_on(async {
        let uploaded = ca
            .create_or_update("root", chain.root_pem().as_bytes(), None)
            .await
            .expect("upload");
        let code = ca
            .generate_verification_code("root", uploaded.etag.as_deref().expect("etag"), None)
            .await
            .expect("code");
        let code_text = code
            .properties
            .verification_code
            .clone()
            .expect("code text");
        let proof = chain.verification_pem(&code_text, Signer::Root);
        let e = ca
            .verify("root", "*", proof.as_bytes(), None)
            .await
            .expect_err("wildcard refused");
        assert_eq!(e.status(), Some(412), "{e}");
        let ok = ca
            .verify(
                "root",
                code.etag.as_deref().expect("etag"),
                proof.as_bytes(),
                None,
            )
            .await
            .expect("exact etag verifies");
        assert_eq!(ok.properties.is_verified, Some(true));
    });
}
