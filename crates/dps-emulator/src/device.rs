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
        .register(&who, body)
        .await?;
    status_response(app, status)
}

/// The payload of a registration request, checked before the engine sees it: the
/// registration id's form, then the body ([`register_payload`]).
fn checked_body(req: &Req, id: &str) -> ApiResult<Option<Value>> {
    crate::records::check_id(id)?;
    let body = if req.body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(req.json()?)
    };
    register_payload(body, id)
}

/// The register body rule, for every transport (HTTPS here, MQTT in `mqtt::answer`), given
/// the parsed body (`None` for an empty one, which every SDK may send): a JSON object whose
/// `registrationId`, when present, is a string naming the registration `id` the request is
/// for (compared without case), and whose `tpm`, when present, is an object. Returns the
/// `payload` for a custom-allocation webhook.
pub(crate) fn register_payload(body: Option<Value>, id: &str) -> ApiResult<Option<Value>> {
    let Some(body) = body else {
        return Ok(None);
    };
    let Value::Object(mut fields) = body else {
        return Err(ApiError::bad_request(format!(
            "the register body must be a JSON object {{\"registrationId\": \"{id}\", \"payload\"?: ...}}, not {}",
            json_type(&body)
        )));
    };
    match fields.get("registrationId") {
        None => {}
        Some(Value::String(body_id)) if dps_protocol::same_registration_id(body_id, id) => {}
        Some(Value::String(body_id)) => {
            return Err(ApiError::bad_request(format!(
                "registrationId {body_id:?} in the body does not match {id:?}, the registration \
                 the request is for"
            )));
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "registrationId in the register body must be a string, not {}",
                json_type(other)
            )));
        }
    }
    if let Some(tpm) = fields.get("tpm")
        && !(tpm.is_object() || tpm.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "tpm in the register body must be an object, not {}",
            json_type(tpm)
        )));
    }
    Ok(fields.remove("payload"))
}

/// The JSON type of a value, for messages (`an array`).
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(body: &[u8]) -> ApiResult<Option<Value>> {
        let parsed = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice(body).expect("JSON"))
        };
        register_payload(parsed, "d")
    }

    #[test]
    fn register_bodies_of_every_sdk() {
        assert_eq!(payload(b"").ok(), Some(None));
        assert_eq!(payload(b" ").ok(), Some(None));
        assert_eq!(payload(b"{}").ok(), Some(None));
        assert_eq!(
            payload(br#"{"payload": null, "registrationId": "d"}"#).ok(),
            Some(Some(Value::Null))
        );
        assert_eq!(
            payload(br#"{"registrationId": "D", "payload": {"a": 1}}"#).ok(),
            Some(Some(json!({"a": 1})))
        );
        assert!(payload(br#"{"registrationId": "d", "tpm": {"endorsementKey": "AA=="}}"#).is_ok());
    }

    #[test]
    fn register_bodies_that_are_not_the_documented_shape_are_400() {
        for (body, needle) in [
            (&b"[]"[..], "must be a JSON object"),
            (b"[1]", "not an array"),
            (b"5", "not a number"),
            (b"null", "not null"),
            (br#""d""#, "not a string"),
            (
                br#"{"registrationId": 5}"#,
                "must be a string, not a number",
            ),
            (br#"{"registrationId": null}"#, "must be a string, not null"),
            (br#"{"registrationId": ["d"]}"#, "not an array"),
            (br#"{"registrationId": "other"}"#, "does not match"),
            (
                br#"{"registrationId": "d", "tpm": "x"}"#,
                "tpm in the register body",
            ),
        ] {
            let e = payload(body).expect_err(&String::from_utf8_lossy(body));
            assert_eq!(e.code, crate::error::codes::BAD_REQUEST);
            assert!(
                e.message.contains(needle),
                "{}: {}",
                String::from_utf8_lossy(body),
                e.message
            );
        }
    }
}
