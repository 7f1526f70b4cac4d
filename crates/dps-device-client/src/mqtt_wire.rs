//! The text of DPS provisioning over MQTT: the CONNECT username, the request topics and the
//! response topic, as the official device SDKs write and read them. Pure functions, so every
//! rule is unit-tested without a server.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::time::{Duration, SystemTime};

/// The api-version the Python, Node and C# SDKs send in the username.
pub(crate) const API_VERSION: &str = "2019-03-31";
/// The filter the device subscribes to (QoS 1) before its first request.
pub(crate) const RESPONSE_FILTER: &str = "$dps/registrations/res/#";
/// What every response topic starts with.
const RESPONSE_PREFIX: &str = "$dps/registrations/res/";

/// Everything but the unreserved characters `A-Z a-z 0-9 - . _ ~` is percent-encoded, as
/// Python's `quote(s, safe="")` and Node's `encodeURIComponent` do.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `{idScope}/registrations/{registrationId}/api-version=2019-03-31&ClientVersion={agent}`,
/// the agent percent-encoded.
pub(crate) fn username(id_scope: &str, registration_id: &str, agent: &str) -> String {
    format!(
        "{id_scope}/registrations/{registration_id}/api-version={API_VERSION}&ClientVersion={}",
        utf8_percent_encode(agent, COMPONENT)
    )
}

/// The register request: `$dps/registrations/PUT/iotdps-register/?$rid={rid}`.
pub(crate) fn register_topic(rid: &str) -> String {
    format!(
        "$dps/registrations/PUT/iotdps-register/?$rid={}",
        utf8_percent_encode(rid, COMPONENT)
    )
}

/// The poll of an operation:
/// `$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={operationId}`.
/// Both values are percent-encoded (an id of letters, digits, `-`, `.`, `_`, `~` stays as it
/// is), so neither can add a query parameter or an MQTT wildcard.
pub(crate) fn poll_topic(rid: &str, operation_id: &str) -> String {
    format!(
        "$dps/registrations/GET/iotdps-get-operationstatus/?$rid={}&operationId={}",
        utf8_percent_encode(rid, COMPONENT),
        utf8_percent_encode(operation_id, COMPONENT)
    )
}

/// What a response topic says: `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseTopic {
    /// The HTTP-like status.
    pub(crate) status: u16,
    /// The request id it answers (`None` when the topic carries none).
    pub(crate) rid: Option<String>,
    /// The wait the service asks for before the next request, read by
    /// [`dps_protocol::retry_after::delay_from_pairs`] from the topic's parameters.
    pub(crate) retry_after: Option<Duration>,
}

impl ResponseTopic {
    /// Reads a response topic; `None` when `topic` is no DPS response topic.
    pub(crate) fn parse(topic: &str, now: SystemTime) -> Option<Self> {
        let rest = topic.strip_prefix(RESPONSE_PREFIX)?;
        let (status, query) = match rest.split_once('/') {
            Some((status, tail)) => (status, tail.strip_prefix('?').unwrap_or(tail)),
            None => (rest, ""),
        };
        let status = status
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=599).contains(s))?;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let rid = pairs
            .iter()
            .find(|(k, _)| k == "$rid")
            .map(|(_, v)| v.clone());
        let retry_after = dps_protocol::retry_after::delay_from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            now,
        );
        Some(Self {
            status,
            rid,
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_username_encodes_the_agent() {
        assert_eq!(
            username(
                "0ne00000001",
                "device-01",
                "dps-rs-device/0.1.0 (linux; x86_64)"
            ),
            "0ne00000001/registrations/device-01/api-version=2019-03-31\
             &ClientVersion=dps-rs-device%2F0.1.0%20%28linux%3B%20x86_64%29"
        );
    }

    #[test]
    fn request_topics() {
        assert_eq!(
            register_topic("7"),
            "$dps/registrations/PUT/iotdps-register/?$rid=7"
        );
        assert_eq!(
            poll_topic(
                "8",
                "4.d0a671c1bcb6c7d4.6c2b52c3-f2e6-48d3-b4b5-1e0c8bfcb8b1"
            ),
            "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=8\
             &operationId=4.d0a671c1bcb6c7d4.6c2b52c3-f2e6-48d3-b4b5-1e0c8bfcb8b1"
        );
        // Neither a wildcard nor a second parameter can slip in.
        assert_eq!(
            poll_topic("9", "a+b&c=#"),
            "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=9&operationId=a%2Bb%26c%3D%23"
        );
    }

    #[test]
    fn response_topics() {
        let now = SystemTime::now();
        let parse = |t: &str| ResponseTopic::parse(t, now);
        assert_eq!(
            parse("$dps/registrations/res/202/?$rid=1&retry-after=3"),
            Some(ResponseTopic {
                status: 202,
                rid: Some("1".into()),
                retry_after: Some(Duration::from_secs(3)),
            })
        );
        assert_eq!(
            parse("$dps/registrations/res/200/?$rid=abc-def"),
            Some(ResponseTopic {
                status: 200,
                rid: Some("abc-def".into()),
                retry_after: None,
            })
        );
        let r = parse("$dps/registrations/res/429/?retry-after=5&$rid=2").expect("429");
        assert_eq!(
            (r.status, r.rid.as_deref(), r.retry_after),
            (429, Some("2"), Some(Duration::from_secs(5)))
        );
        let r = parse("$dps/registrations/res/401").expect("no query");
        assert_eq!((r.status, r.rid), (401, None));
        for not in [
            "$dps/registrations/res/abc/?$rid=1",
            "$dps/registrations/res/99/?$rid=1",
            "$dps/registrations/PUT/iotdps-register/?$rid=1",
            "devices/x/messages",
        ] {
            assert_eq!(parse(not), None, "{not}");
        }
    }
}
