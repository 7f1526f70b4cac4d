//! Property tests of the emulator's two parsers of network input, through
//! `dps_emulator::harness` (the real router and the real MQTT session, in process):
//! - any request, of the API's shapes or not, is answered 2xx or 4xx, never 5xx, and every
//!   refusal carries the DPS error body (ARM's on the certificate API);
//! - whatever an enrollment PUT accepts reads back the same (its initial twin included, at any
//!   nesting depth the emulator accepts);
//! - any bytes sent to the MQTT session, after a valid CONNECT or not, end in a closed session
//!   that wrote whole packets, CONNACK first.
//!
//! The fuzz targets `http_routing` and `mqtt_session` (`fuzz/`) check the same far longer.

use dps_emulator::EmulatorConfig;
use dps_emulator::config::{OWNER_POLICY, READ_POLICY};
use dps_emulator::harness::http::{Method, Request, header};
use dps_emulator::harness::{Harness, HttpAnswer};
use dps_protocol::auth::{DEVICE_KEY_NAME, SasToken, Secret, device_resource};
use proptest::prelude::*;
use serde_json::{Value, json};

const CASES: u32 = 128;
const EXPIRY: u64 = 4_102_444_800;
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn harness() -> Harness {
    let config = EmulatorConfig::for_tests(std::env::temp_dir().join("dps-emulator-properties"));
    Harness::new(config).expect("an in-memory emulator")
}

/// Runs `f` on a current-thread runtime whose time is paused: deadlines pass at once.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
        .block_on(f)
}

fn service_token(key: &Secret, policy: &str) -> String {
    SasToken::generate("localhost", key, Some(policy), EXPIRY).expect("signs")
}

/// Who signs a request.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Owner,
    Read,
    Garbage(String),
}

#[derive(Debug, Clone)]
struct Call {
    method: Method,
    path: String,
    query: String,
    content_type: Option<&'static str>,
    if_match: Option<String>,
    auth: Auth,
    body: Vec<u8>,
}

/// Paths of the API's shapes: its literal segments in any case, ids of every kind, encoded or
/// not, and odd segments.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        4 => prop::sample::select(&[
            "enrollments", "enrollmentGroups", "ENROLLMENTGROUPS", "registrations", "query",
            "attestationmechanism", "0ne000E1A70", "register", "operations", "subscriptions",
            "s", "resourceGroups", "providers", "Microsoft.Devices", "provisioningServices",
            "certificates", "generateVerificationCode", "verify", "dev-1", "portal", "",
        ][..]).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9._:-]{1,20}",
        1 => "(%[0-9A-Fa-f]{2}|[a-z]|%|\\.){1,8}",
        1 => "[a-z0-9]{129,140}",
    ];
    prop::collection::vec(segment, 0..10).prop_map(|s| format!("/{}", s.join("/")))
}

fn call() -> impl Strategy<Value = Call> {
    let method = prop::sample::select(vec![
        Method::GET,
        Method::PUT,
        Method::POST,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ]);
    let query = prop_oneof![
        Just("api-version=2021-10-01".to_owned()),
        Just("api-version=2021-06-01".to_owned()),
        Just("api-version=2022-02-05".to_owned()),
        Just("api-version=2021-13-45".to_owned()),
        Just(String::new()),
        "[a-z=&%0-9-]{0,20}",
    ];
    let content_type = proptest::option::of(prop::sample::select(vec![
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/xml",
    ]));
    let auth = prop_oneof![
        1 => Just(Auth::None),
        3 => Just(Auth::Owner),
        1 => Just(Auth::Read),
        1 => "SharedAccessSignature [ -~]{0,40}".prop_map(Auth::Garbage),
    ];
    let body = prop_oneof![
        json_value(4).prop_map(|v| v.to_string().into_bytes()),
        enrollment().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    let if_match = proptest::option::of(prop_oneof![Just("*".to_owned()), "\"?[a-z0-9]{0,8}\"?"]);
    (method, path(), query, content_type, if_match, auth, body).prop_map(
        |(method, path, query, content_type, if_match, auth, body)| Call {
            method,
            path,
            query,
            content_type,
            if_match,
            auth,
            body,
        },
    )
}

/// JSON without floats (their reading is checked in dps-protocol's properties), nested at
/// most `depth` levels.
fn json_value(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value nested `depth` objects deep.
fn nested(depth: usize, inner: Value) -> Value {
    (0..depth).fold(inner, |v, _| json!({ "n": v }))
}

/// An individual enrollment of the API's shape, with a twin of any content and depth.
fn enrollment() -> impl Strategy<Value = Value> {
    (
        "[a-z0-9][a-z0-9._:-]{0,20}[a-z0-9]",
        json_value(3),
        0usize..140,
        prop::sample::select(vec!["enabled", "disabled"]),
    )
        .prop_map(|(id, tags, depth, status)| {
            json!({
                "registrationId": id,
                "attestation": {
                    "type": "symmetricKey",
                    "symmetricKey": { "primaryKey": KEY, "secondaryKey": KEY }
                },
                "provisioningStatus": status,
                "initialTwin": {
                    "tags": { "generated": tags },
                    "properties": { "desired": { "deep": nested(depth, json!(1)) } }
                }
            })
        })
}

fn request(harness: &Harness, c: &Call) -> Option<Request<Vec<u8>>> {
    let target = if c.query.is_empty() {
        c.path.clone()
    } else {
        format!("{}?{}", c.path, c.query)
    };
    let mut r = Request::builder()
        .method(c.method.clone())
        .uri(target)
        .header(header::CONTENT_LENGTH, c.body.len());
    if let Some(t) = c.content_type {
        r = r.header(header::CONTENT_TYPE, t);
    }
    if let Some(m) = &c.if_match {
        r = r.header(header::IF_MATCH, m.as_str());
    }
    let token = match &c.auth {
        Auth::None => None,
        Auth::Owner => Some(service_token(harness.owner_key(), OWNER_POLICY)),
        Auth::Read => Some(service_token(harness.read_key(), READ_POLICY)),
        Auth::Garbage(g) => Some(g.clone()),
    };
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, t);
    }
    r.body(c.body.clone()).ok()
}

/// 2xx or 4xx; a refusal is JSON with the DPS body (ARM's allowed on `/subscriptions`).
fn check(c: &Call, a: &HttpAnswer) -> Result<(), TestCaseError> {
    let what = format!(
        "{} {}?{} answered {}: {}",
        c.method,
        c.path,
        c.query,
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    prop_assert!(
        (200..300).contains(&a.status) || (400..500).contains(&a.status),
        "{}",
        what
    );
    if a.status < 400 {
        return Ok(());
    }
    if c.method == Method::HEAD {
        // No body in an answer to HEAD: the code is in `x-ms-error-code`.
        let code = a
            .headers
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        prop_assert!(a.body.is_empty(), "{}", what);
        prop_assert_eq!(
            code.map(|c| c / 1000),
            Some(u64::from(a.status)),
            "{}",
            what
        );
        return Ok(());
    }
    let v: Value =
        serde_json::from_slice(&a.body).map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    let arm = c.path.to_ascii_lowercase().starts_with("/subscriptions")
        && v["error"]["code"].is_string()
        && v["error"]["message"].is_string();
    if !arm {
        let code = v["errorCode"].as_u64().unwrap_or(0);
        prop_assert_eq!(code / 1000, u64::from(a.status), "{}", what);
        for field in ["trackingId", "message", "timestampUtc"] {
            prop_assert!(v[field].is_string(), "{}: no {}", what, field);
        }
    }
    Ok(())
}

/// An MQTT 3.1.1 CONNECT for `id` with a SAS signed with [`KEY`].
fn connect(harness: &Harness, id: &str, keep_alive: u16) -> Vec<u8> {
    let scope = harness.id_scope();
    let token = SasToken::generate(
        &device_resource(scope, id),
        &Secret::from(KEY),
        Some(DEVICE_KEY_NAME),
        EXPIRY,
    )
    .expect("signs");
    let user = format!("{scope}/registrations/{id}/api-version=2021-06-01&ClientVersion=test");
    let mut body = b"\x00\x04MQTT\x04\xc2".to_vec();
    body.extend_from_slice(&keep_alive.to_be_bytes());
    for s in [id, user.as_str(), token.as_str()] {
        body.extend_from_slice(&u16::try_from(s.len()).expect("short").to_be_bytes());
        body.extend_from_slice(s.as_bytes());
    }
    let mut packet = vec![0x10];
    let mut len = body.len();
    loop {
        let b = u8::try_from(len % 128).expect("7 bits");
        len /= 128;
        packet.push(if len > 0 { b | 0x80 } else { b });
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}

/// Enrolls `id` with the symmetric key [`KEY`] through the service API.
async fn enroll(harness: &Harness, id: &str) {
    let body = json!({
        "registrationId": id,
        "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY, "secondaryKey": KEY}}
    })
    .to_string();
    let request = Request::put(format!("/enrollments/{id}?api-version=2021-10-01"))
        .header(
            header::AUTHORIZATION,
            service_token(harness.owner_key(), OWNER_POLICY),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(body.into_bytes())
        .expect("request");
    let answer = harness.http(request, None).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// Whole packets, CONNACK first; the packet types in order.
fn packets(mut written: &[u8]) -> Result<Vec<u8>, TestCaseError> {
    let mut kinds = Vec::new();
    while let Some((&first, rest)) = written.split_first() {
        let (mut len, mut used) = (0usize, 0usize);
        loop {
            let b = *rest
                .get(used)
                .ok_or_else(|| TestCaseError::fail("a cut remaining length"))?;
            len |= usize::from(b & 0x7f) << (7 * used);
            used += 1;
            if b & 0x80 == 0 || used == 4 {
                break;
            }
        }
        prop_assert!(rest.len() >= used + len, "a cut packet");
        kinds.push(first >> 4);
        written = &rest[used + len..];
    }
    prop_assert!(
        kinds.first().is_none_or(|k| *k == 2),
        "CONNACK first: {:?}",
        kinds
    );
    Ok(kinds)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn every_request_is_answered_without_5xx_and_refusals_carry_the_dps_body(
        calls in prop::collection::vec(call(), 1..5),
    ) {
        block_on(async {
            let harness = harness();
            for c in &calls {
                let Some(r) = request(&harness, c) else { continue };
                let answer = harness.http(r, None).await;
                check(c, &answer)?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn an_accepted_enrollment_reads_back_the_same(enrollment in enrollment()) {
        block_on(async {
            let harness = harness();
            let id = enrollment["registrationId"].as_str().expect("id").to_owned();
            let send = |method: Method, body: Vec<u8>| {
                Request::builder()
                    .method(method)
                    .uri(format!("/enrollments/{id}?api-version=2021-10-01"))
                    .header(header::AUTHORIZATION, service_token(harness.owner_key(), OWNER_POLICY))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::CONTENT_LENGTH, body.len())
                    .body(body)
                    .expect("request")
            };
            let put = harness.http(send(Method::PUT, enrollment.to_string().into_bytes()), None).await;
            if put.status != 200 {
                prop_assert_eq!(put.status / 100, 4, "{:?}", put.body);
                return Ok(());
            }
            let got = harness.http(send(Method::GET, Vec::new()), None).await;
            prop_assert_eq!(got.status, 200, "an accepted enrollment cannot be read: {:?}", got.body);
            let read: Value = serde_json::from_slice(&got.body).expect("JSON");
            prop_assert_eq!(&read["initialTwin"]["tags"], &enrollment["initialTwin"]["tags"]);
            prop_assert_eq!(
                &read["initialTwin"]["properties"]["desired"]["deep"],
                &enrollment["initialTwin"]["properties"]["desired"]["deep"]
            );
            prop_assert_eq!(&read["provisioningStatus"], &enrollment["provisioningStatus"]);
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn any_bytes_end_the_mqtt_session_with_whole_packets(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        after_connect in any::<bool>(),
        keep_alive in prop_oneof![Just(0u16), 1u16..],
    ) {
        block_on(async {
            let harness = harness();
            enroll(&harness, "prop-device").await;
            let mut input = Vec::new();
            if after_connect {
                input = connect(&harness, "prop-device", keep_alive);
            }
            input.extend_from_slice(&bytes);
            let exchange = tokio::time::timeout(
                std::time::Duration::from_secs(7 * 24 * 3600),
                harness.mqtt(&input, None),
            )
            .await
            .map_err(|_| TestCaseError::fail("the session did not end"))?;
            let kinds = packets(&exchange.written)?;
            if after_connect {
                prop_assert_eq!(&exchange.written[..4], &[0x20, 2, 0, 0][..], "CONNACK accepted");
                prop_assert!(kinds.iter().all(|k| matches!(k, 2 | 3 | 4 | 9 | 11 | 13)));
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
