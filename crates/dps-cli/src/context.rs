//! The global options every command shares (`--connection-string`, `--ca-file`, `--emulator`,
//! `--output`, `--verbose`) and [`resolve`], the one place that turns them into a service to
//! talk to.

use crate::Hint;
use crate::emulator::EmulatorInfo;
use crate::output::OutputFormat;
use anyhow::Context as _;
use dps_service_client::{ClientOptions, ProvisioningServiceClient, RetryOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options accepted anywhere on the command line, before or after the subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalArgs {
    /// Service connection string of the DPS (HostName=...;SharedAccessKeyName=...;SharedAccessKey=...).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "DPS_CONNECTION_STRING",
        hide_env_values = true,
        value_name = "CS"
    )]
    pub connection_string: Option<String>,
    /// Also trust this CA certificate (PEM) for the service's TLS certificate, e.g. a local
    /// emulator's.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "DPS_CA_FILE",
        value_name = "PEM"
    )]
    pub ca_file: Option<PathBuf>,
    /// Use a running emulator: connection string, endpoints and CA from DATA_DIR/emulator.json
    /// [DATA_DIR default: the emulator's per-user data folder].
    #[arg(long, global = true, help_heading = "Global options", value_name = "DATA_DIR", num_args = 0..=1)]
    pub emulator: Option<Option<PathBuf>>,
    /// Output format: table for people, json for scripts (shapes in crates/dps-cli/JSON.md).
    #[arg(long, short = 'o', global = true, help_heading = "Global options", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Log every service request (operation, id, status, attempts) on stderr.
    #[arg(long, short = 'v', global = true, help_heading = "Global options")]
    pub verbose: bool,
}

impl GlobalArgs {
    /// The `--emulator` option as it would be typed again (`--emulator` or `--emulator DIR`),
    /// or `None` without it.
    pub fn emulator_flag(&self) -> Option<String> {
        match &self.emulator {
            Some(Some(dir)) => Some(format!("--emulator {}", dir.display())),
            Some(None) => Some("--emulator".to_owned()),
            None => None,
        }
    }
}

/// Where the service is and how to trust it, from the global options.
#[derive(Debug, Default)]
pub struct Target {
    /// The running emulator named by `--emulator`.
    pub emulator: Option<EmulatorInfo>,
    /// `--connection-string` (or `DPS_CONNECTION_STRING`), else the emulator's.
    pub connection_string: Option<String>,
    /// `--ca-file`, then the emulator's CA.
    pub trusted_ca_pem: Vec<Vec<u8>>,
    /// Trust only `trusted_ca_pem`: true with `--emulator` and no `--ca-file`.
    pub trust_only_custom_ca: bool,
}

/// Reads what the global options name: the `--ca-file`, the emulator's `emulator.json` and
/// CA. An explicit `--connection-string` wins over the emulator's.
pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Target> {
    let mut target = Target::default();
    if let Some(f) = &global.ca_file {
        target.trusted_ca_pem.push(read_ca_file(f)?);
    }
    if let Some(dir) = &global.emulator {
        let info = EmulatorInfo::load(dir.as_deref())?;
        target.trusted_ca_pem.push(info.ca_pem()?);
        target.trust_only_custom_ca = global.ca_file.is_none();
        target.emulator = Some(info);
    }
    target.connection_string = global
        .connection_string
        .clone()
        .filter(|cs| !cs.trim().is_empty())
        .or_else(|| {
            target
                .emulator
                .as_ref()
                .map(|i| i.service_connection_string.clone())
        });
    Ok(target)
}

fn read_ca_file(f: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(f).with_context(|| format!("reading --ca-file {}", f.display()))
}

impl Target {
    /// Client options for the service API: the trusted CAs, a short retry budget fit for an
    /// interactive command, and timeouts.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            trusted_ca_pem: self.trusted_ca_pem.clone(),
            trust_only_custom_ca: self.trust_only_custom_ca,
            retry: RetryOptions {
                initial_delay: Duration::from_millis(250),
                max_retries: 3,
                max_delay: Duration::from_secs(5),
            },
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            user_agent_suffix: Some(concat!("dps-cli/", env!("CARGO_PKG_VERSION")).to_owned()),
            ..ClientOptions::default()
        }
    }

    /// The connection string, or an error saying how to give one.
    pub fn require_connection_string(&self) -> anyhow::Result<&str> {
        self.connection_string.as_deref().ok_or_else(|| {
            Hint::error(
                "no service to talk to: give --connection-string (or DPS_CONNECTION_STRING) or --emulator",
                "for a local DPS: `dps-cli emulator start` in another terminal, then add \
                 --emulator to this command",
            )
        })
    }

    /// A service API client.
    pub fn service_client(&self) -> anyhow::Result<ProvisioningServiceClient> {
        let cs = self.require_connection_string()?;
        ProvisioningServiceClient::from_connection_string(cs, Some(self.client_options()))
            .context("--connection-string")
    }
}

/// Adds a hint to errors that mean the service could not be reached at all.
pub fn unreachable_hint(e: anyhow::Error) -> anyhow::Error {
    let transport = e
        .downcast_ref::<dps_service_client::Error>()
        .is_some_and(|s| s.kind() == dps_service_client::ErrorKind::Transport);
    if transport {
        Hint::error(
            format!("{e:#}"),
            "is the service running? Start a local one with `dps-cli emulator start`, or check \
             --connection-string / --emulator (and --ca-file for a custom CA)",
        )
    } else {
        e
    }
}
