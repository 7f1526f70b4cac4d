//! Error mapping, input validation, connection strings and secret hygiene.

use crate::support::*;
use dps_protocol::auth::Secret;
use dps_service_client::models::{EnrollmentGroup, IndividualEnrollment};
use dps_service_client::{Credential, ErrorKind, ProvisioningServiceClient, codes};
use wiremock::ResponseTemplate;

#[tokio::test]
async fn not_found_carries_the_dps_error_details() {
    let h = Harness::start().await;
    let body = dps_error(codes::ENROLLMENT_NOT_FOUND, "Enrollment not found.");
    h.on(
        "GET",
        "/enrollments/device-404",
        json_response(404, &body)
            .insert_header("x-ms-error-code", codes::ENROLLMENT_NOT_FOUND.to_string()),
    )
    .await;

    let err = h
        .client
        .get_enrollment("device-404", None)
        .await
        .expect_err("missing");

    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some(codes::ENROLLMENT_NOT_FOUND));
    assert_eq!(
        err.tracking_id(),
        Some("f40da7ba-2c9c-4bd4-9a5f-5f6b0c7e1d3a")
    );
    assert_eq!(err.message(), "Enrollment not found.");
    assert_eq!(
        err.to_string(),
        "HTTP 404 (404201): Enrollment not found. [trackingId f40da7ba-2c9c-4bd4-9a5f-5f6b0c7e1d3a]"
    );
    h.only_request().await;
}

#[tokio::test]
async fn statuses_map_to_kinds() {
    let h = Harness::start().await;
    let group: EnrollmentGroup = from_json(&group_x509("contoso-x509-devices", "old-etag"));
    h.on(
        "PUT",
        "/enrollmentGroups/contoso-x509-devices",
        json_response(
            412,
            &dps_error(codes::PRECONDITION_FAILED, "Precondition failed."),
        ),
    )
    .await;
    let err = h
        .client
        .update_enrollment_group(&group, None)
        .await
        .expect_err("stale etag");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(err.code(), Some(codes::PRECONDITION_FAILED));

    h.on(
        "GET",
        "/registrations/device-01",
        json_response(401, &dps_error(codes::UNAUTHORIZED, "Unauthorized")),
    )
    .await;
    let err = h
        .client
        .get_registration_state("device-01", None)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.code(), Some(codes::UNAUTHORIZED));
    assert!(!err.to_string().contains(KEY));

    h.on(
        "DELETE",
        "/enrollments/device-01",
        json_response(403, &dps_error(codes::SERVICE_FORBIDDEN, "Forbidden.")),
    )
    .await;
    let err = h
        .client
        .delete_enrollment("device-01", None)
        .await
        .expect_err("read-only policy");
    assert_eq!(err.kind(), ErrorKind::Forbidden);

    // No DPS body: the request id stands in for the tracking id, the text for the message.
    let plain = ResponseTemplate::new(400)
        .set_body_string("bad query")
        .insert_header("x-ms-request-id", "req-7");
    h.on("POST", "/enrollments/query", plain).await;
    let err = h
        .client
        .query_enrollments_page(&Default::default(), None, None)
        .await
        .expect_err("bad request");
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(
        (err.message(), err.tracking_id(), err.error_code()),
        ("bad query", Some("req-7"), None)
    );
    assert_eq!(h.requests().await.len(), 4, "none of these is retried");
}

#[tokio::test]
async fn invalid_ids_are_refused_before_sending() {
    let h = Harness::start().await;
    let c = &h.client;
    let kinds = [
        c.get_enrollment("bad/id", None).await.map(|_| ()),
        c.get_enrollment_group("bad/id", None).await.map(|_| ()),
        c.get_registration_state("bad/id", None).await.map(|_| ()),
        c.delete_enrollment("bad/id", None).await,
        c.delete_enrollment_group("", None).await,
        c.delete_registration_state("-leading", None).await,
        c.get_enrollment_attestation_mechanism("bad/id", None)
            .await
            .map(|_| ()),
        c.get_enrollment_group_attestation_mechanism("bad id", None)
            .await
            .map(|_| ()),
        c.create_or_update_enrollment(&IndividualEnrollment::symmetric_key("bad/id", None), None)
            .await
            .map(|_| ()),
        c.update_enrollment_group(&EnrollmentGroup::symmetric_key("bad/id", None), None)
            .await
            .map(|_| ()),
        c.create_enrollment(&IndividualEnrollment::symmetric_key("bad/id", None), None)
            .await
            .map(|_| ()),
        c.create_enrollment_group(&EnrollmentGroup::symmetric_key("a?b", None), None)
            .await
            .map(|_| ()),
        c.query_registration_states_page("bad/id", None, None)
            .await
            .map(|_| ()),
    ];
    for (n, result) in kinds.into_iter().enumerate() {
        let err = result.expect_err("invalid id");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "case {n}: {err}");
        assert_eq!(err.status(), None);
    }
    assert_eq!(h.requests().await.len(), 0, "nothing was sent");
}

#[tokio::test]
async fn malformed_responses_are_deserialize_errors() {
    let h = Harness::start().await;
    h.on(
        "GET",
        "/enrollments/device-01",
        ResponseTemplate::new(200).set_body_raw("{\"registrationId\":", JSON_UTF8),
    )
    .await;
    let err = h
        .client
        .get_enrollment("device-01", None)
        .await
        .expect_err("truncated");
    assert_eq!(err.kind(), ErrorKind::Deserialize);
    assert_eq!(err.status(), None);

    // Valid JSON of the wrong shape: a query answered with an object.
    h.on(
        "POST",
        "/enrollmentGroups/query",
        json_response(200, &group_x509("g", "e")),
    )
    .await;
    let err = h
        .client
        .query_enrollment_groups_page(&Default::default(), None, None)
        .await
        .expect_err("not an array");
    assert_eq!(err.kind(), ErrorKind::Deserialize);
    assert_eq!(h.requests().await.len(), 2, "a bad body is not retried");
}

#[tokio::test]
async fn ready_made_sas_and_bearer_tokens_are_sent_verbatim() {
    let h = Harness::start().await;
    h.on(
        "GET",
        "/registrations/device-01",
        json_response(200, &registration_state("device-01", "e")),
    )
    .await;
    let sas = "SharedAccessSignature sr=127.0.0.1&sig=abc%2Bdef%3D&se=4102444800&skn=reader";
    for (credential, expected) in [
        (
            Credential::SharedAccessSignature(Secret::from(sas)),
            sas.to_owned(),
        ),
        (
            Credential::BearerToken(Secret::from("eyJ0eXAi.eyJhdWQi.c2ln")),
            "Bearer eyJ0eXAi.eyJhdWQi.c2ln".to_owned(),
        ),
    ] {
        let client =
            ProvisioningServiceClient::new(&h.server.uri(), credential, None).expect("client");
        client
            .get_registration_state("device-01", None)
            .await
            .expect("found");
        let reqs = h.requests().await;
        let last = reqs.last().expect("a request");
        assert_eq!(header(last, "authorization"), Some(expected.as_str()));
    }
}

#[test]
fn connection_string_errors_never_show_the_key() {
    let secret = "c2VjcmV0LWtleS1tYXRlcmlhbA==";
    let cases = [
        format!(
            "HostName=mydps.azure-devices-provisioning.net;SharedAccessKeyName=owner;SharedAccessKey=%%{secret}"
        ),
        format!(
            "HostName=mydps.azure-devices-provisioning.net;SharedAccessKeyName=owner SharedAccessKey={secret}"
        ),
        format!("SharedAccessKeyName=owner;SharedAccessKey={secret}"),
        format!("HostName=my dps;SharedAccessKeyName=owner;SharedAccessKey={secret}"),
        format!("HostName=h;SharedAccessKey={secret};SharedAccessKey={secret}"),
        format!(
            "HostName=h;SharedAccessKeyName=owner;SharedAccessKey={secret};SharedAccessSignature=x"
        ),
        format!("HostName=h;{secret}"),
        "HostName=h;SharedAccessKeyName=owner".to_owned(),
        String::new(),
    ];
    for cs in &cases {
        let err = ProvisioningServiceClient::from_connection_string(cs, None).expect_err(cs);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{cs}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("connection string"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "the key leaked: {shown}");
    }
}

#[tokio::test]
async fn connection_strings_and_debug_output() {
    let cs = format!(
        "HostName=mydps.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={KEY}"
    );
    let client = ProvisioningServiceClient::from_connection_string(&cs, None).expect("valid");
    assert_eq!(
        client.endpoint().as_str(),
        "https://mydps.azure-devices-provisioning.net/"
    );
    let shown = format!("{client:?}");
    assert!(!shown.contains(KEY) && !shown.contains("ZGVm"), "{shown}");

    // After a call the client holds a signed token: neither it nor the key may show.
    let h = Harness::start().await;
    h.on(
        "GET",
        "/enrollments/device-01",
        json_response(200, &enrollment_tpm("device-01", "e")),
    )
    .await;
    h.client
        .get_enrollment("device-01", None)
        .await
        .expect("found");
    let sent = header(&h.only_request().await, "authorization")
        .expect("auth")
        .to_owned();
    let sig = sent
        .split("sig=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("sig");
    let shown = format!("{:?}", h.client);
    assert!(
        !shown.contains("ZGVm") && !shown.contains(sig) && !shown.contains("sig="),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}
