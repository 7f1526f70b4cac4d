//! Proof of possession refused: stale etags, the wrong CN, the wrong signer, a consumed code,
//! and certificates that are not CAs.

use dps_certgen::Signer;
use dps_e2e::{TestChain, TestEmulator, rt, send};
use dps_service_client::ErrorKind;
use reqwest::Method;
use serde_json::json;

#[test]
fn verification_failures() {
    let t = TestEmulator::start();
    let certs = t.certificate_client();
    let chain = TestChain::new();
    rt().block_on(async {
        let uploaded = certs
            .create_or_update("root", chain.root_pem().as_bytes(), None)
            .await
            .expect("uploaded");
        let upload_etag = uploaded.etag.clone().expect("etag");

        let early = chain.verification_pem(
            "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
            Signer::Root,
        );
        let e = certs
            .verify("root", &upload_etag, early.as_bytes(), None)
            .await
            .expect_err("no code yet");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::BadRequest, Some(400)),
            "{e}"
        );

        let code = certs
            .generate_verification_code("root", &upload_etag, None)
            .await
            .expect("code");
        let value = code.properties.verification_code.clone().expect("code");
        let etag = code.etag.clone().expect("etag");
        let good = chain.verification_pem(&value, Signer::Root);

        let e = certs
            .verify("root", &upload_etag, good.as_bytes(), None)
            .await
            .expect_err("the pre-code etag");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::PreconditionFailed, Some(412)),
            "{e}"
        );

        let e = certs
            .verify("root", &etag, early.as_bytes(), None)
            .await
            .expect_err("CN is not the code");
        assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
        assert!(
            e.message().contains(&value),
            "names the code: {}",
            e.message()
        );

        let by_mid = chain.verification_pem(&value, Signer::Intermediate);
        let e = certs
            .verify("root", &etag, by_mid.as_bytes(), None)
            .await
            .expect_err("signed by the intermediate");
        assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
        assert!(
            e.message().to_lowercase().contains("issuer"),
            "{}",
            e.message()
        );

        let got = certs.get("root", None).await.expect("get");
        assert_eq!(
            got.etag.as_deref(),
            Some(etag.as_str()),
            "failures change nothing"
        );
        assert_eq!(got.properties.is_verified, Some(false));

        let verified = certs
            .verify("root", &etag, good.as_bytes(), None)
            .await
            .expect("verified");
        let e = certs
            .verify(
                "root",
                verified.etag.as_deref().expect("etag"),
                good.as_bytes(),
                None,
            )
            .await
            .expect_err("the code is used up");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::BadRequest, Some(400)),
            "{e}"
        );
    });
}

#[test]
fn only_ca_certificates_are_uploaded() {
    let t = TestEmulator::start();
    let certs = t.certificate_client();
    let chain = TestChain::new();
    let leaf = chain.device_pem("leaf-device");
    rt().block_on(async {
        let e = certs
            .create_or_update("leaf", leaf.as_bytes(), None)
            .await
            .expect_err("not a CA");
        assert_eq!((e.kind(), e.status()), (ErrorKind::BadRequest, Some(400)), "{e}");
        assert_eq!(certs.get("leaf", None).await.map_err(|e| e.kind()).err(), Some(ErrorKind::NotFound));

        let e = certs
            .create_or_update("junk", b"not a certificate", None)
            .await
            .expect_err("refused before sending");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let path = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Devices/provisioningServices/n/certificates/junk";
        let r = send(t.request(Method::PUT, path).json(&json!({"properties": {"certificate": "bm90IGEgY2VydA=="}}))).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.json()["error"]["code"].is_string(), "an ARM error body: {}", r.text());
        let r = send(t.request(Method::PUT, path).json(&json!({"properties": {}}))).await;
        assert_eq!(r.status, 400, "{}", r.text());
    });
}
