//! X.509 refusals: each gets 401002 (or 400004) and a message naming the failing link.

use super::common::{DEFAULT_HUB, assert_refused, with_verified_root};
use dps_certgen::{INTERMEDIATE_CN, ROOT_CN, Signer};
use dps_device_client::ErrorKind;
use dps_e2e::{TestChain, TestEmulator, rt, send};
use dps_emulator::clock::ManualClock;
use dps_protocol::codes;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn a_leaf_without_its_intermediate_does_not_reach_a_group_on_the_root() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        t.client()
            .create_x509_enrollment_group("group-root", chain.root_pem().as_bytes(), None, None)
            .await
            .expect("group");
        let e = t
            .device("device-1", device.leaf_only())
            .register(None)
            .await
            .expect_err("refused");
        let chain_named = format!(
            "no enrollment group whose certificate is on the device's chain (CN=device-1; \
             the last one was issued by CN={INTERMEDIATE_CN}, which the device did not send)"
        );
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &[&chain_named, "send every intermediate"],
        );
        assert_eq!(e.status(), Some(401));
        // The same device with its intermediate is accepted.
        let r = t
            .device("device-1", device.auth_with(1))
            .register(None)
            .await
            .expect("assigned");
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
    });
}

/// An emulator on a manual clock, with `chain`'s root verified and a group on its intermediate.
fn clocked(chain: &TestChain, clock: &ManualClock) -> TestEmulator {
    let root = chain.certs.cert_path(dps_certgen::ROOT_PREFIX);
    let clock: Arc<dyn dps_emulator::clock::Clock> = Arc::new(clock.clone());
    let t = TestEmulator::start_with(|c| {
        c.ca_certificates = vec![("root".into(), root)];
        c.clock = clock;
    });
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
    });
    t
}

#[test]
fn expired_certificates_are_refused_and_named() {
    let chain = TestChain::new();
    let short = chain.device_for_days("short-lived", Signer::Intermediate, 1);
    let long = chain.device_for_days("long-lived", Signer::Intermediate, 365);
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let t = clocked(&chain, &clock);
    rt().block_on(async {
        let r = t
            .device("short-lived", short.full_chain())
            .register(None)
            .await
            .expect("valid today");
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        // Two days later the one-day leaf has expired; the 30-day CAs have not.
        clock.advance(2 * DAY);
        let e = t
            .device("short-lived", short.full_chain())
            .register(None)
            .await
            .expect_err("expired");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["the device certificate CN=short-lived expired on"],
        );
        t.device("long-lived", long.full_chain())
            .register(None)
            .await
            .expect("still valid");
        // After 60 days the 365-day leaf is fine but its 30-day intermediate has expired.
        clock.advance(60 * DAY);
        let expired_ca = format!("CN={INTERMEDIATE_CN} expired on");
        let e = t
            .device("long-lived", long.full_chain())
            .register(None)
            .await
            .expect_err("expired");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["the intermediate certificate", &expired_ca],
        );
        // Without the intermediate, the chain can only lead to the verified root through the
        // group's copy of the intermediate, which never completes a device's chain; the root
        // has expired too by now, and the refusal names it.
        let e = t
            .device("long-lived", long.leaf_only())
            .register(None)
            .await
            .expect_err("expired");
        let verified_root = format!("the verified CA certificate CN={ROOT_CN} expired on");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &[&verified_root],
        );
    });
}

#[test]
fn a_leaf_not_yet_valid_is_refused() {
    let chain = TestChain::new();
    let device = chain.device("device-1", Signer::Intermediate);
    let clock = ManualClock::new(OffsetDateTime::now_utc() - DAY);
    let t = clocked(&chain, &clock);
    rt().block_on(async {
        let e = t
            .device("device-1", device.full_chain())
            .register(None)
            .await
            .expect_err("early");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["the device certificate CN=device-1 is not valid before"],
        );
    });
}

#[test]
fn a_common_name_with_invalid_characters_cannot_register() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let device = chain.device_unchecked("bad device", Signer::Intermediate);
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
        // The device client refuses the id before sending anything.
        let e = dps_device_client::ProvisioningDeviceClient::new(
            &t.emulator.device_endpoint(),
            t.emulator.id_scope(),
            "bad device",
            device.full_chain(),
            Some(t.device_options()),
        )
        .expect_err("invalid id");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        // On the wire the service refuses the path id with 400004.
        let http = t.device_https(Some(&device.identity_pem(2)));
        let body = json!({"registrationId": "bad device"});
        let r = send(
            http.put(t.device_url("bad%20device", "/register"))
                .json(&body),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["errorCode"], u32::from(codes::INVALID_ID));
        let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("\"bad device\" contains ' '"), "{message}");
        // And a valid path id is not its CN.
        let body = json!({"registrationId": "bad-device"});
        let r = send(
            http.put(t.device_url("bad-device", "/register"))
                .json(&body),
        )
        .await;
        assert_eq!(
            (r.status, &r.json()["errorCode"]),
            (401, &json!(codes::UNAUTHORIZED)),
            "{}",
            r.text()
        );
        assert!(r.text().contains("common name"), "{}", r.text());
    });
}

#[test]
fn an_unverified_ca_is_refused_until_proof_of_possession() {
    let chain = TestChain::new();
    let other = TestChain::new();
    let t = TestEmulator::start();
    let service = t.client();
    let cas = t.certificate_client();
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        let root = chain.root_pem();
        cas.create_or_update(
            "root",
            root.as_bytes(),
            Some(dps_service_client::CertificateUploadOptions::default().with_is_verified(false)),
        )
        .await
        .expect("uploaded");
        service
            .create_x509_enrollment_group(
                "group-int",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        let client = t.device("device-1", device.full_chain());
        let e = client.register(None).await.expect_err("no verified CA");
        let group_cert = format!(
            "the group's certificate CN={INTERMEDIATE_CN} is not a verified CA certificate"
        );
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &[&group_cert, "no verified CA exists"],
        );

        // A verified CA of another chain does not help.
        let other_root = other.root_pem();
        cas.create_or_update(
            "other-root",
            other_root.as_bytes(),
            Some(dps_service_client::CertificateUploadOptions::default().with_is_verified(true)),
        )
        .await
        .expect("other");
        let e = client.register(None).await.expect_err("wrong verified CA");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &[&group_cert, "does not chain to one"],
        );

        cas.prove_possession(
            "root",
            root.as_bytes(),
            |code| {
                Ok::<_, std::convert::Infallible>(
                    chain.verification_pem(code, Signer::Root).into_bytes(),
                )
            },
            None,
        )
        .await
        .expect("verified");
        let r = client
            .register(None)
            .await
            .expect("assigned once the root is verified");
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
    });
}

#[test]
fn the_registration_id_must_be_the_leaf_common_name() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let device = chain.device("device-1", Signer::Intermediate);
    rt().block_on(async {
        t.client()
            .create_x509_enrollment_group("group-int", chain.intermediate_pem().as_bytes(), None, None)
            .await
            .expect("group");
        let e = t.device("other-device", device.full_chain()).register(None).await.expect_err("refused");
        assert_refused(&e, ErrorKind::Unauthorized, codes::UNAUTHORIZED, &[
            "the registration id in the path (\"other-device\") is not the device certificate's common name (\"device-1\")",
        ]);
    });
}

#[test]
fn a_device_without_certificate_or_signature_is_refused_at_the_tls_layer() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let http = t.device_https(None);
        let body = json!({"registrationId": "device-1"});
        let r = send(http.put(t.device_url("device-1", "/register")).json(&body)).await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.json()["errorCode"], codes::UNAUTHORIZED);
        let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            message.contains("\"device-1\" presented no client certificate"),
            "{message}"
        );
        // The operation poll is refused the same way.
        let r = send(http.get(t.device_url("device-1", "/operations/some-op"))).await;
        assert_eq!(
            (r.status, &r.json()["errorCode"]),
            (401, &json!(codes::UNAUTHORIZED)),
            "{}",
            r.text()
        );
    });
}
