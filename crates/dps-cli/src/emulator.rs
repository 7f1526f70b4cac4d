//! `dps-cli emulator start`: the local DPS in the foreground, and [`EmulatorInfo`], what other
//! commands read from a running emulator's `emulator.json` when given `--emulator`.

use crate::Hint;
use crate::output::{OutputFormat, print_json};
use anyhow::Context;
use dps_emulator::{EMULATOR_JSON, Emulator, EmulatorConfig, Quotas, default_data_dir};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Emulator commands.
#[derive(Debug, clap::Subcommand)]
pub enum EmulatorCommand {
    /// Run a local DPS in the foreground until Ctrl-C or SIGTERM; writes DATA_DIR/emulator.json
    /// (connection strings, ID scope, endpoints, CA path) once it accepts connections.
    ///
    /// Example: dps-cli emulator start --data-dir .dps --in-memory
    Start(StartArgs),
}

/// The options of `emulator start`: the `dps-emulator` binary's main flags.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Address to listen on; port 0 picks a free one (emulator.json has the bound port).
    #[arg(long, default_value = dps_emulator::config::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Folder for state, TLS material and emulator.json [default: the per-user data folder].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep enrollments in memory only (TLS material and emulator.json still go to the data
    /// folder).
    #[arg(long)]
    pub in_memory: bool,
    /// Replace the well-known development keys with fresh random ones (kept in the data folder).
    #[arg(long)]
    pub generate_keys: bool,
    /// ID scope devices register under.
    #[arg(long, default_value = dps_emulator::config::DEFAULT_ID_SCOPE)]
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
    /// Seconds devices are told to wait between polls.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Polls answered "assigning" before the result.
    #[arg(long, default_value_t = 1)]
    pub pending_polls: u32,
}

fn parse_ca(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s.split_once('=').ok_or("expected NAME=PATH")?;
    if name.is_empty() || path.is_empty() {
        return Err("expected NAME=PATH".into());
    }
    Ok((name.to_owned(), PathBuf::from(path)))
}

impl StartArgs {
    /// The emulator configuration these options describe.
    pub fn config(&self) -> EmulatorConfig {
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
        c.retry_after_secs = self.retry_after;
        c.pending_polls = self.pending_polls;
        c
    }
}

/// Runs an emulator command.
pub fn run(cmd: EmulatorCommand, format: OutputFormat) -> anyhow::Result<()> {
    match cmd {
        EmulatorCommand::Start(args) => start(&args, format),
    }
}

fn start(args: &StartArgs, format: OutputFormat) -> anyhow::Result<()> {
    let emulator = Emulator::spawn(args.config()).context("starting the emulator")?;
    match format {
        OutputFormat::Table => println!(
            "dps-emulator listening on {} (ID scope {}); connection strings and CA in {}",
            emulator.service_endpoint(),
            emulator.id_scope(),
            emulator.info_path().display()
        ),
        // No keys: they are in emulator.json, readable by its owner only.
        OutputFormat::Json => print_json(&json!({
            "serviceEndpoint": emulator.service_endpoint(),
            "deviceEndpoint": emulator.device_endpoint(),
            "idScope": emulator.id_scope(),
            "port": emulator.addr().port(),
            "infoPath": emulator.info_path(),
            "caCertificatePath": emulator.ca_path(),
        }))?,
    }
    dps_emulator::wait_for_shutdown_signal()?;
    eprintln!("dps-emulator: shutting down");
    emulator.shutdown();
    Ok(())
}

/// What a running emulator published in its `emulator.json`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmulatorInfo {
    /// Connection string of the full-rights policy. It contains a key.
    pub service_connection_string: String,
    /// The ID scope devices register under.
    pub id_scope: String,
    /// The service API endpoint.
    pub service_endpoint: String,
    /// The device API endpoint.
    pub device_endpoint: String,
    /// The emulator's TLS CA certificate (PEM), which clients must trust.
    pub ca_certificate_path: PathBuf,
    /// Where this information was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

impl EmulatorInfo {
    /// Reads `DATA_DIR/emulator.json`; `None` is the emulator's default data folder.
    pub fn load(data_dir: Option<&Path>) -> anyhow::Result<Self> {
        let dir = data_dir.map_or_else(default_data_dir, Path::to_path_buf);
        let path = dir.join(EMULATOR_JSON);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Hint::error(
                    format!("no emulator found: {} does not exist", path.display()),
                    format!(
                        "start one with `dps-cli emulator start --data-dir {}` (or pass the data \
                         folder of a running one: --emulator DIR)",
                        dir.display()
                    ),
                ));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut info: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an emulator.json", path.display()))?;
        info.path = path;
        Ok(info)
    }

    /// The PEM of the emulator's TLS CA.
    pub fn ca_pem(&self) -> anyhow::Result<Vec<u8>> {
        std::fs::read(&self.ca_certificate_path).with_context(|| {
            format!(
                "reading the emulator's CA certificate {} (named by {})",
                self.ca_certificate_path.display(),
                self.path.display()
            )
        })
    }
}
