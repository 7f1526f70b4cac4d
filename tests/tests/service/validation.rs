//! Body validation on PUT: each broken body is a 400 with the DPS error shape, and nothing is
//! stored; the certificate forms the clients send (PEM text, base64 DER) are accepted.

use base64::Engine;
use dps_e2e::{TestChain, TestEmulator, der_of, rt, send};
use reqwest::Method;
use serde_json::{Value, json};

async fn put(t: &TestEmulator, path: &str, body: &Value) -> dps_e2e::RawResponse {
    send(t.request(Method::PUT, path).json(body)).await
}

#[test]
fn broken_bodies_are_400_and_store_nothing() {
    let t = TestEmulator::start();
    let chain = TestChain::new();
    let device = chain.device_pem("dev-x");
    let root = chain.root_pem();
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "group id differs from the path",
            "/enrollmentGroups/g1",
            json!({"enrollmentGroupId": "other", "attestation": {"type": "symmetricKey"}}),
        ),
        (
            "enrollment id differs from the path",
            "/enrollments/e1",
            json!({"registrationId": "other", "attestation": {"type": "symmetricKey"}}),
        ),
        (
            "group with clientCertificates",
            "/enrollmentGroups/g1",
            json!({"enrollmentGroupId": "g1", "attestation": {"type": "x509", "x509": {
                "clientCertificates": {"primary": {"certificate": device}}}}}),
        ),
        (
            "enrollment with signingCertificates",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "x509", "x509": {
                "signingCertificates": {"primary": {"certificate": root}}}}}),
        ),
        (
            "group with tpm",
            "/enrollmentGroups/g1",
            json!({"enrollmentGroupId": "g1", "attestation": {"type": "tpm", "tpm": {"endorsementKey": "AAAA"}}}),
        ),
        (
            "unknown attestation type",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "retina"}}),
        ),
        (
            "attestation none",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "none"}}),
        ),
        (
            "no attestation",
            "/enrollments/e1",
            json!({"registrationId": "e1"}),
        ),
        (
            "certificate garbage",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "x509", "x509": {
                "clientCertificates": {"primary": {"certificate": "not a certificate"}}}}}),
        ),
        (
            "PEM garbage",
            "/enrollmentGroups/g1",
            json!({"enrollmentGroupId": "g1", "attestation": {"type": "x509", "x509": {
                "signingCertificates": {"primary": {"certificate":
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}}}}}),
        ),
        (
            "x509 without a certificate",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "x509", "x509": {}}}),
        ),
        (
            "TPM key not base64",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "tpm", "tpm": {"endorsementKey": "@@"}}}),
        ),
        (
            "symmetric key too short",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "symmetricKey",
                "symmetricKey": {"primaryKey": "AAAA"}}}),
        ),
        (
            "invalid id",
            "/enrollments/-e1-",
            json!({"registrationId": "-e1-", "attestation": {"type": "symmetricKey"}}),
        ),
        ("not an object", "/enrollments/e1", json!(["e1"])),
        (
            "DER that is not a certificate",
            "/enrollments/e1",
            json!({"registrationId": "e1", "attestation": {"type": "x509", "x509": {
                "clientCertificates": {"primary": {"certificate": "MAMCAQA="}}}}}),
        ),
    ];
    rt().block_on(async {
        for (what, path, body) in &cases {
            let r = put(&t, path, body).await;
            assert_eq!(r.status, 400, "{what}: {}", r.text());
            assert_eq!(
                r.json()["errorCode"].as_u64().map(|c| c / 1000),
                Some(400),
                "{what}"
            );
            let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(!message.is_empty(), "{what}");
            // Words, not a parser's Debug text.
            for debug in ["Tag(", "UnexpectedTag", "Der(", "{ "] {
                assert!(!message.contains(debug), "{what}: {message}");
            }
        }
        let r = send(
            t.request(Method::PUT, "/enrollments/e1")
                .body("{not json")
                .header("content-type", "application/json"),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        let r = send(t.request(Method::PUT, "/enrollments/e1")).await;
        assert_eq!(r.status, 400, "empty body: {}", r.text());
        for path in [
            "/enrollmentGroups/g1",
            "/enrollments/e1",
            "/enrollmentGroups/other",
            "/enrollments/other",
        ] {
            let r = send(t.request(Method::GET, path)).await;
            assert_eq!(r.status, 404, "{path} stored by a refused PUT");
        }
    });
}

#[test]
fn pem_and_base64_der_certificates_are_accepted() {
    let t = TestEmulator::start();
    let chain = TestChain::new();
    let pem = chain.device_pem("der-dev");
    let der = der_of(&pem);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    rt().block_on(async {
        let body = json!({"registrationId": "der-dev", "attestation": {"type": "x509", "x509": {
            "clientCertificates": {"primary": {"certificate": b64}}}}});
        let r = put(&t, "/enrollments/der-dev", &body).await;
        assert_eq!(r.status, 200, "base64 DER (the CLI's .cer path): {}", r.text());
        let info = &r.json()["attestation"]["x509"]["clientCertificates"]["primary"]["info"];
        assert_eq!(info["sha256Thumbprint"], dps_protocol::Thumbprints::of_der(&der).sha256.as_str());

        // The whole PEM text with a trailing newline, as every client sends it; plus a secondary.
        let body = json!({"enrollmentGroupId": "pem-group", "attestation": {"type": "x509", "x509": {
            "signingCertificates": {
                "primary": {"certificate": chain.intermediate_pem()},
                "secondary": {"certificate": chain.root_pem()}}}}});
        let r = put(&t, "/enrollmentGroups/pem-group", &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let signing = &r.json()["attestation"]["x509"]["signingCertificates"];
        assert_eq!(signing["secondary"]["info"]["subjectName"], "CN=Azure IoT Hub CA Cert Test Only");
        assert!(signing["primary"].get("certificate").is_none());
    });
}
