//! Errors with a suggested next step: what a 404, 409, 412 or 401 means for the record the
//! command was about, and the command line's fix for a certificate-library refusal. The
//! libraries' errors carry no command-line advice; this is where it is added.

use crate::Hint;
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
}

/// Turns a service error into the command's error, with a hint for the common causes. The
/// message keeps the HTTP status and DPS error code (`HTTP 412 (412002): ...`).
pub(crate) fn explain(e: dps_service_client::Error, about: &About<'_>) -> anyhow::Error {
    let About {
        noun,
        command,
        flag,
        id,
    } = about;
    let hint = match e.kind() {
        ErrorKind::NotFound if *command == "registration" => Some(format!(
            "there is no registration {id:?}: the device has not registered yet, or its \
             registration was deleted (`dps-cli enrollment-group registrations --group-id ID` \
             lists a group's)"
        )),
        ErrorKind::NotFound => Some(format!(
            "there is no {noun} {id:?}: `dps-cli {command} list` shows what exists"
        )),
        ErrorKind::Conflict => Some(format!(
            "the {noun} {id:?} already exists: change it with `dps-cli {command} update {flag} \
             {id}`, or delete it first"
        )),
        ErrorKind::PreconditionFailed => Some(format!(
            "the {noun} changed since that ETag was read: `dps-cli {command} show {flag} {id}` \
             shows the current etag (or leave out --if-match/--etag to use it)"
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
        ErrorKind::Transport => Some(
            "is the service running? Start a local one with `dps-cli emulator start`, or check \
             --connection-string / --emulator (and --ca-file for a custom CA)"
                .to_owned(),
        ),
        ErrorKind::Throttled => Some("the service is throttling: wait and try again".to_owned()),
        _ => None,
    };
    match hint {
        Some(h) => Hint::error(e.to_string(), h),
        None => anyhow::Error::new(e),
    }
}

/// [`explain`] for errors not about one record (lists, queries).
pub(crate) fn explain_list(e: dps_service_client::Error, command: &str) -> anyhow::Error {
    explain(
        e,
        &About {
            noun: "record",
            command,
            flag: "",
            id: "",
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
        e => anyhow::Error::new(e),
    }
}
