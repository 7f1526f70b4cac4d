//! `export --as-code`: the live state written in the file format, so adopting the files on an
//! existing DPS is one command and planning the export shows no difference.
//!
//! The service returns a certificate's info, never the certificate, so certificates are
//! written as thumbprint references (with their subject, to find the file). Secrets are
//! written as `${VARIABLE}` references; their values are returned beside the manifest for the
//! caller to store (an env file with owner-only permissions), never inside it.

use crate::live::Live;
use crate::model::{CaCertificate, CertificateRef, Enrollment, EnrollmentGroup, Manifest};
use crate::record::SERVICE_FILLED;
use crate::resolve::Kind;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// The exported files' content and the secrets it references.
#[derive(Clone)]
pub struct Export {
    /// The live state in the file format.
    pub manifest: Manifest,
    /// `(variable, value)` for every `${VARIABLE}` the manifest names.
    pub secrets: Vec<(String, String)>,
}

impl fmt::Debug for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.secrets.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Export")
            .field("manifest", &self.manifest)
            .field("secret_variables", &names)
            .finish()
    }
}

/// A live record the file format cannot hold.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {id:?} cannot be exported: {reason}")]
pub struct ExportError {
    /// `enrollment group` or `enrollment`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// The live state as a manifest, records in id order (stable diffs in git).
pub fn export(live: &Live) -> Result<Export, ExportError> {
    let mut names = Names::default();
    let mut manifest = Manifest::default();
    for c in live.certificates.iter().flatten() {
        let props = &c["properties"];
        manifest.certificates.push(CaCertificate {
            name: c["name"].as_str().unwrap_or_default().to_owned(),
            certificate: CertificateRef {
                sha1_thumbprint: props["thumbprint"].as_str().map(str::to_owned),
                subject_name: props["subject"].as_str().map(str::to_owned),
                ..CertificateRef::default()
            },
            is_verified: props["isVerified"].as_bool(),
            proof_of_possession: None,
        });
    }
    let known_group = modelled(Kind::EnrollmentGroup);
    let known_enrollment = modelled(Kind::Enrollment);
    // In id order before naming, so a collision's `_2` suffix is stable from export to export.
    let by_id = |kind: Kind, list: &[Value]| {
        let mut sorted: Vec<Value> = list.to_vec();
        sorted.sort_by_key(|r| id_of(kind, r).to_ascii_lowercase());
        sorted
    };
    let groups = by_id(Kind::EnrollmentGroup, &live.groups);
    let enrollments = by_id(Kind::Enrollment, &live.enrollments);
    for g in &groups {
        let value = manifest_shape(Kind::EnrollmentGroup, g, known_group, &mut names)?;
        manifest
            .enrollment_groups
            .push(typed(Kind::EnrollmentGroup, g, value)?);
    }
    for e in &enrollments {
        let value = manifest_shape(Kind::Enrollment, e, known_enrollment, &mut names)?;
        manifest
            .enrollments
            .push(typed(Kind::Enrollment, e, value)?);
    }
    manifest
        .certificates
        .sort_by_key(|c| c.name.to_ascii_lowercase());
    manifest
        .enrollment_groups
        .sort_by_key(|g| g.enrollment_group_id.to_ascii_lowercase());
    manifest
        .enrollments
        .sort_by_key(|e| e.registration_id.to_ascii_lowercase());
    Ok(Export {
        manifest,
        secrets: names.secrets,
    })
}

fn id_of(kind: Kind, record: &Value) -> String {
    record[kind.id_field()]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn typed<T: serde::de::DeserializeOwned>(
    kind: Kind,
    record: &Value,
    value: Value,
) -> Result<T, ExportError> {
    serde_json::from_value(value).map_err(|e| ExportError {
        kind: kind.noun(),
        id: id_of(kind, record),
        reason: e.to_string(),
    })
}

/// The top-level fields the file format models for `kind`, from its schema (the one list:
/// `export` puts every other field under `passThrough`, and `passThrough` refuses these).
/// Built once per kind.
pub(crate) fn modelled(kind: Kind) -> &'static HashSet<String> {
    static GROUP: OnceLock<HashSet<String>> = OnceLock::new();
    static ENROLLMENT: OnceLock<HashSet<String>> = OnceLock::new();
    let (cell, schema): (_, fn() -> schemars::Schema) = match kind {
        Kind::Enrollment => (&ENROLLMENT, || schemars::schema_for!(Enrollment)),
        _ => (&GROUP, || schemars::schema_for!(EnrollmentGroup)),
    };
    cell.get_or_init(|| {
        schema()
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    })
}

/// Variable names for exported secrets, unique.
#[derive(Default)]
struct Names {
    used: HashSet<String>,
    secrets: Vec<(String, String)>,
}

impl Names {
    /// `${DPS_<KIND>_<ID>_<FIELD>}` for `value`, remembered.
    fn reference(&mut self, kind: Kind, id: &str, field: &str, value: &str) -> Value {
        let kind = match kind {
            Kind::EnrollmentGroup => "GROUP",
            _ => "ENROLLMENT",
        };
        let id: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        let base = format!("DPS_{kind}_{id}_{field}");
        let mut name = base.clone();
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.secrets.push((name.clone(), value.to_owned()));
        Value::String(format!("${{{name}}}"))
    }
}

/// A live record as the file format's JSON.
fn manifest_shape(
    kind: Kind,
    record: &Value,
    known: &HashSet<String>,
    names: &mut Names,
) -> Result<Value, ExportError> {
    let id = id_of(kind, record);
    let mut map = record.as_object().cloned().unwrap_or_default();
    for field in SERVICE_FILLED {
        map.remove(*field);
    }
    map.retain(|_, v| !v.is_null());
    let mut pass_through = Map::new();
    for key in map.keys().cloned().collect::<Vec<_>>() {
        if !known.contains(&key)
            && let Some(v) = map.remove(&key)
        {
            pass_through.insert(key, v);
        }
    }
    if !pass_through.is_empty() {
        map.insert("passThrough".into(), Value::Object(pass_through));
    }
    if let Some(att) = map.get("attestation") {
        let shaped = attestation(kind, &id, att, names);
        map.insert("attestation".into(), shaped);
    }
    if let Some(url) = map
        .get("customAllocationDefinition")
        .and_then(|c| c["webhookUrl"].as_str())
        .map(str::to_owned)
    {
        let reference = names.reference(kind, &id, "WEBHOOK_URL", &url);
        if let Some(c) = map
            .get_mut("customAllocationDefinition")
            .and_then(Value::as_object_mut)
        {
            c.insert("webhookUrl".into(), reference);
            c.retain(|k, _| k == "webhookUrl" || k == "apiVersion");
        }
    }
    if let Some(twin) = map.get("initialTwin") {
        let mut shaped = Map::new();
        if let Some(tags) = twin
            .get("tags")
            .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()))
        {
            shaped.insert("tags".into(), tags.clone());
        }
        if let Some(desired) = twin
            .pointer("/properties/desired")
            .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()))
        {
            shaped.insert("properties".into(), json!({ "desired": desired }));
        }
        map.insert("initialTwin".into(), Value::Object(shaped));
    }
    Ok(Value::Object(map))
}

/// A live attestation as the file format's: certificates by SHA-256 thumbprint, keys by
/// reference.
fn attestation(kind: Kind, id: &str, att: &Value, names: &mut Names) -> Value {
    let mut out = json!({ "type": att["type"] });
    if let Some(x509) = att.get("x509").filter(|v| v.is_object()) {
        let mut x = Map::new();
        for group in ["clientCertificates", "signingCertificates"] {
            let Some(pair) = x509.get(group).filter(|v| v.is_object()) else {
                continue;
            };
            let mut p = Map::new();
            for slot in ["primary", "secondary"] {
                if let Some(info) = pair.get(slot).and_then(|s| s.get("info")) {
                    p.insert(
                        slot.into(),
                        json!({
                            "sha256Thumbprint": info["sha256Thumbprint"],
                            "subjectName": info["subjectName"],
                        }),
                    );
                }
            }
            x.insert(group.into(), Value::Object(p));
        }
        if let Some(refs) = x509.get("caReferences").and_then(Value::as_object) {
            let refs: Map<String, Value> = refs
                .iter()
                .filter(|(k, v)| matches!(k.as_str(), "primary" | "secondary") && !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            x.insert("caReferences".into(), Value::Object(refs));
        }
        out["x509"] = Value::Object(x);
    }
    if let Some(keys) = att.get("symmetricKey").filter(|v| v.is_object()) {
        let mut k = Map::new();
        for (field, var) in [
            ("primaryKey", "PRIMARY_KEY"),
            ("secondaryKey", "SECONDARY_KEY"),
        ] {
            if let Some(value) = keys[field].as_str() {
                k.insert(field.into(), names.reference(kind, id, var, value));
            }
        }
        out["symmetricKey"] = Value::Object(k);
    }
    if let Some(tpm) = att.get("tpm").filter(|v| v.is_object()) {
        let mut t = Map::new();
        for field in ["endorsementKey", "storageRootKey"] {
            if let Some(v) = tpm.get(field).filter(|v| !v.is_null()) {
                t.insert(field.into(), v.clone());
            }
        }
        out["tpm"] = Value::Object(t);
    }
    out
}
