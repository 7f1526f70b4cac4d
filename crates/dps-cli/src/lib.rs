//! The commands behind the `dps-cli` binary, as a library so that `cargo xtask` runs exactly the
//! same code in-process. Everything here is a thin layer over the dps-rs libraries: argument
//! parsing, output formatting, progress and exit codes.
//!
//! Errors: every command returns `anyhow::Result`. A failure that comes with a suggested next
//! step carries a [`Hint`]; [`report`] prints the `error:` line and the `hint:` line the binary
//! shows.

pub mod certs;
pub mod device;
pub mod doctor;
pub mod emulator;
pub mod output;

use std::fmt;

/// A failure with a suggested next step. The binary prints it as `error: MESSAGE` followed by
/// `hint: HINT`.
#[derive(Debug)]
pub struct Hint {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl Hint {
    /// An error with a hint, ready to return from a command.
    pub fn error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self {
            message: message.into(),
            hint: hint.into(),
        })
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hint {}

/// Prints a command's failure on stderr: `error: ...` with its causes, then the hint if the
/// error carries one.
pub fn report(e: &anyhow::Error) {
    eprintln!("error: {e:#}");
    if let Some(h) = e.downcast_ref::<Hint>() {
        for line in h.hint.lines() {
            eprintln!("hint: {line}");
        }
    }
}

/// A runtime for the async libraries, one per command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
