//! Output conventions shared by every command: `--output table|json`, stderr for warnings and
//! progress, and nothing on a terminal that a script would have to parse around.

use std::io::{IsTerminal, Write};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    #[default]
    Table,
    /// One JSON document on stdout, stable for scripts.
    Json,
}

/// Prints a JSON value on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A progress line on stderr that is only drawn on a terminal, so piped and CI output stays
/// clean.
pub struct Progress {
    label: String,
    enabled: bool,
}

impl Progress {
    /// A progress indicator for `label`; silent unless stderr is a terminal and `total > 1`.
    pub fn new(label: &str, total: usize) -> Self {
        Self {
            label: label.to_owned(),
            enabled: total > 1 && std::io::stderr().is_terminal(),
        }
    }

    /// Reports `done` of `total`.
    pub fn update(&self, done: usize, total: usize) {
        if self.enabled {
            eprint!("\r{} {done}/{total}", self.label);
            if done == total {
                eprintln!();
            }
        }
    }
}
