//! Ids and field names that collide with the emulator's own vocabulary: an enrollment called
//! `registrations`, user keys starting with `_`, a symmetric-key attestation without a member.

use dps_e2e::{TestEmulator, rt, send};
use dps_protocol::models::{EnrollmentGroup, IndividualEnrollment};
use reqwest::Method;
use serde_json::json;

#[test]
fn an_enrollment_called_registrations() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let e = IndividualEnrollment::symmetric_key("registrations", None);
        client.create_enrollment(&e, None).await.expect("created");
        let g = EnrollmentGroup::symmetric_key("registrations", None);
        client
            .create_enrollment_group(&g, None)
            .await
            .expect("created");
        client
            .get_enrollment_attestation_mechanism("registrations", None)
            .await
            .expect("enrollment attestation mechanism");
        client
            .get_enrollment_group_attestation_mechanism("registrations", None)
            .await
            .expect("group attestation mechanism");
    });
}

#[test]
fn user_keys_starting_with_an_underscore_survive() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let body = json!({"registrationId": "under", "attestation": {"type": "symmetricKey"},
            "initialTwin": {"tags": {"_owner": "ops", "site": {"_floor": 3}}},
            "optionalDeviceInformation": {"_serial": "A1"}});
        let r = send(t.request(Method::PUT, "/enrollments/under").json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["initialTwin"], body["initialTwin"], "PUT response");
        let got = send(t.request(Method::GET, "/enrollments/under"))
            .await
            .json();
        assert_eq!(got["initialTwin"], body["initialTwin"], "GET");
        assert_eq!(
            got["optionalDeviceInformation"],
            body["optionalDeviceInformation"]
        );

        // A read-modify-write must not lose them either.
        let e = client.get_enrollment("under", None).await.expect("get");
        client.update_enrollment(&e, None).await.expect("updated");
        let got = send(t.request(Method::GET, "/enrollments/under"))
            .await
            .json();
        assert_eq!(
            got["initialTwin"], body["initialTwin"],
            "after a read-modify-write"
        );
    });
}

#[test]
fn symmetric_keys_are_generated_without_a_symmetric_key_member() {
    let t = TestEmulator::start();
    rt().block_on(async {
        for (path, body) in [
            (
                "/enrollments/bare",
                json!({"registrationId": "bare", "attestation": {"type": "symmetricKey"}}),
            ),
            (
                "/enrollmentGroups/bare",
                json!({"enrollmentGroupId": "bare", "attestation": {"type": "symmetricKey"}}),
            ),
        ] {
            let r = send(t.request(Method::PUT, path).json(&body)).await;
            assert_eq!(r.status, 200, "{}", r.text());
            let keys = &r.json()["attestation"]["symmetricKey"];
            assert!(
                keys["primaryKey"].is_string() && keys["secondaryKey"].is_string(),
                "{path}: {}",
                r.text()
            );
            let r = send(t.request(Method::POST, &format!("{path}/attestationmechanism"))).await;
            assert!(
                r.json()["symmetricKey"]["primaryKey"].is_string(),
                "{path}: {}",
                r.text()
            );
        }
        let bulk = json!({"mode": "create", "enrollments": [
            {"registrationId": "bulk-bare", "attestation": {"type": "symmetricKey"}}]});
        let r = send(t.request(Method::POST, "/enrollments").json(&bulk)).await;
        assert_eq!(r.json()["isSuccessful"], true);
        let r = send(t.request(Method::GET, "/enrollments/bulk-bare")).await;
        assert!(
            r.json()["attestation"]["symmetricKey"]["primaryKey"].is_string(),
            "{}",
            r.text()
        );
    });
}
