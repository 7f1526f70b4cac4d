//! Errors with a suggested next step: what a 404, 409, 412 or 401 means for the record the
//! command was about, and the command line's fix for a certificate-library refusal. The
//! libraries' errors carry no command-line advice; this is where it is added.

use crate::Hint;
use crate::context::{GlobalArgs, shell_word};
use dps_service_client::ErrorKind;

/// The record a command was about, to word the hints.
pub(crate) struct About<'a> {
    /// `enrollment group`, `enrollment`, `registration`, `certificate`.
    pub(crate) noun: &'a str,
    /// The command group: `enrollment-group`, `enrollment`, ...
    pub(crate) command: &'a str,
    /// The id flag: `--group-id`, `--registration-id`, `--name`.
    pub(crate) flag: &'a str,
    /// The id.
    pub(crate) id: &'a str,
    /// The global options, repeated in the hints' commands so that they run as printed.
    pub(crate) global: &'a GlobalArgs,
    /// Options of the command group that the hints' commands repeat after the subcommand
    /// (the certificate API's Azure options), with a leading space; empty for most.
    pub(crate) tail: String,
}

impl About<'_> {
    /// The command line `dps-cli [global options] COMMAND VERB FLAG ID [tail]`.
    fn command_line(&self, verb: &str) -> String {
        self.global.hint_command(format_args!(
            "{} {verb} {} {}{}",
            self.command,
            self.flag,
            shell_word(self.id),
            self.tail
        ))
    }
}

/// Turns a service error into the command's error, with a hint for the common causes. The
/// message keeps the HTTP status and DPS error code (`HTTP 412 (412002): ...`). Every command
/// a hint names carries the context of the command that failed (`--emulator DIR`, ...).
pub(crate) fn explain(e: dps_service_client::Error, about: &About<'_>) -> anyhow::Error {
    let About {
        noun,
        command,
        id,
        global,
        tail,
        ..
    } = about;
    let hint = match e.kind() {
        ErrorKind::NotFound if *command == "registration" => Some(format!(
            "there is no registration {id:?}: the device has not registered yet, or its \
             registration was deleted; `{}` shows the enrollment groups, and enrollment-group \
             registrations --group-id with a group's id lists its registrations",
            global.hint_command("enrollment-group list")
        )),
        ErrorKind::NotFound => Some(format!(
            "there is no {noun} {id:?}: `{}` shows what exists",
            global.hint_command(format_args!("{command} list{tail}"))
        )),
        ErrorKind::Conflict if *command == "certificate" => Some(format!(
            "the {noun} {id:?} already exists: `{}` shows it; delete it first with `{}`",
            about.command_line("show"),
            about.command_line("delete")
        )),
        ErrorKind::Conflict => Some(format!(
            "the {noun} {id:?} already exists: `{}` shows it; change it with `{}` and the \
             options to change, or delete it first with `{}`",
            about.command_line("show"),
            about.command_line("update"),
            about.command_line("delete")
        )),
        ErrorKind::PreconditionFailed => Some(format!(
            "the {noun} changed since that ETag was read: `{}` shows the current etag (or leave \
             out --if-match/--etag to use it)",
            about.command_line("show")
        )),
        ErrorKind::Unauthorized => Some(
            "the service refused the credentials: check --connection-string (its key and policy \
             name), or the emulator's data folder given to --emulator"
                .to_owned(),
        ),
        ErrorKind::Forbidden => Some(
            "the policy may not do this: use one with write rights (e.g. \
             provisioningserviceowner)"
                .to_owned(),
        ),
        ErrorKind::Transport => Some(crate::context::unreachable_text(global)),
        ErrorKind::Throttled => Some("the service is throttling: wait and try again".to_owned()),
        _ => None,
    };
    match hint {
        Some(h) => Hint::error(e.to_string(), global.hint(h)),
        None => anyhow::Error::new(e),
    }
}

/// [`explain`] for errors not about one record (lists, queries).
pub(crate) fn explain_list(
    e: dps_service_client::Error,
    command: &str,
    global: &GlobalArgs,
) -> anyhow::Error {
    explain(
        e,
        &About {
            noun: "record",
            command,
            flag: "",
            id: "",
            global,
            tail: String::new(),
        },
    )
}

/// Turns a certificate-library error into the command's error, with the command line's way out
/// where there is one.
pub(crate) fn explain_certgen(e: dps_certgen::Error) -> anyhow::Error {
    match e {
        dps_certgen::Error::ChainExists { .. } => Hint::error(
            e.to_string(),
            "pass --force to replace it (every certificate it signed stops verifying)",
        ),
        dps_certgen::Error::PasswordRequired { .. } => Hint::error(
            e.to_string(),
            "pass its password with --password (certGen.sh's is 1234; `dps-cli certs` keys use \
             the --password they were made with)",
        ),
        e => anyhow::Error::new(e),
    }
}
