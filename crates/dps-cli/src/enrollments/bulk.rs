//! Running `enrollment import`: bulk operations of 10 records, a few in flight at once, with a
//! progress line on a terminal and one result per input row.

use super::import::{ImportMode, Row};
use crate::output::{OutputFormat, Progress, print_line, print_serialized, print_table};
use dps_protocol::models::{IndividualEnrollment, MAX_BULK_ITEMS};
use dps_service_client::ProvisioningServiceClient;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// Bulk requests in flight at once.
const CONCURRENCY: usize = 4;

/// The outcome of one input row. JSON: `{"row","registrationId","ok","errorCode","errorStatus"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowResult {
    /// 1-based position of the record in the file (CSV: data lines, header excluded).
    pub row: usize,
    /// The record's registration id (`?` when the row has none).
    pub registration_id: String,
    /// Whether the service applied it.
    pub ok: bool,
    /// The service's six-digit error code; `null` on success and for rows refused before
    /// sending.
    pub error_code: Option<i64>,
    /// Why the row failed; `null` on success.
    pub error_status: Option<String>,
}

/// Some rows of an import failed; the report says which.
#[derive(Debug)]
pub struct ImportFailed {
    /// Failed rows.
    pub failed: usize,
    /// All rows.
    pub total: usize,
}

impl fmt::Display for ImportFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} rows failed", self.failed, self.total)
    }
}

impl std::error::Error for ImportFailed {}

/// Sends every valid row in bulk operations of [`MAX_BULK_ITEMS`] and returns one result per
/// row, in input order. A request that fails as a whole fails each of its rows with its error.
pub(crate) async fn run(
    client: &ProvisioningServiceClient,
    mode: &ImportMode,
    rows: Vec<Row>,
) -> Vec<RowResult> {
    let total = rows.len();
    let mut results: Vec<RowResult> = rows
        .iter()
        .map(|r| RowResult {
            row: r.number,
            registration_id: r.registration_id.clone(),
            ok: r.record.is_ok(),
            error_code: None,
            error_status: r.record.as_ref().err().cloned(),
        })
        .collect();
    let valid: Vec<(usize, IndividualEnrollment)> = rows
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.record.ok().map(|e| (i, e)))
        .collect();
    let progress = Progress::new("importing enrollments", total);
    let mut done = total - valid.len();
    let chunks: Vec<Vec<(usize, IndividualEnrollment)>> =
        valid.chunks(MAX_BULK_ITEMS).map(<[_]>::to_vec).collect();
    let mode = mode.bulk_mode();
    let mut answers = futures_util::stream::iter(chunks)
        .map(|chunk| {
            let mode = mode.clone();
            async move {
                let (index, records): (Vec<usize>, Vec<IndividualEnrollment>) =
                    chunk.into_iter().unzip();
                let answer = client
                    .run_bulk_enrollment_operation(mode, records, None)
                    .await;
                (index, answer)
            }
        })
        .buffered(CONCURRENCY);
    while let Some((index, answer)) = answers.next().await {
        match answer {
            Ok(result) => {
                let errors: HashMap<String, (i64, String)> = result
                    .errors
                    .into_iter()
                    .map(|e| {
                        (
                            e.registration_id.to_ascii_lowercase(),
                            (e.error_code, e.error_status),
                        )
                    })
                    .collect();
                for &i in &index {
                    let r = &mut results[i];
                    if let Some((code, status)) =
                        errors.get(&r.registration_id.to_ascii_lowercase())
                    {
                        r.ok = false;
                        r.error_code = Some(*code);
                        r.error_status = Some(status.clone());
                    }
                }
            }
            Err(e) => {
                for &i in &index {
                    let r = &mut results[i];
                    r.ok = false;
                    r.error_code = e.error_code();
                    r.error_status = Some(e.to_string());
                }
            }
        }
        done += index.len();
        progress.update(done, total);
    }
    results
}

/// Prints the per-row report (a table with a summary line, or a JSON array) and fails with
/// [`ImportFailed`] if any row failed.
pub(crate) fn report(results: &[RowResult], format: OutputFormat) -> anyhow::Result<()> {
    let failed = results.iter().filter(|r| !r.ok).count();
    match format {
        OutputFormat::Json => print_serialized(results)?,
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    let result = match (r.ok, r.error_code, &r.error_status) {
                        (true, _, _) => "ok".to_owned(),
                        (false, Some(code), Some(s)) => format!("error {code}: {s}"),
                        (false, _, Some(s)) => format!("error: {s}"),
                        (false, _, None) => "error".to_owned(),
                    };
                    vec![r.row.to_string(), r.registration_id.clone(), result]
                })
                .collect();
            print_table(&["ROW", "REGISTRATION ID", "RESULT"], &rows)?;
            print_line(format_args!(
                "{} rows: {} ok, {failed} failed",
                results.len(),
                results.len() - failed
            ))?;
        }
    }
    if failed > 0 {
        return Err(ImportFailed {
            failed,
            total: results.len(),
        }
        .into());
    }
    Ok(())
}
