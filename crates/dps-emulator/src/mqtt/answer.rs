//! One DPS request over MQTT answered as the HTTPS device API answers it: the same gate
//! (latency, faults, quota), the same engine calls, the same status codes and bodies.

use super::connect::Device;
use super::topics::Request;
use crate::app::{Admission, App, admit};
use crate::engine::OperationStatus;
use crate::error::{ApiError, ApiResult, new_uuid};
use serde_json::Value;

/// An answer to publish: status, JSON body, and the `retry-after` to put in the topic.
#[derive(Debug)]
pub(super) struct Answer {
    /// The HTTP-style status of the response topic.
    pub(super) status: u16,
    /// The body, as over HTTPS.
    pub(super) body: Value,
    /// Seconds before the next poll (202, 429).
    pub(super) retry_after: Option<u64>,
}

/// Answers one request.
pub(super) async fn answer(app: &App, device: &Device, request: &Request, body: &[u8]) -> Answer {
    match respond(app, device, request, body).await {
        Ok(status) => {
            let (code, retry_after) = status.status_and_retry_after(&app.config);
            Answer {
                status: code,
                body: status.body(),
                retry_after,
            }
        }
        Err(e) => Answer {
            status: e.code.status(),
            body: e.dps_body(&new_uuid()),
            retry_after: e.retry_after,
        },
    }
}

async fn respond(
    app: &App,
    device: &Device,
    request: &Request,
    body: &[u8],
) -> ApiResult<OperationStatus> {
    admit(app, Admission::Device).await?;
    let audience = device.audience();
    let engine = app.engine_via(device.via);
    let who = engine.authenticate(
        &device.scope,
        &device.registration_id,
        Some(device.credential(&audience)),
    )??;
    match request {
        Request::Register { .. } => {
            let payload = register_payload(body, &device.registration_id)?;
            engine.register(&who, payload).await
        }
        Request::Poll { operation_id, .. } => {
            let Some(operation_id) = operation_id else {
                return Err(ApiError::bad_request("the poll topic has no operationId"));
            };
            engine.operation_status(&who, operation_id)
        }
    }
}

/// The `payload` of a register body: empty and blank bodies are accepted, a JSON one must
/// pass the register body rule of every transport ([`crate::device::register_payload`]):
/// the registration id comes from CONNECT, and one in the body must name the same.
fn register_payload(body: &[u8], id: &str) -> ApiResult<Option<Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = dps_protocol::json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the register body is not JSON: {e}")))?;
    crate::device::register_payload(Some(value), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_bodies_of_every_sdk() {
        assert_eq!(register_payload(b"", "d").ok(), Some(None));
        assert_eq!(register_payload(b" ", "d").ok(), Some(None));
        assert_eq!(
            register_payload(br#"{"payload": null, "registrationId": "d"}"#, "d").ok(),
            Some(Some(Value::Null))
        );
        assert_eq!(
            register_payload(br#"{"registrationId": "d", "payload": {"a": 1}}"#, "d").ok(),
            Some(Some(serde_json::json!({"a": 1})))
        );
        assert!(register_payload(b"{", "d").is_err());
        assert!(register_payload(b"[1]", "d").is_err());
        assert!(register_payload(br#"{"registrationId": 5}"#, "d").is_err());
        assert!(register_payload(br#"{"registrationId": "e"}"#, "d").is_err());
        // Bounded like every JSON input (dps_protocol::json::MAX_DEPTH, 64 levels).
        let nested = |n| format!("{{\"payload\": {}{}}}", "[".repeat(n), "]".repeat(n));
        assert!(register_payload(nested(63).as_bytes(), "d").is_ok());
        assert!(register_payload(nested(64).as_bytes(), "d").is_err());
    }
}
