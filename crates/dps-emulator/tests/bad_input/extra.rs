//! What the table cannot show in one row: the messages of the refusals that must say what is
//! wrong, what is still accepted beside a refusal (official clients' framing and spellings),
//! bulk items, a BMPString common name end to end, and `--ca-certificate` at start.

use super::send::{Env, Got, client, raw_exchange};
use super::table::{Auth, ClientCert, Text, row};
use base64::Engine;
use dps_protocol::codes;
use serde_json::{Value, json};

fn json_of(got: &Got) -> Value {
    serde_json::from_slice(&got.body).unwrap_or(Value::Null)
}

fn message(got: &Got) -> String {
    json_of(got)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_what_is_wrong() {
    let env = Env::start(|_| {}).await;
    let put =
        |body: &str| row("", "", "PUT", "/enrollments/dev-1?api-version=2021-10-01").body(body);
    let cases = [
        (
            put(
                r#"{"registrationId":"dev-1","attestation":{"type":"symmetricKey"},"provisioningStatus":"weird"}"#,
            ),
            "provisioningStatus \"weird\" is not a known value; use one of: enabled, disabled",
        ),
        (
            put(
                r#"{"registrationId":"dev-1","attestation":{"type":"symmetricKey"},"allocationPolicy":"bogus"}"#,
            ),
            "allocationPolicy \"bogus\" is not a known value; use one of: hashed, geoLatency, static, custom",
        ),
        (
            row("", "", "GET", "/enrollments/dev-1?api-version=2021-13-45"),
            "\"2021-13-45\" is not supported",
        ),
        (
            row(
                "",
                "",
                "PUT",
                "/0ne000E1A70/registrations/dev-1/register?api-version=2021-10-01",
            )
            .auth(Auth::Anonymous)
            .body(r#"{"registrationId":5}"#),
            "registrationId in the register body must be a string, not a number",
        ),
        (
            row(
                "",
                "",
                "PUT",
                "/0ne000E1A70/registrations/dev-1/register?api-version=2021-10-01",
            )
            .auth(Auth::Anonymous)
            .body("[]"),
            "must be a JSON object",
        ),
        (
            put("{}").header("Content-Type", "text/plain"),
            "send it as Content-Type: application/json",
        ),
    ];
    for (r, needle) in cases {
        let got = env.send(&r).await;
        assert!(
            message(&got).contains(needle),
            "{}: {}",
            r.path.shown,
            message(&got)
        );
    }
    let a65 = "a".repeat(65);
    let cn = row("", "", "PUT", "")
        .auth(Auth::Anonymous)
        .path_text(Text::lit(&format!(
            "/0ne000E1A70/registrations/{a65}/register?api-version=2021-10-01"
        )))
        .body(&format!(r#"{{"registrationId":"{a65}"}}"#))
        .cert(ClientCert::CommonNameOf(65));
    let got = env.send(&cn).await;
    assert_eq!(got.status, 401);
    assert!(
        message(&got).contains("common name")
            && message(&got).contains("is 65 characters long, more than the 64"),
        "{}",
        message(&got)
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_with_trailing_bytes_is_refused_with_the_count() {
    let env = Env::start(|_| {}).await;
    let r = row("", "", "PUT", "/enrollments/dev-1?api-version=2021-10-01").body_text(Text {
        shown: String::new(),
        sent: super::table::Sent::CertWithTrailingBytes {
            template: r#"{"registrationId":"dev-1","attestation":{"type":"x509","x509":{"clientCertificates":{"primary":{"certificate":"{cert}"}}}}}"#.into(),
            junk: vec![0; 3],
        },
    });
    let got = env.send(&r).await;
    assert_eq!(got.status, 400);
    assert!(
        message(&got).contains("3 unexpected bytes follow the certificate"),
        "{}",
        message(&got)
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_official_clients_send_is_still_accepted() {
    let env = Env::start(|_| {}).await;
    let e = env.emulator();
    let auth = env.authorization(Auth::Owner).unwrap_or_default();
    let body = r#"{"registrationId":"dev-ok","attestation":{"type":"symmetricKey"}}"#;
    // JSON with parameters, in any case (Node, the 1.2.0 SDK and the CLI add a charset).
    let put = row("", "", "PUT", "/enrollments/dev-ok?api-version=2021-10-01")
        .header("Content-Type", "Application/JSON; charset=UTF-8")
        .body(body);
    assert_eq!(env.send(&put).await.status, 200);
    // Content-Length: 0 and no body, with a JSON content type (the CLI's registration query).
    let head = |method: &str, path: &str, extra: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n{extra}\r\n",
            e.host()
        )
    };
    let query = head(
        "POST",
        "/registrations/g-1/query?api-version=2021-10-01",
        "Content-Length: 0\r\nContent-Type: application/json\r\n",
    );
    assert_eq!(raw_exchange(e, query.as_bytes()).await.status, 200);
    let attestation = head(
        "POST",
        "/enrollments/dev-ok/attestationmechanism?api-version=2021-10-01",
        "Content-Length: 0\r\n",
    );
    assert_eq!(raw_exchange(e, attestation.as_bytes()).await.status, 200);
    // A chunked body is delimited: not 411.
    let mut chunked = head(
        "PUT",
        "/enrollments/dev-ok?api-version=2021-10-01",
        "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n",
    );
    chunked.push_str(&format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len()));
    assert_eq!(raw_exchange(e, chunked.as_bytes()).await.status, 200);
    // Node's poll: GET with a JSON `{}` body.
    let poll = row("", "", "GET", "/enrollments/dev-ok?api-version=2021-10-01")
        .header("Content-Type", "application/json; charset=utf-8")
        .body("{}");
    assert_eq!(env.send(&poll).await.status, 200);
    // A body-less PUT with `Content-Length: 0` reaches the API (400: a PUT needs a record);
    // reqwest over HTTP/1.1 sends none at all, which is 411, as the table says.
    let empty = row("", "", "PUT", "/enrollments/dev-ok?api-version=2021-10-01");
    let got = env.send(&empty.clone().header("Content-Length", "0")).await;
    assert_eq!(got.status, 400, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(env.send(&empty).await.status, 411);
    // Documented values in another case are stored in the wire's spelling.
    let spelled = row("", "", "PUT", "/enrollments/dev-ok?api-version=2021-10-01").body(
        r#"{"registrationId":"dev-ok","attestation":{"type":"SymmetricKey"},"provisioningStatus":"Disabled","allocationPolicy":"Hashed"}"#,
    );
    let got = env.send(&spelled).await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let stored = json_of(&got);
    assert_eq!(stored["provisioningStatus"], "disabled");
    assert_eq!(stored["allocationPolicy"], "hashed");
    assert_eq!(stored["attestation"]["type"], "symmetricKey");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_items_with_unknown_values_are_refused_one_by_one() {
    let env = Env::start(|_| {}).await;
    let bulk = json!({"mode": "create", "enrollments": [
        {"registrationId": "bulk-ok", "attestation": {"type": "symmetricKey"}},
        {"registrationId": "bulk-bad", "attestation": {"type": "symmetricKey"},
         "provisioningStatus": "weird"},
    ]});
    let r = row("", "", "POST", "/enrollments?api-version=2021-10-01").body(&bulk.to_string());
    let got = env.send(&r).await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let result = json_of(&got);
    assert_eq!(result["isSuccessful"], false);
    assert_eq!(result["errors"][0]["registrationId"], "bulk-bad");
    assert_eq!(result["errors"][0]["errorCode"], codes::BAD_REQUEST);
    assert_eq!(env.get("/enrollments/bulk-ok").await.status, 200);
    assert_eq!(env.get("/enrollments/bulk-bad").await.status, 404);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_whose_common_name_is_a_bmpstring_registers() {
    let env = Env::start(|_| {}).await;
    let e = env.emulator();
    let id = "dev-bmp";
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        rcgen::DnValue::BmpString(id.try_into().expect("BMPString")),
    );
    params.distinguished_name = dn;
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let enroll = row(
        "",
        "",
        "PUT",
        &format!("/enrollments/{id}?api-version=2021-10-01"),
    )
    .body(
        &json!({"registrationId": id, "attestation": {"type": "x509",
            "x509": {"clientCertificates": {"primary": {"certificate": b64}}}}})
        .to_string(),
    );
    let got = env.send(&enroll).await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let identity = format!("{}\n{}", key.serialize_pem(), cert.pem());
    let device = client(e.ca_pem(), Some(identity.as_bytes()));
    let resp = device
        .put(format!(
            "https://{}/{}/registrations/{id}/register?api-version=2021-10-01",
            e.host(),
            e.id_scope()
        ))
        .header("content-type", "application/json")
        .body(json!({"registrationId": id}).to_string())
        .send()
        .await
        .expect("register");
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    assert!(status == 200 || status == 202, "{status} {body}");
    drop(device);
    env.stop().await;
}

#[test]
fn a_ca_certificate_file_with_trailing_bytes_is_refused_at_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca = dps_certgen::Credential::self_signed(&dps_certgen::CertSpec {
        common_name: "Junk CA",
        profile: dps_certgen::Profile::RootCa,
        algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
        days: 1,
    })
    .expect("CA");
    let mut der = ca.der().to_vec();
    der.extend_from_slice(b"junk");
    let file = tmp.path().join("root.cer");
    std::fs::write(&file, der).expect("write");
    let mut config = dps_emulator::EmulatorConfig::for_tests(tmp.path().join("data"));
    config.ca_certificates = vec![("root".into(), file)];
    let err = match dps_emulator::Emulator::spawn(config) {
        Ok(_) => panic!("the emulator started"),
        Err(e) => e,
    };
    assert!(
        matches!(
            &err,
            dps_emulator::EmulatorError::CaCertificate {
                source: dps_emulator::CaCertificateError::Malformed(
                    dps_chain::ParseError::TrailingBytes { trailing: 4, .. }
                ),
                ..
            }
        ),
        "{err:?}"
    );
}
