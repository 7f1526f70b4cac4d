//! The HTTPS device API: `PUT {idScope}/registrations/{id}/register`, the operation status
//! poll and the registration status lookup. A thin adapter over the registration engine
//! ([`crate::engine`]): it picks the credential out of the request (the TLS client chain, or
//! the `Authorization` SAS), and renders the engine's answers and refusals as HTTP.

use crate::activity::Transport;
use crate::app::{App, Req, json_response, method_not_allowed, unknown_path};
use crate::engine::{Credential, Identity, OperationStatus};
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

/// Routes a device API request (`/{idScope}/registrations/...`).
pub(crate) async fn handle(app: &Arc<App>, req: &Req) -> ApiResult<Response> {
    let s = &req.segments;
    let id = &s[2];
    let engine = app.engine_via(Transport::Https);
    engine.check_scope(&s[0], id)?;
    match (s.len(), &req.method) {
        (4, &Method::PUT) if req.lit(3, "register") => register(app, req, id).await,
        (5, &Method::GET) if req.lit(3, "operations") => {
            let who = authenticate(app, req, id)?;
            status_response(app, engine.operation_status(&who, &s[4])?)
        }
        (3, &Method::POST) => {
            let who = authenticate(app, req, id)?;
            json_response(StatusCode::OK, &engine.registration_status(&who)?)
        }
        (3..=5, _) => Err(method_not_allowed(req)),
        _ => Err(unknown_path(req)),
    }
}

async fn register(app: &Arc<App>, req: &Req, id: &str) -> ApiResult<Response> {
    let body = checked_body(req, id).inspect_err(|e| {
        tracing::info!(registration_id = id, code = %e.code, reason = %e.message, "device refused");
    })?;
    let who = authenticate(app, req, id)?;
    let status = app
        .engine_via(Transport::Https)
        .register(&who, body.get("payload").cloned())
        .await?;
    status_response(app, status)
}

/// The body of a registration request, checked before the engine sees it: the registration
/// id's form, JSON (or nothing), and the same id in the body as in the path.
fn checked_body(req: &Req, id: &str) -> ApiResult<Value> {
    crate::records::check_id(id)?;
    let body: Value = if req.body.is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        req.json()?
    };
    if let Some(body_id) = body.get("registrationId").and_then(Value::as_str)
        && !dps_protocol::same_registration_id(body_id, id)
    {
        return Err(ApiError::bad_request(format!(
            "registrationId {body_id:?} in the body does not match {id:?} in the path"
        )));
    }
    Ok(body)
}

/// The credential of the request: a SAS in `Authorization`, else the TLS client chain.
fn authenticate(app: &App, req: &Req, id: &str) -> ApiResult<Identity> {
    let audience = percent_encoding::percent_decode_str(req.raw_path.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let credential = match req.header("authorization") {
        Some(token) => Some(Credential::Sas {
            token,
            audience: &audience,
        }),
        None => req
            .conn
            .peer_certificates
            .as_deref()
            .map(|chain| Credential::X509(chain)),
    };
    Ok(app
        .engine_via(Transport::Https)
        .authenticate(&req.segments[0], id, credential)??)
}

/// 202 with `Retry-After` while assigning, 200 once done.
fn status_response(app: &App, status: OperationStatus) -> ApiResult<Response> {
    let (code, retry_after) = status.status_and_retry_after(&app.config);
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    let mut resp = json_response(code, &status.body())?;
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(resp)
}
