//! Individual enrollments: get, create-or-update, create, update, delete, attestation mechanism.

use crate::support::*;
use dps_service_client::models::{
    AllocationPolicy, AttestationType, IndividualEnrollment, ProvisioningStatus, RegistrationStatus,
};
use dps_service_client::{ConditionalOptions, ErrorKind, codes};
use serde_json::json;
use wiremock::ResponseTemplate;

const ETAG: &str = "IjMzYTA0YTQ0LTAwMDAtMDgwMC0wMDAwLTZhMmIzZWVmMDAwMCI=";
const ETAG2: &str = "ImFjM2YyMGRmLTAwMDAtMDgwMC0wMDAwLTZhMmIzZTkwMDAwMCI=";
const EK: &str = "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAwiOV9w5V4Fn8TBe5qda8qN+jzawrT+IAqTQZ5r6m2TxX9aHn/WBDEs/WlIOSn/YGEjNlyFMzLxDb9zczWMoXQuHz38bPzZa02U9GkCH9EZ/74apGcolS1vkgSArju10NjHaNM2q1LuCCJrirGtZqOxMBs/35yhC6xWZ6n6ElQzabdvFV06IyEIRJ4sEzLg3TwDwiXT5cBW7hResGskfQPX1uoKdzwm6vdPx/o117ZxTkfY9OrGzMrGuOYlLlbZABcZJVSsl+jIFQF3rTW+qHJ1jGMnabWTMIT1O7h08hRZyXutL1xNEUMDes7jXmfQ8xUhCB/3UyBf0vOgqhkXwy7w==";

fn if_match(v: &str) -> Option<ConditionalOptions> {
    Some(ConditionalOptions::default().with_if_match(v.to_owned()))
}

#[tokio::test]
async fn get_reads_the_enrollment_with_an_encoded_id() {
    let h = Harness::start().await;
    let body = enrollment_tpm("dev:01", ETAG);
    h.on("GET", "/enrollments/dev%3A01", json_response(200, &body))
        .await;

    let e = h
        .client
        .get_enrollment("dev:01", None)
        .await
        .expect("found");

    let req = h.only_request().await;
    h.assert_call(&req, "GET", "/enrollments/dev%3A01");
    assert_no_body(&req);
    assert_if_match(&req, None);
    assert_eq!(e.registration_id, "dev:01");
    assert_eq!(e.device_id.as_deref(), Some("gateway-07"));
    assert_eq!(e.attestation.attestation_type, AttestationType::Tpm);
    assert_eq!(
        e.attestation
            .tpm
            .as_ref()
            .map(|t| t.endorsement_key.as_str()),
        Some(EK)
    );
    assert_eq!(
        e.registration_state.as_ref().map(|s| &s.status),
        Some(&RegistrationStatus::Unassigned)
    );
    assert_eq!(e.provisioning_status, Some(ProvisioningStatus::Disabled));
    assert_eq!(e.allocation_policy, Some(AllocationPolicy::Custom));
    assert_eq!(e.etag.as_deref(), Some(ETAG));
    assert_eq!(to_json(&e), body, "nothing the service sent is lost");
}

#[tokio::test]
async fn create_or_update_sends_if_match_only_from_options() {
    let h = Harness::start().await;
    let stored = enrollment_tpm("dev:01", ETAG);
    h.on("PUT", "/enrollments/dev%3A01", json_response(200, &stored))
        .await;

    let mut e = IndividualEnrollment::tpm("dev:01", EK);
    e.device_id = Some("gateway-07".into());
    let created = h
        .client
        .create_or_update_enrollment(&e, None)
        .await
        .expect("created");
    assert_eq!(to_json(&created), stored);
    let read_back: IndividualEnrollment = from_json(&stored);
    h.client
        .create_or_update_enrollment(&read_back, None)
        .await
        .expect("replaced");
    h.client
        .create_or_update_enrollment(&e, if_match("*"))
        .await
        .expect("wildcard");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 3);
    for req in &reqs {
        h.assert_call(req, "PUT", "/enrollments/dev%3A01");
    }
    let fresh = json!({
        "registrationId": "dev:01",
        "deviceId": "gateway-07",
        "attestation": {"type": "tpm", "tpm": {"endorsementKey": EK}}
    });
    assert_json_body(&reqs[0], &fresh);
    assert_if_match(&reqs[0], None);
    assert_json_body(&reqs[1], &stored);
    assert_if_match(&reqs[1], None);
    assert_json_body(&reqs[2], &fresh);
    assert_if_match(&reqs[2], Some("*"));
}

#[tokio::test]
async fn create_is_a_single_item_bulk_create_then_a_get() {
    let h = Harness::start().await;
    let stored = enrollment_tpm("tpm-gateway-07", ETAG);
    h.on(
        "POST",
        "/enrollments",
        json_response(200, &json!({"isSuccessful": true, "errors": []})),
    )
    .await;
    h.on(
        "GET",
        "/enrollments/tpm-gateway-07",
        json_response(200, &stored),
    )
    .await;

    let mut e = IndividualEnrollment::tpm("tpm-gateway-07", EK);
    e.etag = Some(ETAG2.into());
    let created = h.client.create_enrollment(&e, None).await.expect("created");
    assert_eq!(to_json(&created), stored);

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    h.assert_call(&reqs[0], "POST", "/enrollments");
    assert_if_match(&reqs[0], None);
    assert_json_body(
        &reqs[0],
        &json!({"mode": "create", "enrollments": [{
            "registrationId": "tpm-gateway-07",
            "attestation": {"type": "tpm", "tpm": {"endorsementKey": EK}}
        }]}),
    );
    h.assert_call(&reqs[1], "GET", "/enrollments/tpm-gateway-07");
}

#[tokio::test]
async fn create_of_an_existing_enrollment_is_a_conflict() {
    let h = Harness::start().await;
    let result = json!({"isSuccessful": false, "errors": [{
        "registrationId": "tpm-gateway-07", "errorCode": codes::ALREADY_EXISTS, "errorStatus": "Enrollment already exists."
    }]});
    h.on("POST", "/enrollments", json_response(200, &result))
        .await;

    let err = h
        .client
        .create_enrollment(&IndividualEnrollment::tpm("tpm-gateway-07", EK), None)
        .await
        .expect_err("exists");

    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.code(), Some(codes::ALREADY_EXISTS));
    assert!(
        err.to_string().contains("Enrollment already exists."),
        "{err}"
    );
    h.assert_call(&h.only_request().await, "POST", "/enrollments");
}

#[tokio::test]
async fn update_sends_the_record_etag_or_the_explicit_one() {
    let h = Harness::start().await;
    let stored = enrollment_tpm("dev:01", ETAG2);
    h.on("PUT", "/enrollments/dev%3A01", json_response(200, &stored))
        .await;

    let mut e: IndividualEnrollment = from_json(&enrollment_tpm("dev:01", ETAG));
    e.provisioning_status = Some(ProvisioningStatus::Enabled);
    let updated = h.client.update_enrollment(&e, None).await.expect("updated");
    assert_eq!(updated.etag.as_deref(), Some(ETAG2));
    h.client
        .update_enrollment(&e, if_match(ETAG2))
        .await
        .expect("override");
    h.client
        .update_enrollment(&e, if_match("*"))
        .await
        .expect("wildcard");
    e.etag = None;
    h.client
        .update_enrollment(&e, None)
        .await
        .expect("no etag: unconditional, never `*`");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 4);
    for (req, want) in reqs.iter().zip([Some(ETAG), Some(ETAG2), Some("*"), None]) {
        h.assert_call(req, "PUT", "/enrollments/dev%3A01");
        assert_if_match(req, want);
    }
    let mut body = enrollment_tpm("dev:01", ETAG);
    body["provisioningStatus"] = json!("enabled");
    assert_json_body(&reqs[0], &body);
}

#[tokio::test]
async fn delete_with_and_without_if_match() {
    let h = Harness::start().await;
    h.on(
        "DELETE",
        "/enrollments/dev%3A01",
        ResponseTemplate::new(204),
    )
    .await;

    h.client
        .delete_enrollment("dev:01", None)
        .await
        .expect("deleted");
    h.client
        .delete_enrollment("dev:01", if_match(ETAG))
        .await
        .expect("deleted");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "DELETE", "/enrollments/dev%3A01");
        assert_no_body(req);
    }
    assert_if_match(&reqs[0], None);
    assert_if_match(&reqs[1], Some(ETAG));
}

#[tokio::test]
async fn attestation_mechanism_is_a_bodyless_post() {
    let h = Harness::start().await;
    let body = json!({"type": "tpm", "tpm": {"endorsementKey": EK, "storageRootKey": "ARgAAQALAAMAcgAAAAYAgABDABAI"}});
    h.on(
        "POST",
        "/enrollments/dev%3A01/attestationmechanism",
        json_response(200, &body),
    )
    .await;

    let att = h
        .client
        .get_enrollment_attestation_mechanism("dev:01", None)
        .await
        .expect("attestation");

    let req = h.only_request().await;
    h.assert_call(&req, "POST", "/enrollments/dev%3A01/attestationmechanism");
    assert_no_body(&req);
    assert_eq!(att.attestation_type, AttestationType::Tpm);
    let tpm = att.tpm.as_ref().expect("tpm");
    assert_eq!(
        tpm.storage_root_key.as_deref(),
        Some("ARgAAQALAAMAcgAAAAYAgABDABAI")
    );
    assert_eq!(to_json(&att), body);
}
