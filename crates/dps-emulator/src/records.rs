//! How enrollment records are validated, completed and shown: the server-side fields DPS fills
//! (etag, timestamps, generated keys, certificate `info`), the certificates it keeps but never
//! echoes, and the read-modify-write rule that a PUT carrying only `info` keeps the stored
//! certificate.

use crate::error::{ApiError, ApiResult, codes};
use crate::x509info;
use base64::Engine;
use dps_protocol::models::timestamp::Timestamp;
use dps_protocol::models::{EnrollmentGroup, IndividualEnrollment};
use serde_json::{Map, Value, json};

/// Which collection a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    /// Individual enrollments.
    Enrollments,
    /// Enrollment groups.
    Groups,
}

impl Collection {
    /// The JSON field holding the id.
    pub(crate) fn id_field(self) -> &'static str {
        match self {
            Collection::Enrollments => "registrationId",
            Collection::Groups => "enrollmentGroupId",
        }
    }

    /// The store kind.
    pub(crate) fn kind(self) -> crate::store::Kind {
        match self {
            Collection::Enrollments => crate::store::Kind::Enrollment,
            Collection::Groups => crate::store::Kind::Group,
        }
    }

    /// 404 for a missing record.
    pub(crate) fn not_found(self, id: &str) -> ApiError {
        match self {
            Collection::Enrollments => ApiError::new(
                codes::ENROLLMENT_NOT_FOUND,
                format!("Enrollment {id:?} not found"),
            ),
            Collection::Groups => ApiError::new(
                codes::GROUP_NOT_FOUND,
                format!("Enrollment group {id:?} not found"),
            ),
        }
    }

    /// `x-ms-item-type` of query responses.
    pub(crate) fn item_type(self) -> &'static str {
        match self {
            Collection::Enrollments => "Enrollment",
            Collection::Groups => "EnrollmentGroup",
        }
    }
}

/// A new opaque ETag in the service's format: base64 of a quoted GUID-like string.
pub(crate) fn new_etag() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\"{}\"", crate::error::new_uuid()))
}

/// Checks a record sent by a client and returns its normalised JSON, ready to merge with the
/// stored one. `path_id` is the id from the URL.
pub(crate) fn validate(collection: Collection, path_id: &str, body: Value) -> ApiResult<Value> {
    let Value::Object(obj) = body else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut body = Value::Object(obj);
    // The typed models say which fields are required and what shape they have.
    let typed_err = |e: serde_json::Error| {
        ApiError::bad_request(format!(
            "invalid {}: {e}",
            match collection {
                Collection::Enrollments => "individual enrollment",
                Collection::Groups => "enrollment group",
            }
        ))
    };
    match collection {
        Collection::Enrollments => {
            serde_json::from_value::<IndividualEnrollment>(body.clone()).map_err(typed_err)?;
        }
        Collection::Groups => {
            serde_json::from_value::<EnrollmentGroup>(body.clone()).map_err(typed_err)?;
        }
    }
    crate::service::check_known_values(&mut body)?;
    let body_id = body
        .get(collection.id_field())
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !body_id.eq_ignore_ascii_case(path_id) {
        return Err(ApiError::bad_request(format!(
            "{} {body_id:?} in the body does not match {path_id:?} in the path",
            collection.id_field()
        )));
    }
    check_id(path_id)?;
    check_attestation(collection, &body)?;
    Ok(body)
}

/// The registration-id rule, as a 400.
pub(crate) fn check_id(id: &str) -> ApiResult<()> {
    dps_protocol::check_registration_id(id)
        .map(|_| ())
        .map_err(|e| ApiError::new(codes::INVALID_ID, e.to_string()))
}

fn check_attestation(collection: Collection, body: &Value) -> ApiResult<()> {
    let att = body
        .get("attestation")
        .ok_or_else(|| ApiError::bad_request("attestation is required"))?;
    let kind = att.get("type").and_then(Value::as_str).unwrap_or_default();
    let member = match kind {
        "x509" => "x509",
        "symmetricKey" => "symmetricKey",
        "tpm" => "tpm",
        "none" => {
            return Err(ApiError::bad_request(
                "attestation type 'none' cannot be enrolled",
            ));
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown attestation type {other:?}"
            )));
        }
    };
    if collection == Collection::Groups && kind == "tpm" {
        return Err(ApiError::bad_request(
            "enrollment groups support x509 and symmetricKey attestation only",
        ));
    }
    let m = att.get(member);
    match kind {
        "tpm" => {
            let ek = m
                .and_then(|t| t.get("endorsementKey"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if ek.is_empty()
                || base64::engine::general_purpose::STANDARD
                    .decode(ek)
                    .is_err()
            {
                return Err(ApiError::bad_request("tpm.endorsementKey must be base64"));
            }
        }
        "symmetricKey" => {
            for k in ["primaryKey", "secondaryKey"] {
                if let Some(v) = m.and_then(|s| s.get(k)).and_then(Value::as_str) {
                    let len = base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map(|b| b.len())
                        .unwrap_or(0);
                    if !(16..=64).contains(&len) {
                        return Err(ApiError::bad_request(format!(
                            "symmetricKey.{k} must be base64 of 16 to 64 bytes"
                        )));
                    }
                }
            }
        }
        _ => {
            let x = m.ok_or_else(|| {
                ApiError::bad_request("attestation.x509 is required for type x509")
            })?;
            let has = |f: &str| x.get(f).is_some_and(|v| !v.is_null());
            match collection {
                Collection::Enrollments if !has("clientCertificates") => {
                    return Err(ApiError::bad_request(
                        "an individual X.509 enrollment needs x509.clientCertificates",
                    ));
                }
                Collection::Enrollments if has("signingCertificates") || has("caReferences") => {
                    return Err(ApiError::bad_request(
                        "signingCertificates and caReferences are for enrollment groups",
                    ));
                }
                Collection::Groups if has("clientCertificates") => {
                    return Err(ApiError::bad_request(
                        "clientCertificates are for individual enrollments",
                    ));
                }
                Collection::Groups if !has("signingCertificates") && !has("caReferences") => {
                    return Err(ApiError::bad_request(
                        "an X.509 group needs x509.signingCertificates or x509.caReferences",
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Completes a validated record against the stored one: certificates (a slot with only `info`
/// keeps the stored certificate), `info` computed from each certificate, symmetric keys kept or
/// generated, timestamps and a new etag.
pub(crate) fn complete(
    mut body: Value,
    current: Option<&Value>,
    now: &Timestamp,
) -> ApiResult<Value> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
    obj.remove("registrationState");
    if let Some(x509) = obj
        .get_mut("attestation")
        .and_then(|a| a.get_mut("x509"))
        .and_then(Value::as_object_mut)
    {
        for set in ["clientCertificates", "signingCertificates"] {
            for slot in ["primary", "secondary"] {
                let Some(entry) = x509
                    .get_mut(set)
                    .and_then(|s| s.get_mut(slot))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                let stored = current
                    .and_then(|c| c.pointer(&format!("/attestation/x509/{set}/{slot}/certificate")))
                    .and_then(Value::as_str);
                let cert = match entry.get("certificate").and_then(Value::as_str) {
                    Some(c) => c.to_owned(),
                    None => stored.map(str::to_owned).ok_or_else(|| {
                        ApiError::bad_request(format!("x509.{set}.{slot} has no certificate"))
                    })?,
                };
                let der = x509info::decode(&cert)?;
                entry.insert("certificate".into(), Value::String(cert));
                entry.insert("info".into(), x509info::info(&der)?);
            }
        }
    }
    if let Some(sk) = obj
        .get_mut("attestation")
        .and_then(Value::as_object_mut)
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("symmetricKey"))
        .map(|a| a.entry("symmetricKey").or_insert(Value::Null))
    {
        if sk.is_null() {
            *sk = Value::Object(Map::new());
        }
        if let Some(sk) = sk.as_object_mut() {
            for k in ["primaryKey", "secondaryKey"] {
                if sk.get(k).and_then(Value::as_str).is_none() {
                    let kept = current
                        .and_then(|c| c.pointer(&format!("/attestation/symmetricKey/{k}")))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    sk.insert(k.into(), Value::String(kept.unwrap_or_else(random_key)));
                }
            }
        }
    }
    if obj.get("provisioningStatus").is_none_or(Value::is_null) {
        obj.insert("provisioningStatus".into(), json!("enabled"));
    }
    let created = current
        .and_then(|c| c.get("createdDateTimeUtc"))
        .cloned()
        .unwrap_or_else(|| json!(now.as_str()));
    obj.insert("createdDateTimeUtc".into(), created);
    obj.insert("lastUpdatedDateTimeUtc".into(), json!(now.as_str()));
    obj.insert("etag".into(), json!(new_etag()));
    Ok(body)
}

/// What clients see: the stored record without certificate bodies (the service returns `info`
/// only) and without nulls.
pub(crate) fn present(stored: &Value) -> Value {
    let mut v = stored.clone();
    if let Some(x509) = v
        .pointer_mut("/attestation/x509")
        .and_then(Value::as_object_mut)
    {
        for set in ["clientCertificates", "signingCertificates"] {
            for slot in ["primary", "secondary"] {
                if let Some(e) = x509
                    .get_mut(set)
                    .and_then(|s| s.get_mut(slot))
                    .and_then(Value::as_object_mut)
                {
                    e.remove("certificate");
                }
            }
        }
    }
    // `_`-prefixed top-level keys are internal; deeper ones are user data (twin tags...).
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with('_'));
    }
    strip_nulls(&mut v);
    v
}

/// Free-form documents the service stores and echoes verbatim, nulls included.
const VERBATIM: [&str; 3] = ["initialTwin", "optionalDeviceInformation", "payload"];

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            // Nulls are omitted, as the service does, except inside free-form documents.
            m.retain(|_, x| !x.is_null());
            for (k, x) in m.iter_mut() {
                if !VERBATIM.contains(&k.as_str()) {
                    strip_nulls(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// A 64-byte random key, base64.
pub(crate) fn random_key() -> String {
    let mut b = [0u8; 64];
    let _ = aws_lc_rs::rand::fill(&mut b);
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The attestation type of a stored record (`x509`, `symmetricKey`, `tpm`).
pub(crate) fn attestation_type(v: &Value) -> &str {
    v.pointer("/attestation/type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
