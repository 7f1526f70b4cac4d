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
    /// its topic); a larger one closes the connection.
    pub max_mqtt_packet_bytes: usize,
    /// Open MQTT device connections (TLS and WebSocket together); the next one is answered
    /// CONNACK 3, server unavailable.
    pub max_mqtt_connections: usize,
    /// How long a device has, after the TLS handshake, to send CONNECT (10 s); also the bound
    /// on every TLS handshake, HTTPS and MQTT.
    pub mqtt_connect_timeout: Duration,
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
