//! `dps-cli`: Azure IoT Hub Device Provisioning Service tooling from one command.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 usage error.

use clap::Parser;
use dps_cli::certs::CertsCommand;
use dps_cli::device::DeviceCommand;
use dps_cli::doctor::DoctorArgs;
use dps_cli::emulator::EmulatorCommand;
use dps_cli::output::OutputFormat;
use std::process::ExitCode;

/// Enroll X.509 devices in Azure IoT Hub DPS, and prove offline that they provision.
#[derive(Debug, Parser)]
#[command(
    name = "dps-cli",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 the operation failed, 2 usage error."
)]
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
    /// Register a device as it will in the field (X.509 or symmetric key) and show its hub.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Check a device certificate against every rule DPS applies, before the device ships
    ///
    /// Prints a checklist ([ok] / [warn] / [FAIL], each failure with its fix) and exits 1 if the
    /// service would refuse the device.
    ///
    /// Examples:
    ///   dps-cli doctor --cert certs/certs/dev1-full-chain.cert.pem --key certs/private/dev1.key.pem \
    ///       --group-cert certs/certs/azure-iot-test-only.intermediate.cert.pem \
    ///       --verified-ca certs/certs/azure-iot-test-only.root.ca.cert.pem
    ///   dps-cli doctor --cert dev1-full-chain.cert.pem --emulator --group-id my-group
    #[command(verbatim_doc_comment)]
    Doctor(DoctorArgs),
    /// Run the local DPS emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Certs(cmd) => dps_cli::certs::run(cmd, cli.output),
        Command::Device(cmd) => dps_cli::device::run(cmd, cli.output),
        Command::Doctor(args) => dps_cli::doctor::run(&args, cli.output),
        Command::Emulator(cmd) => dps_cli::emulator::run(cmd, cli.output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            dps_cli::report(&e);
            ExitCode::from(1)
        }
    }
}
