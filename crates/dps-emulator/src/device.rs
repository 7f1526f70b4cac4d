//! The device runtime API: `PUT {idScope}/registrations/{id}/register`, the operation status
//! poll and the registration status lookup, with X.509 (TLS client certificate) and
//! symmetric-key (SAS) attestation, enrollment precedence, allocation and reprovisioning.

use crate::allocation::{allocate, reprovision};
use crate::app::{App, Req, json_response, method_not_allowed, unknown_path};
use crate::chain;
use crate::error::{ApiError, ApiResult, codes, new_uuid};
use crate::records::{self, new_etag};
use crate::store::{Kind, Record};
use crate::x509info;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use dps_protocol::auth::{DEFAULT_SKEW_SECS, SasToken, Secret, derive_device_key};
use dps_protocol::models::timestamp::Timestamp;
use rustls::pki_types::{CertificateDer, UnixTime};
use serde_json::{Value, json};
use std::sync::Arc;

/// Operations stay addressable this long.
const OPERATION_LIFETIME_SECS: i64 = 3600;

/// The enrollment a device authenticated against.
#[derive(Debug)]
struct Matched {
    enrollment: Value,
    group_id: Option<String>,
    /// `x509` or `symmetricKey`.
    attestation: &'static str,
    leaf_info: Option<Value>,
    signing_info: Option<Value>,
}

fn unauthorized(m: impl Into<String>) -> ApiError {
    ApiError::new(codes::UNAUTHORIZED, m)
}

/// Routes a device API request (`/{idScope}/registrations/...`).
pub(crate) async fn handle(app: &Arc<App>, req: &Req) -> ApiResult<Response> {
    let s = &req.segments;
    if !s[0].eq_ignore_ascii_case(&app.config.id_scope) {
        return Err(ApiError::new(
            codes::NOT_FOUND,
            format!(
                "unknown ID scope {:?}; this emulator serves {:?}",
                s[0], app.config.id_scope
            ),
        ));
    }
    let id = &s[2];
    match (s.len(), &req.method) {
        (4, &Method::PUT) if req.lit(3, "register") => register(app, req, id).await,
        (5, &Method::GET) if req.lit(3, "operations") => operation(app, req, id, &s[4]),
        (3, &Method::POST) => {
            authenticate(app, req, id)?;
            let rec = app.store.get(Kind::Registration, id)?.ok_or_else(|| {
                ApiError::new(
                    codes::REGISTRATION_NOT_FOUND,
                    format!("Registration {id:?} not found"),
                )
            })?;
            json_response(StatusCode::OK, &records::present(&rec.body))
        }
        (3..=5, _) => Err(method_not_allowed(req)),
        _ => Err(unknown_path(req)),
    }
}

async fn register(app: &Arc<App>, req: &Req, id: &str) -> ApiResult<Response> {
    records::check_id(id)?;
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        req.json()?
    };
    if let Some(body_id) = body.get("registrationId").and_then(Value::as_str)
        && !body_id.eq_ignore_ascii_case(id)
    {
        return Err(ApiError::bad_request(format!(
            "registrationId {body_id:?} in the body does not match {id:?} in the path"
        )));
    }
    let matched = authenticate(app, req, id)?;
    let now = app.config.clock.now();
    let previous = app.store.get(Kind::Registration, id)?;
    let result = assign(
        app,
        &matched,
        id,
        body.get("payload").cloned(),
        previous.as_ref(),
    )
    .await;
    let stamp = Timestamp::from_datetime(now).into_string();
    let mut state = match result {
        Ok(state) => state,
        Err(e) => {
            // A failed attempt keeps where the device was, so the next success is reported
            // against its real history.
            let mut failed = json!({"registrationId": id, "status": "failed", "errorCode": e.code, "errorMessage": e.message});
            for key in ["assignedHub", "deviceId", "_initialHub"] {
                if let Some(v) = previous.as_ref().and_then(|p| p.body.get(key)) {
                    failed[key] = v.clone();
                }
            }
            failed
        }
    };
    state["createdDateTimeUtc"] = previous
        .as_ref()
        .and_then(|p| p.body.get("createdDateTimeUtc").cloned())
        .unwrap_or_else(|| json!(stamp));
    state["lastUpdatedDateTimeUtc"] = json!(stamp);
    state["etag"] = json!(new_etag());
    let stored = Record {
        id: id.to_owned(),
        parent: matched.group_id.clone(),
        etag: state["etag"].as_str().unwrap_or_default().to_owned(),
        body: state.clone(),
    };
    app.store
        .put_checked::<()>(Kind::Registration, &stored, |_| Ok(()))?
        .ok();

    let mut result = records::present(&state);
    match matched.attestation {
        "x509" => {
            result["x509"] = json!({
                "certificateInfo": matched.leaf_info,
                "enrollmentGroupId": matched.group_id,
                "signingCertificateInfo": matched.signing_info,
            });
        }
        _ => result["symmetricKey"] = json!({"enrollmentGroupId": matched.group_id}),
    }
    let result = records::present(&result);
    // Earlier operations of this device are superseded: drop them so the store stays bounded.
    for old in app
        .store
        .list(Kind::Operation, Some(id), None, usize::MAX)?
    {
        app.store
            .delete_checked::<()>(Kind::Operation, &old.id, |_| Ok(()))?
            .ok();
    }
    let operation_id = format!("4.{}.{}", &new_uuid()[..8], new_uuid());
    let op = Record {
        id: operation_id.clone(),
        parent: Some(id.to_owned()),
        etag: String::new(),
        body: json!({
            "result": result,
            "pollsLeft": app.config.pending_polls,
            "created": now.unix_timestamp(),
        }),
    };
    app.store
        .put_checked::<()>(Kind::Operation, &op, |_| Ok(()))?
        .ok();
    accepted(
        app,
        json!({"operationId": operation_id, "status": "assigning"}),
    )
}

fn accepted(app: &App, body: Value) -> ApiResult<Response> {
    let mut resp = json_response(StatusCode::ACCEPTED, &body)?;
    if let Ok(v) = HeaderValue::from_str(&app.config.retry_after_secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(resp)
}

fn operation(app: &App, req: &Req, id: &str, operation_id: &str) -> ApiResult<Response> {
    authenticate(app, req, id)?;
    let not_found = || {
        ApiError::new(
            codes::NOT_FOUND,
            format!("operation {operation_id:?} of {id:?} not found"),
        )
    };
    let mut op = app
        .store
        .get(Kind::Operation, operation_id)?
        .ok_or_else(not_found)?;
    let created = op.body.get("created").and_then(Value::as_i64).unwrap_or(0);
    if op.parent.as_deref() != Some(&id.to_lowercase())
        || app.config.clock.now().unix_timestamp() - created > OPERATION_LIFETIME_SECS
    {
        return Err(not_found());
    }
    let polls_left = op
        .body
        .get("pollsLeft")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if polls_left > 0 {
        op.body["pollsLeft"] = json!(polls_left - 1);
        app.store
            .put_checked::<()>(Kind::Operation, &op, |_| Ok(()))?
            .ok();
        return accepted(
            app,
            json!({"operationId": operation_id, "status": "assigning", "registrationState": {"registrationId": id, "status": "assigning"}}),
        );
    }
    let result = op.body.get("result").cloned().unwrap_or(Value::Null);
    let status = result.get("status").cloned().unwrap_or(json!("failed"));
    json_response(
        StatusCode::OK,
        &json!({"operationId": operation_id, "status": status, "registrationState": result}),
    )
}

/// Decides the hub and builds the registration state (without timestamps and etag).
async fn assign(
    app: &App,
    m: &Matched,
    id: &str,
    payload: Option<Value>,
    previous: Option<&Record>,
) -> ApiResult<Value> {
    let device_id = m
        .enrollment
        .get("deviceId")
        .and_then(Value::as_str)
        .filter(|_| m.group_id.is_none())
        .unwrap_or(id);
    if m.enrollment
        .get("provisioningStatus")
        .and_then(Value::as_str)
        == Some("disabled")
    {
        let which = m.group_id.as_ref().map_or_else(
            || format!("the enrollment {id:?}"),
            |g| format!("the enrollment group {g:?}"),
        );
        return Ok(json!({
            "registrationId": id,
            "status": "disabled",
            "errorCode": codes::UNAUTHORIZED,
            "errorMessage": format!("{which} is disabled"),
        }));
    }
    let context = json!({
        "registrationId": id,
        "currentIotHubHostName": previous.and_then(|p| p.body.get("assignedHub")).cloned(),
        "currentDeviceId": previous.and_then(|p| p.body.get("deviceId")).cloned(),
        "x509": m.leaf_info.as_ref().map(|i| json!({"subjectName": i["subjectName"], "sha1Thumbprint": i["sha1Thumbprint"]})),
        "symmetricKey": (m.attestation == "symmetricKey").then(|| json!({})),
        "payload": payload,
    });
    let a = allocate(&m.enrollment, &app.config.iot_hubs, id, context).await?;
    let (hub, substatus) = reprovision(previous.map(|p| &p.body), &m.enrollment, &a.hub);
    let initial = previous
        .and_then(|p| {
            p.body
                .get("_initialHub")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| hub.clone());
    let mut state = json!({
        "registrationId": id,
        "assignedHub": hub,
        "deviceId": device_id,
        "status": "assigned",
        "substatus": substatus,
        "_initialHub": initial,
    });
    if let Some(p) = a.payload {
        state["payload"] = p;
    }
    Ok(state)
}

/// Finds the enrollment the request proves membership of: SAS for symmetric keys, the TLS
/// client chain for X.509. An individual enrollment wins over groups.
fn authenticate(app: &App, req: &Req, id: &str) -> ApiResult<Matched> {
    if let Some(auth) = req.header("authorization") {
        return symmetric(app, req, id, auth);
    }
    let certs = req.conn.peer_certificates.clone().ok_or_else(|| {
        unauthorized(format!(
            "{id:?} presented no client certificate and no SharedAccessSignature; an X.509 device must send its \
             certificate chain in the TLS handshake"
        ))
    })?;
    x509(app, id, &certs)
}

fn symmetric(app: &App, req: &Req, id: &str, auth: &str) -> ApiResult<Matched> {
    let token = SasToken::parse(auth)
        .map_err(|e| unauthorized(format!("invalid SharedAccessSignature: {e}")))?;
    if !token
        .policy_name()
        .is_some_and(|p| p.eq_ignore_ascii_case("registration"))
    {
        return Err(unauthorized(
            "a device SharedAccessSignature must have skn=registration",
        ));
    }
    let audience = percent_encoding::percent_decode_str(req.raw_path.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let now = app.config.clock.unix();
    let try_keys = |keys: &[Secret]| {
        let refs: Vec<&Secret> = keys.iter().collect();
        token.verify(&refs, &audience, now, DEFAULT_SKEW_SECS)
    };
    let keys_of = |e: &Value| -> Vec<Secret> {
        ["primaryKey", "secondaryKey"]
            .iter()
            .filter_map(|k| {
                e.pointer(&format!("/attestation/symmetricKey/{k}"))
                    .and_then(Value::as_str)
            })
            .map(Secret::from)
            .collect()
    };
    if let Some(ind) = app.store.get(Kind::Enrollment, id)? {
        if records::attestation_type(&ind.body) != "symmetricKey" {
            return Err(unauthorized(format!(
                "the individual enrollment {id:?} uses {} attestation, not a symmetric key",
                records::attestation_type(&ind.body)
            )));
        }
        try_keys(&keys_of(&ind.body)).map_err(|e| {
            unauthorized(format!(
                "the SharedAccessSignature does not match the enrollment {id:?}: {e}"
            ))
        })?;
        return Ok(Matched {
            enrollment: ind.body,
            group_id: None,
            attestation: "symmetricKey",
            leaf_info: None,
            signing_info: None,
        });
    }
    let mut last = None;
    for g in app.store.list(Kind::Group, None, None, usize::MAX)? {
        if records::attestation_type(&g.body) != "symmetricKey" {
            continue;
        }
        let derived: Vec<Secret> = keys_of(&g.body)
            .iter()
            .filter_map(|k| derive_device_key(k, id).ok())
            .collect();
        match try_keys(&derived) {
            Ok(()) => {
                return Ok(Matched {
                    enrollment: g.body,
                    group_id: Some(g.id),
                    attestation: "symmetricKey",
                    leaf_info: None,
                    signing_info: None,
                });
            }
            Err(e) => last = Some(e),
        }
    }
    Err(unauthorized(match last {
        Some(e) => format!(
            "the SharedAccessSignature of {id:?} matches no individual enrollment and no symmetric-key group's derived key ({e})"
        ),
        None => {
            format!("no individual enrollment {id:?} and no symmetric-key enrollment group exist")
        }
    }))
}

fn x509(app: &App, id: &str, certs: &[CertificateDer<'static>]) -> ApiResult<Matched> {
    let leaf = certs
        .first()
        .ok_or_else(|| unauthorized("empty client certificate chain"))?;
    let cn = chain::common_name(leaf).unwrap_or_default();
    if !cn.eq_ignore_ascii_case(id) {
        return Err(unauthorized(format!(
            "the registration id in the path ({id:?}) is not the device certificate's common name ({cn:?})"
        )));
    }
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(app.config.clock.unix()));
    let leaf_info = x509info::info(leaf)?;
    if let Some(ind) = app.store.get(Kind::Enrollment, id)? {
        if records::attestation_type(&ind.body) != "x509" {
            return Err(unauthorized(format!(
                "the individual enrollment {id:?} uses {} attestation, not X.509",
                records::attestation_type(&ind.body)
            )));
        }
        let matches = ["primary", "secondary"].iter().any(|slot| {
            stored_cert(
                &ind.body,
                &format!("/attestation/x509/clientCertificates/{slot}/certificate"),
            )
            .is_some_and(|c| c == *leaf)
        });
        if !matches {
            return Err(unauthorized(format!(
                "the device certificate (SHA-256 {}) is not the certificate of the individual enrollment {id:?}",
                leaf_info["sha256Thumbprint"].as_str().unwrap_or_default()
            )));
        }
        chain::check_leaf(leaf, now).map_err(unauthorized)?;
        return Ok(Matched {
            enrollment: ind.body,
            group_id: None,
            attestation: "x509",
            leaf_info: Some(leaf_info),
            signing_info: None,
        });
    }
    let verified: Vec<CertificateDer<'static>> = app
        .store
        .list(Kind::Certificate, None, None, usize::MAX)?
        .iter()
        .filter(|c| c.body.get("isVerified").and_then(Value::as_bool) == Some(true))
        .filter_map(|c| {
            c.body
                .get("certificate")
                .and_then(Value::as_str)
                .and_then(|t| x509info::decode(t).ok())
        })
        // webpki does not check a trust anchor's dates: an expired verified CA must not count.
        .filter(|c| chain::check_one(c, "verified CA certificate", now).is_ok())
        .collect();
    // Every group whose certificate is on the device's signature path, nearest the leaf first.
    let mut candidates: Vec<(usize, Record, CertificateDer<'static>)> = Vec::new();
    for g in app.store.list(Kind::Group, None, None, usize::MAX)? {
        if records::attestation_type(&g.body) != "x509" {
            continue;
        }
        for cert in group_certificates(app, &g.body)? {
            if let Some(d) = chain::distance(certs, &cert) {
                candidates.push((d, g.clone(), cert));
            }
        }
    }
    candidates.sort_by_key(|(d, _, _)| *d);
    let mut first_refusal = None;
    for (_, group, group_cert) in &candidates {
        match chain::verify(certs, group_cert, &verified, now) {
            Ok(()) => {
                return Ok(Matched {
                    enrollment: group.body.clone(),
                    group_id: Some(group.id.clone()),
                    attestation: "x509",
                    leaf_info: Some(leaf_info),
                    signing_info: Some(x509info::info(group_cert)?),
                });
            }
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_refusal {
        return Err(unauthorized(e));
    }
    if let Some(why) = unverified_reference_on_chain(app, certs)? {
        return Err(unauthorized(why));
    }
    let sent = certs
        .iter()
        .map(|c| chain::subject(c))
        .collect::<Vec<_>>()
        .join(" <- ");
    let top = certs.last().map(|c| c.as_ref()).unwrap_or_default();
    let missing = chain::issuer(top)
        .filter(|i| *i != chain::subject(top))
        .map(|i| format!("; the last one was issued by {i}, which the device did not send"))
        .unwrap_or_default();
    Err(unauthorized(format!(
        "no individual enrollment {id:?} and no enrollment group whose certificate is on the device's chain ({sent}{missing}); \
         enroll the intermediate or root CA that issued it, and make the device send every intermediate"
    )))
}

fn stored_cert(body: &Value, pointer: &str) -> Option<CertificateDer<'static>> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| x509info::decode(t).ok())
}

/// A group's certificates: its signing certificates, or the verified CA certificates its
/// `caReferences` name.
fn group_certificates(app: &App, group: &Value) -> ApiResult<Vec<CertificateDer<'static>>> {
    let mut out = Vec::new();
    for slot in ["primary", "secondary"] {
        if let Some(c) = stored_cert(
            group,
            &format!("/attestation/x509/signingCertificates/{slot}/certificate"),
        ) {
            out.push(c);
        }
        if let Some(name) = group
            .pointer(&format!("/attestation/x509/caReferences/{slot}"))
            .and_then(Value::as_str)
            && let Some(rec) = app.store.get(Kind::Certificate, name)?
            && rec.body.get("isVerified").and_then(Value::as_bool) == Some(true)
            && let Some(c) = stored_cert(&rec.body, "/certificate")
        {
            out.push(c);
        }
    }
    Ok(out)
}

/// Why no group matched when a group's `caReferences` names an uploaded CA certificate that is
/// on the device's chain but not verified: that group would match once the CA is verified.
fn unverified_reference_on_chain(
    app: &App,
    certs: &[CertificateDer<'static>],
) -> ApiResult<Option<String>> {
    for g in app.store.list(Kind::Group, None, None, usize::MAX)? {
        for slot in ["primary", "secondary"] {
            let Some(name) = g
                .body
                .pointer(&format!("/attestation/x509/caReferences/{slot}"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            if let Some(rec) = app.store.get(Kind::Certificate, name)?
                && rec.body.get("isVerified").and_then(Value::as_bool) != Some(true)
                && let Some(c) = stored_cert(&rec.body, "/certificate")
                && chain::distance(certs, &c).is_some()
            {
                return Ok(Some(format!(
                    "the enrollment group {:?} references the CA certificate {name:?} ({}), which is on the device's \
                     chain but not verified: complete proof of possession for it",
                    g.id,
                    chain::subject(&c)
                )));
            }
        }
    }
    Ok(None)
}
