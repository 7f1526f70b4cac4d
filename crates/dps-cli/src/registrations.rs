//! `dps-cli registration ...`: device registration states, as the service API reports them.

use crate::context::{self, GlobalArgs};
use crate::errors::{About, explain};
use crate::output::{
    OutputFormat, dash, date, print_fields, print_line, print_serialized, print_table,
};
use dps_protocol::models::{DeviceRegistrationState, RegistrationStatus};
use dps_service_client::{ConditionalOptions, QueryOptions};
use futures_util::TryStreamExt;
use serde_json::json;

/// Registration commands.
#[derive(Debug, clap::Subcommand)]
pub enum RegistrationCommand {
    /// Show a device's registration: status, assigned hub, device id, error
    #[command(after_help = "Example:\n  dps-cli registration show --registration-id dev1")]
    Show(IdArgs),
    /// List the registrations made through an enrollment group (all pages)
    #[command(
        after_help = "Example:\n  dps-cli registration list --group-id my-group --output json"
    )]
    List(ListArgs),
    /// Delete a registration, so the device registers afresh next time (the IoT hub device
    /// identity is not touched)
    #[command(after_help = "Example:\n  dps-cli registration delete --registration-id dev1")]
    Delete(DeleteArgs),
}

/// `--registration-id`.
#[derive(Debug, clap::Args)]
pub struct IdArgs {
    /// The device's registration id.
    #[arg(long, value_name = "ID")]
    pub registration_id: String,
}

/// The options of `registration list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The enrollment group whose registrations to list (the service lists by group only).
    #[arg(long, value_name = "ID")]
    pub group_id: String,
    /// Records per request; every page is read.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

/// The options of `registration delete`.
#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The device's registration id.
    #[arg(long, value_name = "ID")]
    pub registration_id: String,
    /// Delete only if the registration's ETag is still this.
    #[arg(long, value_name = "ETAG")]
    pub if_match: Option<String>,
}

fn about<'a>(id: &'a str, global: &'a GlobalArgs) -> About<'a> {
    About {
        noun: "registration",
        command: "registration",
        flag: "--registration-id",
        id,
        global,
        tail: String::new(),
    }
}

/// Runs a registration command.
pub fn run(cmd: RegistrationCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = context::resolve(global)?.service_client()?;
    let rt = crate::runtime()?;
    let format = global.output;
    match cmd {
        RegistrationCommand::Show(args) => {
            let state = rt
                .block_on(client.get_registration_state(&args.registration_id, None))
                .map_err(|e| explain(e, &about(&args.registration_id, global)))?;
            print_state(&state, format)
        }
        RegistrationCommand::List(args) => {
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
                .map_err(|e| {
                    explain(
                        e,
                        &About {
                            noun: "enrollment group",
                            command: "enrollment-group",
                            flag: "--group-id",
                            id: &args.group_id,
                            global,
                            tail: String::new(),
                        },
                    )
                })?;
            print_states(&states, format)
        }
        RegistrationCommand::Delete(args) => {
            let mut options = ConditionalOptions::default();
            options.if_match = args.if_match.clone();
            rt.block_on(client.delete_registration_state(&args.registration_id, Some(options)))
                .map_err(|e| explain(e, &about(&args.registration_id, global)))?;
            match format {
                OutputFormat::Json => print_serialized(
                    &json!({"registrationId": args.registration_id, "deleted": true}),
                ),
                OutputFormat::Table => {
                    print_line(format_args!(
                        "deleted registration {:?}",
                        args.registration_id
                    ))?;
                    Ok(())
                }
            }
        }
    }
}

/// `assigned`, or `failed (401002)`.
fn status_text(s: &DeviceRegistrationState) -> String {
    match (&s.status, s.error_code) {
        (RegistrationStatus::Failed, Some(code)) => format!("failed ({code})"),
        (status, _) => status.to_string(),
    }
}

/// Prints one registration state.
pub fn print_state(s: &DeviceRegistrationState, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_serialized(s);
    }
    let mut fields = vec![
        ("registration id", s.registration_id.clone()),
        ("status", status_text(s)),
        ("substatus", dash(s.substatus.as_ref())),
        ("assigned hub", dash(s.assigned_hub.as_ref())),
        ("device id", dash(s.device_id.as_ref())),
    ];
    if let Some(m) = &s.error_message {
        fields.push(("error", m.clone()));
    }
    fields.push(("etag", dash(s.etag.as_ref())));
    fields.push(("created", date(s.created_date_time_utc.as_ref())));
    fields.push(("updated", date(s.last_updated_date_time_utc.as_ref())));
    print_fields(&fields)?;
    Ok(())
}

/// Prints registration states as a table, or a JSON array.
pub fn print_states(
    states: &[DeviceRegistrationState],
    format: OutputFormat,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_serialized(states);
    }
    if states.is_empty() {
        print_line(format_args!("no registrations"))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                s.registration_id.clone(),
                status_text(s),
                dash(s.device_id.as_ref()),
                dash(s.assigned_hub.as_ref()),
                date(s.last_updated_date_time_utc.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "REGISTRATION ID",
            "STATUS",
            "DEVICE ID",
            "ASSIGNED HUB",
            "LAST UPDATED",
        ],
        &rows,
    )?;
    Ok(())
}
