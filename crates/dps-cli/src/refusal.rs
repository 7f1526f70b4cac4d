//! What `device register` says when the service refuses the device or cannot be reached: the
//! error, and a hint whose commands run as printed, with the context of the refused command
//! (`--emulator DIR`, the registration id, the certificate files).

use crate::Hint;
use crate::certgen_files::path_word;
use crate::context::{self, GlobalArgs, shell_word};
use crate::device::RegisterArgs;
use dps_chain::{Cert, GroupKey, nearest};
use dps_device_client::{ErrorKind, codes};
use dps_protocol::models::{EnrollmentGroup, ProvisioningStatus, QuerySpecification};
use futures_util::TryStreamExt;
use std::path::{Path, PathBuf};

/// The environment variable a hint reads a `--password` from (hints never repeat it).
const PASSWORD_ENV: &str = "DPS_KEY_PASSWORD";
/// The variable a hint names for the device's symmetric key (hints never repeat it).
const DEVICE_KEY_ENV: &str = "DPS_DEVICE_KEY";
/// The variable a hint names for an enrollment group's symmetric key.
const GROUP_KEY_ENV: &str = "DPS_GROUP_KEY";

/// The error for a refused or failed registration, with a hint for the common causes.
pub(crate) fn refusal(
    e: &dps_device_client::Error,
    args: &RegisterArgs,
    global: &GlobalArgs,
    registration_id: &str,
    endpoint: &str,
) -> anyhow::Error {
    let message = match (e.status(), e.error_code()) {
        (Some(_), _) => e.to_string(),
        (None, Some(code)) => format!("registration {} ({code}): {}", status_word(e), e.message()),
        (None, None) => e.to_string(),
    };
    let x509 = args.cert.is_some();
    let hint = match (e.kind(), e.code()) {
        (ErrorKind::Disabled, _) => Some(disabled(args, global, registration_id)),
        (_, Some(codes::UNAUTHORIZED)) | (ErrorKind::Unauthorized, _) if x509 => Some(format!(
            "the service refused the certificate chain; `{}` explains why before the device \
             ships{}",
            doctor_command(args, global, registration_id),
            offline_note(global)
        )),
        (_, Some(codes::UNAUTHORIZED)) | (ErrorKind::Unauthorized, _) => Some(format!(
            "check the key: --symmetric-key takes the individual enrollment's primary or secondary \
             key, --group-key the enrollment group's key (the device key is derived from it and \
             the registration id); {}",
            enroll_key(args, global, registration_id)
        )),
        (_, Some(codes::ENROLLMENT_NOT_FOUND | codes::GROUP_NOT_FOUND)) if x509 => Some(format!(
            "no enrollment matches {registration_id:?}: enroll this device alone with `{}`, or \
                 the CA that issued it with enrollment-group create --cert and the CA's \
                 certificate",
            global.hint_command(format_args!(
                "enrollment create --registration-id {} --cert {}",
                shell_word(registration_id),
                path_word(args.cert.as_deref().unwrap_or(Path::new("")))
            ))
        )),
        (_, Some(codes::ENROLLMENT_NOT_FOUND | codes::GROUP_NOT_FOUND)) => Some(format!(
            "no enrollment matches {registration_id:?}: {}",
            enroll_key(args, global, registration_id)
        )),
        (ErrorKind::NotFound, _) => Some(format!(
            "check --id-scope and --endpoint ({endpoint}); the emulator's are in its emulator.json"
        )),
        (ErrorKind::BadRequest, _) => Some(format!(
            "check the registration id: {}",
            dps_protocol::id::RULE
        )),
        (ErrorKind::Throttled, _) => {
            Some("the service is throttling: wait and try again".to_owned())
        }
        (ErrorKind::Transport, _) if global.emulator.is_some() => Some(format!(
            "cannot reach {endpoint}: {}",
            context::unreachable_text(global)
        )),
        (ErrorKind::Transport, _) => Some(format!(
            "cannot reach {endpoint}: check --endpoint and your network; for a local emulator run \
             `dps-cli emulator start` in another terminal and add --emulator to this command \
             (and --ca-file for a custom CA)"
        )),
        (ErrorKind::Timeout, _) => {
            Some("raise --timeout, or check the service's health".to_owned())
        }
        _ => None,
    };
    match hint {
        Some(hint) => Hint::error(message, password_note(global.hint(hint))),
        None => anyhow::anyhow!(message),
    }
}

/// How to enroll a symmetric-key device that no enrollment knows: the command that creates
/// the group (for `--group-key`) or the individual enrollment (for `--symmetric-key`), the key
/// named by a variable, never repeated.
fn enroll_key(args: &RegisterArgs, global: &GlobalArgs, registration_id: &str) -> String {
    if args.group_key.is_some() {
        format!(
            "if no enrollment group holds this key yet, create one with `{}` (GROUP_ID is a name \
             you choose; set {GROUP_KEY_ENV} to the key given to --group-key)",
            global.hint_command(format_args!(
                "enrollment-group create --group-id GROUP_ID --symmetric-key --primary-key \
                 \"${GROUP_KEY_ENV}\""
            ))
        )
    } else {
        format!(
            "if the device is not enrolled yet, enroll it with `{}` (set {DEVICE_KEY_ENV} to the \
             key given to --symmetric-key)",
            global.hint_command(format_args!(
                "enrollment create --registration-id {} --symmetric-key --primary-key \
                 \"${DEVICE_KEY_ENV}\"",
                shell_word(registration_id)
            ))
        )
    }
}

fn status_word(e: &dps_device_client::Error) -> &'static str {
    if e.kind() == ErrorKind::Disabled {
        "disabled"
    } else {
        "failed"
    }
}

/// The `dps-cli doctor` command line for this device, as registered: the same files, the
/// same registration id, the same service.
pub(crate) fn doctor_command(
    args: &RegisterArgs,
    global: &GlobalArgs,
    registration_id: &str,
) -> String {
    let mut cmd = String::from("doctor");
    if let Some(c) = &args.cert {
        cmd.push_str(&format!(" --cert {}", path_word(c)));
    }
    for c in &args.chain {
        cmd.push_str(&format!(" --chain {}", path_word(c)));
    }
    match (&args.key, &args.key_password) {
        // Register has already matched the key to the certificate, so doctor needs no
        // password to check it again; a PFX given as --cert does need it to be read.
        (Some(k), None) => cmd.push_str(&format!(" --key {}", path_word(k))),
        (_, Some(_)) if args.cert.as_deref().is_some_and(is_pfx) => {
            cmd.push_str(&format!(" --password \"${PASSWORD_ENV}\""));
        }
        _ => {}
    }
    cmd.push_str(&format!(
        " --registration-id {}",
        shell_word(registration_id)
    ));
    if args.transport != crate::device::TransportArg::Https {
        cmd.push_str(&format!(
            " --transport {}",
            dps_device_client::Transport::from(args.transport)
        ));
    }
    global.hint_command(cmd)
}

/// When doctor has no service to ask: the sentence that says how to give it one.
fn offline_note(global: &GlobalArgs) -> &'static str {
    if global.emulator.is_some() || global.connection_string.is_some() {
        ""
    } else {
        " (add --connection-string with the DPS's service connection string, so that doctor \
         checks its enrollments too)"
    }
}

/// The hint, with how to set `DPS_KEY_PASSWORD` when a command in it reads it.
fn password_note(mut hint: String) -> String {
    if hint.contains(&format!("${PASSWORD_ENV}")) {
        hint.push_str(&format!(
            "\n(set {PASSWORD_ENV} to the password given with --password: hints do not repeat it)"
        ));
    }
    hint
}

/// Whether a certificate file is PKCS#12, by its content as every command tells it.
fn is_pfx(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| {
        matches!(
            crate::credentials::kind(&bytes),
            crate::credentials::Kind::Pkcs12
        )
    })
}

/// The hint for a disabled enrollment: the command that enables the one that refused the
/// device, found on the service when it can be read (the individual enrollment of the
/// registration id, else the group of the group key, else the X.509 group nearest the leaf,
/// chosen by `dps_chain` as the service chooses it).
fn disabled(args: &RegisterArgs, global: &GlobalArgs, registration_id: &str) -> String {
    let enable = |what: &str, flag: &str, id: &str| {
        format!(
            "{what} is disabled: enable it with `{}`",
            global.hint_command(format_args!(
                "{} update {flag} {} --provisioning-status enabled",
                if flag == "--group-id" {
                    "enrollment-group"
                } else {
                    "enrollment"
                },
                shell_word(id)
            ))
        )
    };
    match find_disabled(args, global, registration_id) {
        Some(Disabled::Individual) => enable(
            &format!("the individual enrollment {registration_id:?}"),
            "--registration-id",
            registration_id,
        ),
        Some(Disabled::Group(id)) => {
            enable(&format!("the enrollment group {id:?}"), "--group-id", &id)
        }
        None => format!(
            "the enrollment or its group is disabled: `{}` shows the groups; enable one with \
             enrollment-group update --group-id and --provisioning-status enabled (an individual \
             enrollment: enrollment update --registration-id {registration_id})",
            global.hint_command("enrollment-group list")
        ),
    }
}

/// Which disabled enrollment refused the device.
enum Disabled {
    /// The individual enrollment of the registration id.
    Individual,
    /// This enrollment group.
    Group(String),
}

/// Looks up the disabled enrollment on the service; `None` when there is no service to ask,
/// it cannot be read, or nothing disabled matches.
fn find_disabled(
    args: &RegisterArgs,
    global: &GlobalArgs,
    registration_id: &str,
) -> Option<Disabled> {
    let client = context::resolve(global).ok()?.service_client().ok()?;
    let rt = crate::runtime().ok()?;
    let off = |s: Option<&ProvisioningStatus>| s == Some(&ProvisioningStatus::Disabled);
    if let Ok(e) = rt.block_on(client.get_enrollment(registration_id, None)) {
        return off(e.provisioning_status.as_ref()).then_some(Disabled::Individual);
    }
    let groups: Vec<EnrollmentGroup> = rt
        .block_on(
            client
                .query_enrollment_groups(QuerySpecification::all(), None)
                .try_collect(),
        )
        .ok()?;
    if let Some(key) = &args.group_key {
        return groups
            .iter()
            .find(|g| {
                g.attestation.symmetric_key.as_ref().is_some_and(|k| {
                    k.primary_key.as_deref() == Some(key.as_str())
                        || k.secondary_key.as_deref() == Some(key.as_str())
                })
            })
            .filter(|g| off(g.provisioning_status.as_ref()))
            .map(|g| Disabled::Group(g.enrollment_group_id.clone()));
    }
    let mut files: Vec<PathBuf> = args.cert.iter().cloned().collect();
    files.extend(args.chain.iter().cloned());
    let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let presented: Vec<Cert> = crate::doctor::cert::read_all(&files)
        .ok()?
        .iter()
        .filter_map(|d| Cert::parse(d).ok())
        .collect();
    let keyed: Vec<(&EnrollmentGroup, GroupKey<'_>)> = groups
        .iter()
        .filter_map(|g| {
            let x = g.attestation.x509.as_ref()?;
            let info = x
                .signing_certificates
                .as_ref()?
                .primary
                .as_ref()?
                .info
                .as_ref()?;
            Some((
                g,
                GroupKey::Summary {
                    subject: &info.subject_name,
                    sha256: &info.sha256_thumbprint,
                },
            ))
        })
        .collect();
    let (i, _) = nearest(&presented, keyed.iter().map(|(_, k)| *k))?;
    let group = keyed.get(i)?.0;
    off(group.provisioning_status.as_ref())
        .then(|| Disabled::Group(group.enrollment_group_id.clone()))
}
