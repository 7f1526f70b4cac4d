//! The connection layer (issue 14), on every listener: the handshake, header, body-progress
//! and idle timeouts; what they must never cut (a live feed, MQTT over WebSocket); the caps
//! on open connections; the DPS body on what hyper refuses; HTTP/1.0 by ALPN; the MQTT
//! answers to an oversized request; and the back-off of a failing `accept`.
//!
//! Timeouts are configured small (hundreds of milliseconds) and the tests wait generously for
//! their effect; no test asserts a duration. The emulator and its MQTT test client come from
//! `tests/mqtt_wire`'s support.

#[allow(dead_code, unused_imports)]
#[path = "mqtt_wire/conn.rs"]
mod conn;
#[allow(dead_code, unused_imports)]
#[path = "mqtt_wire/support.rs"]
mod support;

#[path = "connections/raw.rs"]
mod raw;

#[path = "connections/accept.rs"]
mod accept;
#[path = "connections/h2.rs"]
mod h2;
#[path = "connections/http.rs"]
mod http;
#[path = "connections/long_lived.rs"]
mod long_lived;
#[path = "connections/mqtt.rs"]
mod mqtt;
