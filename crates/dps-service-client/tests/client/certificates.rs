//! CA certificates over ARM (`CertificateClient`): upload, get, list with `nextLink`, delete,
//! verification code, verify, the whole proof of possession, ARM errors and input checks.

use crate::support::*;
use dps_protocol::Thumbprints;
use dps_protocol::auth::{SasToken, Secret, unix_now};
use dps_service_client::models::{CertificateResponse, VerificationCodeResponse};
use dps_service_client::{
    CertificateClient, CertificateClientOptions, CertificateUploadOptions, ClientOptions,
    Credential, Error, ErrorKind, ProvePossessionError, RetryOptions,
};
use serde_json::{Value, json};
use std::cell::Cell;
use std::convert::Infallible;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SUB: &str = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const BASE: &str = "/subscriptions/a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d/resourceGroups/contoso-rg/providers/Microsoft.Devices/provisioningServices/contoso-dps";
const CERTS: &str = "/subscriptions/a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d/resourceGroups/contoso-rg/providers/Microsoft.Devices/provisioningServices/contoso-dps/certificates";
const ROOT: &str = "/subscriptions/a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d/resourceGroups/contoso-rg/providers/Microsoft.Devices/provisioningServices/contoso-dps/certificates/contoso-root";
const ETAG: &str = "AAAAAAExpNs=";
const ETAG2: &str = "AAAAAAExpQ0=";
const ETAG3: &str = "AAAAAAExpUE=";
const CODE: &str = "3C69B8C2B5B3E47D4C9D0D5A3E1F5C5E8A7B6C5D4E3F2A1B";
const BEARER: &str =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2ln";
const REQUEST_ID: &str = "6f3a0b2e-8c1d-4e5f-9a7b-2c3d4e5f6a7b";

/// A verification certificate as certGen.sh writes it (the client only checks its outline).
const VERIFY_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBnzCCAUSgAwIBAgIUUQ3ty0dh6bU0IRb7XhEu1jSFRuQwCgYIKoZIzj0EAwIw
KjEoMCYGA1UEAwwfQXp1cmUgSW9UIEh1YiBDQSBDZXJ0IFRlc3QgT25seTAeFw0y
NjExMzAwMjQ1MDBaFw0yNjEyMDEwMjQ1MDBaMDsxOTA3BgNVBAMMMDNDNjlCOEMy
QjVCM0U0N0Q0QzlEMEQ1QTNFMUY1QzVFOEE3QjZDNUQ0RTNGMkExQjBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABO/HAggdUzhFicEDyDsJbbsYTvS+8pZkZhCvBOkj
-----END CERTIFICATE-----
";

/// The SHA-1 thumbprint of the test CA, as ARM reports it.
fn ca_thumbprint() -> String {
    Thumbprints::of_der(&ca_der()).sha1
}

/// A CertificateResponse as ARM returns it.
fn certificate(name: &str, etag: &str, verified: bool) -> Value {
    json!({
        "properties": {
            "subject": "CN=Azure IoT Hub CA Cert Test Only",
            "expiry": "Thu, 27 Nov 2036 02:35:25 GMT",
            "thumbprint": ca_thumbprint(),
            "isVerified": verified,
            "certificate": ca_der_base64(),
            "created": "Mon, 30 Nov 2026 02:44:19 GMT",
            "updated": "Mon, 30 Nov 2026 02:51:07 GMT"
        },
        "etag": etag,
        "id": format!("{CERTS}/{name}"),
        "name": name,
        "type": "Microsoft.Devices/ProvisioningServices/Certificates"
    })
}

/// A VerificationCodeResponse as ARM returns it.
fn verification_code(name: &str, etag: &str) -> Value {
    json!({
        "properties": {
            "verificationCode": CODE,
            "subject": "CN=Azure IoT Hub CA Cert Test Only",
            "expiry": "Thu, 27 Nov 2036 02:35:25 GMT",
            "thumbprint": ca_thumbprint(),
            "isVerified": false,
            "certificate": ca_der_base64(),
            "created": "Mon, 30 Nov 2026 02:44:19 GMT",
            "updated": "Mon, 30 Nov 2026 02:47:53 GMT"
        },
        "etag": etag,
        "id": format!("{CERTS}/{name}"),
        "name": name,
        "type": "Microsoft.Devices/ProvisioningServices/Certificates"
    })
}

/// An ARM error response with its request id.
fn arm_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
    .insert_header("x-ms-request-id", REQUEST_ID)
}

fn options(retry: RetryOptions) -> CertificateClientOptions {
    CertificateClientOptions {
        client: ClientOptions {
            retry,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A mock ARM and a SAS-signing certificate client for the DPS resource on it.
struct Arm {
    server: MockServer,
    client: CertificateClient,
}

impl Arm {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let client = CertificateClient::new(
            &format!("{}{BASE}", server.uri()),
            Credential::SharedAccessKey {
                key_name: KEY_NAME.into(),
                key: Secret::from(KEY),
            },
            Some(options(fast_retry())),
        )
        .expect("a valid base URL");
        Self { server, client }
    }

    async fn on(&self, m: &str, p: &str, response: ResponseTemplate) {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(response)
            .mount(&self.server)
            .await;
    }

    async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("recording is on")
    }

    /// Method, path, exactly `query`, `Accept`, and a SAS token that verifies with [`KEY`]
    /// for this host (and so for the path).
    fn assert_call_with_query(&self, req: &Request, m: &str, p: &str, query: &str) {
        assert_eq!(req.method.as_str(), m, "method of {}", req.url);
        assert_eq!(req.url.path(), p, "path");
        assert_eq!(req.url.query(), Some(query), "query of {}", req.url);
        assert_eq!(header(req, "accept"), Some("application/json"));
        let auth = header(req, "authorization").expect("an Authorization header");
        let token = SasToken::parse(auth).expect("a SAS token");
        let authority = self.server.address().to_string();
        assert!(
            auth.starts_with(&format!(
                "SharedAccessSignature sr={}&",
                authority.replace(':', "%3A")
            )),
            "{auth} is signed for the host"
        );
        token
            .verify(
                &[&Secret::from(KEY)],
                &format!("{authority}{p}"),
                unix_now(),
                0,
            )
            .expect("the SAS token verifies");
        assert_eq!(token.policy_name(), Some(KEY_NAME));
    }

    fn assert_call(&self, req: &Request, m: &str, p: &str) {
        self.assert_call_with_query(req, m, p, "api-version=2022-02-05");
    }
}

fn assert_certificate(c: &CertificateResponse, body: &Value) {
    assert_eq!(&to_json(c), body, "nothing ARM sent is lost");
    assert_eq!(
        c.resource_type,
        "Microsoft.Devices/ProvisioningServices/Certificates"
    );
    assert_eq!(
        c.properties.subject.as_deref(),
        Some("CN=Azure IoT Hub CA Cert Test Only")
    );
    assert_eq!(
        c.properties.expiry.as_deref(),
        Some("Thu, 27 Nov 2036 02:35:25 GMT")
    );
    assert_eq!(
        c.properties.thumbprint.as_deref(),
        Some(ca_thumbprint().as_str())
    );
}

#[tokio::test]
async fn create_or_update_puts_pem_or_der_in_properties() {
    let a = Arm::start().await;
    let created = certificate("contoso-root", ETAG, false);
    let replaced = certificate("contoso-root", ETAG2, true);
    Mock::given(method("PUT"))
        .and(path(ROOT))
        .and(|r: &Request| !r.headers.contains_key("if-match"))
        .respond_with(json_response(201, &created))
        .mount(&a.server)
        .await;
    a.on("PUT", ROOT, json_response(200, &replaced)).await;

    let c = a
        .client
        .create_or_update("contoso-root", CA_PEM.as_bytes(), None)
        .await
        .expect("created");
    assert_certificate(&c, &created);
    assert_eq!(c.name, "contoso-root");
    assert_eq!(c.id, ROOT);
    assert_eq!(c.etag.as_deref(), Some(ETAG));
    assert_eq!(c.properties.is_verified, Some(false));
    assert_eq!(
        c.properties.created.as_deref(),
        Some("Mon, 30 Nov 2026 02:44:19 GMT")
    );

    let c = a
        .client
        .create_or_update(
            "contoso-root",
            &ca_der(),
            Some(
                CertificateUploadOptions::default()
                    .with_is_verified(true)
                    .with_if_match(ETAG),
            ),
        )
        .await
        .expect("replaced");
    assert_certificate(&c, &replaced);
    assert_eq!(c.etag.as_deref(), Some(ETAG2));
    assert_eq!(c.properties.is_verified, Some(true));

    let reqs = a.requests().await;
    assert_eq!(reqs.len(), 2);
    a.assert_call(&reqs[0], "PUT", ROOT);
    assert_if_match(&reqs[0], None);
    assert_json_body(
        &reqs[0],
        &json!({"properties": {"certificate": CA_PEM.trim_end()}}),
    );
    a.assert_call(&reqs[1], "PUT", ROOT);
    assert_if_match(&reqs[1], Some(ETAG));
    assert_json_body(
        &reqs[1],
        &json!({"properties": {"certificate": ca_der_base64(), "isVerified": true}}),
    );
}

#[tokio::test]
async fn get_reads_one_certificate() {
    let a = Arm::start().await;
    let body = certificate("contoso-root", ETAG, true);
    a.on("GET", ROOT, json_response(200, &body)).await;

    let c = a.client.get("contoso-root", None).await.expect("found");

    assert_certificate(&c, &body);
    assert_eq!(c.properties.is_verified, Some(true));
    let reqs = a.requests().await;
    assert_eq!(reqs.len(), 1);
    a.assert_call(&reqs[0], "GET", ROOT);
    assert_if_match(&reqs[0], None);
    assert_no_body(&reqs[0]);
}

#[tokio::test]
async fn list_follows_next_link_to_the_last_page() {
    let a = Arm::start().await;
    let next = format!(
        "{}{CERTS}?api-version=2022-02-05&$skipToken=cGFnZTI%3D",
        a.server.uri()
    );
    let page1 = json!({
        "value": [certificate("contoso-root", ETAG, true), certificate("contoso-intermediate", ETAG2, false)],
        "nextLink": next
    });
    let page2 = json!({"value": [certificate("fabrikam-root", ETAG3, true)]});
    Mock::given(method("GET"))
        .and(path(CERTS))
        .and(query_param("$skipToken", "cGFnZTI="))
        .respond_with(json_response(200, &page2))
        .mount(&a.server)
        .await;
    Mock::given(method("GET"))
        .and(path(CERTS))
        .and(|r: &Request| !r.url.query().unwrap_or_default().contains("skipToken"))
        .respond_with(json_response(200, &page1))
        .mount(&a.server)
        .await;

    let all = a.client.list(None).await.expect("listed");

    let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["contoso-root", "contoso-intermediate", "fabrikam-root"]
    );
    assert_eq!(all[2].etag.as_deref(), Some(ETAG3));
    assert_certificate(&all[0], &certificate("contoso-root", ETAG, true));
    let reqs = a.requests().await;
    assert_eq!(reqs.len(), 2);
    a.assert_call(&reqs[0], "GET", CERTS);
    a.assert_call_with_query(
        &reqs[1],
        "GET",
        CERTS,
        "$skipToken=cGFnZTI%3D&api-version=2022-02-05",
    );
    for req in &reqs {
        assert_no_body(req);
        assert_if_match(req, None);
    }
}

#[tokio::test]
async fn list_refuses_a_next_link_to_another_host() {
    let a = Arm::start().await;
    let page =
        json!({"value": [], "nextLink": "https://evil.example/steal?api-version=2022-02-05"});
    a.on("GET", CERTS, json_response(200, &page)).await;

    let err = a.client.list(None).await.expect_err("foreign nextLink");

    assert_eq!(err.kind(), ErrorKind::Deserialize);
    assert_eq!(
        a.requests().await.len(),
        1,
        "the token is not sent elsewhere"
    );
}

#[tokio::test]
async fn delete_sends_the_required_if_match() {
    let a = Arm::start().await;
    a.on("DELETE", ROOT, ResponseTemplate::new(200)).await;

    a.client
        .delete("contoso-root", ETAG, None)
        .await
        .expect("deleted");

    let reqs = a.requests().await;
    assert_eq!(reqs.len(), 1);
    a.assert_call(&reqs[0], "DELETE", ROOT);
    assert_if_match(&reqs[0], Some(ETAG));
    assert_no_body(&reqs[0]);
}

#[tokio::test]
async fn generate_verification_code_posts_nothing_with_if_match() {
    let a = Arm::start().await;
    let p = format!("{ROOT}/generateVerificationCode");
    let body = verification_code("contoso-root", ETAG2);
    a.on("POST", &p, json_response(200, &body)).await;

    let code: VerificationCodeResponse = a
        .client
        .generate_verification_code("contoso-root", ETAG, None)
        .await
        .expect("a code");

    assert_eq!(to_json(&code), body);
    assert_eq!(code.properties.verification_code.as_deref(), Some(CODE));
    assert_eq!(code.etag.as_deref(), Some(ETAG2));
    assert_eq!(code.properties.is_verified, Some(false));
    let reqs = a.requests().await;
    assert_eq!(reqs.len(), 1);
    a.assert_call(&reqs[0], "POST", &p);
    assert_if_match(&reqs[0], Some(ETAG));
    assert_no_body(&reqs[0]);
}

#[tokio::test]
async fn verify_posts_the_verification_certificate() {
    let a = Arm::start().await;
    let p = format!("{ROOT}/verify");
    let body = certificate("contoso-root", ETAG3, true);
    a.on("POST", &p, json_response(200, &body)).await;

    let c = a
        .client
        .verify("contoso-root", ETAG2, VERIFY_PEM.as_bytes(), None)
        .await
        .expect("verified");

    assert_certificate(&c, &body);
    assert_eq!(c.properties.is_verified, Some(true));
    assert_eq!(c.etag.as_deref(), Some(ETAG3));
    let reqs = a.requests().await;
    assert_eq!(reqs.len(), 1);
    a.assert_call(&reqs[0], "POST", &p);
    assert_if_match(&reqs[0], Some(ETAG2));
    assert_json_body(&reqs[0], &json!({"certificate": VERIFY_PEM.trim_end()}));
}

#[tokio::test]
async fn prove_possession_uploads_gets_a_code_signs_and_verifies() {
    let a = Arm::start().await;
    let gen_path = format!("{ROOT}/generateVerificationCode");
    let verify_path = format!("{ROOT}/verify");
    a.on(
        "GET",
        ROOT,
        arm_error(404, "NotFound", "Certificate contoso-root not found."),
    )
    .await;
    a.on(
        "PUT",
        ROOT,
        json_response(201, &certificate("contoso-root", ETAG, false)),
    )
    .await;
    a.on(
        "POST",
        &gen_path,
        json_response(200, &verification_code("contoso-root", ETAG2)),
    )
    .await;
    let verified = certificate("contoso-root", ETAG3, true);
    a.on("POST", &verify_path, json_response(200, &verified))
        .await;

    let signed_for = Cell::new(None);
    let c = a
        .client
        .prove_possession(
            "contoso-root",
            CA_PEM.as_bytes(),
            |code| {
                signed_for.set(Some(code.to_owned()));
                Ok::<_, Infallible>(VERIFY_PEM.as_bytes().to_vec())
            },
            None,
        )
        .await
        .expect("proved");

    assert_eq!(to_json(&c), verified);
    assert_eq!(signed_for.take().as_deref(), Some(CODE));
    let reqs = a.requests().await;
    let calls: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r.method.as_str(), r.url.path()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", ROOT),
            ("PUT", ROOT),
            ("POST", gen_path.as_str()),
            ("POST", verify_path.as_str())
        ]
    );
    a.assert_call(&reqs[1], "PUT", ROOT);
    assert_if_match(&reqs[1], None);
    assert_json_body(
        &reqs[1],
        &json!({"properties": {"certificate": CA_PEM.trim_end(), "isVerified": false}}),
    );
    a.assert_call(&reqs[2], "POST", &gen_path);
    assert_if_match(&reqs[2], Some(ETAG));
    assert_no_body(&reqs[2]);
    a.assert_call(&reqs[3], "POST", &verify_path);
    assert_if_match(&reqs[3], Some(ETAG2));
    assert_json_body(&reqs[3], &json!({"certificate": VERIFY_PEM.trim_end()}));
}

#[tokio::test]
async fn prove_possession_of_an_uploaded_certificate_skips_the_upload() {
    let a = Arm::start().await;
    let gen_path = format!("{ROOT}/generateVerificationCode");
    let verify_path = format!("{ROOT}/verify");
    a.on(
        "GET",
        ROOT,
        json_response(200, &certificate("contoso-root", ETAG, false)),
    )
    .await;
    a.on(
        "POST",
        &gen_path,
        json_response(200, &verification_code("contoso-root", ETAG2)),
    )
    .await;
    a.on(
        "POST",
        &verify_path,
        json_response(200, &certificate("contoso-root", ETAG3, true)),
    )
    .await;

    // DER input matches the uploaded certificate's thumbprint.
    let c = a
        .client
        .prove_possession(
            "contoso-root",
            &ca_der(),
            |_| Ok::<_, Infallible>(VERIFY_PEM.as_bytes().to_vec()),
            None,
        )
        .await
        .expect("proved");

    assert_eq!(c.properties.is_verified, Some(true));
    let reqs = a.requests().await;
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "POST", "POST"]);
    assert_if_match(&reqs[1], Some(ETAG));
    assert_if_match(&reqs[2], Some(ETAG2));
}

#[tokio::test]
async fn prove_possession_of_a_verified_certificate_does_nothing() {
    let a = Arm::start().await;
    let body = certificate("contoso-root", ETAG, true);
    a.on("GET", ROOT, json_response(200, &body)).await;

    let c = a
        .client
        .prove_possession(
            "contoso-root",
            CA_PEM.as_bytes(),
            |_| -> Result<Vec<u8>, Infallible> { panic!("no code to sign") },
            None,
        )
        .await
        .expect("already verified");

    assert_eq!(to_json(&c), body);
    assert_eq!(a.requests().await.len(), 1);
}

#[tokio::test]
async fn prove_possession_refuses_another_certificate_under_the_name() {
    let a = Arm::start().await;
    let mut body = certificate("contoso-root", ETAG, false);
    body["properties"]["thumbprint"] = json!("9D95CA1F23E232A96BF950927840C41511310EB7");
    a.on("GET", ROOT, json_response(200, &body)).await;

    let err = a
        .client
        .prove_possession(
            "contoso-root",
            CA_PEM.as_bytes(),
            |_| -> Result<Vec<u8>, Infallible> { panic!("nothing to sign") },
            None,
        )
        .await
        .expect_err("a different certificate");
    let err = err.service().expect("a service error");

    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("9D95CA1F"), "{err}");
    assert_eq!(a.requests().await.len(), 1, "nothing written");
}

#[tokio::test]
async fn prove_possession_stops_when_signing_fails() {
    let a = Arm::start().await;
    a.on(
        "GET",
        ROOT,
        json_response(200, &certificate("contoso-root", ETAG, false)),
    )
    .await;
    a.on(
        "POST",
        &format!("{ROOT}/generateVerificationCode"),
        json_response(200, &verification_code("contoso-root", ETAG2)),
    )
    .await;

    let err = a
        .client
        .prove_possession(
            "contoso-root",
            CA_PEM.as_bytes(),
            |_| Err(std::io::Error::other("no CA key")),
            None,
        )
        .await
        .expect_err("signing failed");

    // The callback's own error comes back unchanged.
    let ProvePossessionError::Sign(err) = err else {
        panic!("not the signing error: {err:?}");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    assert_eq!(err.to_string(), "no CA key");
    let methods: Vec<String> = a
        .requests()
        .await
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(methods, ["GET", "POST"], "no verify");
}

#[tokio::test]
async fn arm_errors_carry_the_message() {
    let a = Arm::start().await;
    a.on(
        "POST",
        &format!("{ROOT}/verify"),
        arm_error(
            400,
            "InvalidVerificationCertificate",
            "The verification certificate's subject CN does not match the verification code.",
        ),
    )
    .await;
    a.on(
        "DELETE",
        ROOT,
        arm_error(
            412,
            "PreconditionFailed",
            "Precondition failed: ETag mismatch.",
        ),
    )
    .await;

    let err = a
        .client
        .verify("contoso-root", ETAG2, VERIFY_PEM.as_bytes(), None)
        .await
        .expect_err("rejected");
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.error_code(), None, "ARM codes are not numeric");
    assert_eq!(
        err.message(),
        "The verification certificate's subject CN does not match the verification code."
    );
    assert_eq!(err.tracking_id(), Some(REQUEST_ID));
    assert_eq!(
        err.to_string(),
        format!(
            "HTTP 400: The verification certificate's subject CN does not match the verification code. [trackingId {REQUEST_ID}]"
        )
    );

    let err = a
        .client
        .delete("contoso-root", ETAG, None)
        .await
        .expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert_eq!(err.message(), "Precondition failed: ETag mismatch.");
    assert_eq!(a.requests().await.len(), 2, "4xx are not retried");
}

#[tokio::test]
async fn posts_are_retried_only_when_nothing_happened() {
    let a = Arm::start().await;
    let gen_path = format!("{ROOT}/generateVerificationCode");
    Mock::given(method("POST"))
        .and(path(&gen_path))
        .respond_with(arm_error(503, "ServiceUnavailable", "busy"))
        .up_to_n_times(1)
        .mount(&a.server)
        .await;
    Mock::given(method("POST"))
        .and(path(&gen_path))
        .respond_with(arm_error(500, "InternalServerError", "failed"))
        .up_to_n_times(1)
        .mount(&a.server)
        .await;
    a.on(
        "POST",
        &gen_path,
        json_response(200, &verification_code("contoso-root", ETAG2)),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(ROOT))
        .respond_with(arm_error(500, "InternalServerError", "failed"))
        .up_to_n_times(1)
        .mount(&a.server)
        .await;
    a.on(
        "GET",
        ROOT,
        json_response(200, &certificate("contoso-root", ETAG, false)),
    )
    .await;

    let err = a
        .client
        .generate_verification_code("contoso-root", ETAG, None)
        .await
        .expect_err("503 retried, then 500 is final for a POST");
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.message(), "failed");
    a.client
        .get("contoso-root", None)
        .await
        .expect("GET retried past 500");

    let reqs = a.requests().await;
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "POST", "GET", "GET"]);
    for req in &reqs[..2] {
        a.assert_call(req, "POST", &gen_path);
        assert_if_match(req, Some(ETAG));
    }
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let a = Arm::start().await;
    let long = "x".repeat(65);
    for name in ["", "a b", "ca/x", "..", "ca%2F", "é", long.as_str()] {
        let kinds = [
            a.client.get(name, None).await.map(|_| ()),
            a.client
                .create_or_update(name, CA_PEM.as_bytes(), None)
                .await
                .map(|_| ()),
            a.client.delete(name, ETAG, None).await,
            a.client
                .generate_verification_code(name, ETAG, None)
                .await
                .map(|_| ()),
            a.client
                .verify(name, ETAG, VERIFY_PEM.as_bytes(), None)
                .await
                .map(|_| ()),
            a.client
                .prove_possession(
                    name,
                    CA_PEM.as_bytes(),
                    |_| -> Result<Vec<u8>, Error> { panic!("never") },
                    None,
                )
                .await
                .map(|_| ())
                .map_err(ProvePossessionError::into_error),
        ]
        .map(|r| r.map_err(|e| e.kind()).err());
        assert_eq!(kinds, [Some(ErrorKind::InvalidInput); 6], "{name:?}");
    }
    let missing_etag = [
        a.client.delete("contoso-root", "", None).await,
        a.client
            .generate_verification_code("contoso-root", " ", None)
            .await
            .map(|_| ()),
        a.client
            .verify("contoso-root", "", VERIFY_PEM.as_bytes(), None)
            .await
            .map(|_| ()),
        a.client
            .create_or_update("contoso-root", b"not a certificate", None)
            .await
            .map(|_| ()),
        a.client
            .verify("contoso-root", ETAG2, b"-----BEGIN PRIVATE KEY-----", None)
            .await
            .map(|_| ()),
    ]
    .map(|r| r.map_err(|e| e.kind()).err());
    assert_eq!(missing_etag, [Some(ErrorKind::InvalidInput); 5]);
    assert!(a.requests().await.is_empty(), "no request was sent");
}

#[tokio::test]
async fn bearer_tokens_are_sent_verbatim() {
    let server = MockServer::start().await;
    let client = CertificateClient::new(
        &format!("{}{BASE}", server.uri()),
        Credential::BearerToken(Secret::from(BEARER)),
        None,
    )
    .expect("valid");
    Mock::given(method("GET"))
        .and(path(ROOT))
        .respond_with(json_response(200, &certificate("contoso-root", ETAG, true)))
        .mount(&server)
        .await;

    client.get("contoso-root", None).await.expect("found");

    let reqs = server.received_requests().await.expect("recording");
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        header(&reqs[0], "authorization"),
        Some(format!("Bearer {BEARER}").as_str())
    );
    assert_eq!(reqs[0].url.query(), Some("api-version=2022-02-05"));
}

#[tokio::test]
async fn the_api_version_is_the_arm_one_unless_set() {
    let server = MockServer::start().await;
    let options = CertificateClientOptions {
        api_version: "2025-02-01-preview".into(),
        ..CertificateClientOptions::from(ClientOptions {
            api_version: "2021-10-01".into(),
            ..Default::default()
        })
    };
    let client = CertificateClient::new(
        &format!("{}{BASE}/", server.uri()),
        Credential::BearerToken(Secret::from(BEARER)),
        Some(options),
    )
    .expect("valid");
    Mock::given(method("GET"))
        .and(path(CERTS))
        .respond_with(json_response(200, &json!({"value": []})))
        .mount(&server)
        .await;

    assert!(client.list(None).await.expect("empty").is_empty());

    let reqs = server.received_requests().await.expect("recording");
    assert_eq!(reqs[0].url.path(), CERTS, "a trailing slash is ignored");
    assert_eq!(reqs[0].url.query(), Some("api-version=2025-02-01-preview"));
}

#[test]
fn azure_and_emulator_constructors_build_the_resource_url() {
    let azure =
        CertificateClient::for_azure(SUB, "contoso-rg", "contoso-dps", Secret::from(BEARER), None)
            .expect("valid");
    assert_eq!(
        azure.base_url().as_str(),
        format!("https://management.azure.com{BASE}")
    );
    assert!(
        !format!("{azure:?}").contains("eyJ0"),
        "the token stays out"
    );

    let emulator = CertificateClient::for_emulator(
        &format!("HostName=localhost:8443;SharedAccessKeyName={KEY_NAME};SharedAccessKey={KEY}"),
        None,
    )
    .expect("valid");
    assert_eq!(
        emulator.base_url().as_str(),
        "https://localhost:8443/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.Devices/provisioningServices/emulator"
    );
    assert!(!format!("{emulator:?}").contains(KEY));

    for bad in [
        CertificateClient::for_azure("", "rg", "d", Secret::from(BEARER), None).err(),
        CertificateClient::for_emulator("HostName=localhost:8443", None).err(),
        CertificateClient::new(
            "https://management.azure.com",
            Credential::BearerToken(Secret::from(BEARER)),
            None,
        )
        .err(),
    ] {
        assert_eq!(bad.map(|e| e.kind()), Some(ErrorKind::InvalidInput));
    }
}
