//! The `transport` finding: what differs, for the verdicts above, by the protocol the device
//! registers over (`doctor --transport`). The verdicts are the same; how the device learns
//! them is not.

use super::{Check, Status};
use crate::device::TransportArg;

/// The note for `transport`, as an `ok` check placed after every verdict.
pub(crate) fn note(transport: TransportArg) -> Check {
    let detail = match transport {
        TransportArg::Https => {
            "over HTTPS the device learns each verdict above as the answer to its register \
             request: a refused chain or enrollment is HTTP 401 with errorCode 401002 and the \
             message shown here; a refused SAS token is 401 too"
        }
        TransportArg::Mqtt | TransportArg::MqttWs => {
            "over MQTT (mqtt: port 8883; mqtt-ws: a WebSocket on port 443) the TLS handshake \
             and CONNECT succeed with any certificate; a refused chain or enrollment arrives \
             after CONNECT, as status 401 with errorCode 401002 on the response topic. A SAS \
             token that fails is refused at CONNECT (return code 5, not authorized) and the \
             device learns nothing more: the emulator's log states why. The Python device SDK \
             speaks only MQTT, and only TLS 1.2"
        }
    };
    Check {
        check: "transport".to_owned(),
        status: Status::Ok,
        detail: detail.to_owned(),
        fix: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_says_where_each_refusal_arrives() {
        for t in [TransportArg::Mqtt, TransportArg::MqttWs] {
            let c = note(t);
            assert_eq!(
                (c.check.as_str(), c.status, &c.fix),
                ("transport", Status::Ok, &None)
            );
            for needle in [
                "401002 on the response topic",
                "refused at CONNECT (return code 5",
                "learns nothing more",
                "emulator's log",
                "only MQTT, and only TLS 1.2",
            ] {
                assert!(c.detail.contains(needle), "{needle:?}: {}", c.detail);
            }
        }
        let https = note(TransportArg::Https);
        assert!(
            https.detail.contains("HTTP 401 with errorCode 401002"),
            "{}",
            https.detail
        );
        assert!(!https.detail.contains("CONNECT"), "{}", https.detail);
    }
}
