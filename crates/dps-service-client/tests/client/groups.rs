//! Enrollment groups: get, create-or-update, create, update, delete, attestation mechanism.

use crate::support::*;
use dps_service_client::models::{
    AttestationType, EnrollmentGroup, ProvisioningStatus, SymmetricKeyAttestation,
};
use dps_service_client::{ConditionalOptions, ErrorKind, codes};
use serde_json::json;

const ETAG: &str = "Ijg4OTUzNTUyLTAwMDAtMDgwMC0wMDAwLTZhMmIzZjU4MDAwMCI=";
const ETAG2: &str = "IjQxNmQwMzEzLTAwMDAtMDgwMC0wMDAwLTZhMmIzZjk0MDAwMCI=";

fn if_match(v: &str) -> Option<ConditionalOptions> {
    Some(ConditionalOptions::default().with_if_match(v.to_owned()))
}

#[tokio::test]
async fn get_reads_the_group_with_an_encoded_id() {
    let h = Harness::start().await;
    let body = group_x509("grp:01", ETAG);
    h.on(
        "GET",
        "/enrollmentGroups/grp%3A01",
        json_response(200, &body),
    )
    .await;

    let group = h
        .client
        .get_enrollment_group("grp:01", None)
        .await
        .expect("found");

    let req = h.only_request().await;
    h.assert_call(&req, "GET", "/enrollmentGroups/grp%3A01");
    assert_no_body(&req);
    assert_if_match(&req, None);
    assert_eq!(group.enrollment_group_id, "grp:01");
    assert_eq!(group.etag.as_deref(), Some(ETAG));
    assert_eq!(group.attestation.attestation_type, AttestationType::X509);
    let info = group
        .attestation
        .x509
        .as_ref()
        .and_then(|x| x.signing_certificates.as_ref());
    let info = info
        .and_then(|c| c.primary.as_ref())
        .and_then(|p| p.info.as_ref())
        .expect("info");
    assert_eq!(
        info.sha1_thumbprint,
        "9D95CA1F23E232A96BF950927840C41511310EB7"
    );
    assert_eq!(info.version, 3);
    assert_eq!(to_json(&group), body, "nothing the service sent is lost");
}

#[tokio::test]
async fn create_or_update_sends_if_match_only_from_options() {
    let h = Harness::start().await;
    let stored = group_symkey("sensors-symkey", ETAG);
    h.on(
        "PUT",
        "/enrollmentGroups/sensors-symkey",
        json_response(200, &stored),
    )
    .await;

    // A new group: keys left for the service to generate.
    let mut group = EnrollmentGroup::symmetric_key("sensors-symkey", None);
    group.provisioning_status = Some(ProvisioningStatus::Enabled);
    let created = h
        .client
        .create_or_update_enrollment_group(&group, None)
        .await
        .expect("created");
    assert_eq!(to_json(&created), stored);
    let keys = created.attestation.symmetric_key.as_ref().expect("keys");
    assert!(
        keys.primary_key
            .as_deref()
            .is_some_and(|k| k.starts_with("79ZeGZe9"))
    );

    // A record that carries an etag: still no If-Match unless asked for.
    let read_back: EnrollmentGroup = from_json(&stored);
    h.client
        .create_or_update_enrollment_group(&read_back, None)
        .await
        .expect("replaced");
    h.client
        .create_or_update_enrollment_group(&read_back, if_match(ETAG2))
        .await
        .expect("conditional");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 3);
    for req in &reqs {
        h.assert_call(req, "PUT", "/enrollmentGroups/sensors-symkey");
    }
    assert_json_body(
        &reqs[0],
        &json!({
            "enrollmentGroupId": "sensors-symkey",
            "attestation": {"type": "symmetricKey", "symmetricKey": {}},
            "provisioningStatus": "enabled"
        }),
    );
    assert_if_match(&reqs[0], None);
    assert_json_body(&reqs[1], &stored);
    assert_if_match(&reqs[1], None);
    assert_json_body(&reqs[2], &stored);
    assert_if_match(&reqs[2], Some(ETAG2));
}

#[tokio::test]
async fn create_is_a_single_item_bulk_create_then_a_get() {
    let h = Harness::start().await;
    let stored = group_symkey("sensors-symkey", ETAG);
    h.on(
        "POST",
        "/enrollmentGroups",
        json_response(200, &json!({"isSuccessful": true, "errors": []})),
    )
    .await;
    h.on(
        "GET",
        "/enrollmentGroups/sensors-symkey",
        json_response(200, &stored),
    )
    .await;

    let mut group = EnrollmentGroup::symmetric_key(
        "sensors-symkey",
        Some(SymmetricKeyAttestation::new("cHJpbWFyeQ==", "c2Vjb25kYXJ5")),
    );
    group.etag = Some("stale".into());
    let created = h
        .client
        .create_enrollment_group(&group, None)
        .await
        .expect("created");
    assert_eq!(to_json(&created), stored);

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    h.assert_call(&reqs[0], "POST", "/enrollmentGroups");
    assert_if_match(&reqs[0], None);
    assert_json_body(
        &reqs[0],
        &json!({"mode": "create", "enrollmentGroups": [{
            "enrollmentGroupId": "sensors-symkey",
            "attestation": {"type": "symmetricKey", "symmetricKey": {
                "primaryKey": "cHJpbWFyeQ==", "secondaryKey": "c2Vjb25kYXJ5"
            }}
        }]}),
    );
    h.assert_call(&reqs[1], "GET", "/enrollmentGroups/sensors-symkey");
    assert_no_body(&reqs[1]);
}

#[tokio::test]
async fn create_of_an_existing_group_is_a_conflict() {
    let h = Harness::start().await;
    let result = json!({"isSuccessful": false, "errors": [{
        "enrollmentGroupId": "sensors-symkey", "errorCode": codes::ALREADY_EXISTS, "errorStatus": "Enrollment already exists."
    }]});
    h.on("POST", "/enrollmentGroups", json_response(200, &result))
        .await;

    let group = EnrollmentGroup::symmetric_key("sensors-symkey", None);
    let err = h
        .client
        .create_enrollment_group(&group, None)
        .await
        .expect_err("exists");

    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.code(), Some(codes::ALREADY_EXISTS));
    assert_eq!(err.status(), Some(409));
    assert!(
        err.message().contains("Enrollment already exists."),
        "{err}"
    );
    assert!(err.message().contains("sensors-symkey"), "{err}");
    let req = h.only_request().await;
    h.assert_call(&req, "POST", "/enrollmentGroups");
}

#[tokio::test]
async fn update_sends_the_record_etag_or_the_explicit_one() {
    let h = Harness::start().await;
    let stored = group_x509("contoso-x509-devices", ETAG2);
    h.on(
        "PUT",
        "/enrollmentGroups/contoso-x509-devices",
        json_response(200, &stored),
    )
    .await;

    let mut group: EnrollmentGroup = from_json(&group_x509("contoso-x509-devices", ETAG));
    group.provisioning_status = Some(ProvisioningStatus::Disabled);
    let updated = h
        .client
        .update_enrollment_group(&group, None)
        .await
        .expect("updated");
    assert_eq!(updated.etag.as_deref(), Some(ETAG2));
    h.client
        .update_enrollment_group(&group, if_match(ETAG2))
        .await
        .expect("override");
    h.client
        .update_enrollment_group(&group, if_match("*"))
        .await
        .expect("wildcard");
    let empty = Some(ConditionalOptions::default());
    h.client
        .update_enrollment_group(&group, empty)
        .await
        .expect("record etag");
    group.etag = None;
    h.client
        .update_enrollment_group(&group, None)
        .await
        .expect("unconditional");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 5);
    let mut expected_body = group_x509("contoso-x509-devices", ETAG);
    expected_body["provisioningStatus"] = json!("disabled");
    for (req, want) in reqs
        .iter()
        .zip([Some(ETAG), Some(ETAG2), Some("*"), Some(ETAG), None])
    {
        h.assert_call(req, "PUT", "/enrollmentGroups/contoso-x509-devices");
        assert_if_match(req, want);
    }
    assert_json_body(&reqs[0], &expected_body);
    expected_body
        .as_object_mut()
        .expect("object")
        .remove("etag");
    assert_json_body(&reqs[4], &expected_body);
}

#[tokio::test]
async fn delete_with_and_without_if_match() {
    let h = Harness::start().await;
    h.on(
        "DELETE",
        "/enrollmentGroups/grp%3A01",
        wiremock::ResponseTemplate::new(204),
    )
    .await;

    h.client
        .delete_enrollment_group("grp:01", None)
        .await
        .expect("deleted");
    h.client
        .delete_enrollment_group("grp:01", if_match(ETAG))
        .await
        .expect("deleted");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "DELETE", "/enrollmentGroups/grp%3A01");
        assert_no_body(req);
    }
    assert_if_match(&reqs[0], None);
    assert_if_match(&reqs[1], Some(ETAG));
}

#[tokio::test]
async fn attestation_mechanism_is_a_bodyless_post() {
    let h = Harness::start().await;
    let body = symkey_attestation();
    h.on(
        "POST",
        "/enrollmentGroups/sensors-symkey/attestationmechanism",
        json_response(200, &body),
    )
    .await;

    let att = h
        .client
        .get_enrollment_group_attestation_mechanism("sensors-symkey", None)
        .await
        .expect("keys");

    let req = h.only_request().await;
    h.assert_call(
        &req,
        "POST",
        "/enrollmentGroups/sensors-symkey/attestationmechanism",
    );
    assert_no_body(&req);
    assert_if_match(&req, None);
    assert_eq!(att.attestation_type, AttestationType::SymmetricKey);
    let keys = att.symmetric_key.as_ref().expect("keys");
    assert_eq!(
        keys.secondary_key.as_deref(),
        body["symmetricKey"]["secondaryKey"].as_str()
    );
    assert_eq!(to_json(&att), body);
}
