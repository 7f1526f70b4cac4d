//! Device provisioning over MQTT and MQTT over WebSocket, at the packet level: every variant
//! of `shared/reference/mqtt-wire-facts.md` and every bad input of issue 12.
//!
//! The emulator runs in-process with MQTT on 127.0.0.1:0; the tests speak raw MQTT 3.1.1 over
//! TLS (tokio-rustls) or in binary WebSocket messages (tokio-tungstenite). Client packets are
//! encoded, and server packets decoded, by rumqttc's `mqttbytes` (not the server's codec), and
//! written by hand only where they must be malformed.

#[path = "mqtt_wire/conn.rs"]
mod conn;
#[path = "mqtt_wire/support.rs"]
mod support;

#[path = "mqtt_wire/bad_input.rs"]
mod bad_input;
#[path = "mqtt_wire/connect.rs"]
mod connect;
#[path = "mqtt_wire/refusals.rs"]
mod refusals;
#[path = "mqtt_wire/requests.rs"]
mod requests;
#[path = "mqtt_wire/session_rules.rs"]
mod session_rules;
#[path = "mqtt_wire/websocket.rs"]
mod websocket;
