//! CA certificates through `CertificateClient`: upload, proof of possession step by step and in
//! one call, list, delete, and CA certificates registered at start.

use dps_certgen::Signer;
use dps_e2e::{TestChain, TestEmulator, der_of, rt, send};
use dps_protocol::models::EnrollmentGroup;
use dps_service_client::{
    CertificateClient, CertificateClientOptions, CertificateUploadOptions, ErrorKind,
};
use reqwest::Method;
use serde_json::json;
use std::convert::Infallible;

const CERTS: &str = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Devices/provisioningServices/n/certificates";

#[test]
fn proof_of_possession_step_by_step() {
    let t = TestEmulator::start();
    let certs = t.certificate_client();
    let chain = TestChain::new();
    let root = chain.root_pem();
    rt().block_on(async {
        let uploaded = certs
            .create_or_update(
                "root",
                root.as_bytes(),
                Some(CertificateUploadOptions::default().with_is_verified(false)),
            )
            .await
            .expect("uploaded");
        let got = certs.get("root", None).await.expect("get");
        assert_eq!(got.name, "root");
        assert_eq!(
            got.resource_type,
            "Microsoft.Devices/ProvisioningServices/Certificates"
        );
        assert_eq!(got.etag, uploaded.etag);
        let p = &got.properties;
        assert_eq!(p.is_verified, Some(false));
        assert_eq!(
            p.subject.as_deref(),
            Some("CN=Azure IoT Hub CA Cert Test Only")
        );
        let sha1 = dps_protocol::Thumbprints::of_der(&der_of(&root)).sha1;
        assert_eq!(p.thumbprint.as_deref(), Some(sha1.as_str()));
        assert!(
            sha1.len() == 40
                && sha1
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        let not_after = dps_certgen::summarize(&der_of(&root))
            .expect("summary")
            .not_after;
        let not_after =
            time::OffsetDateTime::parse(&not_after, &time::format_description::well_known::Rfc3339)
                .expect("RFC 3339");
        let rfc1123 = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        assert_eq!(
            p.expiry,
            not_after.format(rfc1123).ok(),
            "RFC 1123, as ARM writes it"
        );
        for stamp in [&p.created, &p.updated] {
            let stamp = stamp.as_deref().expect("a timestamp");
            assert!(stamp.ends_with(" GMT"), "{stamp}");
        }

        let etag = got.etag.clone().expect("etag");
        let code = certs
            .generate_verification_code("root", &etag, None)
            .await
            .expect("code");
        let code_etag = code.etag.clone().expect("etag");
        assert_ne!(code_etag, etag, "a new etag");
        let value = code
            .properties
            .verification_code
            .clone()
            .expect("verificationCode");
        assert_eq!(value.len(), 48, "{value}");
        assert!(value.chars().all(|c| c.is_ascii_hexdigit()), "{value}");

        let pem = chain.verification_pem(&value, Signer::Root);
        let verified = certs
            .verify("root", &code_etag, pem.as_bytes(), None)
            .await
            .expect("verified");
        assert_eq!(verified.properties.is_verified, Some(true));
        assert_ne!(verified.etag.as_deref(), Some(code_etag.as_str()));
        let got = certs.get("root", None).await.expect("get");
        assert_eq!(
            (got.properties.is_verified, &got.etag),
            (Some(true), &verified.etag)
        );
    });
}

#[test]
fn upload_status_codes_on_the_wire() {
    let t = TestEmulator::start();
    let chain = TestChain::new();
    rt().block_on(async {
        let body = json!({"properties": {"certificate": chain.root_pem()}});
        let path = format!("{CERTS}/raw-root");
        let r = send(t.request(Method::PUT, &path).json(&body)).await;
        assert_eq!(r.status, 201, "created: {}", r.text());
        let etag = r.json()["etag"].as_str().expect("etag").to_owned();
        assert_eq!(r.json()["properties"]["isVerified"], false);
        let r = send(t.request(Method::PUT, &path).json(&body)).await;
        assert_eq!(r.status, 412, "replacing needs If-Match: {}", r.text());
        let r = send(
            t.request(Method::PUT, &path)
                .header("if-match", &etag)
                .json(&body),
        )
        .await;
        assert_eq!(r.status, 200, "replaced: {}", r.text());
    });
}

#[test]
fn list_and_delete() {
    let t = TestEmulator::start();
    let certs = t.certificate_client();
    let chain = TestChain::new();
    rt().block_on(async {
        let a = certs
            .create_or_update("ca-a", chain.root_pem().as_bytes(), None)
            .await
            .expect("a");
        certs
            .create_or_update("ca-b", chain.intermediate_pem().as_bytes(), None)
            .await
            .expect("b");
        let mut names: Vec<String> = certs
            .list(None)
            .await
            .expect("list")
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        assert_eq!(names, ["ca-a", "ca-b"]);

        let r = send(t.request(Method::DELETE, &format!("{CERTS}/ca-a"))).await;
        assert_eq!(r.status, 412, "DELETE without If-Match: {}", r.text());
        let e = certs
            .delete("ca-a", "c3RhbGU=", None)
            .await
            .expect_err("stale etag");
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        certs.get("ca-a", None).await.expect("still there");

        certs
            .delete("ca-a", a.etag.as_deref().expect("etag"), None)
            .await
            .expect("deleted");
        let e = certs.get("ca-a", None).await.expect_err("gone");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(certs.list(None).await.expect("list").len(), 1);
    });
}

#[test]
fn prove_possession_in_one_call() {
    let t = TestEmulator::start();
    let via_cs = CertificateClient::for_emulator(
        &t.emulator.service_connection_string(),
        Some(CertificateClientOptions::from(t.options())),
    )
    .expect("client");
    let chain = TestChain::new();
    let root = chain.root_pem();
    rt().block_on(async {
        let verified = via_cs
            .prove_possession(
                "pop-root",
                root.as_bytes(),
                |code| Ok::<_, Infallible>(chain.verification_pem(code, Signer::Root).into_bytes()),
                None,
            )
            .await
            .expect("proved");
        assert_eq!(verified.properties.is_verified, Some(true));
        let again = via_cs
            .prove_possession(
                "pop-root",
                root.as_bytes(),
                |_| -> Result<Vec<u8>, Infallible> { panic!("already verified") },
                None,
            )
            .await
            .expect("already verified");
        assert_eq!(again.etag, verified.etag, "nothing written");

        // An intermediate, proved with a certificate signed by the intermediate's key.
        let mid = via_cs
            .prove_possession(
                "pop-mid",
                chain.intermediate_pem().as_bytes(),
                |code| {
                    Ok::<_, Infallible>(
                        chain
                            .verification_pem(code, Signer::Intermediate)
                            .into_bytes(),
                    )
                },
                None,
            )
            .await
            .expect("proved");
        assert_eq!(mid.properties.is_verified, Some(true));

        let e = via_cs
            .prove_possession(
                "pop-root",
                chain.intermediate_pem().as_bytes(),
                |_| -> Result<Vec<u8>, Infallible> { panic!("not reached") },
                None,
            )
            .await
            .expect_err("another certificate under that name");
        assert_eq!(e.service().map(|e| e.kind()), Some(ErrorKind::Conflict));
    });
}

#[test]
fn ca_certificates_given_at_start_are_verified() {
    let chain = TestChain::new();
    let path = chain.certs.cert_path(dps_certgen::ROOT_PREFIX);
    let t = TestEmulator::start_with(|c| c.ca_certificates = vec![("root".into(), path)]);
    rt().block_on(async {
        let got = t
            .certificate_client()
            .get("root", None)
            .await
            .expect("registered");
        assert_eq!(got.properties.is_verified, Some(true));
        let sha1 = dps_protocol::Thumbprints::of_der(&der_of(&chain.root_pem())).sha1;
        assert_eq!(got.properties.thumbprint, Some(sha1));
        let group = EnrollmentGroup::x509_ca_references("by-ref", "root", None);
        let stored = t
            .client()
            .create_or_update_enrollment_group(&group, None)
            .await
            .expect("a group referencing it");
        let refs = stored
            .attestation
            .x509
            .and_then(|x| x.ca_references)
            .expect("caReferences");
        assert_eq!(refs.primary.as_deref(), Some("root"));
    });
}
