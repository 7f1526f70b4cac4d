//! `dps-emulator`: a local Azure IoT Hub Device Provisioning Service on 127.0.0.1.
//!
//! Writes `DATA_DIR/emulator.json` (connection strings, ID scope, endpoints, CA path) when it
//! is ready, logs each request and each device refusal on stderr (`RUST_LOG` overrides the
//! filter) and stops cleanly on Ctrl-C or SIGTERM. Its flags are
//! [`dps_emulator::cli::StartArgs`], which `dps-cli emulator start` takes too.

use anyhow::Context;
use clap::Parser;
use dps_emulator::Emulator;
use dps_emulator::cli::EmulatorArgs;

fn main() -> anyhow::Result<()> {
    dps_emulator::cli::init_logging(false);
    let args = EmulatorArgs::parse();
    let config = args.start.config()?;
    dps_emulator::cli::raise_descriptor_limit(&config);
    let emulator = Emulator::spawn(config).context("starting the emulator")?;
    println!("{}", dps_emulator::cli::ready_line(&emulator));
    dps_emulator::wait_for_shutdown_signal()?;
    eprintln!("dps-emulator: shutting down");
    emulator.shutdown();
    Ok(())
}
