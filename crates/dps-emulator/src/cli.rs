//! The emulator's start flags, declared once: the `dps-emulator` binary parses [`EmulatorArgs`],
//! `dps-cli emulator start` flattens [`StartArgs`] into its own command tree, so every flag of
//! one exists in the other with the same help.
//!
//! Only with the `cli` feature (on by default).

use crate::config::{self, EmulatorConfig, Faults, Limits, Quotas, default_data_dir};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A local Azure IoT Hub Device Provisioning Service: the same wire protocol and rules, offline.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "dps-emulator", version, about)]
pub struct EmulatorArgs {
    /// How to start the emulator.
    #[command(flatten)]
    pub start: StartArgs,
}

/// How to start an emulator: its flags, and [`StartArgs::config`] to turn them into an
/// [`EmulatorConfig`].
#[derive(Debug, Clone, clap::Args)]
pub struct StartArgs {
    /// Address to listen on; port 0 picks a free one (emulator.json has the bound port).
    #[arg(long, env = "DPS_EMULATOR_LISTEN", default_value = config::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Address of the MQTT (TLS) device listener, or `off`; port 0 picks a free one. MQTT over
    /// WebSocket is always served on --listen.
    #[arg(
        long,
        env = "DPS_EMULATOR_MQTT_LISTEN",
        value_name = "ADDR|off",
        default_value = config::DEFAULT_MQTT_LISTEN,
        value_parser = parse_optional_listen
    )]
    pub mqtt_listen: OptionalListen,
    /// Address of the web console (HTTPS without a client-certificate request, so a browser
    /// never asks for one), or `off`; port 0 picks a free one. It acts with the owner policy
    /// on loopback; elsewhere it asks for a policy key.
    #[arg(
        long,
        env = "DPS_EMULATOR_CONSOLE_LISTEN",
        value_name = "ADDR|off",
        default_value = config::DEFAULT_CONSOLE_LISTEN,
        value_parser = parse_optional_listen
    )]
    pub console_listen: OptionalListen,
    /// Folder for state, TLS material and emulator.json [default: the per-user data folder].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep enrollments in memory only (TLS material and emulator.json still go to the data
    /// folder).
    #[arg(long)]
    pub in_memory: bool,
    /// Start over with an empty store: move the data folder's state.db (with its -wal and -shm
    /// files) aside to state.db.damaged-TIME (state.db.reset-TIME if it was healthy) first.
    /// Without it, a damaged, empty or missing store is refused at start.
    #[arg(long)]
    pub reset: bool,
    /// Replace the well-known development keys with fresh random ones (kept in the data folder).
    #[arg(long)]
    pub generate_keys: bool,
    /// ID scope devices register under.
    #[arg(long, default_value = config::DEFAULT_ID_SCOPE)]
    pub id_scope: String,
    /// Linked IoT hub host name (repeatable).
    #[arg(long = "iot-hub", value_name = "HOST")]
    pub iot_hubs: Vec<String>,
    /// Extra host name the emulator answers to (repeatable; added to its TLS certificate).
    #[arg(long = "host-name", value_name = "NAME")]
    pub host_names: Vec<String>,
    /// Register a CA certificate as verified at start (repeatable): NAME=PATH (PEM or DER).
    #[arg(long = "ca-certificate", value_name = "NAME=PATH", value_parser = parse_ca)]
    pub ca_certificates: Vec<(String, PathBuf)>,
    /// Enforce the documented per-minute quotas (1,000 operations, 1,000 registrations).
    #[arg(long)]
    pub throttle: bool,
    /// Answer this fraction of requests (0 to 1) with --fail-status, to test client retries.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Status of injected failures.
    #[arg(long, default_value_t = 503)]
    pub fail_status: u16,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Seconds devices are told to wait between polls.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Polls answered "assigning" before the result.
    #[arg(long, default_value_t = 1)]
    pub pending_polls: u32,
    /// Seconds a client has to finish its TLS handshake, on every listener (each timeout: 1 s
    /// to a day).
    #[arg(
        long,
        env = "DPS_EMULATOR_HANDSHAKE_TIMEOUT",
        value_name = "SECS",
        default_value_t = Limits::default().tls_handshake_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub handshake_timeout: u64,
    /// Seconds an HTTPS request head may take from its first byte, and a new connection may
    /// wait for its first request (a partial head is answered 408).
    #[arg(
        long,
        env = "DPS_EMULATOR_HEADER_TIMEOUT",
        value_name = "SECS",
        default_value_t = Limits::default().http_header_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub header_timeout: u64,
    /// Seconds an HTTPS connection may stay open with no request in progress (a streaming
    /// response and a WebSocket are in progress; MQTT keeps its own keep-alive).
    #[arg(
        long,
        env = "DPS_EMULATOR_IDLE_TIMEOUT",
        value_name = "SECS",
        default_value_t = Limits::default().http_idle_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub idle_timeout: u64,
    /// Seconds without a byte, once an HTTPS request body, an MQTT packet or a response write
    /// has begun (a stalled request body is answered 408).
    #[arg(
        long,
        env = "DPS_EMULATOR_PROGRESS_TIMEOUT",
        value_name = "SECS",
        default_value_t = Limits::default().progress_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub progress_timeout: u64,
    /// Open connections per HTTPS listener; the next are answered 503 with Retry-After.
    #[arg(
        long,
        env = "DPS_EMULATOR_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = Limits::default().max_https_connections,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_connections: usize,
    /// Open MQTT connections (TLS and WebSocket together); the next get CONNACK 3.
    #[arg(
        long,
        env = "DPS_EMULATOR_MAX_MQTT_CONNECTIONS",
        value_name = "N",
        default_value_t = Limits::default().max_mqtt_connections,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_mqtt_connections: usize,
}

/// A flag value the emulator cannot start with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FlagError {
    /// `--fail-rate` is not a fraction.
    #[error("--fail-rate must be between 0 and 1, not {0}")]
    FailRate(f64),
    /// `--fail-status` is not an error status.
    #[error("--fail-status must be 400 to 599, not {0}")]
    FailStatus(u16),
    /// A `--ca-certificate` is not `NAME=PATH`.
    #[error("expected NAME=PATH")]
    CaCertificate(String),
}

/// The value of `--mqtt-listen` and `--console-listen`: an address, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionalListen {
    /// Listen on this address.
    On(SocketAddr),
    /// No such listener.
    Off,
}

impl OptionalListen {
    fn addr(self) -> Option<SocketAddr> {
        match self {
            OptionalListen::On(addr) => Some(addr),
            OptionalListen::Off => None,
        }
    }
}

fn parse_optional_listen(s: &str) -> Result<OptionalListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(OptionalListen::Off);
    }
    s.parse()
        .map(OptionalListen::On)
        .map_err(|_| format!("{s:?} is not an address such as 127.0.0.1:8883, nor `off`"))
}

fn parse_ca(s: &str) -> Result<(String, PathBuf), FlagError> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(FlagError::CaCertificate(s.to_owned())),
    }
}

impl StartArgs {
    /// The configuration these flags describe; an error names the flag whose value is out of
    /// range.
    pub fn config(&self) -> Result<EmulatorConfig, FlagError> {
        if !(0.0..=1.0).contains(&self.fail_rate) {
            return Err(FlagError::FailRate(self.fail_rate));
        }
        if !(400..=599).contains(&self.fail_status) {
            return Err(FlagError::FailStatus(self.fail_status));
        }
        let mut c = EmulatorConfig::new(self.data_dir.clone().unwrap_or_else(default_data_dir));
        c.listen = self.listen;
        c.mqtt_listen = self.mqtt_listen.addr();
        c.console_listen = self.console_listen.addr();
        c.in_memory = self.in_memory;
        c.reset = self.reset;
        c.generate_keys = self.generate_keys;
        c.id_scope = self.id_scope.clone();
        if !self.iot_hubs.is_empty() {
            c.iot_hubs = self.iot_hubs.clone();
        }
        c.host_names = self.host_names.clone();
        c.ca_certificates = self.ca_certificates.clone();
        c.quotas = self.throttle.then(Quotas::default);
        c.faults = Faults {
            error_rate: self.fail_rate,
            status: self.fail_status,
            latency: Duration::from_millis(self.latency_ms),
        };
        c.retry_after_secs = self.retry_after;
        c.pending_polls = self.pending_polls;
        c.limits.tls_handshake_timeout = Duration::from_secs(self.handshake_timeout);
        c.limits.http_header_timeout = Duration::from_secs(self.header_timeout);
        c.limits.http_idle_timeout = Duration::from_secs(self.idle_timeout);
        c.limits.progress_timeout = Duration::from_secs(self.progress_timeout);
        c.limits.max_https_connections = self.max_connections;
        c.limits.max_mqtt_connections = self.max_mqtt_connections;
        Ok(c)
    }
}

/// The line both binaries print once the emulator is ready: its endpoints, ID scope and where
/// `emulator.json` is.
pub fn ready_line(emulator: &crate::Emulator) -> String {
    let mqtt = match emulator.mqtt_endpoint() {
        Some(mqtt) => format!(
            ", devices also on {mqtt} and {}",
            emulator.mqtt_websocket_endpoint()
        ),
        None => format!(
            ", devices also on {} (MQTT over TLS is off)",
            emulator.mqtt_websocket_endpoint()
        ),
    };
    let console = match emulator.console_url() {
        Some(url) => format!("; web console at {url}"),
        None => String::new(),
    };
    format!(
        "dps-emulator listening on {}{mqtt} (ID scope {}){console}; connection strings and CA \
         in {}",
        emulator.service_endpoint(),
        emulator.id_scope(),
        emulator.info_path().display()
    )
}

/// The filter [`init_logging`] uses when `RUST_LOG` is not set: the emulator's request and
/// refusal lines (info, or debug when `verbose`), and only warnings from other crates.
pub fn default_log_filter(verbose: bool) -> &'static str {
    if verbose {
        "warn,dps_emulator=debug"
    } else {
        "warn,dps_emulator=info"
    }
}

/// Raises the process's soft limit on open files towards what `config`'s connection caps
/// need (both HTTPS listeners, MQTT, and room for the store and logs), up to the hard limit,
/// as servers that promise thousands of connections do: Linux starts processes at 1,024.
/// Returns the soft limit in force afterwards; logs at warn when it stays below the caps,
/// since beyond it the accept loops back off until connections close. Does nothing on
/// platforms without `getrlimit`.
pub fn raise_descriptor_limit(config: &EmulatorConfig) -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limits = &config.limits;
        let wanted = (limits.max_https_connections as u64)
            .saturating_mul(2)
            .saturating_add(limits.max_mqtt_connections as u64)
            .saturating_add(256);
        let now = getrlimit(Resource::Nofile);
        let soft = now.current.unwrap_or(u64::MAX);
        if soft >= wanted {
            return Some(soft);
        }
        let target = now.maximum.map_or(wanted, |hard| hard.min(wanted));
        let raised = rustix::process::Rlimit {
            current: Some(target),
            maximum: now.maximum,
        };
        let soft = if target > soft && setrlimit(Resource::Nofile, raised).is_ok() {
            target
        } else {
            soft
        };
        if soft < wanted {
            tracing::warn!(
                limit = soft,
                wanted,
                "the open-file limit is below the connection caps: past it, new connections \
                 wait until others close; raise it with `ulimit -n {wanted}`"
            );
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    {
        let _ = config;
        None
    }
}

/// Sends the emulator's log to stderr: one line per request (method, path, status, duration,
/// registration id) and each device refusal with its reason, so a user sees what their device
/// or SDK sent. `RUST_LOG` overrides [`default_log_filter`]. Does nothing if the process
/// already has a subscriber (`dps-cli -v` installs its own), and a library user who never
/// calls it gets no output at all.
pub fn init_logging(verbose: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log_filter(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<StartArgs, clap::Error> {
        EmulatorArgs::try_parse_from(std::iter::once("dps-emulator").chain(args.iter().copied()))
            .map(|a| a.start)
    }

    #[test]
    fn the_declaration_is_consistent() {
        use clap::CommandFactory;
        EmulatorArgs::command().debug_assert();
    }

    #[test]
    fn flags_become_the_configuration() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/tmp/x",
            "--in-memory",
            "--iot-hub",
            "a.azure-devices.net",
            "--ca-certificate",
            "root=ca.pem",
            "--throttle",
            "--fail-rate",
            "0.5",
            "--fail-status",
            "500",
            "--latency-ms",
            "20",
            "--retry-after",
            "3",
            "--pending-polls",
            "0",
        ])
        .expect("valid flags");
        let c = args.config().expect("valid values");
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert!(c.in_memory);
        assert_eq!(c.iot_hubs, ["a.azure-devices.net"]);
        assert_eq!(
            c.ca_certificates,
            [("root".to_owned(), PathBuf::from("ca.pem"))]
        );
        assert_eq!(c.quotas, Some(Quotas::default()));
        assert_eq!(
            c.faults,
            Faults {
                error_rate: 0.5,
                status: 500,
                latency: Duration::from_millis(20)
            }
        );
        assert_eq!((c.retry_after_secs, c.pending_polls), (3, 0));
    }

    #[test]
    fn defaults_are_the_library_defaults() {
        let c = parse(&["--data-dir", "d"])
            .expect("valid flags")
            .config()
            .expect("valid values");
        let d = EmulatorConfig::new("d");
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.id_scope, d.id_scope);
        assert_eq!(c.iot_hubs, d.iot_hubs);
        assert_eq!(c.quotas, None);
        assert_eq!(c.faults.error_rate, 0.0);
        assert_eq!(c.faults.latency, Duration::ZERO);
        assert_eq!(
            (c.retry_after_secs, c.pending_polls),
            (d.retry_after_secs, d.pending_polls)
        );
    }

    #[test]
    fn connection_flags_become_limits_and_default_to_them() {
        let c = parse(&[
            "--handshake-timeout",
            "3",
            "--header-timeout",
            "4",
            "--idle-timeout",
            "5",
            "--progress-timeout",
            "6",
            "--max-connections",
            "7",
            "--max-mqtt-connections",
            "8",
        ])
        .expect("valid flags")
        .config()
        .expect("valid values");
        let l = &c.limits;
        assert_eq!(
            [
                l.tls_handshake_timeout,
                l.http_header_timeout,
                l.http_idle_timeout,
                l.progress_timeout
            ],
            [3, 4, 5, 6].map(Duration::from_secs)
        );
        assert_eq!((l.max_https_connections, l.max_mqtt_connections), (7, 8));
        assert!(parse(&["--idle-timeout", "0"]).is_err());
        assert!(parse(&["--max-connections", "0"]).is_err());
        let vars = [
            "DPS_EMULATOR_HANDSHAKE_TIMEOUT",
            "DPS_EMULATOR_HEADER_TIMEOUT",
            "DPS_EMULATOR_IDLE_TIMEOUT",
            "DPS_EMULATOR_PROGRESS_TIMEOUT",
            "DPS_EMULATOR_MAX_CONNECTIONS",
            "DPS_EMULATOR_MAX_MQTT_CONNECTIONS",
        ];
        if vars.iter().all(|v| std::env::var_os(v).is_none()) {
            let c = parse(&[])
                .expect("valid flags")
                .config()
                .expect("valid values");
            assert_eq!(c.limits, Limits::default());
        }
    }

    #[test]
    fn mqtt_listens_on_8883_unless_told_otherwise() {
        let mqtt = |args: &[&str]| -> Option<SocketAddr> {
            parse(args)
                .expect("valid flags")
                .config()
                .expect("valid values")
                .mqtt_listen
        };
        if std::env::var_os("DPS_EMULATOR_MQTT_LISTEN").is_none() {
            assert_eq!(mqtt(&[]), Some(SocketAddr::from(([127, 0, 0, 1], 8883))));
        }
        assert_eq!(mqtt(&["--mqtt-listen", "OFF"]), None);
        assert_eq!(
            mqtt(&["--mqtt-listen", "127.0.0.1:0"]),
            Some(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        let e = parse(&["--mqtt-listen", "8883"]).expect_err("not an address");
        assert!(e.to_string().contains("nor `off`"), "{e}");
    }

    #[test]
    fn out_of_range_values_are_typed_errors() {
        let e = parse(&["--fail-rate", "1.5"])
            .expect("parses")
            .config()
            .expect_err("out of range");
        assert_eq!(e, FlagError::FailRate(1.5));
        assert!(
            e.to_string()
                .starts_with("--fail-rate must be between 0 and 1")
        );
        let e = parse(&["--fail-status", "200"])
            .expect("parses")
            .config()
            .expect_err("out of range");
        assert_eq!(e, FlagError::FailStatus(200));
        assert!(parse(&["--ca-certificate", "no-equals"]).is_err());
        assert!(parse(&["--ca-certificate", "=path"]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_descriptor_limit_is_raised_towards_the_caps_within_the_hard_limit() {
        use rustix::process::{Resource, getrlimit};
        let config = EmulatorConfig::new("d");
        let limits = &config.limits;
        let wanted = (limits.max_https_connections as u64)
            .saturating_mul(2)
            .saturating_add(limits.max_mqtt_connections as u64)
            .saturating_add(256);
        let now = getrlimit(Resource::Nofile);
        let hard = now.maximum.unwrap_or(u64::MAX);
        // Start from Linux's default soft limit (or lower), as a shell would.
        let low = rustix::process::Rlimit {
            current: Some(now.current.unwrap_or(u64::MAX).min(1024)),
            maximum: now.maximum,
        };
        assert!(rustix::process::setrlimit(Resource::Nofile, low).is_ok());
        let soft = raise_descriptor_limit(&config);
        assert!(soft.is_some_and(|s| s >= wanted.min(hard)), "{soft:?}");
        assert_eq!(getrlimit(Resource::Nofile).current, soft);
    }
}
