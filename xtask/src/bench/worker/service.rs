//! The service workload: bulk create, paged list, bulk delete, through the SDK.

use super::{CountResult, ServiceResult, client_options};
use anyhow::{Context, bail, ensure};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_service_client::models::{BulkMode, IndividualEnrollment, QuerySpecification};
use dps_service_client::{ProvisioningServiceClient, QueryOptions};
use futures_util::TryStreamExt;
use std::path::Path;
use std::time::Instant;
use tokio::runtime::Runtime;

/// A TPM endorsement key (the cheapest valid attestation: the emulator only checks base64).
/// The Python reference sends the same one.
pub(crate) const ENDORSEMENT_KEY: &str = "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAwiOV9w5V4Fn8TBe5qda8qN+jzawrT+IAqTQZ5r6m2TxX9aHn/WBDEs/WlIOSn/YGEjNlyFMzLxDb9zczWMoXQuHz38bPzZa02U9GkCH9EZ/74apGcolS1vkgSArju10NjHaNM2q1LuCCJrirGtZqOxMBs/35yhC6xWZ6n6ElQzabdvFV06IyEIRJ4sEzLg3TwDwiXT5cBW7hResGskfQPX1uoKdzwm6vdPx/o117ZxTkfY9OrGzMrGuOYlLlbZABcZJVSsl+jIFQF3rTW+qHJ1jGMnabWTMIT1O7h08hRZyXutL1xNEUMDes7jXmfQ8xUhCB/3UyBf0vOgqhkXwy7w==";

/// `count` TPM enrollments `bench-000000`, `bench-000001`, ... from `first`.
fn enrollments(first: usize, count: usize) -> Vec<IndividualEnrollment> {
    (first..first + count)
        .map(|i| IndividualEnrollment::tpm(format!("bench-{i:06}"), ENDORSEMENT_KEY))
        .collect()
}

/// One bulk operation over all of `items`, which must succeed for every item.
async fn bulk(
    client: &ProvisioningServiceClient,
    mode: BulkMode,
    items: Vec<IndividualEnrollment>,
) -> anyhow::Result<()> {
    let what = mode.to_string();
    let result = client
        .run_bulk_enrollment_operation(mode, items, None)
        .await
        .with_context(|| format!("bulk {what}"))?;
    if !result.is_successful || !result.errors.is_empty() {
        bail!(
            "bulk {what}: {} items failed, first: {:?}",
            result.errors.len(),
            result.errors.first()
        );
    }
    Ok(())
}

async fn count_all(client: &ProvisioningServiceClient, page_size: u32) -> anyhow::Result<usize> {
    let options = QueryOptions::default().with_page_size(page_size);
    client
        .query_enrollments(QuerySpecification::all(), Some(options))
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .context("query enrollments")
}

/// The `service-10k` scenario on an in-process, in-memory emulator.
pub(super) fn run(
    rt: &Runtime,
    count: usize,
    page_size: u32,
    work: &Path,
) -> anyhow::Result<ServiceResult> {
    let mut config = EmulatorConfig::for_tests(work);
    config.in_memory = true;
    config.retry_after_secs = 0;
    config.pending_polls = 0;
    let emulator = Emulator::spawn(config).context("starting the emulator")?;
    let client = ProvisioningServiceClient::from_connection_string(
        &emulator.service_connection_string(),
        Some(client_options(emulator.ca_pem().as_bytes())),
    )?;
    let items = enrollments(0, count);
    let result = rt.block_on(async {
        // Untimed: one request, so the connection and the SAS token exist before the clock starts
        // (the Python reference is timed the same way).
        count_all(&client, 1).await?;
        let start = Instant::now();
        bulk(&client, BulkMode::Create, items.clone()).await?;
        let created = Instant::now();
        let listed = count_all(&client, page_size).await?;
        let listed_at = Instant::now();
        bulk(&client, BulkMode::Delete, items).await?;
        let deleted = Instant::now();
        let left = count_all(&client, page_size).await?;
        ensure!(
            left == 0,
            "{left} enrollments are left after the bulk delete"
        );
        anyhow::Ok(ServiceResult {
            count,
            create_secs: (created - start).as_secs_f64(),
            list_secs: (listed_at - created).as_secs_f64(),
            delete_secs: (deleted - listed_at).as_secs_f64(),
            total_secs: (deleted - start).as_secs_f64(),
            listed,
        })
    })?;
    emulator.shutdown();
    ensure!(
        result.listed == count,
        "the paged listing returned {} enrollments, not {count}",
        result.listed
    );
    eprintln!(
        "  worker: {count} enrollments: create {:.3} s, list {:.3} s, delete {:.3} s",
        result.create_secs, result.list_secs, result.delete_secs
    );
    Ok(result)
}

/// Creates `count` enrollments in `streams` bulk operations side by side.
pub(super) fn fill(
    rt: &Runtime,
    client: &ProvisioningServiceClient,
    count: usize,
    streams: usize,
) -> anyhow::Result<CountResult> {
    let streams = streams.clamp(1, count.max(1));
    let per = count.div_ceil(streams);
    let start = Instant::now();
    rt.block_on(async {
        let tasks = (0..streams).map(|s| {
            let first = s * per;
            let n = per.min(count.saturating_sub(first));
            let client = client.clone();
            async move {
                if n == 0 {
                    return Ok(());
                }
                bulk(&client, BulkMode::Create, enrollments(first, n)).await
            }
        });
        futures_util::future::try_join_all(tasks).await
    })?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("  worker: created {count} enrollments in {seconds:.3} s");
    Ok(CountResult { count, seconds })
}

/// Lists every enrollment, one page of `page_size` at a time.
pub(super) fn list(
    rt: &Runtime,
    client: &ProvisioningServiceClient,
    page_size: u32,
) -> anyhow::Result<CountResult> {
    let start = Instant::now();
    let count = rt.block_on(count_all(client, page_size))?;
    Ok(CountResult {
        count,
        seconds: start.elapsed().as_secs_f64(),
    })
}
