//! The emulator's targets: request routing and the MQTT session, through
//! `dps_emulator::harness` (the real router and the real session, in process, over a fresh
//! in-memory store per input, on a current-thread runtime whose time is paused, so no
//! deadline is ever waited for and an input replays the same way every time).
//!
//! `http_routing` reads up to [`MAX_REQUESTS`] requests, separated by a line `%%`, each
//!
//! ```text
//! AUTH METHOD TARGET
//! Header-Name: value
//! ...
//!
//! body
//! ```
//!
//! where AUTH is `-` (none), `owner` or `read` (a service SAS of that policy), `sas:KEY` (a
//! device SAS for the path's ID scope and registration id, signed with the base64 KEY) or
//! `group:KEY` (the same with the key derived from the group key KEY). A request without
//! `Content-Length` or `Transfer-Encoding` gets the body's length, as every client sends it;
//! one whose `Content-Length` promises more than the input holds is skipped (on the wire it
//! would stall, which the connection layer answers before the router), and a longer body is
//! cut to it. A request hyper would not parse (a method, target or header that is not valid
//! HTTP) is skipped too: it never reaches the router.
//!
//! `mqtt_session` sends its bytes as a device would after the TLS handshake, then ends its
//! side of the stream. The store holds the individual enrollment `fuzz-device` and the
//! enrollment group `fuzz-group`, both with the symmetric key [`super::KEY`], so a CONNECT
//! signed with it (the seed corpus has some) gets past authentication.

use super::{EXPIRY, KEY};
use dps_emulator::EmulatorConfig;
use dps_emulator::config::{OWNER_POLICY, READ_POLICY};
use dps_emulator::harness::http::{HeaderName, HeaderValue, Method, Request, Uri, header};
use dps_emulator::harness::{Harness, HttpAnswer};
use dps_protocol::auth::{DEVICE_KEY_NAME, SasToken, Secret, derive_device_key, device_resource};
use serde_json::Value;
use std::time::Duration;

/// The most requests one input sends.
const MAX_REQUESTS: usize = 8;
/// The request separator: a line `%%`.
const SEPARATOR: &[u8] = b"\n%%\n";
/// How long (paused, so instantly) an MQTT session may take to end once its input has ended:
/// far beyond every deadline of the session (CONNECT, keep-alive, write, linger).
const SESSION_BOUND: Duration = Duration::from_secs(7 * 24 * 3600);
/// Where a fuzzed custom-allocation webhook is sent: a closed port on loopback, so no input
/// makes the emulator call out of the machine.
const WEBHOOK: &str = "http://127.0.0.1:9/fuzz-webhook";

/// A current-thread runtime with paused time: timers fire as soon as nothing else can run.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// A fresh emulator over an empty in-memory store.
fn harness() -> Harness {
    let mut config = EmulatorConfig::for_tests(std::env::temp_dir().join("dps-fuzz-unused"));
    config.listen.set_port(8443);
    Harness::new(config).expect("an in-memory emulator")
}

/// Request routing: every request goes through the emulator's router (see the module doc).
pub fn http_routing(data: &[u8]) {
    runtime().block_on(async {
        let harness = harness();
        for raw in split(data, SEPARATOR).into_iter().take(MAX_REQUESTS) {
            let Some(request) = build(&harness, raw) else {
                continue;
            };
            let (method, target) = (request.method().clone(), request.uri().clone());
            let answer = harness.http(request, None).await;
            check_answer(&method, &target, &answer);
        }
    });
}

/// MQTT packet handling: the bytes go to the emulator's MQTT session (see the module doc).
pub fn mqtt_session(data: &[u8]) {
    runtime().block_on(async {
        let harness = harness();
        for (path, body) in [
            (
                "/enrollments/fuzz-device",
                format!(
                    r#"{{"registrationId":"fuzz-device","attestation":{{"type":"symmetricKey","symmetricKey":{{"primaryKey":"{KEY}","secondaryKey":"{KEY}"}}}}}}"#
                ),
            ),
            (
                "/enrollmentGroups/fuzz-group",
                format!(
                    r#"{{"enrollmentGroupId":"fuzz-group","attestation":{{"type":"symmetricKey","symmetricKey":{{"primaryKey":"{KEY}","secondaryKey":"{KEY}"}}}}}}"#
                ),
            ),
        ] {
            let token = service_token(harness.owner_key(), OWNER_POLICY);
            let request = Request::put(format!("{path}?api-version=2021-10-01"))
                .header(header::AUTHORIZATION, token)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, body.len())
                .body(body.into_bytes())
                .expect("an enrollment request");
            let answer = harness.http(request, None).await;
            assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
        }
        let exchange = tokio::time::timeout(SESSION_BOUND, harness.mqtt(data, None))
            .await
            .expect("the MQTT session did not end after its input ended");
        check_server_packets(&exchange.written);
    });
}

/// `data` cut at every `separator`.
fn split<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = find(rest, separator) {
        parts.push(&rest[..i]);
        rest = &rest[i + separator.len()..];
    }
    parts.push(rest);
    parts
}

fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    data.windows(needle.len()).position(|w| w == needle)
}

/// One request of the input, as the router would get it from hyper; `None` when hyper would
/// not have made a request of it.
fn build(harness: &Harness, raw: &[u8]) -> Option<Request<Vec<u8>>> {
    let (line, rest) = match find(raw, b"\n") {
        Some(i) => (&raw[..i], &raw[i + 1..]),
        None => (raw, &[][..]),
    };
    let mut words = line.splitn(3, |b| *b == b' ');
    let (auth, method, target) = (words.next()?, words.next()?, words.next()?);
    let (head, body) = if let Some(body) = rest.strip_prefix(b"\n") {
        (&[][..], body)
    } else {
        match find(rest, b"\n\n") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, &[][..]),
        }
    };
    let uri = Uri::try_from(target).ok()?;
    let mut request = Request::builder()
        .method(Method::from_bytes(method).ok()?)
        .uri(uri.clone());
    let mut length = None;
    let mut chunked = false;
    for field in head.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let colon = field.iter().position(|b| *b == b':')?;
        let name = HeaderName::from_bytes(&field[..colon]).ok()?;
        let value = field[colon + 1..].trim_ascii();
        if name == header::CONTENT_LENGTH {
            // hyper refuses a second or unreadable length.
            let n = std::str::from_utf8(value).ok()?.parse::<usize>().ok()?;
            if length.replace(n).is_some() {
                return None;
            }
        }
        chunked |= name == header::TRANSFER_ENCODING;
        request = request.header(name, HeaderValue::from_bytes(value).ok()?);
    }
    let mut body = without_webhooks(body);
    match length {
        Some(_) if chunked => return None,
        Some(n) if n > body.len() => return None,
        Some(n) => body.truncate(n),
        None if !chunked => request = request.header(header::CONTENT_LENGTH, body.len()),
        None => {}
    }
    if let Some(token) = authorization(harness, auth, uri.path()) {
        request = request.header(header::AUTHORIZATION, token);
    }
    request.body(body).ok()
}

/// The body, with every `webhookUrl` in it (at any depth) pointed at [`WEBHOOK`].
fn without_webhooks(body: &[u8]) -> Vec<u8> {
    fn rewrite(v: &mut Value) -> bool {
        match v {
            Value::Object(map) => {
                let mut changed = false;
                for (k, v) in map.iter_mut() {
                    if k == "webhookUrl" {
                        *v = Value::from(WEBHOOK);
                        changed = true;
                    } else {
                        changed |= rewrite(v);
                    }
                }
                changed
            }
            Value::Array(items) => items.iter_mut().fold(false, |c, v| rewrite(v) | c),
            _ => false,
        }
    }
    if find(body, b"webhookUrl").is_none() && find(body, b"\\u").is_none() {
        return body.to_vec();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            if rewrite(&mut v) {
                serde_json::to_vec(&v).unwrap_or_default()
            } else {
                body.to_vec()
            }
        }
        Err(_) => body.to_vec(),
    }
}

/// A service SAS of `policy`, for the emulator's own name on any port.
fn service_token(key: &Secret, policy: &str) -> String {
    SasToken::generate("localhost", key, Some(policy), EXPIRY).expect("a base64 policy key")
}

/// The `Authorization` value AUTH asks for; `None` for none.
fn authorization(harness: &Harness, auth: &[u8], path: &str) -> Option<String> {
    let auth = std::str::from_utf8(auth).ok()?;
    let device = |key: Secret, derive: bool| {
        let segment = |i: usize| {
            let s = path.split('/').nth(i + 1).unwrap_or_default();
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (scope, id) = (segment(0), segment(2));
        let key = if derive {
            derive_device_key(&key, &id).ok()?
        } else {
            key
        };
        SasToken::generate(
            &device_resource(&scope, &id),
            &key,
            Some(DEVICE_KEY_NAME),
            EXPIRY,
        )
        .ok()
    };
    match auth {
        "owner" => Some(service_token(harness.owner_key(), OWNER_POLICY)),
        "read" => Some(service_token(harness.read_key(), READ_POLICY)),
        a => match a.split_once(':') {
            Some(("sas", key)) => device(Secret::from(key), false),
            Some(("group", key)) => device(Secret::from(key), true),
            _ => None,
        },
    }
}

/// The routing invariants: no 5xx (the harness injects no fault), only 2xx and 4xx, and a
/// refusal carries the DPS error body (or ARM's, on the certificate API), as JSON (to HEAD:
/// no body, the code in `x-ms-error-code`); a JSON answer is JSON.
fn check_answer(method: &Method, target: &Uri, answer: &HttpAnswer) {
    let status = answer.status;
    let body = String::from_utf8_lossy(&answer.body);
    let what = format!("{method} {target} answered {status}: {body}");
    assert!(
        (200..300).contains(&status) || (400..500).contains(&status),
        "{what}"
    );
    let json = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if status < 400 {
        if json && !answer.body.is_empty() {
            serde_json::from_slice::<Value>(&answer.body)
                .unwrap_or_else(|e| panic!("{what}: a JSON answer is not JSON: {e}"));
        }
        return;
    }
    assert!(json, "{what}: the refusal is not JSON");
    if method == Method::HEAD {
        // An answer to HEAD has no body (axum drops it, as HTTP says); the code is in
        // `x-ms-error-code`.
        assert!(
            answer.body.is_empty(),
            "{what}: a body in an answer to HEAD"
        );
        let code = answer
            .headers
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{what}: no x-ms-error-code"));
        assert_eq!(code / 1000, u64::from(status), "{what}: x-ms-error-code");
        return;
    }
    let v: Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("{what}: the refusal is not JSON: {e}"));
    let arm_path = target
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case("subscriptions"));
    let arm = v["error"]["code"].is_string() && v["error"]["message"].is_string();
    if arm_path && arm {
        return;
    }
    let code = v["errorCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no errorCode"));
    assert_eq!(code / 1000, u64::from(status), "{what}: errorCode");
    for field in ["trackingId", "message", "timestampUtc"] {
        assert!(v[field].is_string(), "{what}: no {field}");
    }
}

/// What an MQTT session wrote: whole packets only, each one a server sends (CONNACK,
/// PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP), CONNACK first, and nothing after a CONNACK
/// that refuses.
fn check_server_packets(written: &[u8]) {
    let mut rest = written;
    let mut index = 0;
    while let Some((&first, after)) = rest.split_first() {
        let kind = first >> 4;
        let mut len = 0usize;
        let mut used = 0;
        loop {
            let &b = after
                .get(used)
                .unwrap_or_else(|| panic!("packet {index}: a partial remaining length"));
            len |= usize::from(b & 0x7f) << (7 * used);
            used += 1;
            if b & 0x80 == 0 {
                break;
            }
            assert!(used < 4, "packet {index}: a remaining length over 4 bytes");
        }
        let body = after
            .get(used..used + len)
            .unwrap_or_else(|| panic!("packet {index}: cut after {} bytes", after.len()));
        assert!(
            matches!(kind, 2 | 3 | 4 | 9 | 11 | 13),
            "packet {index}: type {kind} is not one a server sends"
        );
        assert_eq!(
            index == 0,
            kind == 2,
            "packet {index}: CONNACK comes first, once"
        );
        if kind == 2 {
            assert_eq!(body.len(), 2, "CONNACK is 2 bytes");
            let refused = body[1] != 0;
            assert!(
                !refused || after.len() == used + len,
                "packets follow a CONNACK that refuses ({})",
                body[1]
            );
        }
        rest = &after[used + len..];
        index += 1;
    }
}
