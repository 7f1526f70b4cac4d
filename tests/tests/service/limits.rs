//! Service limits (configurable, defaulting to the documented ones) and the request body cap.

use dps_e2e::{TestChain, TestEmulator, rt, send};
use dps_emulator::Limits;
use dps_protocol::codes;
use dps_protocol::models::{EnrollmentGroup, IndividualEnrollment};
use dps_service_client::ErrorKind;
use reqwest::Method;
use serde_json::json;

#[test]
fn record_counts_are_capped() {
    let t = TestEmulator::start_with(|c| {
        c.limits = Limits {
            max_enrollments: 2,
            max_groups_per_type: 1,
            max_ca_certificates: 1,
            ..Limits::default()
        }
    });
    let client = t.client();
    let chain = TestChain::new();
    rt().block_on(async {
        let sym = |id: &str| EnrollmentGroup::symmetric_key(id, None);
        let first = client
            .create_or_update_enrollment_group(&sym("g1"), None)
            .await
            .expect("first");
        let e = client
            .create_or_update_enrollment_group(&sym("g2"), None)
            .await
            .expect_err("a second symmetric-key group");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::Forbidden, Some(403)),
            "{e}"
        );
        client
            .create_x509_enrollment_group("x1", chain.root_pem().as_bytes(), None, None)
            .await
            .expect("the cap is per attestation type");
        client
            .update_enrollment_group(&first, None)
            .await
            .expect("updating an existing group is not a new one");

        for id in ["e1", "e2"] {
            let e = IndividualEnrollment::symmetric_key(id, None);
            client
                .create_or_update_enrollment(&e, None)
                .await
                .expect("within the cap");
        }
        let e = client
            .create_enrollment(&IndividualEnrollment::symmetric_key("e3", None), None)
            .await
            .expect_err("over the cap");
        assert_eq!(e.status(), Some(403), "{e}");
        client.delete_enrollment("e1", None).await.expect("deleted");
        let e3 = IndividualEnrollment::symmetric_key("e3", None);
        client
            .create_enrollment(&e3, None)
            .await
            .expect("room again");

        let certs = t.certificate_client();
        certs
            .create_or_update("one", chain.root_pem().as_bytes(), None)
            .await
            .expect("first CA");
        let e = certs
            .create_or_update("two", chain.intermediate_pem().as_bytes(), None)
            .await
            .expect_err("over the CA cap");
        assert_eq!(e.status(), Some(400), "{e}");
    });
}

#[test]
fn bodies_over_96_kb_are_refused() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let filler = "x".repeat(100 * 1024);
        let body = json!({"registrationId": "big", "attestation": {"type": "symmetricKey"},
            "optionalDeviceInformation": {"filler": filler}});
        let r = send(t.request(Method::PUT, "/enrollments/big").json(&body)).await;
        assert_eq!(r.status, 413, "{}", r.text());
        assert_eq!(
            r.header("x-ms-error-code"),
            Some(codes::TOO_LARGE.to_string().as_str())
        );
        let r = send(t.request(Method::GET, "/enrollments/big")).await;
        assert_eq!(r.status, 404);

        let fits = json!({"registrationId": "fits", "attestation": {"type": "symmetricKey"},
            "optionalDeviceInformation": {"filler": "x".repeat(90 * 1024)}});
        let r = send(t.request(Method::PUT, "/enrollments/fits").json(&fits)).await;
        assert_eq!(r.status, 200, "{}", r.text());
    });
}

#[test]
fn sdk_create_reports_a_refused_record_as_bad_request() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        use base64::Engine;
        let short = base64::engine::general_purpose::STANDARD.encode([0u8; 4]);
        let keys = dps_protocol::models::SymmetricKeyAttestation::new(short.clone(), short);
        let e = client
            .create_enrollment(
                &IndividualEnrollment::symmetric_key("short-keys", Some(keys)),
                None,
            )
            .await
            .expect_err("keys too short");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::BadRequest, Some(400)),
            "{e}"
        );
        assert!(e.message().contains("short-keys"), "{}", e.message());
        let e = client
            .get_enrollment("short-keys", None)
            .await
            .expect_err("not stored");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
}
