//! Individual enrollments and registration states through the SDK: X.509 client certificates
//! with the `info` the service computes, TPM and symmetric keys, etags, and 404s.

use dps_e2e::{TestChain, TestEmulator, rt};
use dps_protocol::codes;
use dps_protocol::models::{
    AttestationType, IndividualEnrollment, ProvisioningStatus, QuerySpecification,
    RegistrationStatus,
};
use dps_service_client::{ConditionalOptions, ErrorKind};
use futures_util::TryStreamExt;

fn if_match(etag: Option<&str>) -> Option<ConditionalOptions> {
    Some(ConditionalOptions::default().with_if_match(etag.expect("an etag")))
}

#[test]
fn x509_enrollment_gets_info_and_keeps_its_certificate() {
    let t = TestEmulator::start();
    let client = t.client();
    let chain = TestChain::new();
    let pem = chain.device_pem("device-01");
    let der = dps_e2e::der_of(&pem);
    let summary = dps_certgen::summarize(&der).expect("summary");
    rt().block_on(async {
        let created = client
            .create_enrollment(&IndividualEnrollment::x509_client("device-01", pem.clone()), None)
            .await
            .expect("created");
        let state = created.registration_state.as_ref().expect("registrationState on GET");
        assert_eq!(state.status, RegistrationStatus::Unassigned);
        assert_eq!(state.registration_id, "device-01");

        let slot = |e: &IndividualEnrollment| {
            e.attestation
                .x509
                .as_ref()
                .and_then(|x| x.client_certificates.as_ref())
                .and_then(|c| c.primary.clone())
                .expect("clientCertificates.primary")
        };
        let primary = slot(&created);
        assert_eq!(primary.certificate, None, "the certificate is never echoed");
        let info = primary.info.expect("info");
        let thumbprints = dps_protocol::Thumbprints::of_der(&der);
        assert_eq!(info.subject_name, "CN=device-01");
        assert_eq!(info.issuer_name, "CN=Azure IoT Hub Intermediate Cert Test Only");
        assert_eq!(info.sha1_thumbprint, thumbprints.sha1);
        assert_eq!(info.sha256_thumbprint, thumbprints.sha256);
        assert_eq!(info.serial_number, summary.serial);
        assert_eq!(info.not_before_utc.as_str(), summary.not_before, "whole seconds");
        assert_eq!(info.not_after_utc.as_str(), summary.not_after, "whole seconds");
        assert_eq!(info.version, 3);

        // Read-modify-write: the body carries `info` and no certificate.
        let mut edit = created.clone();
        edit.provisioning_status = Some(ProvisioningStatus::Disabled);
        let updated = client.update_enrollment(&edit, None).await.expect("updated");
        assert!(updated.registration_state.is_none(), "PUT responses omit registrationState");
        assert_eq!(slot(&updated).info.map(|i| i.sha256_thumbprint), Some(thumbprints.sha256.clone()));
        let att = client
            .get_enrollment_attestation_mechanism("DEVICE-01", None)
            .await
            .expect("attestation mechanism");
        assert_eq!(att.attestation_type, AttestationType::X509);

        let raw = dps_e2e::send(t.request(reqwest::Method::GET, "/enrollments/device-01")).await;
        assert_eq!(raw.status, 200);
        assert!(!raw.text().contains("\"certificate\""), "{}", raw.text());
        assert_eq!(raw.json()["provisioningStatus"], "disabled");
        assert_eq!(
            raw.json()["attestation"]["x509"]["clientCertificates"]["primary"]["info"]["sha1Thumbprint"],
            thumbprints.sha1.as_str()
        );
    });
}

#[test]
fn enrollment_lifecycle_with_etags() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let sym = IndividualEnrollment::symmetric_key("Dev-A", None);
        let v1 = client.create_enrollment(&sym, None).await.expect("created");
        let e = client
            .create_enrollment(&sym, None)
            .await
            .expect_err("exists");
        assert_eq!(
            (e.kind(), e.code()),
            (ErrorKind::Conflict, Some(codes::ALREADY_EXISTS))
        );
        let got = client
            .get_enrollment("dev-a", None)
            .await
            .expect("case-insensitive get");
        assert_eq!(
            (got.registration_id.as_str(), &got.etag),
            ("Dev-A", &v1.etag)
        );
        let keys = got
            .attestation
            .symmetric_key
            .clone()
            .expect("generated keys");
        assert!(keys.primary_key.is_some() && keys.secondary_key.is_some());

        let mut edit = got.clone();
        edit.device_id = Some("device-a".into());
        let v2 = client
            .update_enrollment(&edit, None)
            .await
            .expect("updated");
        assert_eq!(v2.device_id.as_deref(), Some("device-a"));
        assert_eq!(v2.attestation.symmetric_key, Some(keys), "keys kept");
        let e = client
            .update_enrollment(&edit, None)
            .await
            .expect_err("stale");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::PreconditionFailed, Some(412))
        );
        let v3 = client
            .create_or_update_enrollment(&edit, if_match(Some("*")))
            .await
            .expect("`*`");
        let e = client
            .delete_enrollment("dev-a", if_match(v2.etag.as_deref()))
            .await
            .expect_err("stale delete");
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        client
            .delete_enrollment("dev-a", if_match(v3.etag.as_deref()))
            .await
            .expect("deleted with the etag");
        let e = client
            .delete_enrollment("dev-a", None)
            .await
            .expect_err("missing");
        assert_eq!(
            (e.kind(), e.status(), e.code()),
            (
                ErrorKind::NotFound,
                Some(404),
                Some(codes::ENROLLMENT_NOT_FOUND)
            )
        );
        let e = client
            .get_enrollment("dev-a", None)
            .await
            .expect_err("missing");
        assert_eq!(e.code(), Some(codes::ENROLLMENT_NOT_FOUND));

        client
            .create_or_update_enrollment(&IndividualEnrollment::symmetric_key("dev-b", None), None)
            .await
            .expect("created");
        client
            .delete_enrollment("dev-b", None)
            .await
            .expect("deleted without etag");
    });
}

#[test]
fn tpm_enrollment_returns_its_endorsement_key() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        use base64::Engine;
        let ek = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let created = client
            .create_or_update_enrollment(&IndividualEnrollment::tpm("tpm-01", ek.clone()), None)
            .await
            .expect("created");
        assert_eq!(created.attestation.attestation_type, AttestationType::Tpm);
        let att = client
            .get_enrollment_attestation_mechanism("tpm-01", None)
            .await
            .expect("attestation mechanism");
        assert_eq!(att.tpm.map(|t| t.endorsement_key), Some(ek));
        let listed: Vec<IndividualEnrollment> = client
            .query_enrollments(QuerySpecification::all(), None)
            .try_collect()
            .await
            .expect("query");
        assert_eq!(listed.len(), 1);
        assert!(
            listed[0].registration_state.is_none(),
            "query items omit registrationState"
        );
    });
}

#[test]
fn registration_states_missing_and_empty() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let e = client
            .get_registration_state("nobody", None)
            .await
            .expect_err("missing");
        assert_eq!(
            (e.kind(), e.status(), e.code()),
            (
                ErrorKind::NotFound,
                Some(404),
                Some(codes::REGISTRATION_NOT_FOUND)
            )
        );
        let e = client
            .delete_registration_state("nobody", None)
            .await
            .expect_err("missing");
        assert_eq!(e.code(), Some(codes::REGISTRATION_NOT_FOUND));
        let all: Vec<_> = client
            .query_registration_states("some-group", None)
            .try_collect()
            .await
            .expect("query");
        assert!(all.is_empty());
        let page = client
            .query_registration_states_page("some-group", None, None)
            .await
            .expect("page");
        assert!(page.items.is_empty());
        assert_eq!(page.continuation_token, None);
        assert_eq!(page.item_type.as_deref(), Some("DeviceRegistration"));
    });
}
