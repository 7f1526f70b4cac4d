//! The commands behind the `dps-cli` binary, as a library so that `cargo xtask` runs exactly the
//! same code in-process. Everything here is a thin layer over the dps-rs libraries: argument
//! parsing, output formatting, progress and exit codes.
//!
//! Errors: every command returns `anyhow::Result`. A failure that comes with a suggested next
//! step carries a [`Hint`]; [`report`] prints the `error:` line and the `hint:` line the binary
//! shows.

pub mod as_code;
mod certgen_files;
pub mod certificates;
pub mod certs;
pub mod cli;
pub mod context;
mod credentials;
pub mod device;
pub mod doctor;
pub mod emulator;
pub mod enrollments;
mod errors;
mod group_checks;
pub mod groups;
pub mod output;
pub mod progress;
pub mod records;
mod refusal;
pub mod registrations;
pub mod settings;

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

/// A usage error found after parsing (an option that only makes sense with another). The
/// binary prints it like clap's own and exits 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl Usage {
    /// A usage error, ready to return from a command.
    pub fn error(message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self(message.into()))
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The exit code for a command's outcome: 0 success, 1 the operation failed, 2 usage error.
pub fn exit_code(result: &anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) if e.downcast_ref::<Usage>().is_some() => 2,
        Err(_) => 1,
    }
}

/// Prints a command's failure on stderr: `error: ...` with its causes, then the hint if the
/// error carries one.
pub fn report(e: &anyhow::Error) {
    // Long lines fold at the terminal's width (or COLUMNS), under their text.
    let width = output::text_width(output::Stream::Stderr);
    eprintln!("{}", output::wrap(&message(e), width, "error: ", 7));
    if e.downcast_ref::<Usage>().is_some() {
        eprintln!("\nFor more information, try '--help'.");
    }
    if let Some(h) = e.downcast_ref::<Hint>() {
        for line in h.hint.lines() {
            eprintln!("{}", output::wrap(line, width, "hint: ", 6));
        }
    }
}

/// The error and its causes joined with `: `, leaving out a cause whose text the previous one
/// already contains (library errors often repeat their source's message).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !last.is_empty() && last.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        last = text;
    }
    out
}

/// A runtime for the async libraries, one per command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
