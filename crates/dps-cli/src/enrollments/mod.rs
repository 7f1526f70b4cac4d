//! `dps-cli enrollment ...`: individual enrollments (X.509, symmetric key or TPM), one at a
//! time or in bulk (`import`, `export`).

mod args;
mod bulk;
mod csv;
mod export;
mod import;

pub use args::{
    CreateArgs, DeleteArgs, EnrollmentAttestationArgs, IdArgs, ImportArgs, ListArgs, UpdateArgs,
};
pub use bulk::{ImportFailed, RowResult};
pub use import::{CSV_COLUMNS, ImportMode};

use crate::context::{self, GlobalArgs};
use crate::errors::{About, explain, explain_list};
use crate::output::{
    OutputFormat, dash, date, print_fields, print_line, print_serialized, print_table,
};
use crate::records::{WithSettings, attestation_fields, attestation_summary};
use crate::settings::{describe, hubs_text};
use anyhow::Context;
use dps_protocol::models::{IndividualEnrollment, QuerySpecification};
use dps_service_client::{ConditionalOptions, QueryOptions};
use futures_util::TryStreamExt;
use serde_json::json;

/// Individual enrollment commands.
#[derive(Debug, clap::Subcommand)]
pub enum EnrollmentCommand {
    /// Create an individual enrollment (X.509 device certificate, symmetric key or TPM); fails
    /// if it exists
    #[command(after_help = "Examples:
  dps-cli enrollment create --registration-id dev1 --cert certs/certs/dev1.cert.pem
  dps-cli enrollment create --registration-id dev2 --symmetric-key --device-id sensor-2
  dps-cli enrollment create --registration-id dev3 --endorsement-key \"$EK\" --iot-hub hub1.azure-devices.net")]
    Create(CreateArgs),
    /// Show one enrollment, with its registration state
    #[command(after_help = "Example:\n  dps-cli enrollment show --registration-id dev1")]
    Show(IdArgs),
    /// List every individual enrollment (all pages)
    #[command(after_help = "Example:\n  dps-cli --emulator enrollment list --page-size 100")]
    List(ListArgs),
    /// Change an enrollment: read it, apply the flags given, write it back with its ETag as
    /// If-Match (or --if-match)
    #[command(
        after_help = "Example:\n  dps-cli enrollment update --registration-id dev2 --provisioning-status disabled"
    )]
    Update(UpdateArgs),
    /// Delete an enrollment
    #[command(after_help = "Example:\n  dps-cli enrollment delete --registration-id dev1")]
    Delete(DeleteArgs),
    /// Write every enrollment (all pages) as a JSON array that `import` reads back
    #[command(long_about = export::LONG_ABOUT, after_help = "Examples:
  dps-cli enrollment export --out enrollments.json
  dps-cli --emulator enrollment export | jq '.[].registrationId'")]
    Export(export::ExportArgs),
    #[command(long_about = import::LONG_ABOUT, after_help = import::AFTER_HELP)]
    /// Create, update or delete many enrollments from a CSV or JSON file (bulk operations)
    Import(ImportArgs),
}

pub(crate) fn about<'a>(id: &'a str, global: &'a GlobalArgs) -> About<'a> {
    About {
        noun: "enrollment",
        command: "enrollment",
        flag: "--registration-id",
        id,
        global,
        tail: String::new(),
    }
}

/// Runs an enrollment command.
pub fn run(cmd: EnrollmentCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = context::resolve(global)?.service_client()?;
    let rt = crate::runtime()?;
    let format = global.output;
    match cmd {
        EnrollmentCommand::Create(args) => {
            let attestation = args
                .attestation
                .build()?
                .context("give --cert, --symmetric-key or --endorsement-key")?;
            let mut e = IndividualEnrollment::new(&args.registration_id, attestation);
            e.device_id = args.device_id.clone();
            args.settings.apply((&mut e).into(), true)?;
            let created = rt
                .block_on(client.create_enrollment(&e, None))
                .map_err(|err| explain(err, &about(&args.registration_id, global)))?;
            print_enrollment(&created, format)
        }
        EnrollmentCommand::Show(args) => {
            let e = rt
                .block_on(client.get_enrollment(&args.registration_id, None))
                .map_err(|err| explain(err, &about(&args.registration_id, global)))?;
            print_enrollment(&e, format)
        }
        EnrollmentCommand::List(args) => {
            let list = rt
                .block_on(list_all(&client, args.page_size))
                .map_err(|err| explain_list(err, "enrollment", global))?;
            print_enrollments(&list, format)
        }
        EnrollmentCommand::Update(args) => {
            let about = about(&args.registration_id, global);
            let mut e = rt
                .block_on(client.get_enrollment(&args.registration_id, None))
                .map_err(|err| explain(err, &about))?;
            e.registration_state = None;
            if let Some(a) = args.attestation.build()? {
                e.attestation = a;
            }
            if args.device_id.is_some() {
                e.device_id = args.device_id.clone();
            }
            args.settings.apply((&mut e).into(), false)?;
            let mut options = ConditionalOptions::default();
            options.if_match = args.if_match.clone();
            let updated = rt
                .block_on(client.update_enrollment(&e, Some(options)))
                .map_err(|err| explain(err, &about))?;
            print_enrollment(&updated, format)
        }
        EnrollmentCommand::Delete(args) => {
            let mut options = ConditionalOptions::default();
            options.if_match = args.if_match.clone();
            rt.block_on(client.delete_enrollment(&args.registration_id, Some(options)))
                .map_err(|err| explain(err, &about(&args.registration_id, global)))?;
            match format {
                OutputFormat::Json => print_serialized(
                    &json!({"registrationId": args.registration_id, "deleted": true}),
                ),
                OutputFormat::Table => {
                    print_line(format_args!(
                        "deleted enrollment {:?}",
                        args.registration_id
                    ))?;
                    Ok(())
                }
            }
        }
        EnrollmentCommand::Import(args) => {
            let rows = import::read(&args.file, &args.mode)?;
            let results = rt.block_on(bulk::run(&client, &args.mode, rows));
            bulk::report(&results, format)
        }
        EnrollmentCommand::Export(args) => {
            let list = rt
                .block_on(list_all(&client, args.page_size))
                .map_err(|err| explain_list(err, "enrollment", global))?;
            export::write(&list, &args, format)
        }
    }
}

/// Every enrollment, following continuation tokens.
async fn list_all(
    client: &dps_service_client::ProvisioningServiceClient,
    page_size: Option<u32>,
) -> dps_service_client::Result<Vec<IndividualEnrollment>> {
    client
        .query_enrollments(
            QuerySpecification::all(),
            page_size.map(|n| QueryOptions::default().with_page_size(n)),
        )
        .try_collect()
        .await
}

/// Prints one enrollment: every field as `name  value` lines, or the record as JSON.
pub fn print_enrollment(e: &IndividualEnrollment, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_serialized(&WithSettings::enrollment(e));
    }
    let mut fields = vec![
        ("registration id", e.registration_id.clone()),
        ("device id", dash(e.device_id.as_ref())),
    ];
    fields.extend(attestation_fields(&e.attestation));
    fields.extend(describe(
        e.provisioning_status.as_ref(),
        e.iot_hubs.as_ref(),
        e.allocation_policy.as_ref(),
        e.custom_allocation_definition.as_ref(),
        e.initial_twin.as_ref(),
        e.capabilities.as_ref(),
        e.reprovision_policy.as_ref(),
    ));
    if let Some(s) = &e.registration_state {
        let hub = s.assigned_hub.as_deref().unwrap_or("-");
        fields.push(("registration", format!("{} ({hub})", s.status)));
    }
    fields.push(("etag", dash(e.etag.as_ref())));
    fields.push(("created", date(e.created_date_time_utc.as_ref())));
    fields.push(("updated", date(e.last_updated_date_time_utc.as_ref())));
    print_fields(&fields)?;
    Ok(())
}

fn print_enrollments(list: &[IndividualEnrollment], format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        let all: Vec<_> = list.iter().map(WithSettings::enrollment).collect();
        return print_serialized(&all);
    }
    if list.is_empty() {
        print_line(format_args!("no enrollments"))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|e| {
            vec![
                e.registration_id.clone(),
                attestation_summary(&e.attestation),
                dash(e.device_id.as_ref()),
                e.provisioning_status
                    .as_ref()
                    .map_or_else(|| "enabled".to_owned(), ToString::to_string),
                hubs_text(e.iot_hubs.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "REGISTRATION ID",
            "ATTESTATION",
            "DEVICE ID",
            "STATUS",
            "IOT HUBS",
        ],
        &rows,
    )?;
    Ok(())
}
