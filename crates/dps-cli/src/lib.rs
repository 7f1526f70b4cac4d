//! The commands behind the `dps-cli` binary, as a library so that `cargo xtask` runs exactly the
//! same code in-process. Everything here is a thin layer over the dps-rs libraries: argument
//! parsing, output formatting, progress and exit codes.

pub mod certs;
pub mod output;
