//! SAS authentication: refused credentials change nothing, and every official client's token
//! layout is accepted.

use dps_e2e::{RawResponse, TestEmulator, rt, sas_signature, send, unix_now, url_encode};
use dps_emulator::config::{OWNER_POLICY, READ_POLICY};
use dps_protocol::codes;
use dps_protocol::models::{EnrollmentGroup, QuerySpecification};
use dps_service_client::{ErrorKind, ProvisioningServiceClient};
use futures_util::TryStreamExt;
use reqwest::Method;
use serde_json::json;

const OTHER_KEY: &str = "c29tZSBvdGhlciBrZXkgdGhhdCBpcyBub3QgdGhlIGVtdWxhdG9yJ3M=";

/// `SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn={skn}`, signed over `sr` as written.
fn token(sr: &str, key: &str, se: u64, skn: &str) -> String {
    let sig = url_encode(&sas_signature(sr, se, key));
    format!("SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn={skn}")
}

async fn put_group(t: &TestEmulator, id: &str, authorization: Option<&str>) -> RawResponse {
    let body = json!({"enrollmentGroupId": id, "attestation": {"type": "symmetricKey"}});
    let mut req = t
        .https()
        .put(t.url(&format!("/enrollmentGroups/{id}?api-version=2021-10-01")))
        .json(&body);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    send(req).await
}

fn assert_refused(r: &RawResponse, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text());
    assert_eq!(r.json()["errorCode"], codes::UNAUTHORIZED, "{what}");
    assert_eq!(
        r.header("x-ms-error-code"),
        Some(codes::UNAUTHORIZED.to_string().as_str()),
        "{what}"
    );
}

#[test]
fn a_wrong_key_is_refused_and_changes_nothing() {
    let t = TestEmulator::start();
    let host = t.emulator.host();
    let cs =
        format!("HostName={host};SharedAccessKeyName={OWNER_POLICY};SharedAccessKey={OTHER_KEY}");
    let wrong =
        ProvisioningServiceClient::from_connection_string(&cs, Some(t.options())).expect("client");
    rt().block_on(async {
        let e = wrong
            .get_enrollment_group("any", None)
            .await
            .expect_err("refused");
        assert_eq!(
            (e.kind(), e.status(), e.code()),
            (
                ErrorKind::Unauthorized,
                Some(401),
                Some(codes::UNAUTHORIZED)
            )
        );
        let g = EnrollmentGroup::symmetric_key("sneaky", None);
        let e = wrong
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        let e = t
            .client()
            .get_enrollment_group("sneaky", None)
            .await
            .expect_err("not created");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn the_read_only_policy_reads_but_never_writes() {
    let t = TestEmulator::start();
    let owner = t.client();
    let reader = t.read_only_client();
    rt().block_on(async {
        let g = owner
            .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("ro", None), None)
            .await
            .expect("created");
        let read = reader.get_enrollment_group("ro", None).await.expect("get");
        assert_eq!(read.etag, g.etag);
        reader
            .get_enrollment_group_attestation_mechanism("ro", None)
            .await
            .expect("attestation");
        let all: Vec<EnrollmentGroup> = reader
            .query_enrollment_groups(QuerySpecification::all(), None)
            .try_collect()
            .await
            .expect("query");
        assert_eq!(all.len(), 1);

        let new = EnrollmentGroup::symmetric_key("ro-new", None);
        let e = reader
            .create_enrollment_group(&new, None)
            .await
            .expect_err("bulk create refused");
        assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
        let e = reader
            .create_or_update_enrollment_group(&read, None)
            .await
            .expect_err("PUT refused");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        let e = reader
            .delete_enrollment_group("ro", None)
            .await
            .expect_err("DELETE refused");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);

        let after = owner
            .get_enrollment_group("ro", None)
            .await
            .expect("still there");
        assert_eq!(after.etag, g.etag, "nothing changed");
        assert_eq!(
            owner
                .get_enrollment_group("ro-new", None)
                .await
                .map_err(|e| e.kind())
                .err(),
            Some(ErrorKind::NotFound)
        );
    });
}

#[test]
fn bad_tokens_are_refused_and_change_nothing() {
    let t = TestEmulator::start();
    let key = t.owner_key();
    let sr = url_encode(&t.emulator.host());
    let now = unix_now();
    rt().block_on(async {
        let cases = [
            (
                "expired beyond the skew",
                Some(token(&sr, &key, now - 301 - 60, OWNER_POLICY)),
            ),
            (
                "another host",
                Some(token("other.example.com", &key, now + 3600, OWNER_POLICY)),
            ),
            (
                "another port",
                Some(token("localhost%3A1", &key, now + 3600, OWNER_POLICY)),
            ),
            (
                "an unknown policy",
                Some(token(&sr, &key, now + 3600, "someone")),
            ),
            (
                "the read-only policy writing",
                Some(token(&sr, &t.read_key(), now + 3600, READ_POLICY)),
            ),
            (
                "a bad signature",
                Some(token(&sr, OTHER_KEY, now + 3600, OWNER_POLICY)),
            ),
            ("a bearer token", Some("Bearer eyJhbGciOi.x.y".to_owned())),
            ("garbage", Some("SharedAccessSignature nonsense".to_owned())),
            ("no Authorization", None),
        ];
        for (what, auth) in &cases {
            let r = put_group(&t, "guarded", auth.as_deref()).await;
            assert_refused(&r, what);
        }
        let r = send(t.request(Method::GET, "/enrollmentGroups/guarded")).await;
        assert_eq!(r.status, 404, "no refused request wrote anything");

        let r = put_group(
            &t,
            "skewed",
            Some(&token(&sr, &key, now - 60, OWNER_POLICY)),
        )
        .await;
        assert_eq!(r.status, 200, "expired within the 5 min skew: {}", r.text());
    });
}

#[test]
fn every_official_token_layout_is_accepted() {
    let t = TestEmulator::start();
    let key = t.owner_key();
    let host = t.emulator.host();
    let se = unix_now() + 3600;
    rt().block_on(async {
        // Node: raw `sr`, `encodeURIComponent(sig)`, order sr, sig, skn, se.
        let node_sig = url_encode(&sas_signature(&host, se, &key));
        let node =
            format!("SharedAccessSignature sr={host}&sig={node_sig}&skn={OWNER_POLICY}&se={se}");
        // Python 1.2.0: `quote_plus(host)`, `quote(sig)` (keeps `/`), order sr, sig, se, skn.
        let sr = url_encode(&host);
        let py_sig = url_encode(&sas_signature(&sr, se, &key)).replace("%2F", "/");
        let python =
            format!("SharedAccessSignature sr={sr}&sig={py_sig}&se={se}&skn={OWNER_POLICY}");
        // The preview SDK and the CLI: urlencode of every field.
        let preview = token(&sr, &key, se, OWNER_POLICY);
        // An `sr` that names the endpoint URL.
        let https = token(
            &url_encode(&format!("https://{host}")),
            &key,
            se,
            OWNER_POLICY,
        );
        for (i, (what, auth)) in [
            ("node", node),
            ("python 1.2.0", python),
            ("preview", preview),
            ("https sr", https),
            ("sdk", t.owner_token()),
        ]
        .iter()
        .enumerate()
        {
            let r = put_group(&t, &format!("style-{i}"), Some(auth)).await;
            assert_eq!(r.status, 200, "{what}: {}", r.text());
        }
        let read = token(&url_encode(&host), &t.read_key(), se, READ_POLICY);
        let r = send(
            t.https()
                .get(t.url("/enrollmentGroups/style-0?api-version=2021-10-01"))
                .header("authorization", read),
        )
        .await;
        assert_eq!(r.status, 200, "the read-only policy reads: {}", r.text());
    });
}

#[test]
fn an_ip_address_host_name_works_too() {
    let t = TestEmulator::start();
    let cs = t
        .emulator
        .service_connection_string()
        .replace("localhost:", "127.0.0.1:");
    let client =
        ProvisioningServiceClient::from_connection_string(&cs, Some(t.options())).expect("client");
    rt().block_on(async {
        let g = EnrollmentGroup::symmetric_key("by-ip", None);
        client
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("HostName=127.0.0.1:<port>");
    });
}
