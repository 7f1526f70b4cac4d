//! Groups that reference uploaded CA certificates by name (`caReferences`): usable once the
//! CA is verified, and a refusal naming the group and the unverified CA before that.

use super::common::{DEFAULT_HUB, assert_refused, cn, registrations_of};
use dps_certgen::{INTERMEDIATE_CN, ROOT_CN, Signer};
use dps_device_client::ErrorKind;
use dps_e2e::{TestChain, TestEmulator, rt};
use dps_protocol::codes;
use dps_protocol::models::EnrollmentGroup;

#[test]
fn a_group_referencing_an_unverified_ca_is_refused_until_it_is_verified() {
    let chain = TestChain::new();
    let t = TestEmulator::start();
    let service = t.client();
    let cas = t.certificate_client();
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        let root = chain.root_pem();
        cas.create_or_update("root", root.as_bytes(), Some(dps_service_client::CertificateUploadOptions::default().with_is_verified(false)))
            .await
            .expect("uploaded");
        let g = EnrollmentGroup::x509_ca_references("ref-group", "root", None);
        service
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("group");
        let client = t.device("device-1", device.full_chain());
        let e = client.register(None).await.expect_err("unverified");
        let named = format!(
            "the enrollment group \"ref-group\" references the CA certificate \"root\" (CN={ROOT_CN})"
        );
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &[&named, "not verified", "proof of possession"],
        );

        cas.prove_possession("root", root.as_bytes(), |code| {
            Ok::<_, std::convert::Infallible>(chain.verification_pem(code, Signer::Root).into_bytes())
        }, None)
        .await
        .expect("verified");
        let r = client.register(None).await.expect("assigned");
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        let x509 = r.x509.expect("x509 block");
        assert_eq!(x509.enrollment_group_id.as_deref(), Some("ref-group"));
        let signer = x509.signing_certificate_info.expect("signing info");
        assert_eq!(signer.subject_name, cn(ROOT_CN));
        assert_eq!(registrations_of(&service, "ref-group").await.len(), 1);
    });
}

#[test]
fn a_verified_intermediate_can_be_referenced_alone() {
    let chain = TestChain::new();
    let t = TestEmulator::start();
    let service = t.client();
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        let pem = chain.intermediate_pem();
        t.certificate_client()
            .create_or_update(
                "intermediate",
                pem.as_bytes(),
                Some(
                    dps_service_client::CertificateUploadOptions::default().with_is_verified(true),
                ),
            )
            .await
            .expect("uploaded verified");
        let g = EnrollmentGroup::x509_ca_references("ref-int", "intermediate", None);
        service
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("group");
        let r = t
            .device("device-1", device.leaf_only())
            .register(None)
            .await
            .expect("assigned");
        let x509 = r.x509.expect("x509 block");
        assert_eq!(x509.enrollment_group_id.as_deref(), Some("ref-int"));
        let signer = x509.signing_certificate_info.expect("signing info");
        assert_eq!(signer.subject_name, cn(INTERMEDIATE_CN));
    });
}
