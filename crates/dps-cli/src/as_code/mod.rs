//! `dps-cli plan`, `dps-cli apply` and `dps-cli export --as-code`: enrollments as code, over
//! the dps-as-code library (the file format, the comparison and the bulk apply live there).

mod render;

use crate::certificates::ArmArgs;
use crate::context::{self, GlobalArgs};
use crate::output::{OutputFormat, eprint_note, print_serialized, print_text};
use crate::progress::{Progress, Spinner};
use crate::{Hint, Usage};
use anyhow::Context;
use dps_as_code::apply::{ApplyOptions, Signer};
use dps_as_code::resolve::Possession;
use dps_as_code::{Desired, Plan, PlanOptions};
use dps_service_client::{CertificateClient, ProvisioningServiceClient};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// The files and how to compare them, shared by `plan` and `apply`.
#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// A file (YAML or JSON) or a directory of them (its *.yaml, *.yml, *.json); repeat to
    /// compose several.
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Also read secrets' `${VARIABLE}`s from this file (NAME=value lines, as written by
    /// `export --as-code --secrets-out`); the environment wins.
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Delete what the files do not declare (apply asks first, or takes --yes).
    #[arg(long)]
    pub prune: bool,
    /// List unchanged records too (by default they are listed when there are at most 20).
    #[arg(long)]
    pub show_unchanged: bool,
    /// Records per query page while reading the live state.
    #[arg(long, value_name = "N", default_value_t = dps_as_code::live::DEFAULT_PAGE_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
    /// At most N per-record requests per second: apply's writes and plan's reads of keys and
    /// registrations (the real service's quota is per unit; Retry-After is always honoured).
    #[arg(long, value_name = "N", value_parser = positive_rate)]
    pub rate: Option<f64>,
    /// Requests in flight at once (bulk operations carry up to 10 records each).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Where the DPS is in Azure (for its CA certificates).
    #[command(flatten)]
    pub arm: ArmArgs,
}

/// `dps-cli plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The files.
    #[command(flatten)]
    pub files: FileArgs,
}

/// `dps-cli apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The files.
    #[command(flatten)]
    pub files: FileArgs,
    /// Do not ask before deleting (--prune).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `dps-cli export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write the live state as enrollments-as-code files (the format `plan` and `apply` read).
    #[arg(long)]
    pub as_code: bool,
    /// Write to this file (`.json` for JSON, otherwise YAML) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the symmetric keys and webhook URLs the export references as `${VARIABLE}`s to
    /// this file (NAME=value, owner-only), for `--env-file`.
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<PathBuf>,
    /// Records per query page.
    #[arg(long, value_name = "N", default_value_t = dps_as_code::live::DEFAULT_PAGE_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
    /// At most N reads per second of keys a query left out (Azure hides them).
    #[arg(long, value_name = "N", value_parser = positive_rate)]
    pub rate: Option<f64>,
    /// Those reads in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Where the DPS is in Azure (for its CA certificates).
    #[command(flatten)]
    pub arm: ArmArgs,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.001 => Ok(r),
        _ => Err(format!(
            "{text:?} is not a number of requests per second from 0.001 up"
        )),
    }
}

/// A value as a shell (and `--env-file`) reads it back: in single quotes, or, for a value
/// holding one (keys are base64, so only a webhook URL could), in double quotes with `\`,
/// `"`, `$` and backticks escaped.
fn env_quoted(value: &str) -> String {
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Apply left some records unapplied; the report says which.
#[derive(Debug)]
pub struct ApplyFailed {
    /// Records not applied.
    pub failed: usize,
    /// Records the plan changes.
    pub total: usize,
    /// Of the failed, those changed on the service after the plan read them.
    pub conflicts: usize,
}

impl std::fmt::Display for ApplyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} changes failed", self.failed, self.total)?;
        if self.conflicts > 0 {
            write!(
                f,
                " ({} changed on the service after the plan read them: run plan again)",
                self.conflicts
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplyFailed {}

/// The service and certificate clients the options name. Certificates are read through
/// Resource Manager with `--subscription ...`, through the emulator's own API for an emulator,
/// and not at all for a DPS in Azure without the Resource Manager options.
fn clients(
    global: &GlobalArgs,
    arm: &ArmArgs,
) -> anyhow::Result<(ProvisioningServiceClient, Option<CertificateClient>)> {
    let target = context::resolve(global)?;
    let client = target.service_client()?;
    // Azure's DPS (in every cloud: .net, .cn, .us, ...) has its certificate API in Resource
    // Manager only; anything else is an emulator, which serves it itself (on loopback, a LAN
    // address or a container's name).
    let azure = target.emulator.is_none()
        && target
            .connection_string
            .as_deref()
            .and_then(|cs| cs.parse::<dps_protocol::auth::ConnectionString>().ok())
            .is_some_and(|cs| {
                cs.host_name()
                    .to_ascii_lowercase()
                    .contains(".azure-devices-provisioning.")
            });
    let certs = if arm.subscription.is_some() || !azure {
        Some(crate::certificates::certificate_client(arm, global)?)
    } else {
        None
    };
    Ok((client, certs))
}

/// Reads, checks and resolves the files.
fn desired(args: &FileArgs) -> anyhow::Result<Desired> {
    let mut extra = Vec::new();
    for path in &args.env_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --env-file {}", path.display()))?;
        extra.extend(dps_as_code::load::parse_env_file(path, &text)?);
    }
    let sources = dps_as_code::load::read_paths(&args.files)?;
    let vars = dps_as_code::resolve::environment(extra);
    Ok(dps_as_code::resolve::resolve(&sources, &vars)?)
}

/// Reads the live state and compares; explains a missing certificate API.
fn make_plan(
    rt: &tokio::runtime::Runtime,
    args: &FileArgs,
    global: &GlobalArgs,
) -> anyhow::Result<(Plan, ProvisioningServiceClient, Option<CertificateClient>)> {
    let desired = desired(args)?;
    let (client, certs) = clients(global, &args.arm)?;
    let options = PlanOptions {
        prune: args.prune,
        page_size: args.page_size,
        concurrency: usize::from(args.concurrency),
        rate: args.rate,
    };
    let spinner = Spinner::new("reading the live state");
    let planned = rt.block_on(dps_as_code::plan(
        &desired,
        &client,
        certs.as_ref(),
        &options,
    ));
    spinner.finish();
    let (plan, _) = planned.map_err(|e| match e {
        dps_as_code::PlanError::NoCertificateApi => Hint::error(
            e.to_string(),
            "on Azure, CA certificates are Resource Manager resources: add --subscription, \
             --resource-group, --dps-name and a bearer token (AZURE_ACCESS_TOKEN=$(az account \
             get-access-token --query accessToken -o tsv)), or move the certificates to a file \
             you plan separately",
        ),
        other => unreachable(other, global),
    })?;
    Ok((plan, client, certs))
}

/// A failed read, with the hint for a service that could not be reached at all.
fn unreachable(e: dps_as_code::PlanError, global: &GlobalArgs) -> anyhow::Error {
    let transport = matches!(&e, dps_as_code::PlanError::Service { source, .. }
        if source.kind() == dps_service_client::ErrorKind::Transport);
    if transport {
        Hint::error(format!("{e}"), context::unreachable_text(global))
    } else {
        e.into()
    }
}

/// `dps-cli plan`.
pub fn run_plan(args: &PlanArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let rt = crate::runtime()?;
    let (plan, _, _) = make_plan(&rt, &args.files, global)?;
    match global.output {
        OutputFormat::Json => print_serialized(&plan),
        OutputFormat::Table => print_text(&render::plan(&plan, args.files.show_unchanged)),
    }
}

/// `dps-cli apply`.
pub fn run_apply(args: &ApplyArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let rt = crate::runtime()?;
    let (plan, client, certs) = make_plan(&rt, &args.files, global)?;
    let table = global.output == OutputFormat::Table;
    if table {
        print_text(&render::plan(&plan, args.files.show_unchanged))?;
    }
    if plan.is_empty() {
        if table {
            print_text("nothing to apply\n")?;
        } else {
            print_serialized(&serde_json::json!({"plan": plan, "report": {"outcomes": []}}))?;
        }
        return Ok(());
    }
    if plan.summary.delete > 0 && !args.yes {
        confirm_deletes(&plan)?;
    }
    let total = plan.summary.create + plan.summary.update + plan.summary.delete;
    let progress = Arc::new(Progress::new("applying", total));
    let options = ApplyOptions {
        concurrency: usize::from(args.files.concurrency),
        rate: args.files.rate,
        progress: Some({
            let progress = Arc::clone(&progress);
            Arc::new(move |done, total| progress.update(done, total))
        }),
    };
    let report = rt.block_on(dps_as_code::apply::apply(
        &plan,
        &client,
        certs.as_ref(),
        Some(&CaSigner),
        &options,
    ));
    drop(progress);
    match global.output {
        OutputFormat::Json => {
            print_serialized(&serde_json::json!({"plan": plan, "report": report}))?
        }
        OutputFormat::Table => print_text(&render::report(&report))?,
    }
    let failed = report.failed();
    if failed > 0 {
        return Err(ApplyFailed {
            failed,
            total: report.outcomes.len(),
            conflicts: report.outcomes.iter().filter(|o| o.conflict).count(),
        }
        .into());
    }
    Ok(())
}

/// Asks before deleting, on a terminal; elsewhere `--yes` is required.
fn confirm_deletes(plan: &Plan) -> anyhow::Result<()> {
    let n = plan.summary.delete;
    if !std::io::stdin().is_terminal() {
        return Err(Usage::error(format!(
            "--prune would delete {n} record(s) the files do not declare: add --yes to confirm \
             (check them first with `dps-cli plan --prune`)"
        )));
    }
    eprint!("Delete {n} record(s) the files do not declare? Type 'yes' to continue: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        anyhow::bail!("nothing applied: the deletions were not confirmed");
    }
    Ok(())
}

/// Signs verification certificates with the CA key a file names, as `certificate prove` does.
struct CaSigner;

impl Signer for CaSigner {
    fn sign(&self, _: &str, key: &Possession, code: &str) -> Result<Vec<u8>, String> {
        let password = key.password.as_ref().map(|p| p.expose().to_owned());
        let (ca, _) =
            crate::certificates::load_ca(&key.certificate, Some(&key.key), password.as_deref())
                .map_err(|e| format!("{e:#}"))?;
        crate::certificates::verification_certificate(&ca, code).map_err(|e| e.to_string())
    }
}

/// `dps-cli export`.
pub fn run_export(args: &ExportArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if !args.as_code {
        return Err(Usage::error(
            "export writes the live state as enrollments-as-code files: add --as-code (the \
             enrollments as the service's JSON: `dps-cli enrollment export`)",
        ));
    }
    let rt = crate::runtime()?;
    let (client, certs) = clients(global, &args.arm)?;
    let spinner = Spinner::new("reading the live state");
    let options = PlanOptions {
        page_size: args.page_size,
        concurrency: usize::from(args.concurrency),
        rate: args.rate,
        prune: false,
    };
    let live = rt.block_on(dps_as_code::read_for_export(
        &client,
        certs.as_ref(),
        &options,
    ));
    spinner.finish();
    let live = live.map_err(|e| unreachable(e, global))?;
    let export = dps_as_code::export::export(&live)?;
    let json = args
        .out
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "json"));
    let text = if json {
        let mut t = serde_json::to_string_pretty(&export.manifest)?;
        t.push('\n');
        t
    } else {
        render::yaml(&export)?
    };
    let mut files = dps_certgen::FileSet::new();
    if let Some(out) = &args.out {
        files.add(out, text.clone().into_bytes(), dps_certgen::Mode::Public);
    }
    if let Some(path) = &args.secrets_out {
        let mut env =
            String::from("# Secrets of `dps-cli export --as-code`: keep private, never commit.\n");
        for (name, value) in &export.secrets {
            env.push_str(&format!("{name}={}\n", env_quoted(value)));
        }
        files.add(path, env.into_bytes(), dps_certgen::Mode::Secret);
    }
    files.commit()?;
    let m = &export.manifest;
    let counts = format!(
        "{} certificate(s), {} enrollment group(s), {} enrollment(s)",
        m.certificates.len(),
        m.enrollment_groups.len(),
        m.enrollments.len()
    );
    match (&args.out, global.output) {
        (None, _) => print_text(&text)?,
        (Some(out), OutputFormat::Table) => {
            print_text(&format!("exported {counts} to {}\n", out.display()))?
        }
        (Some(out), OutputFormat::Json) => print_serialized(&serde_json::json!({
            "path": out,
            "certificates": m.certificates.len(),
            "enrollmentGroups": m.enrollment_groups.len(),
            "enrollments": m.enrollments.len(),
            "secretVariables": export.secrets.len(),
            "secretsPath": args.secrets_out,
        }))?,
    }
    if !export.secrets.is_empty() && args.secrets_out.is_none() {
        eprint_note(
            "note: ",
            &format!(
                "{} secret(s) are written as ${{VARIABLE}} references; --secrets-out FILE writes \
                 their values (owner-only) for `dps-cli plan --env-file FILE`",
                export.secrets.len()
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_files_quote_values_so_a_shell_and_env_file_read_them_back() {
        assert_eq!(env_quoted("a+b/c=="), "'a+b/c=='");
        let tricky = r#"https://x/?code=it's$HOME\"q"`"#;
        let line = format!("X={}", env_quoted(tricky));
        let read = dps_as_code::load::parse_env_file(std::path::Path::new("s.env"), &line)
            .unwrap_or_default();
        assert_eq!(read, [("X".to_owned(), tricky.to_owned())]);
    }
}
