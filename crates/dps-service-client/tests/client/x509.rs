//! The X.509 enrollment-group convenience: PEM sent verbatim (trailing whitespace trimmed),
//! DER sent as base64, anything else refused before a request is made.

use crate::support::*;
use dps_service_client::ErrorKind;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn expected_body(id: &str, primary: &str, secondary: Option<&str>) -> Value {
    let mut certs = json!({"primary": {"certificate": primary}});
    if let Some(s) = secondary {
        certs["secondary"] = json!({"certificate": s});
    }
    json!({
        "enrollmentGroupId": id,
        "attestation": {"type": "x509", "x509": {"signingCertificates": certs}},
        "provisioningStatus": "enabled"
    })
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("dps-client-test-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn pem_is_sent_verbatim_and_der_as_base64() {
    let h = Harness::start().await;
    let stored = group_x509("my-group", "etag-1");
    h.on(
        "PUT",
        "/enrollmentGroups/my-group",
        json_response(200, &stored),
    )
    .await;

    let padded = format!("{CA_PEM}\n  \n");
    let group = h
        .client
        .create_x509_enrollment_group("my-group", padded.as_bytes(), None, None)
        .await
        .expect("created");
    assert_eq!(to_json(&group), stored);
    let crlf = CA_PEM.replace('\n', "\r\n");
    h.client
        .create_x509_enrollment_group("my-group", crlf.as_bytes(), Some(&ca_der()), None)
        .await
        .expect("created");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "PUT", "/enrollmentGroups/my-group");
        assert_if_match(req, None);
    }
    assert_json_body(
        &reqs[0],
        &expected_body("my-group", CA_PEM.trim_end(), None),
    );
    let primary = crlf.trim_end();
    assert!(primary.contains("\r\n"), "line endings are kept");
    assert_json_body(
        &reqs[1],
        &expected_body("my-group", primary, Some(&ca_der_base64())),
    );
}

#[tokio::test]
async fn from_files_reads_pem_and_cer() {
    let h = Harness::start().await;
    h.on(
        "PUT",
        "/enrollmentGroups/my-group",
        json_response(200, &group_x509("my-group", "etag-1")),
    )
    .await;
    let dir = Scratch::new("files");
    let pem = dir.file("ca.cert.pem", CA_PEM.as_bytes());
    let cer = dir.file("ca.cert.cer", &ca_der());

    h.client
        .create_x509_enrollment_group_from_files("my-group", &pem, Some(&cer), None)
        .await
        .expect("created");
    h.client
        .create_x509_enrollment_group_from_files("my-group", &cer, None, None)
        .await
        .expect("created");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    let b64 = ca_der_base64();
    assert_json_body(
        &reqs[0],
        &expected_body("my-group", CA_PEM.trim_end(), Some(&b64)),
    );
    assert_json_body(&reqs[1], &expected_body("my-group", &b64, None));
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let h = Harness::start().await;
    let key_pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    let bundle = format!("{key_pem}{CA_PEM}");
    let bad: [(&str, &[u8]); 6] = [
        ("text", b"hello, not a certificate"),
        ("private key", key_pem.as_bytes()),
        ("key and certificate in one PEM", bundle.as_bytes()),
        ("binary", &[0xff, 0xfe, 0x00, 0x01]),
        ("text that starts like DER", b"0 is not a certificate"),
        ("truncated DER", &ca_der()[..100]),
    ];
    for (what, bytes) in bad {
        let err = h
            .client
            .create_x509_enrollment_group("my-group", bytes, None, None)
            .await
            .expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
        let err = h
            .client
            .create_x509_enrollment_group("my-group", CA_PEM.as_bytes(), Some(bytes), None)
            .await
            .expect_err(what);
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "secondary {what}: {err}"
        );
    }
    let err = h
        .client
        .create_x509_enrollment_group("bad/id", CA_PEM.as_bytes(), None, None)
        .await
        .expect_err("invalid id");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let missing = Path::new("/nonexistent/dps-client-test/ca.pem");
    let err = h
        .client
        .create_x509_enrollment_group_from_files("my-group", missing, None, None)
        .await
        .expect_err("missing file");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("ca.pem"), "{err}");

    assert_eq!(h.requests().await.len(), 0, "nothing was sent");
}
