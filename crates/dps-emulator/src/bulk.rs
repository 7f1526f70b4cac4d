//! Bulk operations (`POST /enrollments`, `POST /enrollmentGroups`): at most 10 items, each
//! processed on its own (no rollback), 200 with per-item errors whenever the request is valid.

use crate::app::{App, Req, json_response};
use crate::error::{ApiError, ApiResult};
use crate::records::{self, Collection};
use crate::service::{Precondition, delete, upsert};
use axum::http::StatusCode;
use axum::response::Response;
use dps_protocol::models::BulkMode;
use serde_json::{Value, json};

/// Runs one bulk request.
pub(crate) fn run(app: &App, c: Collection, req: &Req) -> ApiResult<Response> {
    let mut body: Value = req.json()?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "a bulk operation is a JSON object {\"mode\", ...}",
        ));
    }
    // The enum rule of every service write (`service::known`); then a mode is required.
    crate::service::known::<BulkMode>(&mut body, "/mode", "mode")?;
    let mode = body
        .get("mode")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "a bulk operation needs a \"mode\" string, one of: {}",
                BulkMode::KNOWN.join(", ")
            ))
        })?
        .to_owned();
    let field = match c {
        Collection::Enrollments => "enrollments",
        Collection::Groups => "enrollmentGroups",
    };
    let items = body.get(field).and_then(Value::as_array).ok_or_else(|| {
        ApiError::bad_request(format!("a bulk operation needs a \"{field}\" array"))
    })?;
    let max = app.config.limits.max_bulk_items;
    if items.is_empty() || items.len() > max {
        return Err(ApiError::bad_request(format!(
            "a bulk operation takes 1 to {max} items, not {}",
            items.len()
        )));
    }
    let mut errors = Vec::new();
    for item in items {
        let id = item
            .get(c.id_field())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Err(e) = one(app, c, &mode, &id, item) {
            errors.push(json!({c.id_field(): id, "errorCode": e.code, "errorStatus": e.message}));
        }
    }
    json_response(
        StatusCode::OK,
        &json!({"isSuccessful": errors.is_empty(), "errors": errors}),
    )
}

fn one(app: &App, c: Collection, mode: &str, id: &str, item: &Value) -> ApiResult<()> {
    records::check_id(id)?;
    let etag = item.get("etag").and_then(Value::as_str).map(str::to_owned);
    if mode == "delete" {
        return delete(app, c.kind(), id, etag, || c.not_found(id));
    }
    let body = records::validate(c, id, item.clone())?;
    let pre = match mode {
        "create" => Precondition::Absent,
        "updateIfMatchETag" => match etag {
            Some(e) => Precondition::Match(e),
            None => {
                return Err(ApiError::new(
                    crate::error::codes::PRECONDITION_FAILED,
                    format!("{id:?} has no etag; mode updateIfMatchETag needs each item's etag"),
                ));
            }
        },
        _ => Precondition::None,
    };
    upsert(app, c, id, body, pre).map(|_| ())
}
