//! The emulator starts, answers over TLS, and the SDK round-trips an enrollment group.

use dps_e2e::{TestEmulator, rt};

#[test]
fn sdk_round_trips_a_group() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tmp");
        let certs = dps_certgen::CertDir::new(dir.path());
        certs
            .create_root_and_intermediate(&dps_certgen::ChainOptions {
                algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
                ..Default::default()
            })
            .expect("chain");
        let pem = std::fs::read(certs.cert_path(dps_certgen::INTERMEDIATE_PREFIX)).expect("pem");
        let g = client
            .create_x509_enrollment_group("smoke", &pem, None, None)
            .await
            .expect("created");
        assert!(g.etag.is_some());
        let back = client
            .get_enrollment_group("SMOKE", None)
            .await
            .expect("case-insensitive get");
        assert_eq!(back.etag, g.etag);
    });
}
