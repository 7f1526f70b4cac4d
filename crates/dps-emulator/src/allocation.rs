//! Which IoT hub a device gets, and what its registration state becomes: static, hashed and
//! (locally identical to hashed) lowest-latency policies, custom allocation through a webhook,
//! and the reprovisioning policy on repeat registrations.

use crate::engine::enrollment::Allocation;
use crate::error::{ApiError, ApiResult, codes};
use dps_protocol::models::{
    AllocationPolicy, DeviceRegistrationState, ReprovisionPolicy, Substatus,
};
use serde_json::{Value, json};

/// The outcome of allocation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assignment {
    /// The hub.
    pub(crate) hub: String,
    /// What the webhook returned for the device, if anything.
    pub(crate) payload: Option<Value>,
    /// Initial twin chosen by the webhook, if any.
    pub(crate) initial_twin: Option<Value>,
}

/// Picks the hub for `registration_id` under an enrollment's allocation settings. The
/// webhook of a custom policy receives `document` (the enrollment as clients see it) under
/// its key.
pub(crate) async fn allocate(
    allocation: Allocation<'_>,
    document: (&'static str, &Value),
    linked_hubs: &[String],
    registration_id: &str,
    device_context: Value,
) -> ApiResult<Assignment> {
    if let Some(hub) = allocation.iot_hub_host_name {
        return Ok(Assignment {
            hub: hub.to_owned(),
            payload: None,
            initial_twin: None,
        });
    }
    let candidates: &[String] = if allocation.iot_hubs.is_empty() {
        linked_hubs
    } else {
        allocation.iot_hubs
    };
    if candidates.is_empty() {
        return Err(ApiError::new(
            codes::BAD_REQUEST,
            "no IoT hub is linked to the emulator or the enrollment",
        ));
    }
    match allocation.policy {
        Some(AllocationPolicy::Static) => Ok(Assignment {
            hub: candidates[0].clone(),
            payload: None,
            initial_twin: None,
        }),
        Some(AllocationPolicy::Custom) => {
            custom(allocation, document, candidates, device_context).await
        }
        // geoLatency has no geography locally: it behaves like hashed (documented).
        _ => Ok(Assignment {
            hub: candidates[hash_index(registration_id, candidates.len())].clone(),
            payload: None,
            initial_twin: None,
        }),
    }
}

/// A stable index: FNV-1a of the lower-cased registration id.
pub(crate) fn hash_index(registration_id: &str, n: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in registration_id.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(h % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// The largest custom-allocation webhook answer read, bytes: the request-body limit's
/// 96 KiB, since the answer's payload and twin are stored as a request's would be.
const WEBHOOK_ANSWER_MAX_BYTES: usize = 96 * 1024;

/// Custom allocation: POSTs the service's webhook request and reads `iotHubHostName`,
/// `initialTwin` and `payload` from the answer.
async fn custom(
    allocation: Allocation<'_>,
    (key, document): (&'static str, &Value),
    candidates: &[String],
    device_context: Value,
) -> ApiResult<Assignment> {
    let url = allocation
        .custom
        .map(|d| d.webhook_url.as_str())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                codes::BAD_REQUEST,
                "allocation policy 'custom' needs customAllocationDefinition.webhookUrl",
            )
        })?;
    let mut request = json!({
        "deviceRuntimeContext": device_context,
        "linkedHubs": candidates,
    });
    request[key] = document.clone();
    let fail = |m: String| {
        ApiError::new(
            codes::BAD_REQUEST,
            format!("custom allocation webhook {url}: {m}"),
        )
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = client
        .post(url)
        .json(&request)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    // Bounded like a request body: the answer is stored in the device's records.
    let mut resp = resp;
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(format!("the answer could not be read: {e}")))?
    {
        if bytes.len() + chunk.len() > WEBHOOK_ANSWER_MAX_BYTES {
            return Err(fail(format!(
                "the answer is larger than {WEBHOOK_ANSWER_MAX_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    // The payload is stored in the device's registration state and operation: bounded like
    // every JSON input, so that it can be read back.
    let body: Value = dps_protocol::json::from_slice(&bytes).map_err(|e| match e {
        dps_protocol::json::InputError::TooDeep(e) => fail(format!("the answer is refused: {e}")),
        e => fail(format!("answer is not JSON: {e}")),
    })?;
    if !status.is_success() {
        return Err(fail(format!("answered HTTP {}", status.as_u16())));
    }
    let hub = body
        .get("iotHubHostName")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("the answer has no iotHubHostName".into()))?;
    if !candidates.iter().any(|c| c.eq_ignore_ascii_case(hub)) {
        return Err(fail(format!(
            "chose {hub:?}, which is not one of the linked hubs {candidates:?}"
        )));
    }
    Ok(Assignment {
        hub: hub.to_owned(),
        payload: body.get("payload").cloned(),
        initial_twin: body.get("initialTwin").cloned(),
    })
}

/// The reprovisioning outcome of a repeat registration: the hub to use and the substatus to
/// report. `previous` is the device's last registration state and `initial_hub` the first hub
/// it was ever assigned (kept by the engine beside the state, never in it).
pub(crate) fn reprovision(
    previous: Option<&DeviceRegistrationState>,
    initial_hub: Option<&str>,
    policy: &ReprovisionPolicy,
    proposed: &str,
) -> (String, Substatus) {
    let prev_hub = previous.and_then(|p| p.assigned_hub.as_deref());
    let first_hub = initial_hub.or(prev_hub);
    match prev_hub {
        Some(hub) if !policy.update_hub_assignment => {
            (hub.to_owned(), Substatus::InitialAssignment)
        }
        Some(hub) if hub.eq_ignore_ascii_case(proposed) => {
            let kept = previous.and_then(|p| p.substatus.clone());
            (
                proposed.to_owned(),
                match kept {
                    Some(
                        s @ (Substatus::DeviceDataMigrated
                        | Substatus::DeviceDataReset
                        | Substatus::ReprovisionedToInitialAssignment),
                    ) => s,
                    _ => Substatus::InitialAssignment,
                },
            )
        }
        Some(_) if first_hub.is_some_and(|f| f.eq_ignore_ascii_case(proposed)) => (
            proposed.to_owned(),
            Substatus::ReprovisionedToInitialAssignment,
        ),
        Some(_) if policy.migrate_device_data => {
            (proposed.to_owned(), Substatus::DeviceDataMigrated)
        }
        Some(_) => (proposed.to_owned(), Substatus::DeviceDataReset),
        None => (proposed.to_owned(), Substatus::InitialAssignment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_stable_and_spreads() {
        assert_eq!(hash_index("dev-1", 2), hash_index("DEV-1", 2));
        let hits: std::collections::HashSet<_> =
            (0..50).map(|i| hash_index(&format!("d{i}"), 3)).collect();
        assert_eq!(hits.len(), 3);
    }

    fn state(hub: &str, substatus: Substatus) -> DeviceRegistrationState {
        serde_json::from_value(json!({
            "registrationId": "d", "status": "assigned", "assignedHub": hub, "substatus": substatus.as_str()
        }))
        .expect("state")
    }

    #[test]
    fn reprovision_policies() {
        let e = ReprovisionPolicy::default();
        let policy = |update, migrate| ReprovisionPolicy {
            update_hub_assignment: update,
            migrate_device_data: migrate,
            ..ReprovisionPolicy::default()
        };
        use Substatus::*;
        assert_eq!(
            reprovision(None, None, &e, "a"),
            ("a".into(), InitialAssignment)
        );
        let prev = state("a", InitialAssignment);
        assert_eq!(
            reprovision(Some(&prev), Some("a"), &e, "a"),
            ("a".into(), InitialAssignment)
        );
        assert_eq!(
            reprovision(Some(&prev), Some("a"), &e, "b"),
            ("b".into(), DeviceDataMigrated)
        );
        assert_eq!(
            reprovision(Some(&prev), Some("a"), &policy(true, false), "b"),
            ("b".into(), DeviceDataReset)
        );
        assert_eq!(
            reprovision(Some(&prev), Some("a"), &policy(false, true), "b"),
            ("a".into(), InitialAssignment)
        );
        let moved = state("b", DeviceDataMigrated);
        assert_eq!(
            reprovision(Some(&moved), Some("a"), &e, "a"),
            ("a".into(), ReprovisionedToInitialAssignment)
        );
    }
}
