//! `dps-emulator`: a local Azure IoT Hub Device Provisioning Service on 127.0.0.1.
//!
//! Writes `DATA_DIR/emulator.json` (connection strings, ID scope, endpoints, CA path) when it
//! is ready and stops cleanly on Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::Parser;
use dps_emulator::{Emulator, EmulatorConfig, Faults, Quotas, default_data_dir};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A local Azure IoT Hub Device Provisioning Service: the same wire protocol and rules, offline.
#[derive(Debug, Parser)]
#[command(name = "dps-emulator", version, about)]
pub struct Args {
    /// Address to listen on; port 0 picks a free one (emulator.json has the bound port).
    #[arg(long, default_value = dps_emulator::config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Folder for state, TLS material and emulator.json [default: the per-user data folder].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep enrollments in memory only (TLS material and emulator.json still go to the data folder).
    #[arg(long)]
    in_memory: bool,
    /// Replace the well-known development keys with fresh random ones (kept in the data folder).
    #[arg(long)]
    generate_keys: bool,
    /// ID scope devices register under.
    #[arg(long, default_value = dps_emulator::config::DEFAULT_ID_SCOPE)]
    id_scope: String,
    /// Linked IoT hub host name (repeatable).
    #[arg(long = "iot-hub", value_name = "HOST")]
    iot_hubs: Vec<String>,
    /// Extra host name the emulator answers to (repeatable; added to its TLS certificate).
    #[arg(long = "host-name", value_name = "NAME")]
    host_names: Vec<String>,
    /// Register a CA certificate as verified at start (repeatable): NAME=PATH (PEM or DER).
    #[arg(long = "ca-certificate", value_name = "NAME=PATH", value_parser = parse_ca)]
    ca_certificates: Vec<(String, PathBuf)>,
    /// Enforce the documented per-minute quotas (1,000 operations, 1,000 registrations).
    #[arg(long)]
    throttle: bool,
    /// Answer this fraction of requests (0 to 1) with --fail-status, to test client retries.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Status of injected failures.
    #[arg(long, default_value_t = 503)]
    fail_status: u16,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Seconds devices are told to wait between polls.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Polls answered "assigning" before the result.
    #[arg(long, default_value_t = 1)]
    pending_polls: u32,
}

fn parse_ca(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s.split_once('=').ok_or("expected NAME=PATH")?;
    if name.is_empty() || path.is_empty() {
        return Err("expected NAME=PATH".into());
    }
    Ok((name.to_owned(), PathBuf::from(path)))
}

impl Args {
    /// The configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<EmulatorConfig> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.fail_rate),
            "--fail-rate must be between 0 and 1"
        );
        anyhow::ensure!(
            (400..=599).contains(&self.fail_status),
            "--fail-status must be 400 to 599"
        );
        let mut c = EmulatorConfig::new(self.data_dir.clone().unwrap_or_else(default_data_dir));
        c.listen = self.listen;
        c.in_memory = self.in_memory;
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
        Ok(c)
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = args.config()?;
    let emulator = Emulator::spawn(config).context("starting the emulator")?;
    println!(
        "dps-emulator listening on {} (ID scope {}); connection strings and CA in {}",
        emulator.service_endpoint(),
        emulator.id_scope(),
        emulator.info_path().display()
    );
    dps_emulator::wait_for_shutdown_signal()?;
    eprintln!("dps-emulator: shutting down");
    emulator.shutdown();
    Ok(())
}
