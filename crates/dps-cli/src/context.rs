//! The global options every command shares (`--connection-string`, `--ca-file`, `--emulator`,
//! `--output`, `--verbose`) and [`resolve`], the one place that turns them into a service to
//! talk to.

use crate::Hint;
use crate::emulator::EmulatorInfo;
use crate::output::OutputFormat;
use anyhow::Context as _;
use dps_service_client::{ClientOptions, ProvisioningServiceClient, RetryOptions};
use std::fmt;
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
            Some(Some(dir)) => Some(format!(
                "--emulator {}",
                shell_word(&dir.display().to_string())
            )),
            Some(None) => Some("--emulator".to_owned()),
            None => None,
        }
    }

    /// `dps-cli` followed by the global options that name the service this command talks to,
    /// as a printed hint must repeat them to run as printed: `--emulator DIR`, `--ca-file PEM`
    /// when it was given as a flag, and `--connection-string "$DPS_CONNECTION_STRING"` when the
    /// connection string was given as a flag (hints never repeat a secret: see
    /// [`GlobalArgs::hint`]). A connection string or CA file from the environment needs
    /// nothing: the hint runs in the same shell.
    pub fn hint_prefix(&self) -> String {
        let mut out = String::from("dps-cli");
        if let Some(flag) = self.emulator_flag() {
            out.push(' ');
            out.push_str(&flag);
        }
        if self.connection_string_from_flag() {
            out.push_str(&format!(
                " --connection-string \"${CONNECTION_STRING_ENV}\""
            ));
        }
        if let Some(ca) = &self.ca_file
            && std::env::var_os(CA_FILE_ENV).is_none_or(|v| Path::new(&v) != ca)
        {
            out.push_str(&format!(
                " --ca-file {}",
                shell_word(&ca.display().to_string())
            ));
        }
        out
    }

    /// [`GlobalArgs::hint_prefix`] followed by `rest` (a subcommand and its options).
    pub fn hint_command(&self, rest: impl fmt::Display) -> String {
        format!("{} {rest}", self.hint_prefix())
    }

    /// A hint's text, with a last line saying how to set `DPS_CONNECTION_STRING` when its
    /// commands read it because this command got the connection string as a flag.
    pub fn hint(&self, text: impl Into<String>) -> String {
        let mut text = text.into();
        if self.connection_string_from_flag() && text.contains(&format!("${CONNECTION_STRING_ENV}"))
        {
            text.push_str(&format!(
                "\n(set {CONNECTION_STRING_ENV} to the connection string given with \
                 --connection-string: hints do not repeat it)"
            ));
        }
        if text.contains("$AZURE_ACCESS_TOKEN") && std::env::var_os("AZURE_ACCESS_TOKEN").is_none()
        {
            text.push_str(
                "\n(set AZURE_ACCESS_TOKEN to the token given with --bearer-token: hints do not \
                 repeat it)",
            );
        }
        text
    }

    /// Whether the connection string came from `--connection-string` rather than from
    /// `DPS_CONNECTION_STRING` (clap reads both into one field; the same value in the
    /// environment counts as the environment's).
    fn connection_string_from_flag(&self) -> bool {
        match &self.connection_string {
            Some(cs) if !cs.trim().is_empty() => {
                std::env::var(CONNECTION_STRING_ENV).ok().as_deref() != Some(cs.as_str())
            }
            _ => false,
        }
    }

    /// The command that starts the emulator this command was pointed at: `dps-cli emulator
    /// start`, with `--data-dir DIR` for `--emulator DIR` and, when its `emulator.json` names
    /// a port other than the default, `--listen` on that port (devices and SDKs configured with
    /// the old endpoint find it again).
    pub fn start_emulator_command(&self) -> String {
        let mut out = String::from("dps-cli emulator start");
        let dir = match &self.emulator {
            Some(Some(dir)) => {
                out.push_str(&format!(
                    " --data-dir {}",
                    shell_word(&dir.display().to_string())
                ));
                Some(dir.as_path())
            }
            Some(None) => None,
            None => return out,
        };
        let default_port = dps_emulator::config::DEFAULT_LISTEN
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok());
        if let Ok(info) = EmulatorInfo::load(dir)
            && Some(info.port) != default_port
        {
            out.push_str(&format!(" --listen 127.0.0.1:{}", info.port));
        }
        out
    }
}

/// The environment variable `--connection-string` reads.
pub const CONNECTION_STRING_ENV: &str = "DPS_CONNECTION_STRING";

/// The environment variable `--ca-file` reads.
const CA_FILE_ENV: &str = "DPS_CA_FILE";

/// `word` as one POSIX shell word ([`dps_protocol::shell::word`], re-exported under the name
/// every hint of dps-cli and xtask calls).
pub use dps_protocol::shell::word as shell_word;

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
    if let Some(cs) = global
        .connection_string
        .as_deref()
        .filter(|cs| !cs.trim().is_empty())
    {
        check_connection_string(cs, global)?;
    }
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

/// An IoT Hub connection string given where the DPS's belongs is a usage error (exit 2) that
/// says so, before any request; the rule is `dps_protocol`'s
/// ([`ConnectionStringError::IotHub`](dps_protocol::auth::ConnectionStringError::IotHub)).
/// Other mistakes in the string are left to the client that parses it.
fn check_connection_string(cs: &str, global: &GlobalArgs) -> anyhow::Result<()> {
    use dps_protocol::auth::{ConnectionString, ConnectionStringError};
    match cs.parse::<ConnectionString>() {
        Err(e @ ConnectionStringError::IotHub { .. }) => {
            let source = if global.connection_string_from_flag() {
                "--connection-string"
            } else {
                CONNECTION_STRING_ENV
            };
            Err(crate::Usage::error(format!(
                "{source}: {e}; with the Azure CLI: az iot dps connection-string show --dps-name \
                 <dps> --policy-name provisioningserviceowner"
            )))
        }
        _ => Ok(()),
    }
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
pub fn unreachable_hint(e: anyhow::Error, global: &GlobalArgs) -> anyhow::Error {
    let transport = e
        .downcast_ref::<dps_service_client::Error>()
        .is_some_and(|s| s.kind() == dps_service_client::ErrorKind::Transport);
    if transport {
        Hint::error(format!("{e:#}"), unreachable_text(global))
    } else {
        e
    }
}

/// The hint for a service that could not be reached: start the emulator the command was
/// pointed at (in its data folder), or check the options that name the service.
pub fn unreachable_text(global: &GlobalArgs) -> String {
    if global.emulator.is_some() {
        format!(
            "is the emulator running? Start it with `{}` in another terminal (or check the data \
             folder given to --emulator)",
            global.start_emulator_command()
        )
    } else {
        "is the service running? Check --connection-string (its HostName) and --ca-file for a \
         custom CA; for a local DPS, `dps-cli emulator start` in another terminal, then add \
         --emulator to this command"
            .to_owned()
    }
}
