//! Symmetric-key attestation: an individual enrollment's own keys, keys derived from a group
//! key (§2.4), and wrong keys refused with 401002.

use super::common::{
    DEFAULT_HUB, assert_refused, registrations_of, symmetric_enrollment, symmetric_group,
};
use base64::Engine;
use dps_device_client::{DeviceAuth, ErrorKind};
use dps_e2e::{TestEmulator, rt};
use dps_protocol::auth::Secret;
use dps_protocol::codes;
use dps_protocol::models::{RegistrationStatus, Substatus};

fn key(k: &str) -> DeviceAuth {
    DeviceAuth::SymmetricKey(Secret::from(k.to_owned()))
}

/// base64(HMAC-SHA256(base64decode(group key), registration id)), computed here from the
/// contract rather than with the library under test.
fn derived_key(group_key: &str, registration_id: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let k = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &b64.decode(group_key).expect("base64"),
    );
    b64.encode(aws_lc_rs::hmac::sign(&k, registration_id.as_bytes()).as_ref())
}

const WRONG_KEY: &str = "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIQ==";

#[test]
fn an_individual_enrollment_registers_with_either_key() {
    let t = TestEmulator::start();
    let service = t.client();
    rt().block_on(async {
        let (primary, secondary) = symmetric_enrollment(&service, "sym-device", |e| {
            e.device_id = Some("sym-device-id".into());
        })
        .await;
        let r = t
            .device("sym-device", key(&primary))
            .register(None)
            .await
            .expect("primary");
        assert_eq!(r.registration_id, "sym-device");
        assert_eq!(
            (r.status, r.substatus),
            (
                RegistrationStatus::Assigned,
                Some(Substatus::InitialAssignment)
            )
        );
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        assert_eq!(r.device_id.as_deref(), Some("sym-device-id"));
        assert!(r.x509.is_none());
        assert_eq!(
            r.symmetric_key
                .expect("symmetricKey block")
                .enrollment_group_id,
            None
        );

        let r2 = t
            .device("sym-device", key(&secondary))
            .register(None)
            .await
            .expect("secondary");
        assert_eq!(r2.device_id.as_deref(), Some("sym-device-id"));
        assert_ne!(r2.etag, r.etag, "a new registration state");
        let state = service
            .get_registration_state("sym-device", None)
            .await
            .expect("state");
        assert_eq!(
            (state.device_id.as_deref(), state.etag),
            (Some("sym-device-id"), r2.etag)
        );
        assert_eq!(
            state.created_date_time_utc, r.created_date_time_utc,
            "created once"
        );

        let e = t
            .device("sym-device", key(WRONG_KEY))
            .register(None)
            .await
            .expect_err("wrong key");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["the SharedAccessSignature does not match the enrollment \"sym-device\""],
        );
        // The registration status lookup needs the same proof.
        let status = t
            .device("sym-device", key(&primary))
            .registration_status(None)
            .await
            .expect("status");
        assert_eq!(status.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        let e = t
            .device("sym-device", key(WRONG_KEY))
            .registration_status(None)
            .await
            .expect_err("wrong key");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["does not match"],
        );
    });
}

#[test]
fn a_group_accepts_keys_derived_from_its_key() {
    let t = TestEmulator::start();
    let service = t.client();
    rt().block_on(async {
        let group_key = symmetric_group(&service, "sym-group", |_| {}).await;
        let r = t
            .device(
                "sym-dev-1",
                DeviceAuth::GroupKey(Secret::from(group_key.clone())),
            )
            .register(None)
            .await
            .expect("group key");
        assert_eq!(
            r.device_id.as_deref(),
            Some("sym-dev-1"),
            "groups use the registration id"
        );
        assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
        let block = r.symmetric_key.expect("symmetricKey block");
        assert_eq!(block.enrollment_group_id.as_deref(), Some("sym-group"));

        // A device provisioned with only its derived key, as in production.
        let derived = derived_key(&group_key, "sym-dev-2");
        let r = t
            .device("sym-dev-2", key(&derived))
            .register(None)
            .await
            .expect("derived key");
        assert_eq!(
            r.symmetric_key
                .and_then(|s| s.enrollment_group_id)
                .as_deref(),
            Some("sym-group")
        );

        let mut ids: Vec<String> = registrations_of(&service, "sym-group")
            .await
            .into_iter()
            .map(|s| s.registration_id)
            .collect();
        ids.sort();
        assert_eq!(ids, ["sym-dev-1", "sym-dev-2"]);

        let refusal = "matches no individual enrollment and no symmetric-key group's derived key";
        // A key derived for another registration id, the group key itself, and a wrong key.
        for wrong in [
            derived_key(&group_key, "sym-dev-1"),
            group_key.clone(),
            WRONG_KEY.to_owned(),
        ] {
            let e = t
                .device("sym-dev-2", key(&wrong))
                .register(None)
                .await
                .expect_err("refused");
            assert_refused(
                &e,
                ErrorKind::Unauthorized,
                codes::UNAUTHORIZED,
                &["\"sym-dev-2\"", refusal],
            );
        }
        let e = t
            .device(
                "sym-dev-3",
                DeviceAuth::GroupKey(Secret::from(WRONG_KEY.to_owned())),
            )
            .register(None)
            .await
            .expect_err("wrong group key");
        assert_refused(&e, ErrorKind::Unauthorized, codes::UNAUTHORIZED, &[refusal]);
        assert_eq!(registrations_of(&service, "sym-group").await.len(), 2);
    });
}

#[test]
fn a_symmetric_key_device_without_any_enrollment_is_told_so() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let e = t
            .device("nobody", key(WRONG_KEY))
            .register(None)
            .await
            .expect_err("refused");
        assert_refused(
            &e,
            ErrorKind::Unauthorized,
            codes::UNAUTHORIZED,
            &["no individual enrollment \"nobody\" and no symmetric-key enrollment group exist"],
        );
    });
}

/// The device SAS as each SDK writes it, over HTTPS: `skn` is optional, `sr` is signed as
/// written (encoded or raw), fields come in any order; a foreign `skn` is still refused.
#[test]
fn every_sdk_spelling_of_the_device_sas_is_accepted_over_https() {
    use dps_e2e::{sas_signature, unix_now, url_encode};
    let t = TestEmulator::start();
    let service = t.client();
    rt().block_on(async {
        let (primary, _) = symmetric_enrollment(&service, "sas-spellings", |_| {}).await;
        let scope = t.emulator.id_scope().to_owned();
        let resource = format!("{scope}/registrations/sas-spellings");
        let se = unix_now() + 3600;
        let encoded = url_encode(&resource);
        let signed = |sr: &str| url_encode(&sas_signature(sr, se, &primary));
        let spellings = [
            // Python: encoded sr, signed encoded, no skn.
            format!(
                "SharedAccessSignature sr={encoded}&sig={}&se={se}",
                signed(&encoded)
            ),
            // Node: raw sr, signed raw, skn before se.
            format!(
                "SharedAccessSignature sr={resource}&sig={}&skn=registration&se={se}",
                signed(&resource)
            ),
            // C and C#: encoded sr with skn; here with the fields shuffled.
            format!(
                "SharedAccessSignature skn=registration&se={se}&sr={encoded}&sig={}",
                signed(&encoded)
            ),
        ];
        let put = |token: String| {
            t.https()
                .put(t.url(&format!(
                    "/{scope}/registrations/sas-spellings/register?api-version=2021-10-01"
                )))
                .header("authorization", token)
                .json(&serde_json::json!({"registrationId": "sas-spellings"}))
                .send()
        };
        for token in spellings {
            let status = put(token.clone()).await.expect("sent").status().as_u16();
            assert!(matches!(status, 200 | 202), "{status} for {token}");
        }
        let foreign = format!(
            "SharedAccessSignature sr={encoded}&sig={}&se={se}&skn=provisioningserviceowner",
            signed(&encoded)
        );
        let refused = put(foreign).await.expect("sent");
        assert_eq!(refused.status().as_u16(), 401);
        let body: serde_json::Value = refused.json().await.expect("JSON body");
        assert_eq!(body["errorCode"], 401002);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("skn, when present, must be `registration`")),
            "{body}"
        );
    });
}
