//! The quickstart path end to end: chain, verified root, group on the intermediate, device
//! certificate from the intermediate, registration over mutual TLS.

use dps_certgen::{CertDir, ChainOptions, KeyAlgorithm, LeafOptions, ROOT_PREFIX, Signer};
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient};
use dps_e2e::{TestEmulator, rt};

#[test]
fn x509_device_registers_through_a_group_on_the_intermediate() {
    let certs_dir = tempfile::tempdir().expect("tmp");
    let certs = CertDir::new(certs_dir.path());
    certs
        .create_root_and_intermediate(&ChainOptions {
            algorithm: KeyAlgorithm::EcdsaP256,
            ..Default::default()
        })
        .expect("chain");
    let device = certs
        .create_device_certificates(
            &["smoke-device".to_owned()],
            &LeafOptions {
                algorithm: KeyAlgorithm::EcdsaP256,
                signer: Signer::Intermediate,
                pfx: false,
                ..Default::default()
            },
            &|_, _| {},
        )
        .expect("device")
        .issued
        .remove(0);
    let root = certs.cert_path(ROOT_PREFIX);
    let t = TestEmulator::start_with(|c| c.ca_certificates = vec![("root".into(), root)]);
    let service = t.client();
    rt().block_on(async {
        let intermediate =
            std::fs::read(certs.cert_path(dps_certgen::INTERMEDIATE_PREFIX)).expect("pem");
        service
            .create_x509_enrollment_group("smoke-group", &intermediate, None, None)
            .await
            .expect("group");
        let options = DeviceClientOptions {
            trusted_ca_pem: vec![t.emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..Default::default()
        };
        let auth = DeviceAuth::x509(
            std::fs::read(device.full_chain_path.as_ref().expect("chain")).expect("chain pem"),
            std::fs::read(&device.key_path).expect("key"),
        );
        let client = ProvisioningDeviceClient::new(
            &t.emulator.device_endpoint(),
            t.emulator.id_scope(),
            "smoke-device",
            auth,
            Some(options),
        )
        .expect("client");
        let result = client.register(None).await.expect("assigned");
        assert_eq!(
            result.assigned_hub.as_deref(),
            Some("emulator-hub.azure-devices.net")
        );
        assert_eq!(result.device_id.as_deref(), Some("smoke-device"));
        let x509 = result.x509.expect("x509 block");
        assert_eq!(x509.enrollment_group_id.as_deref(), Some("smoke-group"));
        let state = service
            .get_registration_state("smoke-device", None)
            .await
            .expect("state");
        assert_eq!(
            state.assigned_hub.as_deref(),
            Some("emulator-hub.azure-devices.net")
        );
    });
}
