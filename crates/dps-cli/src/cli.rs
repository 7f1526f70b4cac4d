//! The `dps-cli` command line: [`Cli`], the command tree ([`command`]) and [`run`].

use crate::as_code::{ApplyArgs, ExportArgs, PlanArgs};
use crate::certificates::CertificateArgs;
use crate::certs::CertsCommand;
use crate::context::GlobalArgs;
use crate::device::DeviceCommand;
use crate::doctor::DoctorArgs;
use crate::emulator::EmulatorCommand;
use crate::enrollments::EnrollmentCommand;
use crate::groups::GroupCommand;
use crate::registrations::RegistrationCommand;
use clap::{CommandFactory, FromArgMatches};

const AFTER_HELP: &str = "\
Examples:
  dps-cli certs create-root-and-intermediate --out certs
  dps-cli --emulator certificate prove --name azure-iot-test-only-root --cert certs/certs/azure-iot-test-only.root.ca.cert.pem --key certs/private/azure-iot-test-only.root.ca.key.pem
  dps-cli --emulator enrollment-group create --group-id my-group --cert certs/certs/azure-iot-test-only.intermediate.cert.pem

The service: --connection-string (or DPS_CONNECTION_STRING) for a DPS in Azure, --emulator for a
local one (`dps-cli emulator start`). --output json prints one stable JSON document per command
(shapes in crates/dps-cli/JSON.md); errors go to stderr.

Exit codes: 0 success, 1 the operation failed, 2 usage error.";

const PLAN_AFTER_HELP: &str = "\
A file uses the service's JSON field names (the README's \"Enrollments as code\" has them all;
the JSON Schema is schema/dps-as-code.schema.json):

dps.yaml:
  enrollmentGroups:
    - enrollmentGroupId: sensors
      attestation:
        type: symmetricKey
      provisioningStatus: enabled
      initialTwin:
        tags: {site: lab}

Examples:
  dps-cli --emulator plan -f dps.yaml
  dps-cli --emulator plan -f dps.yaml --prune --output json

Exit codes: 0 the plan was made (whatever it holds), 1 the files or the service failed, 2 usage.";

const DOCTOR_LONG_ABOUT: &str = "\
Check a device certificate against every rule DPS applies, before the device ships

Prints a checklist ([ok] / [warn] / [FAIL], each failure with its fix) and exits 1 if the
service would refuse the device.

Examples:
  dps-cli doctor --cert certs/certs/dev1-full-chain.cert.pem --key certs/private/dev1.key.pem \\
      --group-cert certs/certs/azure-iot-test-only.intermediate.cert.pem \\
      --verified-ca certs/certs/azure-iot-test-only.root.ca.cert.pem
  dps-cli doctor --cert certs/certs/dev1-full-chain.cert.pem --emulator --group-id my-group";

/// Enroll X.509 devices in Azure IoT Hub DPS, and prove offline that they provision.
#[derive(Debug, clap::Parser)]
#[command(
    name = "dps-cli",
    version,
    about,
    long_about = None,
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Test CA chains, verification, device and edge certificates (certGen.sh's operations).
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Enrollment groups: every device whose chain reaches a CA, or that holds a group-derived key.
    #[command(subcommand)]
    EnrollmentGroup(GroupCommand),
    /// Individual enrollments (X.509, symmetric key, TPM), one by one or in bulk.
    #[command(subcommand)]
    Enrollment(EnrollmentCommand),
    /// CA certificates of the DPS and proof of possession (`prove` does it all).
    Certificate(CertificateArgs),
    /// Register a device as it will in the field (X.509 or symmetric key) and show its hub.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// `dps-cli doctor`: check a device certificate before the device ships.
    #[command(
        about = "Check a device certificate against every rule DPS applies, before the device ships",
        long_about = DOCTOR_LONG_ABOUT
    )]
    Doctor(DoctorArgs),
    /// Device registration states: show, list by group, delete.
    #[command(subcommand)]
    Registration(RegistrationCommand),
    /// Run the local DPS emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
    /// Compare enrollments-as-code files with the live DPS: what `apply` would change
    #[command(after_help = PLAN_AFTER_HELP)]
    Plan(PlanArgs),
    /// Make the live DPS match enrollments-as-code files (bulk, ETag-guarded)
    #[command(after_help = "Examples:
  dps-cli --emulator apply -f dps.yaml
  dps-cli --emulator apply -f dps.yaml --rate 10

--prune also deletes what the files do not declare, after a confirmation (or --yes).
Exit codes: 0 every change applied, 1 some did not (the report says which), 2 usage.")]
    Apply(ApplyArgs),
    /// Write the live DPS as enrollments-as-code files (`export --as-code`)
    #[command(after_help = "Examples:
  dps-cli --emulator export --as-code --out live.yaml --secrets-out live.env
  dps-cli --emulator plan -f live.yaml --env-file live.env")]
    Export(ExportArgs),
    /// Print a shell completion script
    #[command(after_help = "Examples:
  dps-cli completions bash > ~/.local/share/bash-completion/completions/dps-cli
  dps-cli completions zsh > \"${fpath[1]}/_dps-cli\"
  dps-cli completions fish > ~/.config/fish/completions/dps-cli.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The command tree: the derived one, with subcommand names taking precedence over the
/// optional value of `--emulator` at every level (`dps-cli --emulator enrollment-group list`).
pub fn command() -> clap::Command {
    fn precedence(cmd: clap::Command) -> clap::Command {
        cmd.subcommand_precedence_over_arg(true)
            .mut_subcommands(precedence)
    }
    precedence(Cli::command())
}

/// Parses the process's arguments; usage errors exit 2, `--help` and `--version` 0.
///
/// A subcommand that exists only under the other of `certs` (certificate files on disk) and
/// `certificate` (CA certificates on the DPS) gets a tip naming the right one.
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = command().try_get_matches_from(&args).unwrap_or_else(|e| {
        if e.kind() == clap::error::ErrorKind::InvalidSubcommand {
            let words: Vec<String> = args
                .iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            if let Some(tip) = other_group_tip(&words) {
                let rendered = e.render().to_string();
                let (head, tail) = match rendered.find("\nUsage:") {
                    Some(i) => rendered.split_at(i),
                    None => (rendered.as_str(), ""),
                };
                eprint!("{}\n  tip: {tip}\n{tail}", head.trim_end());
                std::process::exit(2);
            }
        }
        e.exit()
    });
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The tip for `dps-cli certificate inspect` (it is `certs inspect`) and for
/// `dps-cli certs prove` and the like (they are `certificate ...`): the two groups are easy to
/// mix up. `words` are the arguments after the program name.
pub fn other_group_tip(words: &[String]) -> Option<String> {
    let position = words
        .iter()
        .position(|w| w == "certs" || w == "certificate")?;
    let group = words[position].as_str();
    let sub = words[position + 1..].iter().find(|w| !w.starts_with('-'))?;
    let (other, what) = match group {
        "certificate" => ("certs", "certificate and key files on disk"),
        _ => ("certificate", "the CA certificates of the DPS"),
    };
    let exists = command()
        .find_subcommand(other)
        .and_then(|c| c.find_subcommand(sub))
        .is_some();
    let mut again: Vec<String> = Vec::with_capacity(words.len());
    let mut hidden: Option<&str> = None;
    for (i, w) in words.iter().enumerate() {
        let word = if i == position {
            other.to_owned()
        } else if let Some(var) = hidden.take() {
            format!("\"${var}\"")
        } else if let Some((flag, var)) = w
            .split_once('=')
            .and_then(|(f, _)| Some((f, secret_variable(f)?)))
        {
            format!("{flag}=\"${var}\"")
        } else {
            hidden = secret_variable(w);
            crate::context::shell_word(w)
        };
        again.push(word);
    }
    exists.then(|| {
        format!(
            "`{sub}` is a command of `dps-cli {other}` ({what}): try `dps-cli {}`",
            again.join(" ")
        )
    })
}

/// Flags whose values are secrets, with what a tip prints instead: the variable the flag
/// reads, or one a user would keep the secret in. Only flags that can precede a `certs` or
/// `certificate` subcommand matter here (global flags, the ARM options, prove's password).
const SECRET_FLAGS: &[(&str, &str)] = &[
    ("--connection-string", "DPS_CONNECTION_STRING"),
    ("--bearer-token", "AZURE_ACCESS_TOKEN"),
    ("--password", "DPS_KEY_PASSWORD"),
    ("--key-password", "DPS_KEY_PASSWORD"),
];

/// The variable a tip names in place of a secret flag's value.
fn secret_variable(flag: &str) -> Option<&'static str> {
    SECRET_FLAGS
        .iter()
        .find(|(f, _)| *f == flag)
        .map(|(_, v)| *v)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Certs(cmd) => crate::certs::run(cmd, global.output),
        Command::EnrollmentGroup(cmd) => crate::groups::run(cmd, &global),
        Command::Enrollment(cmd) => crate::enrollments::run(cmd, &global),
        Command::Registration(cmd) => crate::registrations::run(cmd, &global),
        Command::Certificate(args) => crate::certificates::run(args, &global),
        Command::Device(cmd) => crate::device::run(cmd, &global),
        Command::Doctor(args) => crate::doctor::run(&args, &global),
        Command::Emulator(cmd) => crate::emulator::run(cmd, global.output),
        Command::Plan(args) => crate::as_code::run_plan(&args, &global),
        Command::Apply(args) => crate::as_code::run_apply(&args, &global),
        Command::Export(args) => crate::as_code::run_export(&args, &global),
        Command::Completions { shell } => crate::output::print_text(&completions(shell)),
    }
}

/// The completion script for `shell`.
///
/// clap_complete 4.6's bash generator names the per-subcommand cases of a hyphenated binary
/// `dps__subcmd__cli__subcmd__certs` while its dispatch loop looks up `dps__cli__subcmd__certs`,
/// so nothing below the top level would complete; the cases are renamed to what the loop uses.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "dps-cli", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        clap_complete::Shell::Bash => script.replace("dps__subcmd__cli", "dps__cli"),
        _ => script,
    }
}

/// Sends the dps crates' `tracing` output (one line per service request, with its status and
/// attempts; under `emulator start`, the emulator's own request log) to stderr at debug level;
/// `RUST_LOG` overrides the filter. Without `--verbose` only `emulator start` logs (at info).
pub fn init_tracing(verbose: bool) {
    if !verbose {
        return;
    }
    // Spinners would tear the log lines.
    crate::progress::suppress();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "dps_service_client=debug,dps_device_client=debug,dps_protocol=debug,dps_cli=debug,\
             dps_emulator=debug",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .try_init();
}
