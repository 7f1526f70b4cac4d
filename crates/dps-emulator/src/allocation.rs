//! Which IoT hub a device gets, and what its registration state becomes: static, hashed and
//! (locally identical to hashed) lowest-latency policies, custom allocation through a webhook,
//! and the reprovisioning policy on repeat registrations.

use crate::error::{ApiError, ApiResult, codes};
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

/// Picks the hub for `registration_id` under `enrollment` (individual or group JSON).
pub(crate) async fn allocate(
    enrollment: &Value,
    linked_hubs: &[String],
    registration_id: &str,
    device_context: Value,
) -> ApiResult<Assignment> {
    if let Some(hub) = enrollment.get("iotHubHostName").and_then(Value::as_str) {
        return Ok(Assignment {
            hub: hub.to_owned(),
            payload: None,
            initial_twin: None,
        });
    }
    let candidates: Vec<String> = match enrollment.get("iotHubs").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => linked_hubs.to_vec(),
    };
    if candidates.is_empty() {
        return Err(ApiError::new(
            codes::BAD_REQUEST,
            "no IoT hub is linked to the emulator or the enrollment",
        ));
    }
    let policy = enrollment
        .get("allocationPolicy")
        .and_then(Value::as_str)
        .unwrap_or("hashed");
    match policy {
        "static" => Ok(Assignment {
            hub: candidates[0].clone(),
            payload: None,
            initial_twin: None,
        }),
        "custom" => custom(enrollment, &candidates, device_context).await,
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

/// Custom allocation: POSTs the service's webhook request and reads `iotHubHostName`,
/// `initialTwin` and `payload` from the answer.
async fn custom(
    enrollment: &Value,
    candidates: &[String],
    device_context: Value,
) -> ApiResult<Assignment> {
    let def = enrollment.get("customAllocationDefinition");
    let url = def
        .and_then(|d| d.get("webhookUrl"))
        .and_then(Value::as_str)
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
    let key = if enrollment.get("enrollmentGroupId").is_some() {
        "enrollmentGroup"
    } else {
        "individualEnrollment"
    };
    request[key] = crate::records::present(enrollment);
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
    let body: Value = resp
        .json()
        .await
        .map_err(|e| fail(format!("answer is not JSON: {e}")))?;
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

/// The reprovisioning outcome: the hub to use and the substatus to report.
pub(crate) fn reprovision(
    previous: Option<&Value>,
    enrollment: &Value,
    proposed: &str,
) -> (String, &'static str) {
    let Some(prev) = previous else {
        return (proposed.to_owned(), "initialAssignment");
    };
    let prev_hub = prev.get("assignedHub").and_then(Value::as_str);
    // device.rs keeps the first hub under the internal (never presented) key `_initialHub`.
    let first_hub = prev.get("_initialHub").and_then(Value::as_str).or(prev_hub);
    let policy = enrollment.get("reprovisionPolicy");
    let flag = |name: &str| {
        policy
            .and_then(|p| p.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    };
    match prev_hub {
        Some(hub) if !flag("updateHubAssignment") => (hub.to_owned(), "initialAssignment"),
        Some(hub) if hub.eq_ignore_ascii_case(proposed) => {
            let kept = prev.get("substatus").and_then(Value::as_str);
            (
                proposed.to_owned(),
                match kept {
                    Some("deviceDataMigrated") => "deviceDataMigrated",
                    Some("deviceDataReset") => "deviceDataReset",
                    Some("reprovisionedToInitialAssignment") => "reprovisionedToInitialAssignment",
                    _ => "initialAssignment",
                },
            )
        }
        Some(_) if first_hub.is_some_and(|f| f.eq_ignore_ascii_case(proposed)) => {
            (proposed.to_owned(), "reprovisionedToInitialAssignment")
        }
        Some(_) if flag("migrateDeviceData") => (proposed.to_owned(), "deviceDataMigrated"),
        Some(_) => (proposed.to_owned(), "deviceDataReset"),
        None => (proposed.to_owned(), "initialAssignment"),
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

    #[test]
    fn reprovision_policies() {
        let e = json!({});
        assert_eq!(
            reprovision(None, &e, "a"),
            ("a".into(), "initialAssignment")
        );
        let prev =
            json!({"assignedHub": "a", "_initialHub": "a", "substatus": "initialAssignment"});
        assert_eq!(
            reprovision(Some(&prev), &e, "a"),
            ("a".into(), "initialAssignment")
        );
        assert_eq!(
            reprovision(Some(&prev), &e, "b"),
            ("b".into(), "deviceDataMigrated")
        );
        let reset =
            json!({"reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": false}});
        assert_eq!(
            reprovision(Some(&prev), &reset, "b"),
            ("b".into(), "deviceDataReset")
        );
        let keep =
            json!({"reprovisionPolicy": {"updateHubAssignment": false, "migrateDeviceData": true}});
        assert_eq!(
            reprovision(Some(&prev), &keep, "b"),
            ("a".into(), "initialAssignment")
        );
        let moved =
            json!({"assignedHub": "b", "_initialHub": "a", "substatus": "deviceDataMigrated"});
        assert_eq!(
            reprovision(Some(&moved), &e, "a"),
            ("a".into(), "reprovisionedToInitialAssignment")
        );
    }
}
