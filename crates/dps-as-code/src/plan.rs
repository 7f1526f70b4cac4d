//! The plan: what applying the files would do to each record, with the changed fields, and the
//! ETags read with the live state (every update and delete is guarded by them).

use crate::live::Live;
use crate::record::{Difference, align_attestation, differences, is_secret, live_view};
use crate::resolve::{Desired, DesiredCertificate, DesiredRecord, Kind, Possession};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// What applying does to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Declared, not on the service.
    Create,
    /// Declared and on the service, with differences.
    Update,
    /// On the service, not declared, and `--prune` was given.
    Delete,
    /// Declared and on the service, the same.
    Unchanged,
    /// On the service, not declared, kept (no `--prune`).
    NotDeclared,
}

/// One changed field. A secret's values are never given, only that it changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Dotted path, e.g. `initialTwin.tags.floor`.
    pub field: String,
    /// The live value (absent: the service has none, or it is secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// The declared value (absent: removed, or secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    /// Whether the field is a secret (its values are not shown).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// One record of the plan.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    /// What kind of record.
    pub kind: Kind,
    /// Its id (a certificate's name).
    pub id: String,
    /// What applying does.
    pub action: Action,
    /// The changed fields (update), or the declared ones (create).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The file that declares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PathBuf>,
    /// The ETag read with the live state; the update or delete sends it as `If-Match`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Things to know before applying (a group with registrations to be deleted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why this item cannot be applied as declared (apply reports it as failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// What to send.
    #[serde(skip)]
    pub(crate) payload: Payload,
}

impl fmt::Debug for PlanItem {
    // The payload holds secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlanItem")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("action", &self.action)
            .field("changes", &self.changes)
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

/// What applying an item sends.
#[derive(Clone, Default)]
pub(crate) enum Payload {
    /// Nothing (unchanged, not declared, or a delete, which needs only id and etag).
    #[default]
    None,
    /// The whole record for a bulk create or update (an update carries the etag).
    Record(Map<String, Value>),
    /// A CA certificate: upload (when `upload` holds the certificate), then set verified or
    /// prove possession.
    Certificate {
        upload: Option<String>,
        is_verified: Option<bool>,
        prove: Option<(String, Possession)>,
    },
}

/// Counts by action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Records to create.
    pub create: usize,
    /// Records to update.
    pub update: usize,
    /// Records to delete.
    pub delete: usize,
    /// Records already as declared.
    pub unchanged: usize,
    /// Records on the service the files do not declare, kept.
    pub not_declared: usize,
    /// Items that cannot be applied as declared.
    pub problems: usize,
}

/// Everything applying the files would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Counts by action.
    pub summary: Summary,
    /// Whether undeclared records are deleted.
    pub prune: bool,
    /// One entry per record: certificates, then groups, then enrollments.
    pub items: Vec<PlanItem>,
}

impl Plan {
    /// Whether applying would change nothing (and nothing is in the way).
    pub fn is_empty(&self) -> bool {
        let s = &self.summary;
        s.create + s.update + s.delete + s.problems == 0
    }

    /// `N to create, N to update, N to delete, N unchanged` (and the undeclared count).
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let mut line = format!(
            "{} to create, {} to update, {} to delete, {} unchanged",
            s.create, s.update, s.delete, s.unchanged
        );
        if s.not_declared > 0 {
            line.push_str(&format!(
                "; {} on the service not in the files (kept; --prune deletes them)",
                s.not_declared
            ));
        }
        if s.problems > 0 {
            line.push_str(&format!("; {} cannot be applied", s.problems));
        }
        line
    }
}

/// Compares the declared state with the live one.
pub fn compare(desired: &Desired, live: &Live, prune: bool) -> Plan {
    let mut items = Vec::new();
    if let Some(certs) = &live.certificates {
        let by_name: HashMap<String, &Value> = certs
            .iter()
            .filter_map(|c| Some((c.get("name")?.as_str()?.to_ascii_lowercase(), c)))
            .collect();
        for d in &desired.certificates {
            items.push(certificate_item(
                d,
                by_name.get(&d.name.to_ascii_lowercase()).copied(),
            ));
        }
        undeclared(
            &mut items,
            Kind::Certificate,
            certs,
            &desired_ids(
                &desired
                    .certificates
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>(),
            ),
            prune,
        );
    }
    for (kind, declared, live) in [
        (Kind::EnrollmentGroup, &desired.groups, &live.groups),
        (Kind::Enrollment, &desired.enrollments, &live.enrollments),
    ] {
        let by_id: HashMap<String, &Value> = live
            .iter()
            .filter_map(|r| Some((r.get(kind.id_field())?.as_str()?.to_ascii_lowercase(), r)))
            .collect();
        for d in declared {
            items.push(record_item(
                d,
                by_id.get(&d.id.to_ascii_lowercase()).copied(),
            ));
        }
        let ids: Vec<&str> = declared.iter().map(|d| d.id.as_str()).collect();
        undeclared(&mut items, kind, live, &desired_ids(&ids), prune);
    }
    let mut summary = Summary::default();
    for item in &items {
        match item.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Delete => summary.delete += 1,
            Action::Unchanged => summary.unchanged += 1,
            Action::NotDeclared => summary.not_declared += 1,
        }
        summary.problems += usize::from(item.problem.is_some());
    }
    Plan {
        summary,
        prune,
        items,
    }
}

fn desired_ids(ids: &[&str]) -> std::collections::HashSet<String> {
    ids.iter().map(|id| id.to_ascii_lowercase()).collect()
}

/// Live records the files do not declare: deleted with `prune`, else only counted.
fn undeclared(
    items: &mut Vec<PlanItem>,
    kind: Kind,
    live: &[Value],
    declared: &std::collections::HashSet<String>,
    prune: bool,
) {
    for record in live {
        let Some(id) = record.get(kind.id_field()).and_then(Value::as_str) else {
            continue;
        };
        if declared.contains(&id.to_ascii_lowercase()) {
            continue;
        }
        items.push(PlanItem {
            kind,
            id: id.to_owned(),
            action: if prune {
                Action::Delete
            } else {
                Action::NotDeclared
            },
            changes: Vec::new(),
            source: None,
            etag: record
                .get("etag")
                .and_then(Value::as_str)
                .map(str::to_owned),
            warnings: Vec::new(),
            problem: None,
            // A bulk delete sends the record as read (with its etag).
            payload: if prune {
                let mut r = record.as_object().cloned().unwrap_or_default();
                r.remove("registrationState");
                Payload::Record(r)
            } else {
                Payload::None
            },
        });
    }
}

fn changes(diffs: Vec<Difference>) -> Vec<Change> {
    diffs
        .into_iter()
        .map(|d| {
            let secret = is_secret(&d.field);
            Change {
                secret,
                from: if secret { None } else { d.live },
                to: if secret { None } else { d.declared },
                field: d.field,
            }
        })
        .collect()
}

fn record_item(d: &DesiredRecord, live: Option<&Value>) -> PlanItem {
    let mut item = PlanItem {
        kind: d.kind,
        id: d.id.clone(),
        action: Action::Unchanged,
        changes: Vec::new(),
        source: Some(d.source.clone()),
        etag: None,
        warnings: Vec::new(),
        problem: None,
        payload: Payload::None,
    };
    let Some(live) = live else {
        let mut diffs = Vec::new();
        for (key, value) in d.view.iter().filter(|(k, _)| *k != d.kind.id_field()) {
            differences(key, None, Some(value), &mut diffs);
        }
        item.action = Action::Create;
        item.changes = changes(diffs);
        item.payload = Payload::Record(d.wire.clone());
        if let Some(slot) = d.thumbprint_only.first() {
            item.problem = Some(format!(
                "{slot} is given only by thumbprint: creating needs the certificate's `file:`"
            ));
        }
        return item;
    };
    item.etag = live.get("etag").and_then(Value::as_str).map(str::to_owned);
    let view = live_view(live);
    let mut diffs = Vec::new();
    let mut changed = Vec::new();
    for (key, declared) in &d.view {
        // The id is how the records were matched (without regard to case, as the service
        // compares ids), not a field to change.
        if key == d.kind.id_field() {
            continue;
        }
        let theirs = match (key.as_str(), view.get(key)) {
            ("attestation", Some(att)) => Some(align_attestation(declared, att)),
            (_, other) => other.cloned(),
        };
        let before = diffs.len();
        differences(key, theirs.as_ref(), Some(declared), &mut diffs);
        if diffs.len() > before {
            changed.push(key.clone());
        }
    }
    if changed.is_empty() {
        return item;
    }
    item.action = Action::Update;
    item.changes = changes(diffs);
    // The live record, as read (etag, fields this version does not know), with the changed
    // fields replaced.
    let mut record = live.as_object().cloned().unwrap_or_default();
    record.remove("registrationState");
    for key in &changed {
        match d.wire.get(key) {
            Some(v) => record.insert(key.clone(), v.clone()),
            None => record.remove(key),
        };
    }
    keep_live_keys(&mut record, live);
    if changed.iter().any(|k| k == "attestation") && !d.thumbprint_only.is_empty() {
        item.problem = Some(format!(
            "the attestation changes, but {} is given only by thumbprint: give the \
             certificate's `file:`",
            d.thumbprint_only.join(", ")
        ));
    }
    item.payload = Payload::Record(record);
    item
}

/// The symmetric keys an update of a symmetric-key record must carry: a key the file leaves
/// out is the service's (the service would generate a new one for a missing key, locking out
/// every device that uses it). Fills `record`'s missing keys from `live` when both are
/// symmetric-key attestations; keys still missing are read before apply ([`missing_keys`]).
fn keep_live_keys(record: &mut Map<String, Value>, live: &Value) {
    let theirs = &live["attestation"];
    if theirs["type"] != "symmetricKey" {
        return;
    }
    let Some(ours) = record.get_mut("attestation") else {
        return;
    };
    if ours["type"] != "symmetricKey" {
        return;
    }
    if !ours["symmetricKey"].is_object() {
        ours["symmetricKey"] = json!({});
    }
    for key in ["primaryKey", "secondaryKey"] {
        if ours["symmetricKey"][key].is_null() && theirs["symmetricKey"][key].is_string() {
            ours["symmetricKey"][key] = theirs["symmetricKey"][key].clone();
        }
    }
}

/// Whether an update's record is a symmetric-key attestation without both keys (the query
/// answer left them out): they must be read and filled in before it is sent.
pub(crate) fn missing_keys(item: &PlanItem) -> bool {
    let Payload::Record(record) = &item.payload else {
        return false;
    };
    let Some(a) = record.get("attestation") else {
        return false;
    };
    item.action == Action::Update
        && a["type"] == "symmetricKey"
        && (a["symmetricKey"]["primaryKey"].is_null()
            || a["symmetricKey"]["secondaryKey"].is_null())
}

/// Fills an update's missing keys from the record's attestation mechanism as read from the
/// service (`mechanism`), when that is a symmetric-key one.
pub(crate) fn fill_keys(item: &mut PlanItem, mechanism: &Value) {
    if let Payload::Record(record) = &mut item.payload {
        keep_live_keys(record, &json!({ "attestation": mechanism }));
    }
}

fn certificate_item(d: &DesiredCertificate, live: Option<&Value>) -> PlanItem {
    let mut item = PlanItem {
        kind: Kind::Certificate,
        id: d.name.clone(),
        action: Action::Unchanged,
        changes: Vec::new(),
        source: Some(d.source.clone()),
        etag: None,
        warnings: Vec::new(),
        problem: None,
        payload: Payload::None,
    };
    let prove = d
        .possession
        .as_ref()
        .and_then(|p| Some((d.pem.clone()?, p.clone())));
    let Some(live) = live else {
        item.action = Action::Create;
        item.changes = vec![Change {
            field: "certificate.sha1Thumbprint".into(),
            from: None,
            to: Some(json!(d.sha1)),
            secret: false,
        }];
        if let Some(v) = d.is_verified {
            item.changes.push(Change {
                field: "isVerified".into(),
                from: None,
                to: Some(json!(v)),
                secret: false,
            });
        }
        if d.pem.is_none() {
            item.problem =
                Some("given only by thumbprint: uploading needs the certificate's `file:`".into());
        }
        item.payload = Payload::Certificate {
            upload: d.pem.clone(),
            is_verified: if prove.is_some() { None } else { d.is_verified },
            prove,
        };
        return item;
    };
    item.etag = live.get("etag").and_then(Value::as_str).map(str::to_owned);
    let props = &live["properties"];
    let theirs = props["thumbprint"]
        .as_str()
        .map(crate::record::normal_hex)
        .unwrap_or_default();
    let verified = props["isVerified"].as_bool().unwrap_or(false);
    let replace = theirs != d.sha1;
    if replace {
        item.changes.push(Change {
            field: "certificate.sha1Thumbprint".into(),
            from: Some(json!(theirs)),
            to: Some(json!(d.sha1)),
            secret: false,
        });
    }
    // A replaced certificate starts unverified.
    let verified_after = verified && !replace;
    let set_verified = d.is_verified.filter(|v| *v != verified_after);
    if let Some(v) = d.is_verified.filter(|v| *v != verified) {
        item.changes.push(Change {
            field: "isVerified".into(),
            from: Some(json!(verified)),
            to: Some(json!(v)),
            secret: false,
        });
    }
    if !replace && set_verified.is_none() {
        return item;
    }
    item.action = Action::Update;
    let proving = set_verified == Some(true) && prove.is_some();
    // A PUT is needed to replace the certificate or to set isVerified without a proof; it
    // carries the certificate itself.
    let put = replace || (set_verified.is_some() && !proving);
    if put && d.pem.is_none() {
        item.problem =
            Some("given only by thumbprint: changing it needs the certificate's `file:`".into());
    }
    item.payload = Payload::Certificate {
        upload: if put { d.pem.clone() } else { None },
        is_verified: if proving { None } else { set_verified },
        prove: if proving { prove } else { None },
    };
    item
}

#[cfg(test)]
mod tests;
