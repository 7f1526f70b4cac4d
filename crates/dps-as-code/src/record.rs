//! The comparable form of a record ("view"): the service's JSON with what the service fills in
//! left out (etag, timestamps, registration state), certificates reduced to their thumbprints
//! (the service never returns an enrollment's certificate, only its `info`), and an initial
//! twin's missing parts filled with the empty objects the service stores.
//!
//! Both sides of a comparison go through here: the live record as the service returned it
//! ([`live_view`]) and the declared one ([`crate::resolve`] builds its view with the same
//! helpers), so a field means the same thing on both sides.

use dps_protocol::Thumbprints;
use serde_json::{Map, Value, json};

/// Top-level fields the service fills in; never differences.
pub(crate) const SERVICE_FILLED: &[&str] = &[
    "etag",
    "createdDateTimeUtc",
    "lastUpdatedDateTimeUtc",
    "registrationState",
];

/// Fields whose values are secrets: a plan says they change, never what they hold.
pub(crate) const SECRET_FIELDS: &[&str] = &[
    "attestation.symmetricKey.primaryKey",
    "attestation.symmetricKey.secondaryKey",
    "customAllocationDefinition.webhookUrl",
];

/// Whether the dotted `field` is, or is inside, a secret field.
pub(crate) fn is_secret(field: &str) -> bool {
    SECRET_FIELDS
        .iter()
        .any(|s| field == *s || field.starts_with(&format!("{s}.")))
}

/// The certificate slots of `attestation.x509`.
pub(crate) const CERT_SLOTS: &[(&str, &str)] = &[
    ("clientCertificates", "primary"),
    ("clientCertificates", "secondary"),
    ("signingCertificates", "primary"),
    ("signingCertificates", "secondary"),
];

/// The view of a record as the service returned it (an enrollment or a group, as JSON).
pub(crate) fn live_view(record: &Value) -> Map<String, Value> {
    let mut view = record.as_object().cloned().unwrap_or_default();
    for field in SERVICE_FILLED {
        view.remove(*field);
    }
    view.retain(|_, v| !v.is_null());
    if let Some(attestation) = view.get_mut("attestation") {
        drop_nulls(attestation);
        if let Some(x509) = attestation.get_mut("x509").and_then(Value::as_object_mut) {
            for (group, slot) in CERT_SLOTS {
                if let Some(cert) = x509.get_mut(*group).and_then(|g| g.get_mut(*slot)) {
                    *cert = live_certificate(cert);
                }
            }
        }
    }
    if let Some(twin) = view.get_mut("initialTwin") {
        *twin = normal_twin(twin);
    }
    view
}

/// A live certificate slot (`{certificate?, info}`) as its thumbprints.
fn live_certificate(slot: &Value) -> Value {
    let info = &slot["info"];
    if let (Some(sha1), Some(sha256)) = (
        info["sha1Thumbprint"].as_str(),
        info["sha256Thumbprint"].as_str(),
    ) {
        return thumbprint_view(Some(sha1), Some(sha256));
    }
    // No info (an older or unusual service): the certificate itself, if it came back.
    let der = slot["certificate"]
        .as_str()
        .and_then(dps_service_client::uploaded_der);
    match der {
        Some(der) => {
            let t = Thumbprints::of_der(&der);
            thumbprint_view(Some(&t.sha1), Some(&t.sha256))
        }
        None => json!({}),
    }
}

/// `{"sha1Thumbprint", "sha256Thumbprint"}` with the ones known, upper-case without
/// separators.
pub(crate) fn thumbprint_view(sha1: Option<&str>, sha256: Option<&str>) -> Value {
    let mut out = Map::new();
    if let Some(t) = sha1 {
        out.insert("sha1Thumbprint".into(), Value::String(normal_hex(t)));
    }
    if let Some(t) = sha256 {
        out.insert("sha256Thumbprint".into(), Value::String(normal_hex(t)));
    }
    Value::Object(out)
}

/// A thumbprint as the service prints it: upper-case hex, no `:` or spaces.
pub(crate) fn normal_hex(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// An initial twin with `tags` and `properties.desired` always present (the service stores
/// missing ones as `{}`), and nothing else.
pub(crate) fn normal_twin(twin: &Value) -> Value {
    let tags = twin.get("tags").filter(|v| !v.is_null()).cloned();
    let desired = twin
        .get("properties")
        .and_then(|p| p.get("desired"))
        .filter(|v| !v.is_null())
        .cloned();
    json!({
        "tags": tags.unwrap_or_else(|| json!({})),
        "properties": { "desired": desired.unwrap_or_else(|| json!({})) },
    })
}

fn drop_nulls(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
        for v in map.values_mut() {
            drop_nulls(v);
        }
    }
}

/// The live attestation view reduced to what the declared one manages: a certificate
/// compared only by the thumbprints the file gives, and symmetric keys the file leaves to the
/// service (generated keys) left out.
pub(crate) fn align_attestation(declared: &Value, live: &Value) -> Value {
    let mut live = live.clone();
    if let Some(x509) = live.get_mut("x509").and_then(Value::as_object_mut) {
        for (group, slot) in CERT_SLOTS {
            let wanted = declared
                .pointer(&format!("/x509/{group}/{slot}"))
                .and_then(Value::as_object);
            if let (Some(wanted), Some(cert)) = (
                wanted,
                x509.get_mut(*group)
                    .and_then(|g| g.get_mut(*slot))
                    .and_then(Value::as_object_mut),
            ) {
                cert.retain(|k, _| wanted.contains_key(k));
            }
        }
    }
    if let Some(keys) = live.get_mut("symmetricKey").and_then(Value::as_object_mut) {
        for key in ["primaryKey", "secondaryKey"] {
            if declared.pointer(&format!("/symmetricKey/{key}")).is_none() {
                keys.remove(key);
            }
        }
    }
    live
}

/// One difference between a declared and a live value, at a dotted path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Difference {
    pub(crate) field: String,
    pub(crate) live: Option<Value>,
    pub(crate) declared: Option<Value>,
}

/// The leaf differences between `live` and `declared` under `path`: objects are compared key
/// by key, anything else as a whole. `null` is no value: a field declared `null` is the same
/// as one the service leaves out (as it leaves out a record's null fields), so declaring it
/// removes the field once and then plans nothing.
pub(crate) fn differences(
    path: &str,
    live: Option<&Value>,
    declared: Option<&Value>,
    out: &mut Vec<Difference>,
) {
    let live = live.filter(|v| !v.is_null());
    let declared = declared.filter(|v| !v.is_null());
    match (live, declared) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                differences(&format!("{path}.{key}"), a.get(key), b.get(key), out);
            }
        }
        // A record or field only one side has: its leaves, so that a secret inside it is a
        // field of its own (and masked), never part of a shown object.
        (None, Some(Value::Object(b))) if !b.is_empty() => {
            for (key, v) in b {
                differences(&format!("{path}.{key}"), None, Some(v), out);
            }
        }
        (Some(Value::Object(a)), None) if !a.is_empty() => {
            for (key, v) in a {
                differences(&format!("{path}.{key}"), Some(v), None, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            field: path.to_owned(),
            live: a.cloned(),
            declared: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_filled_fields_and_certificate_info_are_not_compared() {
        let live = json!({
            "registrationId": "dev1",
            "etag": "\"1\"",
            "createdDateTimeUtc": "2026-01-01T00:00:00Z",
            "attestation": {"type": "x509", "x509": {"clientCertificates": {"primary": {
                "info": {"sha1Thumbprint": "ab", "sha256Thumbprint": "cd", "subjectName": "CN=x"}
            }, "secondary": null}}},
            "initialTwin": {"tags": {"a": 1}},
        });
        let view = live_view(&live);
        assert_eq!(
            Value::Object(view),
            json!({
                "registrationId": "dev1",
                "attestation": {"type": "x509", "x509": {"clientCertificates": {"primary":
                    {"sha1Thumbprint": "AB", "sha256Thumbprint": "CD"}}}},
                "initialTwin": {"tags": {"a": 1}, "properties": {"desired": {}}},
            })
        );
    }

    #[test]
    fn alignment_keeps_what_the_file_manages() {
        let declared = json!({"type": "symmetricKey", "symmetricKey": {"primaryKey": "k"}});
        let live = json!({"type": "symmetricKey", "symmetricKey": {"primaryKey": "k", "secondaryKey": "g"}});
        assert_eq!(align_attestation(&declared, &live), declared);
        let declared =
            json!({"x509": {"signingCertificates": {"primary": {"sha256Thumbprint": "CD"}}}});
        let live = json!({"x509": {"signingCertificates": {"primary": {"sha1Thumbprint": "AB", "sha256Thumbprint": "CD"}}}});
        assert_eq!(align_attestation(&declared, &live), declared);
    }

    #[test]
    fn differences_are_leaves_and_secrets_are_known() {
        let mut out = Vec::new();
        differences(
            "initialTwin",
            Some(&json!({"tags": {"floor": 3, "keep": 1}})),
            Some(&json!({"tags": {"floor": 4, "keep": 1, "new": true}})),
            &mut out,
        );
        let fields: Vec<&str> = out.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["initialTwin.tags.floor", "initialTwin.tags.new"]);
        assert!(is_secret("attestation.symmetricKey.primaryKey"));
        assert!(!is_secret("attestation.type"));
    }

    #[test]
    fn a_declared_null_is_a_field_the_service_does_not_have() {
        let mut out = Vec::new();
        differences("gone", None, Some(&Value::Null), &mut out);
        differences(
            "tags",
            Some(&json!({"a": 1})),
            Some(&json!({"a": 1, "b": null})),
            &mut out,
        );
        assert_eq!(out, []);
        differences("kept", Some(&json!(1)), Some(&Value::Null), &mut out);
        assert_eq!(
            out,
            [Difference {
                field: "kept".into(),
                live: Some(json!(1)),
                declared: None
            }]
        );
    }
}
