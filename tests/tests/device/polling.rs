//! Polling: with `pending_polls` the emulator answers "assigning" (202, `Retry-After`) before
//! the final result, and the device client polls through it.

use super::common::DEFAULT_HUB;
use dps_certgen::Signer;
use dps_e2e::{TestChain, TestEmulator, rt, send};

#[test]
fn the_device_polls_through_assigning() {
    let chain = TestChain::new();
    let root = chain.certs.cert_path(dps_certgen::ROOT_PREFIX);
    let t = TestEmulator::start_with(|c| {
        c.ca_certificates = vec![("root".into(), root)];
        c.pending_polls = 2;
    });
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        t.client()
            .create_x509_enrollment_group(
                "group-int",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        let r = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect("assigned");
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));

        // The same exchange on the wire: 202 assigning, two pending polls, then 200 assigned.
        let http = t.device_https(Some(&device.identity_pem(2)));
        let put = http.put(t.device_url("device-1", "/register"));
        let r = send(put.json(&serde_json::json!({"registrationId": "device-1"}))).await;
        assert_eq!(
            (r.status, r.header("retry-after")),
            (202, Some("0")),
            "{}",
            r.text()
        );
        assert_eq!(r.json()["status"], "assigning");
        let op = r.json()["operationId"]
            .as_str()
            .expect("operationId")
            .to_owned();
        let url = t.device_url("device-1", &format!("/operations/{op}"));
        for _ in 0..2 {
            let r = send(http.get(&url)).await;
            assert_eq!(
                (r.status, r.header("retry-after")),
                (202, Some("0")),
                "{}",
                r.text()
            );
            assert_eq!(r.json()["status"], "assigning");
            assert_eq!(r.json()["registrationState"]["status"], "assigning");
        }
        let r = send(http.get(&url)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        assert_eq!(
            (body["status"].as_str(), body["operationId"].as_str()),
            (Some("assigned"), Some(op.as_str()))
        );
        assert_eq!(body["registrationState"]["assignedHub"], DEFAULT_HUB);
        assert_eq!(
            body["registrationState"]["x509"]["enrollmentGroupId"],
            "group-int"
        );
    });
}
