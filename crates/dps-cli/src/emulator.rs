//! `dps-cli emulator start`: the local DPS in the foreground; `emulator trust` ([`trust`]): its
//! CA in the trust stores; and [`EmulatorInfo`], what other commands read from a running
//! emulator's `emulator.json` when given `--emulator`.

use crate::output::{OutputFormat, print_json};
use crate::{Hint, Usage};
use anyhow::Context;
use dps_emulator::{EMULATOR_JSON, Emulator, default_data_dir};
use serde_json::json;
use std::path::{Path, PathBuf};

pub mod trust;
pub use trust::TrustArgs;

/// Emulator commands.
#[derive(Debug, clap::Subcommand)]
pub enum EmulatorCommand {
    /// Run a local DPS in the foreground until Ctrl-C or SIGTERM; writes DATA_DIR/emulator.json
    /// (connection strings, ID scope, endpoints, CA path) once it accepts connections. Refuses a
    /// data folder another emulator runs on, and a damaged, empty or missing store (--reset
    /// moves it aside and starts over).
    ///
    /// Example: dps-cli emulator start --data-dir .dps --in-memory
    Start(StartArgs),
    /// Trust the emulator's local CA in the system and browser stores, like mkcert -install
    ///
    /// Adds the CA to the system store (Debian/Ubuntu) and to the NSS databases of Chromium and
    /// Firefox, so https://localhost works without warnings; --uninstall removes it. The CA may
    /// vouch only for localhost, loopback addresses and the emulator's --host-name values.
    /// Prints the plan, then asks (--yes: don't ask; --dry-run: plan only). Fedora/RHEL, macOS
    /// and Windows get the commands to run by hand.
    #[command(after_help = "Examples:
  dps-cli emulator trust --dry-run
  dps-cli emulator trust --regenerate --host-name devbox.local --dry-run")]
    Trust(TrustArgs),
}

/// The options of `emulator start`: the `dps-emulator` binary's flags, declared once in the
/// emulator's library.
pub use dps_emulator::cli::StartArgs;

/// Runs an emulator command.
pub fn run(cmd: EmulatorCommand, format: OutputFormat) -> anyhow::Result<()> {
    match cmd {
        EmulatorCommand::Start(args) => start(&args, format),
        EmulatorCommand::Trust(args) => trust::run(&args),
    }
}

fn start(args: &StartArgs, format: OutputFormat) -> anyhow::Result<()> {
    // A flag value out of range is a usage error (exit code 2), like clap's own.
    let config = args.config().map_err(|e| Usage::error(e.to_string()))?;
    // Request and refusal lines on stderr without -v (which installed its own subscriber,
    // with the emulator at debug).
    dps_emulator::cli::init_logging(false);
    dps_emulator::cli::raise_descriptor_limit(&config);
    let emulator = Emulator::spawn(config).context("starting the emulator")?;
    match format {
        OutputFormat::Table => println!("{}", dps_emulator::cli::ready_line(&emulator)),
        // No keys: they are in emulator.json, readable by its owner only.
        OutputFormat::Json => print_json(&json!({
            "serviceEndpoint": emulator.service_endpoint(),
            "deviceEndpoint": emulator.device_endpoint(),
            "mqttEndpoint": emulator.mqtt_endpoint(),
            "mqttWebSocketEndpoint": emulator.mqtt_websocket_endpoint(),
            "consoleUrl": emulator.console_url(),
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

/// What a running emulator published in its `emulator.json` ([`dps_protocol::EmulatorInfo`],
/// the type the emulator writes, whose fields read through `Deref`), and where it was read.
#[derive(Debug, Clone)]
pub struct EmulatorInfo {
    /// The file's contents.
    pub file: dps_protocol::EmulatorInfo,
    /// Where this information was read from.
    pub path: PathBuf,
}

impl std::ops::Deref for EmulatorInfo {
    type Target = dps_protocol::EmulatorInfo;

    fn deref(&self) -> &Self::Target {
        &self.file
    }
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
                        crate::context::shell_word(&dir.display().to_string())
                    ),
                ));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let file = dps_protocol::EmulatorInfo::from_json(&text)
            .with_context(|| format!("{} is not an emulator.json", path.display()))?;
        Ok(Self { file, path })
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use std::collections::BTreeMap;

    /// Long flag → help text of a command's own arguments (not globals, help or version).
    fn flags(cmd: &clap::Command) -> BTreeMap<String, String> {
        cmd.get_arguments()
            .filter(|a| !a.is_global_set())
            .filter_map(|a| Some((a.get_long()?, a)))
            .filter(|(long, _)| !matches!(*long, "help" | "version"))
            .map(|(long, a)| {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                (long.to_owned(), help)
            })
            .collect()
    }

    #[test]
    fn emulator_start_and_the_dps_emulator_binary_take_the_same_flags() {
        let mut cli = crate::cli::Cli::command();
        cli.build();
        let start = cli
            .find_subcommand("emulator")
            .and_then(|e| e.find_subcommand("start"))
            .expect("dps-cli emulator start");
        let mut binary = dps_emulator::cli::EmulatorArgs::command();
        binary.build();
        let (start, binary) = (flags(start), flags(&binary));
        assert_eq!(start, binary);
        for flag in ["fail-rate", "fail-status", "latency-ms", "reset"] {
            assert!(start.contains_key(flag), "--{flag} is missing: {start:?}");
        }
    }
}
