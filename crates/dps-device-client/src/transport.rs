//! [`Transport`]: which protocol carries the registration, and where its endpoint is.
//!
//! The endpoint given to [`ProvisioningDeviceClient::new`](crate::ProvisioningDeviceClient::new)
//! names the host for every transport; its scheme and port are read per transport
//! ([`resolve`]), so one host name serves all three, as Azure's does.

use std::fmt;

/// The TCP port of MQTT over TLS, which the device SDKs hard-code.
pub const MQTT_PORT: u16 = 8883;
/// The TCP port of MQTT over WebSocket (and of HTTPS) when the endpoint names none.
pub const WEBSOCKET_PORT: u16 = 443;
/// The request path of MQTT over WebSocket, as the Python, Node and C SDKs send it.
pub const WEBSOCKET_PATH: &str = "/$iothub/websocket";

/// How the device talks to the service: the protocol of
/// [`DeviceClientOptions::transport`](crate::DeviceClientOptions::transport).
///
/// The endpoint's scheme may repeat the choice (`https://`, `mqtts://`, `wss://`) but never
/// contradict it; without a scheme the transport's own applies. The port:
/// * [`Transport::Https`]: the endpoint's, else 443.
/// * [`Transport::Mqtt`]: `mqtts://host:port`, else [`MQTT_PORT`] (8883). An `https://`
///   endpoint lends only its host, so it may not carry a port: the emulator listens for MQTT
///   on another port than HTTPS (its `emulator.json` has both).
/// * [`Transport::MqttWebSocket`]: `wss://host:port/path`, or the `https://` endpoint's host and
///   port (the WebSocket is served beside the HTTPS API), else 443; the path defaults to
///   [`WEBSOCKET_PATH`].
///
/// ```
/// use dps_device_client::Transport;
/// assert_eq!("mqtt-ws".parse::<Transport>(), Ok(Transport::MqttWebSocket));
/// assert_eq!(Transport::Mqtt.to_string(), "mqtt");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// The HTTPS device API (the default).
    #[default]
    Https,
    /// MQTT 3.1.1 over TLS, port 8883 by default.
    Mqtt,
    /// MQTT 3.1.1 over a secure WebSocket (subprotocol `mqtt`), port 443 by default.
    MqttWebSocket,
}

impl Transport {
    /// Every transport, in the order of the CLI's `--transport` values.
    pub const ALL: [Transport; 3] = [Transport::Https, Transport::Mqtt, Transport::MqttWebSocket];

    /// The short name: `https`, `mqtt` or `mqtt-ws`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Https => "https",
            Transport::Mqtt => "mqtt",
            Transport::MqttWebSocket => "mqtt-ws",
        }
    }

    /// The URL scheme of this transport's endpoints.
    fn scheme(self) -> &'static str {
        match self {
            Transport::Https => "https",
            Transport::Mqtt => "mqtts",
            Transport::MqttWebSocket => "wss",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown transport name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?}: use https, mqtt or mqtt-ws")]
pub struct UnknownTransport(String);

impl std::str::FromStr for Transport {
    type Err = UnknownTransport;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

/// One response, whatever carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The status (HTTP, or the `{status}` of an MQTT response topic).
    pub(crate) status: u16,
    /// The body: the same JSON over every transport.
    pub(crate) body: Vec<u8>,
    /// The wait the service asks for (`Retry-After` and friends, or `retry-after` in the topic).
    pub(crate) retry_after: Option<std::time::Duration>,
    /// `x-ms-request-id`, which stands in for a missing `trackingId` (HTTPS only).
    pub(crate) request_id: Option<String>,
}

/// Where a transport connects, from the endpoint ([`resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The base URL of the HTTPS device API.
    Https(url::Url),
    /// Host (no brackets around an IPv6 address) and port of MQTT over TLS.
    Mqtt { host: String, port: u16 },
    /// The `wss://` URL of MQTT over WebSocket.
    MqttWebSocket(url::Url),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Https(u) | Target::MqttWebSocket(u) => write!(f, "{u}"),
            Target::Mqtt { host, port } if host.contains(':') => {
                write!(f, "mqtts://[{host}]:{port}")
            }
            Target::Mqtt { host, port } => write!(f, "mqtts://{host}:{port}"),
        }
    }
}

/// Reads `endpoint` for `transport` (see [`Transport`] for the rules); the error says what is
/// wrong with it.
pub(crate) fn resolve(endpoint: &str, transport: Transport) -> Result<Target, String> {
    let text = if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("{}://{endpoint}", transport.scheme())
    };
    let url = url::Url::parse(&text).map_err(|e| format!("invalid endpoint {endpoint:?}: {e}"))?;
    let scheme = url.scheme().to_ascii_lowercase();
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("the endpoint {endpoint:?} names no host"))?
        .to_owned();
    let mismatch = || {
        let other = Transport::ALL
            .into_iter()
            .find(|t| t.scheme() == scheme)
            .map_or_else(String::new, |t| format!(" (a {t} endpoint)"));
        format!(
            "the endpoint {endpoint:?}{other} does not fit the {transport} transport: give \
             {}://host:port or choose the transport its scheme names",
            transport.scheme()
        )
    };
    match (transport, scheme.as_str()) {
        (Transport::Https, "mqtts" | "wss") => Err(mismatch()),
        (Transport::Https, _) => Ok(Target::Https(url)),
        (Transport::Mqtt, "mqtts") => Ok(Target::Mqtt {
            port: url.port().unwrap_or(MQTT_PORT),
            host: unbracket(&host),
        }),
        (Transport::Mqtt, "https") if url.port().is_some() => Err(format!(
            "the endpoint {endpoint:?} names an HTTPS port; MQTT listens on its own port: give \
             mqtts://{host}:PORT (the emulator's is mqttEndpoint in its emulator.json)"
        )),
        (Transport::Mqtt, "https") => Ok(Target::Mqtt {
            port: MQTT_PORT,
            host: unbracket(&host),
        }),
        (Transport::MqttWebSocket, "wss" | "https") => {
            let port = url.port_or_known_default().unwrap_or(WEBSOCKET_PORT);
            let keep_path = scheme == "wss" && url.path() != "/";
            let path = if keep_path {
                url.path()
            } else {
                WEBSOCKET_PATH
            };
            let ws = format!("wss://{}:{port}{path}", bracket(&host));
            url::Url::parse(&ws)
                .map(Target::MqttWebSocket)
                .map_err(|e| format!("invalid endpoint {endpoint:?}: {e}"))
        }
        _ => Err(mismatch()),
    }
}

/// `[::1]` as `::1`, for a TLS server name and a socket address.
fn unbracket(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// `::1` as `[::1]`, for a URL.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqtt(host: &str, port: u16) -> Target {
        Target::Mqtt {
            host: host.into(),
            port,
        }
    }

    fn ws(url: &str) -> Target {
        Target::MqttWebSocket(url::Url::parse(url).expect("url"))
    }

    #[test]
    fn https_keeps_the_endpoint() {
        let t = resolve("localhost:8443", Transport::Https).expect("ok");
        assert_eq!(t.to_string(), "https://localhost:8443/");
        let t = resolve(
            "https://global.azure-devices-provisioning.net",
            Transport::Https,
        );
        assert!(matches!(t, Ok(Target::Https(_))));
        for wrong in [
            "mqtts://localhost:8883",
            "wss://localhost/$iothub/websocket",
        ] {
            let e = resolve(wrong, Transport::Https).expect_err(wrong);
            assert!(e.contains("does not fit the https transport"), "{e}");
        }
    }

    #[test]
    fn mqtt_takes_its_own_port() {
        let cases = [
            ("mqtts://localhost:18883", mqtt("localhost", 18883)),
            ("mqtts://localhost", mqtt("localhost", MQTT_PORT)),
            ("localhost:1234", mqtt("localhost", 1234)),
            (
                "my-dps.azure-devices-provisioning.net",
                mqtt("my-dps.azure-devices-provisioning.net", 8883),
            ),
            (
                "https://global.azure-devices-provisioning.net",
                mqtt("global.azure-devices-provisioning.net", 8883),
            ),
            ("mqtts://127.0.0.1:9", mqtt("127.0.0.1", 9)),
            ("mqtts://[::1]:9", mqtt("::1", 9)),
        ];
        for (endpoint, want) in cases {
            assert_eq!(resolve(endpoint, Transport::Mqtt), Ok(want), "{endpoint}");
        }
        assert_eq!(mqtt("::1", 9).to_string(), "mqtts://[::1]:9");
        let e = resolve("https://localhost:8443", Transport::Mqtt).expect_err("https port");
        assert!(
            e.contains("mqtts://localhost:PORT") && e.contains("mqttEndpoint"),
            "{e}"
        );
        let e = resolve("wss://localhost:8443", Transport::Mqtt).expect_err("wss");
        assert!(e.contains("(a mqtt-ws endpoint)"), "{e}");
        assert!(resolve("mqtts://", Transport::Mqtt).is_err());
    }

    #[test]
    fn websocket_defaults_to_the_iothub_path() {
        let cases = [
            (
                "https://localhost:8443",
                "wss://localhost:8443/$iothub/websocket",
            ),
            (
                "wss://localhost:8443",
                "wss://localhost:8443/$iothub/websocket",
            ),
            ("wss://localhost:8443/custom", "wss://localhost:8443/custom"),
            ("localhost", "wss://localhost:443/$iothub/websocket"),
            (
                "https://global.azure-devices-provisioning.net",
                "wss://global.azure-devices-provisioning.net/$iothub/websocket",
            ),
            ("https://[::1]:8443", "wss://[::1]:8443/$iothub/websocket"),
        ];
        for (endpoint, want) in cases {
            assert_eq!(
                resolve(endpoint, Transport::MqttWebSocket),
                Ok(ws(want)),
                "{endpoint}"
            );
        }
        assert!(resolve("mqtts://localhost:8883", Transport::MqttWebSocket).is_err());
    }

    #[test]
    fn names_round_trip() {
        for t in Transport::ALL {
            assert_eq!(t.name().parse::<Transport>(), Ok(t));
            assert_eq!(t.to_string().to_uppercase().parse::<Transport>(), Ok(t));
        }
        let e = "amqp".parse::<Transport>().expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "unknown transport \"amqp\": use https, mqtt or mqtt-ws"
        );
        assert_eq!(Transport::default(), Transport::Https);
    }
}
