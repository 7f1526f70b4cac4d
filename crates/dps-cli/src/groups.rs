//! `dps-cli enrollment-group ...`: create, show, list, update and delete enrollment groups, and
//! list the registrations made through one.

use crate::context::{self, GlobalArgs};
use crate::errors::{About, explain, explain_list};
use crate::group_checks::{Attestation, warn};
use crate::output::{
    OutputFormat, dash, date, print_fields, print_line, print_serialized, print_table,
};
use crate::records::{WithSettings, attestation_fields, attestation_summary, read_certificate};
use crate::settings::{SettingsArgs, describe, hubs_text};
use anyhow::Context;
use dps_protocol::models::{
    AttestationMechanism, DeviceRegistrationState, EnrollmentGroup, QuerySpecification,
    SymmetricKeyAttestation, X509Attestation,
};
use dps_service_client::{ConditionalOptions, QueryOptions};
use futures_util::TryStreamExt;
use serde_json::json;
use std::path::PathBuf;

/// Enrollment group commands.
#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Create an enrollment group: X.509 (a CA certificate file, or a verified CA by name) or
    /// symmetric key; fails if it exists
    #[command(after_help = "Examples:
  dps-cli enrollment-group create --group-id root-group --cert certs/certs/azure-iot-test-only.root.ca.cert.pem
  dps-cli enrollment-group create --group-id by-name --ca-reference azure-iot-test-only-root --iot-hub hub1.azure-devices.net
  dps-cli --output json enrollment-group create --group-id sk-group --symmetric-key --edge")]
    Create(CreateArgs),
    /// Show one enrollment group
    #[command(after_help = "Example:\n  dps-cli enrollment-group show --group-id my-group")]
    Show(IdArgs),
    /// List every enrollment group (all pages)
    #[command(after_help = "Example:\n  dps-cli --emulator enrollment-group list --output json")]
    List(ListArgs),
    /// Change an enrollment group: read it, apply the flags given, write it back with its ETag
    /// as If-Match (or --if-match)
    #[command(after_help = "Examples:
  dps-cli enrollment-group update --group-id root-group --provisioning-status disabled
  dps-cli enrollment-group update --group-id root-group --iot-hub a.azure-devices.net --iot-hub b.azure-devices.net --allocation-policy geoLatency")]
    Update(UpdateArgs),
    /// Delete an enrollment group (its devices' registrations stay until deleted)
    #[command(after_help = "Example:\n  dps-cli enrollment-group delete --group-id sk-group")]
    Delete(DeleteArgs),
    /// List the device registrations made through an enrollment group (all pages)
    #[command(
        after_help = "Example:\n  dps-cli enrollment-group registrations --group-id my-group"
    )]
    Registrations(RegistrationsArgs),
}

/// How member devices attest. On create exactly one of --cert, --ca-reference and
/// --symmetric-key; on update, any of them replaces the attestation.
#[derive(Debug, Clone, clap::Args)]
pub struct GroupAttestationArgs {
    /// The signing CA certificate (root or intermediate), PEM or DER (.pem, .cer).
    #[arg(long = "cert", alias = "certificate", value_name = "FILE", conflicts_with_all = ["ca_reference", "symmetric_key"])]
    pub certificate: Option<PathBuf>,
    /// A second signing certificate, for rolling over.
    #[arg(long = "secondary-cert", alias = "secondary-certificate", value_name = "FILE", requires = "certificate", conflicts_with_all = ["ca_reference", "symmetric_key"])]
    pub secondary_certificate: Option<PathBuf>,
    /// The name of a verified CA certificate on the DPS (see `dps-cli certificate prove`).
    #[arg(long, value_name = "NAME", conflicts_with = "symmetric_key")]
    pub ca_reference: Option<String>,
    /// A second CA certificate name, for rolling over.
    #[arg(long, value_name = "NAME", requires = "ca_reference", conflicts_with_all = ["certificate", "symmetric_key"])]
    pub secondary_ca_reference: Option<String>,
    /// Symmetric-key attestation; the service generates the keys unless --primary-key and
    /// --secondary-key are given.
    #[arg(long)]
    pub symmetric_key: bool,
    /// The group's primary key (base64).
    #[arg(long, value_name = "KEY", requires = "symmetric_key", conflicts_with_all = ["certificate", "ca_reference"])]
    pub primary_key: Option<String>,
    /// The group's secondary key (base64).
    #[arg(long, value_name = "KEY", requires = "symmetric_key", conflicts_with_all = ["certificate", "ca_reference"])]
    pub secondary_key: Option<String>,
}

impl GroupAttestationArgs {
    /// The certificate files and CA names the flags give, for the enrollment-time warnings.
    fn named(&self) -> Attestation<'_> {
        Attestation {
            files: [&self.certificate, &self.secondary_certificate]
                .into_iter()
                .flatten()
                .map(PathBuf::as_path)
                .collect(),
            references: [&self.ca_reference, &self.secondary_ca_reference]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
        }
    }

    /// The attestation the flags describe, or `None` when none is given.
    pub fn build(&self) -> anyhow::Result<Option<AttestationMechanism>> {
        if let Some(p) = &self.certificate {
            let primary = read_certificate(p, "--cert")?;
            let secondary = self
                .secondary_certificate
                .as_ref()
                .map(|s| read_certificate(s, "--secondary-cert"))
                .transpose()?;
            return Ok(Some(AttestationMechanism::x509(X509Attestation::signing(
                primary, secondary,
            ))));
        }
        if let Some(name) = &self.ca_reference {
            return Ok(Some(AttestationMechanism::x509(
                X509Attestation::ca_references(name, self.secondary_ca_reference.clone()),
            )));
        }
        if self.symmetric_key {
            return Ok(Some(AttestationMechanism::symmetric_key(
                SymmetricKeyAttestation {
                    primary_key: self.primary_key.clone(),
                    secondary_key: self.secondary_key.clone(),
                    ..SymmetricKeyAttestation::default()
                },
            )));
        }
        Ok(None)
    }
}

/// The options of `enrollment-group create`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("attestation")
        .required(true)
        .args(["certificate", "ca_reference", "symmetric_key"])
))]
pub struct CreateArgs {
    /// The enrollment group id.
    #[arg(long, value_name = "ID")]
    pub group_id: String,
    /// Attestation.
    #[command(flatten)]
    pub attestation: GroupAttestationArgs,
    /// Settings.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// The options of `enrollment-group update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The enrollment group id.
    #[arg(long, value_name = "ID")]
    pub group_id: String,
    /// Replace the attestation.
    #[command(flatten)]
    pub attestation: GroupAttestationArgs,
    /// Settings to change.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Write only if the group's ETag is still this [default: the ETag just read].
    #[arg(long, value_name = "ETAG")]
    pub if_match: Option<String>,
}

/// `--group-id`.
#[derive(Debug, clap::Args)]
pub struct IdArgs {
    /// The enrollment group id.
    #[arg(long, value_name = "ID")]
    pub group_id: String,
}

/// The options of `enrollment-group list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Records per request (the service's default when absent); every page is read.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

/// The options of `enrollment-group delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The enrollment group id.
    #[arg(long, value_name = "ID")]
    pub group_id: String,
    /// Delete only if the group's ETag is still this.
    #[arg(long, value_name = "ETAG")]
    pub if_match: Option<String>,
}

/// The options of `enrollment-group registrations`.
#[derive(Debug, clap::Args)]
pub struct RegistrationsArgs {
    /// The enrollment group id.
    #[arg(long, value_name = "ID")]
    pub group_id: String,
    /// Records per request; every page is read.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

fn about<'a>(id: &'a str, global: &'a GlobalArgs) -> About<'a> {
    About {
        noun: "enrollment group",
        command: "enrollment-group",
        flag: "--group-id",
        id,
        global,
        tail: String::new(),
    }
}

/// Runs an enrollment group command.
pub fn run(cmd: GroupCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let target = context::resolve(global)?;
    let client = target.service_client()?;
    let rt = crate::runtime()?;
    let format = global.output;
    match cmd {
        GroupCommand::Create(args) => {
            let attestation = args
                .attestation
                .build()?
                .context("give --cert, --ca-reference or --symmetric-key")?;
            let mut group = EnrollmentGroup::new(&args.group_id, attestation);
            args.settings.apply((&mut group).into(), true)?;
            let created = rt
                .block_on(client.create_enrollment_group(&group, None))
                .map_err(|e| explain(e, &about(&args.group_id, global)))?;
            warn(&args.group_id, &args.attestation.named(), global, &target);
            print_group(&created, format)
        }
        GroupCommand::Show(args) => {
            let group = rt
                .block_on(client.get_enrollment_group(&args.group_id, None))
                .map_err(|e| explain(e, &about(&args.group_id, global)))?;
            print_group(&group, format)
        }
        GroupCommand::List(args) => {
            let groups: Vec<EnrollmentGroup> = rt
                .block_on(
                    client
                        .query_enrollment_groups(
                            QuerySpecification::all(),
                            args.page_size
                                .map(|n| QueryOptions::default().with_page_size(n)),
                        )
                        .try_collect(),
                )
                .map_err(|e| explain_list(e, "enrollment-group", global))?;
            print_groups(&groups, format)
        }
        GroupCommand::Update(args) => {
            let about = about(&args.group_id, global);
            let mut group = rt
                .block_on(client.get_enrollment_group(&args.group_id, None))
                .map_err(|e| explain(e, &about))?;
            if let Some(a) = args.attestation.build()? {
                group.attestation = a;
            }
            args.settings.apply((&mut group).into(), false)?;
            let mut options = ConditionalOptions::default();
            options.if_match = args.if_match.clone();
            let updated = rt
                .block_on(client.update_enrollment_group(&group, Some(options)))
                .map_err(|e| explain(e, &about))?;
            // Only a new attestation is checked: the settings do not change what it promises.
            warn(&args.group_id, &args.attestation.named(), global, &target);
            print_group(&updated, format)
        }
        GroupCommand::Delete(args) => {
            let mut options = ConditionalOptions::default();
            options.if_match = args.if_match.clone();
            rt.block_on(client.delete_enrollment_group(&args.group_id, Some(options)))
                .map_err(|e| explain(e, &about(&args.group_id, global)))?;
            match format {
                OutputFormat::Json => {
                    print_serialized(&json!({"enrollmentGroupId": args.group_id, "deleted": true}))
                }
                OutputFormat::Table => {
                    print_line(format_args!("deleted enrollment group {:?}", args.group_id))?;
                    Ok(())
                }
            }
        }
        GroupCommand::Registrations(args) => {
            let states: Vec<DeviceRegistrationState> = rt
                .block_on(
                    client
                        .query_registration_states(
                            &args.group_id,
                            args.page_size
                                .map(|n| QueryOptions::default().with_page_size(n)),
                        )
                        .try_collect(),
                )
                .map_err(|e| explain(e, &about(&args.group_id, global)))?;
            crate::registrations::print_states(&states, format)
        }
    }
}

/// Prints one group: every field as `name  value` lines, or the record as JSON.
pub fn print_group(g: &EnrollmentGroup, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_serialized(&WithSettings::group(g));
    }
    let mut fields = vec![("group id", g.enrollment_group_id.clone())];
    fields.extend(attestation_fields(&g.attestation));
    fields.extend(describe(
        g.provisioning_status.as_ref(),
        g.iot_hubs.as_ref(),
        g.allocation_policy.as_ref(),
        g.custom_allocation_definition.as_ref(),
        g.initial_twin.as_ref(),
        g.capabilities.as_ref(),
        g.reprovision_policy.as_ref(),
    ));
    fields.push(("etag", dash(g.etag.as_ref())));
    fields.push(("created", date(g.created_date_time_utc.as_ref())));
    fields.push(("updated", date(g.last_updated_date_time_utc.as_ref())));
    print_fields(&fields)?;
    Ok(())
}

fn print_groups(groups: &[EnrollmentGroup], format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        let all: Vec<_> = groups.iter().map(WithSettings::group).collect();
        return print_serialized(&all);
    }
    if groups.is_empty() {
        print_line(format_args!("no enrollment groups"))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.enrollment_group_id.clone(),
                attestation_summary(&g.attestation),
                g.provisioning_status
                    .as_ref()
                    .map_or_else(|| "enabled".to_owned(), ToString::to_string),
                g.allocation_policy
                    .as_ref()
                    .map_or_else(|| "hashed".to_owned(), ToString::to_string),
                hubs_text(g.iot_hubs.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "GROUP ID",
            "ATTESTATION",
            "STATUS",
            "ALLOCATION",
            "IOT HUBS",
        ],
        &rows,
    )?;
    Ok(())
}
