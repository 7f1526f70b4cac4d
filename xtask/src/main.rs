//! Project automation, in the cargo-xtask style (see <https://github.com/matklad/cargo-xtask/>):
//! `cargo xtask <task>` runs Rust code from this crate instead of shell scripts.
//!
//! * `gen-certs` — certGen.sh's operations into the top-level `certs/` folder.
//! * `quickstart` — the offline DPS X.509 quickstart, step by step.
//! * `bench` — side-by-side timings against the reference tools (release build).
//! * `screenshots` — the web console's pages as PNGs for the README.
//! * `fuzz` — the cargo-fuzz targets of `fuzz/`, time-boxed, with executions and crashes.
//!
//! Every task runs from the workspace root, whatever the current directory.

mod bench;
mod fuzz;
mod quickstart;
mod screenshots;
mod soak;

use clap::Parser;
use dps_cli::certs::CertsCommand;
use dps_cli::output::OutputFormat;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "dps-rs project tasks")]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, clap::Subcommand)]
enum Task {
    /// certGen.sh's operations into ./certs (default: create_root_and_intermediate).
    ///
    /// Takes certGen.sh's subcommand names too, e.g.
    /// `cargo xtask gen-certs create_device_certificate_from_intermediate mydevice`.
    GenCerts {
        #[command(subcommand)]
        command: Option<CertsCommand>,
    },
    /// Run the offline quickstart: test chain, device certificate, checks.
    Quickstart(quickstart::Args),
    /// Time dps-rs against the reference tools and write target/bench/report.json.
    Bench(bench::Args),
    /// The web console's pages as PNGs for the README (headless Chromium, demo data).
    Screenshots(screenshots::Args),
    /// Run the cargo-fuzz targets of fuzz/, time-boxed, and report executions and crashes.
    Fuzz(fuzz::Args),
    /// Mixed traffic with faults and SIGKILL restarts against a release emulator; checks that
    /// no acknowledged write is lost, no answer is a 5xx and memory and descriptors return.
    Soak(soak::Args),
    /// The release load generator of `bench` (prints one JSON result line).
    #[command(hide = true)]
    BenchWorker(bench::worker::Args),
}

fn main() -> anyhow::Result<()> {
    let xtask = Xtask::parse();
    std::env::set_current_dir(project_root())?;
    match xtask.task {
        Task::GenCerts { command } => {
            let command = match command {
                Some(c) => c,
                None => default_gen_certs()?,
            };
            dps_cli::certs::run(command, OutputFormat::Table)
        }
        Task::Quickstart(args) => quickstart::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Fuzz(args) => fuzz::run(&args),
        Task::Soak(args) => soak::run(&args),
        Task::Screenshots(args) => screenshots::run(&args),
        Task::BenchWorker(args) => bench::worker::run(&args),
    }
}

/// `cargo xtask gen-certs` with no subcommand: `create_root_and_intermediate` with defaults.
fn default_gen_certs() -> anyhow::Result<CertsCommand> {
    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(subcommand)]
        c: CertsCommand,
    }
    Ok(Wrap::try_parse_from(["gen-certs", "create-root-and-intermediate"])?.c)
}

/// The workspace root: the parent of this crate's manifest folder.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
