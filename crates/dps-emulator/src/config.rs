//! What an emulator instance is told at start.

use crate::clock::{Clock, SystemClock};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The ID scope the emulator reports unless told otherwise. Real scopes are `0ne` + 8 hex digits.
pub const DEFAULT_ID_SCOPE: &str = "0ne000E1A70";
/// The IoT hub devices are assigned to by default.
pub const DEFAULT_IOT_HUB: &str = "emulator-hub.azure-devices.net";
/// The full-rights policy name, as in Azure.
pub const OWNER_POLICY: &str = "provisioningserviceowner";
/// A read-only policy (EnrollmentRead + RegistrationStatusRead).
pub const READ_POLICY: &str = "enrollmentread";
/// The well-known development key of `provisioningserviceowner`, like a storage emulator's
/// development account: public, so never use the emulator with it on a shared network.
pub const DEV_OWNER_KEY: &str = "ZHBzLXJzIGVtdWxhdG9yIG93bmVyIGtleSAtIG5vdCBhIHNlY3JldCEhISE=";
/// The well-known development key of `enrollmentread`.
pub const DEV_READ_KEY: &str = "ZHBzLXJzIGVtdWxhdG9yIHJlYWQtb25seSBrZXkgLSBub3QgYSBzZWNyZXQ=";
/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// Where the `dps-emulator` binary serves MQTT unless told otherwise: 8883, the port the
/// device SDKs hard-code.
pub const DEFAULT_MQTT_LISTEN: &str = "127.0.0.1:8883";
/// Where the `dps-emulator` binary serves the web console unless told otherwise.
pub const DEFAULT_CONSOLE_LISTEN: &str = "127.0.0.1:8444";

/// Per-minute quotas (the documented DPS defaults) for optional throttling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// Service API operations per minute.
    pub operations_per_minute: u32,
    /// Device registrations per minute.
    pub registrations_per_minute: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            operations_per_minute: 1000,
            registrations_per_minute: 1000,
        }
    }
}

/// Faults injected on purpose, to test clients' retry logic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Fraction of requests (0.0 to 1.0) answered with `status` before any state changes.
    pub error_rate: f64,
    /// The injected status (500, 503, ...).
    pub status: u16,
    /// Delay added to every request.
    pub latency: Duration,
}

/// Size limits, defaulting to the documented service limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (96 KB).
    pub max_body_bytes: usize,
    /// Individual enrollments (1,000,000).
    pub max_enrollments: u64,
    /// Enrollment groups per attestation type (100).
    pub max_groups_per_type: u64,
    /// CA certificates (25).
    pub max_ca_certificates: u64,
    /// Items in one bulk operation (10).
    pub max_bulk_items: usize,
    /// Default query page size when the client sends none.
    pub default_page_size: usize,
    /// Largest MQTT packet a device may send, bytes (a register body of `max_body_bytes` plus
    /// its topic). A larger register or poll request of at most 256 KiB (IoT Hub's largest MQTT
    /// message) is read past without being kept and answered 413 on the response topic, as
    /// HTTPS answers a large body; any other larger packet closes the connection.
    pub max_mqtt_packet_bytes: usize,
    /// Open MQTT device connections (TLS and WebSocket together, 10,000), counted from
    /// `accept` (or the WebSocket upgrade), before CONNECT; the next ones are answered
    /// CONNACK 3, server unavailable, once they send CONNECT.
    pub max_mqtt_connections: usize,
    /// How long a device has, after the TLS handshake, to send its whole CONNECT (10 s, the
    /// same as [`Limits::tls_handshake_timeout`]: a device sends CONNECT right away).
    pub mqtt_connect_timeout: Duration,
    /// How long a client has to finish its TLS handshake, on every listener (10 s): a
    /// handshake takes milliseconds even on a slow link, and a connection that never
    /// finishes one otherwise holds a descriptor forever.
    pub tls_handshake_timeout: Duration,
    /// HTTPS: how long a request head (request line and header fields) may take from its
    /// first byte, and how long a new connection may wait for its first request (10 s).
    /// Every client sends its head at once; an expired partial head is answered 408 with the
    /// DPS body, a connection that sent nothing is closed.
    pub http_header_timeout: Duration,
    /// HTTPS: how long a connection may stay open with no request in progress (130 s). Longer
    /// than the pool idle time of the clients that talk to the emulator (reqwest 90 s,
    /// .NET 60 to 120 s), as Kestrel's 130 s is, so a client never sends a request on a
    /// connection the emulator is closing. An open response stream (the console's live
    /// feed) or a WebSocket is never idle; MQTT over WebSocket follows the MQTT keep-alive.
    pub http_idle_timeout: Duration,
    /// The longest wait for the next byte once a transfer has begun (30 s): of an HTTPS
    /// request body (answered 408 with the DPS body), of an MQTT packet (the connection
    /// closes), and for an HTTPS client to take the next byte of a response (the connection
    /// closes). Measured from the last byte, so a large body on a slow link is never cut.
    pub progress_timeout: Duration,
    /// Open connections per HTTPS listener (10,000), counted from `accept`. The next ones
    /// are answered 503 with `Retry-After` and the DPS body, and closed; beyond 64 more they
    /// are closed at once. Raise the process's descriptor limit (`ulimit -n`) to use it all.
    pub max_https_connections: usize,
    /// The longest request target (path and query) an HTTPS request may have, bytes (8 KiB;
    /// a DPS path with the longest ids and api-version is under 400 bytes); a longer one is
    /// answered 414 with the DPS body.
    pub max_uri_bytes: usize,
    /// The largest header section an HTTPS request may have: names and values plus 4 bytes
    /// per field, as on the HTTP/1.1 wire (32 KiB; an SDK sends under 2 KiB). A larger one, or
    /// one of more than 100 fields, is answered 431 with the DPS body.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 96 * 1024,
            max_enrollments: 1_000_000,
            max_groups_per_type: 100,
            max_ca_certificates: 25,
            max_bulk_items: 10,
            default_page_size: 1000,
            max_mqtt_packet_bytes: 96 * 1024 + 1024,
            max_mqtt_connections: 10_000,
            mqtt_connect_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            http_header_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(130),
            progress_timeout: Duration::from_secs(30),
            max_https_connections: 10_000,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
        }
    }
}

/// Everything an emulator instance needs to start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen. Port 0 picks a free port; the bound one is reported.
    pub listen: SocketAddr,
    /// Where devices connect over MQTT (TLS); `None` turns MQTT off. Port 0 picks a free port.
    /// MQTT over WebSocket is always served on `listen`.
    pub mqtt_listen: Option<SocketAddr>,
    /// Where the web console listens (HTTPS that asks no client certificate); `None` turns
    /// it off. Port 0 picks a free port.
    pub console_listen: Option<SocketAddr>,
    /// Folder for the database, the TLS material and `emulator.json`.
    pub data_dir: PathBuf,
    /// Keep enrollments in memory instead of `data_dir/state.db`.
    pub in_memory: bool,
    /// Start over: move the store in `data_dir` aside (`state.db.damaged-<time>` when it is
    /// damaged, `state.db.reset-<time>` when not, with its `-wal` and `-shm` files) and start
    /// with an empty one. Without it a damaged, empty or missing store is refused at start.
    pub reset: bool,
    /// Replace the policy keys with fresh random ones (kept for this data dir).
    pub generate_keys: bool,
    /// Extra host names the emulator answers to (SAS audience and TLS certificate).
    pub host_names: Vec<String>,
    /// The ID scope devices use.
    pub id_scope: String,
    /// Linked IoT hubs.
    pub iot_hubs: Vec<String>,
    /// CA certificates registered as verified at start: (name, PEM or DER file).
    pub ca_certificates: Vec<(String, PathBuf)>,
    /// Throttling; `None` disables it.
    pub quotas: Option<Quotas>,
    /// Injected faults.
    pub faults: Faults,
    /// Size limits.
    pub limits: Limits,
    /// Seconds devices are told to wait between polls (`Retry-After`).
    pub retry_after_secs: u64,
    /// How many polls answer "assigning" before the final result (0 = the first poll).
    pub pending_polls: u32,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

impl EmulatorConfig {
    /// Defaults for a data folder: 127.0.0.1:8443, MQTT off (the binary turns it on at
    /// 127.0.0.1:8883), persistent state, well-known keys.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            mqtt_listen: None,
            console_listen: None,
            data_dir: data_dir.into(),
            in_memory: false,
            reset: false,
            generate_keys: false,
            host_names: Vec::new(),
            id_scope: DEFAULT_ID_SCOPE.to_owned(),
            iot_hubs: vec![DEFAULT_IOT_HUB.to_owned()],
            ca_certificates: Vec::new(),
            quotas: None,
            faults: Faults::default(),
            limits: Limits::default(),
            retry_after_secs: 1,
            pending_polls: 1,
            clock: Arc::new(SystemClock),
        }
    }

    /// Test defaults: an ephemeral port on 127.0.0.1, MQTT off, and in-memory state.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            in_memory: true,
            retry_after_secs: 0,
            pending_polls: 0,
            ..Self::new(data_dir)
        }
    }
}

/// The default data folder: `$XDG_DATA_HOME/dps-emulator`, `~/.local/share/dps-emulator`, or
/// `~/Library/Application Support/dps-emulator` on macOS.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("dps-emulator");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/dps-emulator")
    } else {
        home.join(".local/share/dps-emulator")
    }
}
