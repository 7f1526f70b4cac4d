//! The service API: enrollments, enrollment groups, bulk operations, queries and registration
//! states, as `../shared/reference/dps-api.md` §1 describes them.

use crate::app::{App, Req, json_response, method_not_allowed, unknown_path};
use crate::auth::Right;
use crate::error::{ApiError, ApiResult, codes};
use crate::records::{self, Collection};
use crate::store::{Kind, Record};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use dps_protocol::models::timestamp::Timestamp;
use dps_protocol::models::{AllocationPolicy, AttestationType, ProvisioningStatus, WireEnum};
use serde_json::{Value, json};

/// The largest page served, whatever `x-ms-max-item-count` asks for.
const MAX_PAGE_SIZE: usize = 10_000;

/// The enum values of an enrollment or group a client writes (PUT, bulk items, the console),
/// checked in this one place: `attestation.type`, `provisioningStatus` and
/// `allocationPolicy` must be documented values ([`known`]).
///
/// The models read any value (a newer service may add some), but the service refuses what it
/// does not know, so the emulator must not store it.
pub(crate) fn check_known_values(body: &mut Value) -> ApiResult<()> {
    known::<AttestationType>(body, "/attestation/type", "attestation.type")?;
    known::<ProvisioningStatus>(body, "/provisioningStatus", "provisioningStatus")?;
    known::<AllocationPolicy>(body, "/allocationPolicy", "allocationPolicy")
}

/// The string at `pointer` in `body`, when there is one, must be a documented value of `E`
/// ([`WireEnum::is_known`]), else a 400 naming `field` and the values allowed. A documented
/// value in another case (`Disabled`, ARM's `Hashed`) is stored in the wire's spelling, the
/// one the emulator's own rules compare with. Absent and null fields are left to the defaults;
/// a value that is not a string was refused by the typed models already.
pub(crate) fn known<E: WireEnum>(body: &mut Value, pointer: &str, field: &str) -> ApiResult<()> {
    let Some(slot) = body.pointer_mut(pointer) else {
        return Ok(());
    };
    let Some(text) = slot.as_str() else {
        return Ok(());
    };
    if E::from(text.to_owned()).is_known() {
        return Ok(());
    }
    if let Some(wire) = E::KNOWN.iter().find(|k| k.eq_ignore_ascii_case(text)) {
        *slot = Value::String((*wire).to_owned());
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{field} {text:?} is not a known value; use one of: {}",
        E::KNOWN.join(", ")
    )))
}

/// Routes one service API request.
pub(crate) fn handle(app: &App, req: &Req) -> ApiResult<Response> {
    let s = &req.segments;
    let m = &req.method;
    let collection = if req.lit(0, "enrollments") {
        Some(Collection::Enrollments)
    } else if req.lit(0, "enrollmentGroups") {
        Some(Collection::Groups)
    } else {
        None
    };
    if let Some(c) = collection {
        return match (s.len(), m) {
            (1, &Method::POST) => {
                app.authorize(req, Right::Write)?;
                crate::bulk::run(app, c, req)
            }
            (2, &Method::POST) if req.lit(1, "query") => {
                app.authorize(req, Right::Read)?;
                query(app, c, req)
            }
            (2, &Method::GET) => {
                app.authorize(req, Right::Read)?;
                get(app, c, &s[1])
            }
            (2, &Method::PUT) => {
                app.authorize(req, Right::Write)?;
                let shown = replace(
                    app,
                    c,
                    &s[1],
                    req.json()?,
                    Precondition::from(req.if_match()),
                )?;
                json_response(StatusCode::OK, &shown)
            }
            (2, &Method::DELETE) => {
                app.authorize(req, Right::Write)?;
                delete_enrollment(app, c, &s[1], req.if_match())?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (3, &Method::POST) if req.lit(2, "attestationmechanism") => {
                app.authorize(req, Right::Read)?;
                let rec = app
                    .store
                    .get(c.kind(), &s[1])?
                    .ok_or_else(|| c.not_found(&s[1]))?;
                let att = records::present(&rec.body)
                    .get("attestation")
                    .cloned()
                    .unwrap_or(Value::Null);
                json_response(StatusCode::OK, &att)
            }
            (1..=3, _) => Err(method_not_allowed(req)),
            _ => Err(unknown_path(req)),
        };
    }
    if req.lit(0, "registrations") {
        return match (s.len(), m) {
            (2, &Method::GET) => {
                app.authorize(req, Right::Read)?;
                let rec = registration(app, &s[1])?;
                json_response(StatusCode::OK, &records::present(&rec.body))
            }
            (2, &Method::DELETE) => {
                app.authorize(req, Right::Write)?;
                delete_registration(app, &s[1], req.if_match())?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (3, &Method::POST) if req.lit(2, "query") => {
                app.authorize(req, Right::Read)?;
                page(
                    app,
                    req,
                    Kind::Registration,
                    Some(&s[1]),
                    "DeviceRegistration",
                )
            }
            (2..=3, _) => Err(method_not_allowed(req)),
            _ => Err(unknown_path(req)),
        };
    }
    Err(unknown_path(req))
}

fn registration_not_found(id: &str) -> ApiError {
    ApiError::new(
        codes::REGISTRATION_NOT_FOUND,
        format!("Registration {id:?} not found"),
    )
}

/// The registration record `id`, or the API's 404 (`GET /registrations/{id}`; the console's
/// registration records page).
pub(crate) fn registration(app: &App, id: &str) -> ApiResult<Record> {
    app.store
        .get(Kind::Registration, id)?
        .ok_or_else(|| registration_not_found(id))
}

/// Deletes registration record `id`, honouring `If-Match`, and what the engine remembered of
/// the device (`DELETE /registrations/{id}`; the console's Delete).
pub(crate) fn delete_registration(app: &App, id: &str, if_match: Option<String>) -> ApiResult<()> {
    delete(app, Kind::Registration, id, if_match, || {
        registration_not_found(id)
    })?;
    app.engine().forget(id)
}

fn get(app: &App, c: Collection, id: &str) -> ApiResult<Response> {
    json_response(StatusCode::OK, &read(app, c, id)?)
}

/// An enrollment or group as `GET /enrollments/{id}` or `GET /enrollmentGroups/{id}` shows
/// it (an enrollment with its device's registration state), or the API's 404. The console's
/// detail page shows the same.
pub(crate) fn read(app: &App, c: Collection, id: &str) -> ApiResult<Value> {
    let rec = app
        .store
        .get(c.kind(), id)?
        .ok_or_else(|| c.not_found(id))?;
    let mut out = records::present(&rec.body);
    if c == Collection::Enrollments
        && let Some(obj) = out.as_object_mut()
    {
        // GET shows the device's registration; a never-registered enrollment shows
        // `unassigned`, as the real service does.
        let state = match app.store.get(Kind::Registration, id)? {
            Some(r) => records::present(&r.body),
            None => json!({"registrationId": rec.id, "status": "unassigned"}),
        };
        obj.insert("registrationState".into(), state);
    }
    Ok(out)
}

/// `PUT /enrollments/{id}` and `PUT /enrollmentGroups/{id}`: validates the record a client
/// sent, writes it under `pre` and returns it as the API shows it. The console's
/// enable/disable sends what it read back here, as a client's GET-modify-PUT would.
pub(crate) fn replace(
    app: &App,
    c: Collection,
    id: &str,
    sent: Value,
    pre: Precondition,
) -> ApiResult<Value> {
    let body = records::validate(c, id, sent)?;
    let stored = upsert(app, c, id, body, pre)?;
    Ok(records::present(&stored))
}

/// `DELETE /enrollments/{id}` and `DELETE /enrollmentGroups/{id}`, honouring `If-Match`; the
/// console's Delete.
pub(crate) fn delete_enrollment(
    app: &App,
    c: Collection,
    id: &str,
    if_match: Option<String>,
) -> ApiResult<()> {
    delete(app, c.kind(), id, if_match, || c.not_found(id))
}

/// What a write requires of the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Anything (create or replace).
    None,
    /// The record must not exist (bulk create).
    Absent,
    /// The record must exist with this ETag (`*`: any ETag).
    Match(String),
}

impl From<Option<String>> for Precondition {
    fn from(if_match: Option<String>) -> Self {
        if_match.map_or(Precondition::None, Precondition::Match)
    }
}

fn precondition_failed(id: &str) -> ApiError {
    ApiError::new(
        codes::PRECONDITION_FAILED,
        format!("the ETag in If-Match does not match the current version of {id:?}"),
    )
}

fn check_precondition(pre: &Precondition, current: Option<&Record>, id: &str) -> ApiResult<()> {
    match (pre, current) {
        (Precondition::None, _) => Ok(()),
        (Precondition::Absent, None) => Ok(()),
        (Precondition::Absent, Some(_)) => Err(ApiError::new(
            codes::ALREADY_EXISTS,
            "Enrollment already exists.",
        )),
        (Precondition::Match(_), None) => Err(precondition_failed(id)),
        (Precondition::Match(e), Some(r)) if e == "*" || *e == r.etag => Ok(()),
        (Precondition::Match(_), Some(_)) => Err(precondition_failed(id)),
    }
}

/// Writes a validated record under its precondition and returns what was stored.
pub(crate) fn upsert(
    app: &App,
    c: Collection,
    id: &str,
    body: Value,
    pre: Precondition,
) -> ApiResult<Value> {
    // Read, complete against what was read, then write only if nothing changed in between.
    for _ in 0..3 {
        let current = app.store.get(c.kind(), id)?;
        check_precondition(&pre, current.as_ref(), id)?;
        if current.is_none() {
            check_quota(app, c, &body)?;
        }
        let now = Timestamp::from_datetime(app.config.clock.now());
        let stored = records::complete(body.clone(), current.as_ref().map(|r| &r.body), &now)?;
        let record = Record {
            id: id.to_owned(),
            parent: None,
            etag: stored
                .get("etag")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            body: stored.clone(),
        };
        let seen = current.as_ref().map(|r| r.etag.clone());
        let raced = app.store.put_checked(c.kind(), &record, |now_current| {
            if now_current.map(|r| r.etag.clone()) == seen {
                Ok(())
            } else {
                Err(())
            }
        })?;
        if raced.is_ok() {
            return Ok(stored);
        }
    }
    Err(ApiError::new(
        codes::PRECONDITION_FAILED,
        format!("{id:?} is being changed concurrently; retry"),
    ))
}

fn check_quota(app: &App, c: Collection, body: &Value) -> ApiResult<()> {
    let limits = &app.config.limits;
    match c {
        Collection::Enrollments => {
            if app.store.count(Kind::Enrollment)? >= limits.max_enrollments {
                return Err(ApiError::new(
                    codes::QUOTA_EXCEEDED,
                    format!(
                        "the limit of {} individual enrollments is reached",
                        limits.max_enrollments
                    ),
                ));
            }
        }
        Collection::Groups => {
            let kind = records::attestation_type(body);
            let same = app
                .store
                .list(Kind::Group, None, None, usize::MAX)?
                .iter()
                .filter(|g| records::attestation_type(&g.body) == kind)
                .count() as u64;
            if same >= limits.max_groups_per_type {
                return Err(ApiError::new(
                    codes::QUOTA_EXCEEDED,
                    format!(
                        "the limit of {} {kind} enrollment groups is reached",
                        limits.max_groups_per_type
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Deletes a record, honouring `If-Match`.
pub(crate) fn delete(
    app: &App,
    kind: Kind,
    id: &str,
    if_match: Option<String>,
    missing: impl FnOnce() -> ApiError,
) -> ApiResult<()> {
    let pre = Precondition::from(if_match);
    match app
        .store
        .delete_checked(kind, id, |cur| check_precondition(&pre, Some(cur), id))?
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(missing()),
        Err(e) => Err(e),
    }
}

fn query(app: &App, c: Collection, req: &Req) -> ApiResult<Response> {
    // The query text is not interpreted (the service documents no filtering); it must be a
    // non-empty string. The Azure CLI sends a malformed one, which the service accepts too.
    let spec: Value = req.json()?;
    match spec.get("query").and_then(Value::as_str) {
        Some(q) if !q.trim().is_empty() => {}
        _ => {
            return Err(ApiError::bad_request(
                "the query specification needs a non-empty \"query\" string",
            ));
        }
    }
    page(app, req, c.kind(), None, c.item_type())
}

fn page(
    app: &App,
    req: &Req,
    kind: Kind,
    parent: Option<&str>,
    item_type: &'static str,
) -> ApiResult<Response> {
    let size = match req.header("x-ms-max-item-count") {
        None => app.config.limits.default_page_size,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n: usize| n.min(MAX_PAGE_SIZE))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "x-ms-max-item-count must be a positive number, not {v:?}"
                ))
            })?,
    };
    let after = match req.header("x-ms-continuation") {
        None | Some("") => None,
        Some(token) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("invalid x-ms-continuation token"))?,
        ),
    };
    let (rows, more) = list_page(app, kind, parent, after.as_deref(), size)?;
    let items: Vec<Value> = rows.iter().map(|r| records::present(&r.body)).collect();
    let mut resp = json_response(StatusCode::OK, &items)?;
    let h = resp.headers_mut();
    h.insert(
        "x-ms-item-type",
        axum::http::HeaderValue::from_static(item_type),
    );
    h.insert(
        "x-content-type-options",
        axum::http::HeaderValue::from_static("nosniff"),
    );
    if more && let Some(last) = rows.last() {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.id.to_lowercase());
        if let Ok(v) = axum::http::HeaderValue::from_str(&token) {
            h.insert("x-ms-continuation", v);
        }
    }
    Ok(resp)
}

/// One page of a query: up to `size` records of `kind` (only `parent`'s, when given) whose ids
/// follow `after`, in id order, and whether more follow. The query API and the console page
/// the same way.
pub(crate) fn list_page(
    app: &App,
    kind: Kind,
    parent: Option<&str>,
    after: Option<&str>,
    size: usize,
) -> ApiResult<(Vec<Record>, bool)> {
    let mut rows = app
        .store
        .list(kind, parent, after, size.saturating_add(1))?;
    let more = rows.len() > size;
    rows.truncate(size);
    Ok((rows, more))
}
