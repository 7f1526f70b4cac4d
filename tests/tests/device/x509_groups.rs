//! X.509 enrollment groups that accept devices: a group on the intermediate or on the root,
//! the nearest group winning, an individual enrollment overriding its group, a disabled group.

use super::common::{DEFAULT_HUB, assert_refused, cn, registrations_of, with_verified_root};
use dps_certgen::{INTERMEDIATE_CN, ROOT_CN, Signer};
use dps_device_client::ErrorKind;
use dps_e2e::{TestChain, der_of, rt};
use dps_protocol::codes;
use dps_protocol::models::{
    EnrollmentGroup, IndividualEnrollment, ProvisioningStatus, RegistrationStatus, Substatus,
};

#[test]
fn a_group_on_the_intermediate_assigns_devices_that_send_it() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        service
            .create_x509_enrollment_group(
                "group-int",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        let r = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect("assigned");
        assert_eq!(r.registration_id, "device-1");
        assert_eq!(r.status, RegistrationStatus::Assigned);
        assert_eq!(r.substatus, Some(Substatus::InitialAssignment));
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        assert_eq!(r.device_id.as_deref(), Some("device-1"));
        assert!(r.symmetric_key.is_none());
        let x509 = r.x509.clone().expect("x509 block");
        assert_eq!(x509.enrollment_group_id.as_deref(), Some("group-int"));
        let leaf = &x509.certificate_info;
        assert_eq!(leaf.subject_name, cn("device-1"));
        assert_eq!(leaf.issuer_name, cn(INTERMEDIATE_CN));
        let sha256 = dps_protocol::Thumbprints::of_der(&der_of(&device.leaf_pem)).sha256;
        assert_eq!(leaf.sha256_thumbprint, sha256);
        let signer = x509
            .signing_certificate_info
            .expect("signing certificate info");
        assert_eq!(signer.subject_name, cn(INTERMEDIATE_CN));

        let state = service
            .get_registration_state("device-1", None)
            .await
            .expect("state");
        assert_eq!(state.status, RegistrationStatus::Assigned);
        assert_eq!(state.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        assert_eq!(state.device_id.as_deref(), Some("device-1"));
        assert_eq!(state.substatus, Some(Substatus::InitialAssignment));
        assert_eq!(state.etag, r.etag);

        // The group holds the intermediate, but only the root is verified: the device must
        // send the intermediate itself; the group's copy never completes its chain (the
        // service's rule, and the most common real failure).
        let bare = chain.device("device-2", Signer::Intermediate);
        let e = t
            .device("device-2", bare.leaf_only())
            .register(None)
            .await
            .expect_err("leaf only is refused");
        let missing = format!("without its issuer CN={INTERMEDIATE_CN}");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &[&missing, "does not complete the device's chain"],
        );
        let r2 = t
            .device("device-2", bare.full_chain())
            .register(None)
            .await
            .expect("with its intermediate");
        assert_eq!(
            r2.x509.and_then(|x| x.enrollment_group_id).as_deref(),
            Some("group-int")
        );

        let mut listed: Vec<String> = registrations_of(&service, "group-int")
            .await
            .into_iter()
            .map(|s| s.registration_id)
            .collect();
        listed.sort();
        assert_eq!(listed, ["device-1", "device-2"]);
    });
}

#[test]
fn a_group_on_the_root_assigns_devices_that_send_their_intermediate() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    let via_intermediate = chain.device("device-1", Signer::Intermediate);
    let from_root = chain.device("device-2", Signer::Root);
    rt().block_on(async {
        service
            .create_x509_enrollment_group("group-root", chain.root_pem().as_bytes(), None, None)
            .await
            .expect("group");
        for (id, auth) in [
            ("device-1", via_intermediate.auth_with(1)),
            ("device-2", from_root.leaf_only()),
        ] {
            let r = t.device(id, auth).register(None).await.expect("assigned");
            assert_eq!(
                (r.status, r.device_id.as_deref()),
                (RegistrationStatus::Assigned, Some(id))
            );
            let x509 = r.x509.expect("x509 block");
            assert_eq!(x509.enrollment_group_id.as_deref(), Some("group-root"));
            let signer = x509.signing_certificate_info.expect("signing info");
            assert_eq!(signer.subject_name, cn(ROOT_CN));
        }
        assert_eq!(registrations_of(&service, "group-root").await.len(), 2);
    });
}

#[test]
fn the_group_nearest_the_leaf_wins() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        for (id, pem) in [
            ("group-root", chain.root_pem()),
            ("group-int", chain.intermediate_pem()),
        ] {
            service
                .create_x509_enrollment_group(id, pem.as_bytes(), None, None)
                .await
                .expect("group");
        }
        let r = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect("assigned");
        assert_eq!(
            r.x509.and_then(|x| x.enrollment_group_id).as_deref(),
            Some("group-int")
        );
        assert!(registrations_of(&service, "group-root").await.is_empty());
    });
}

#[test]
fn an_individual_enrollment_overrides_the_group() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    let device = chain.device("device-1", Signer::Intermediate);
    let impostor = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        service
            .create_x509_enrollment_group(
                "group-int",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        let mut e = IndividualEnrollment::x509_client("device-1", device.leaf_pem.clone());
        e.device_id = Some("custom-device-id".into());
        service
            .create_or_update_enrollment(&e, None)
            .await
            .expect("enrollment");

        let r = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect("assigned");
        assert_eq!(r.device_id.as_deref(), Some("custom-device-id"));
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        let x509 = r.x509.expect("x509 block");
        assert_eq!(x509.enrollment_group_id, None);
        assert_eq!(x509.signing_certificate_info, None);
        assert_eq!(x509.certificate_info.subject_name, cn("device-1"));
        let state = service
            .get_registration_state("device-1", None)
            .await
            .expect("state");
        assert_eq!(state.device_id.as_deref(), Some("custom-device-id"));
        assert!(registrations_of(&service, "group-int").await.is_empty());

        // Same CN, same chain, another key: the individual enrollment pins the leaf.
        let e = t
            .device("device-1", impostor.full_chain())
            .register(None)
            .await
            .expect_err("refused");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["is not the certificate of the individual enrollment \"device-1\""],
        );

        // Without the individual enrollment the group takes the device, under its own id.
        service
            .delete_enrollment("device-1", None)
            .await
            .expect("deleted");
        let r = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect("via group");
        assert_eq!(r.device_id.as_deref(), Some("device-1"));
        assert_eq!(
            r.x509.and_then(|x| x.enrollment_group_id).as_deref(),
            Some("group-int")
        );
        assert_eq!(registrations_of(&service, "group-int").await.len(), 1);
    });
}

#[test]
fn a_disabled_group_refuses_its_devices() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        let mut g = EnrollmentGroup::x509_signing("group-off", chain.intermediate_pem(), None);
        g.provisioning_status = Some(ProvisioningStatus::Disabled);
        service
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("group");
        let e = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect_err("disabled");
        assert_refused(
            &e,
            ErrorKind::Disabled,
            codes::UNAUTHORIZED,
            &["the enrollment group \"group-off\" is disabled"],
        );
        let state = service
            .get_registration_state("device-1", None)
            .await
            .expect("state");
        assert_eq!(
            (state.status, state.assigned_hub),
            (RegistrationStatus::Disabled, None)
        );
    });
}
