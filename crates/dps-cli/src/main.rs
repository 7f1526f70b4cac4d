//! `dps-cli`: Azure IoT Hub Device Provisioning Service tooling from one command.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 usage error.

use clap::Parser;
use dps_cli::certs::CertsCommand;
use dps_cli::output::OutputFormat;
use std::process::ExitCode;

/// Enroll X.509 devices in Azure IoT Hub DPS, and prove offline that they provision.
#[derive(Debug, Parser)]
#[command(name = "dps-cli", version, about, long_about = None)]
struct Cli {
    /// Output format: table for people, json for scripts.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Test CA chains, verification, device and edge certificates (certGen.sh's operations).
    #[command(subcommand)]
    Certs(CertsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Certs(cmd) => dps_cli::certs::run(cmd, cli.output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
