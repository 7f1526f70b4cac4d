//! `cargo xtask soak --minutes N`: mixed service and device traffic, with faults, against a
//! release `dps-emulator` that is killed with SIGKILL and restarted on its data folder every
//! minute or so. At the end every acknowledged write must be there, no request may have got a
//! 5xx, and the emulator's memory and descriptors must be back to the baseline of its last
//! start. The report is printed; the exit code says whether every check held.

mod process;
mod traffic;

use crate::bench::worker::client_options;
use crate::bench::worker::devices::{Device, make_devices};
use anyhow::{Context, ensure};
use dps_device_client::{DeviceClientOptions, Transport};
use dps_protocol::auth::Secret;
use dps_service_client::models::EnrollmentGroup;
use dps_service_client::{ProvisioningServiceClient, RetryOptions};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use traffic::Expect;

/// Soak options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How long the traffic runs.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    minutes: f64,
    /// Seed of the workers' choices (the run is still timed by the clock).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Seconds between forced restarts (SIGKILL, then a start on the same data folder).
    #[arg(long, value_name = "SECS", default_value_t = 75)]
    restart_every: u64,
}

/// Descriptors the emulator may hold at the end beyond its baseline.
const FD_SLACK: usize = 5;
/// Memory the emulator may hold at the end beyond its baseline: the larger of 16 MiB and 20%
/// (SQLite's page cache and the allocator's arenas fill during traffic and stay).
const RSS_SLACK_MIB: f64 = 16.0;
const RSS_SLACK_SHARE: f64 = 0.2;
/// How long after a kill connection errors are expected: beyond a device's whole budget
/// (20 s), since its client keeps retrying a connection the kill broke.
const KILL_WINDOW: Duration = Duration::from_secs(25);
/// The counter of connection errors outside a restart (none expected).
const OUTSIDE: &str = "connection errors outside a restart";
/// Traffic an incarnation gets before its baseline is measured.
const WARM_UP: Duration = Duration::from_secs(20);

/// What every worker shares: the stop and pause flags and the counters.
pub(super) struct Shared {
    stop: AtomicBool,
    paused: AtomicBool,
    listen: SocketAddr,
    counts: Mutex<BTreeMap<String, u64>>,
    /// When the emulator was last killed: a connection error within [`KILL_WINDOW`] of it is
    /// expected, any other is a failure.
    killed: Mutex<Option<Instant>>,
}

impl Shared {
    fn count(&self, what: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(what.to_owned()).or_default() += 1;
        }
    }
    /// Counts a request that got no answer (the connection failed).
    fn connection_error(&self, who: &str) {
        let during_kill = self
            .killed
            .lock()
            .map(|k| k.is_some_and(|t| t.elapsed() < KILL_WINDOW))
            .unwrap_or(false);
        if during_kill {
            self.count(&format!("{who} connection errors during a restart"));
        } else {
            self.count(&format!("{OUTSIDE} ({who})"));
        }
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// The devices' credentials and client options.
pub(super) struct Devices {
    id_scope: String,
    group_key: Secret,
    x509: Vec<Device>,
    https: String,
    mqtt: String,
    ca_pem: Vec<u8>,
}

impl Devices {
    fn options(&self, transport: Transport) -> (String, DeviceClientOptions) {
        let endpoint = if transport == Transport::Mqtt {
            &self.mqtt
        } else {
            &self.https
        };
        let options = DeviceClientOptions {
            transport,
            trusted_ca_pem: vec![self.ca_pem.clone()],
            trust_only_custom_ca: true,
            default_poll_interval: Duration::from_millis(10),
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(20),
            ..DeviceClientOptions::default()
        };
        (endpoint.clone(), options)
    }
}

/// Runs the soak.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(args.minutes > 0.0, "--minutes must be positive");
    let root = crate::project_root();
    let bins = crate::bench::build_release(&root, &[("dps-emulator", "dps-emulator")])?;
    let exe = bins.get("dps-emulator")?;
    let scratch = crate::bench::Scratch::new(root.join("target/soak"))?;
    let work = scratch.path();
    let (intermediate_pem, x509) = make_devices(20, &work.join("certs"))?;
    let data_dir = work.join("data");
    let mut emulator =
        process::Emulator::start(&exe, &data_dir, &work.join("certs/root.cert.pem"))?;
    let info = emulator.info()?.clone();
    let ca_pem = std::fs::read(&info.ca_certificate_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // Retries off: every 5xx the emulator sends reaches the counters.
    let options = || {
        let mut o = client_options(&ca_pem);
        o.retry = RetryOptions::none();
        o
    };
    let service = ProvisioningServiceClient::from_connection_string(
        &info.service_connection_string,
        Some(options()),
    )?;
    let group_key = Secret::new("c29hay1ncm91cC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE=");
    runtime
        .block_on(async {
            let sym: EnrollmentGroup = serde_json::from_value(serde_json::json!({
                "enrollmentGroupId": "soak-sym",
                "attestation": {"type": "symmetricKey", "symmetricKey": {
                    "primaryKey": group_key.expose(), "secondaryKey": group_key.expose()}},
            }))?;
            service
                .create_or_update_enrollment_group(&sym, None)
                .await?;
            service
                .create_x509_enrollment_group("soak-x509", intermediate_pem.as_bytes(), None, None)
                .await?;
            anyhow::Ok(())
        })
        .context("creating the soak's enrollment groups")?;
    let devices = Arc::new(Devices {
        id_scope: info.id_scope.clone(),
        group_key,
        x509,
        https: info.device_endpoint.clone(),
        mqtt: info
            .mqtt_endpoint
            .clone()
            .context("the emulator's MQTT listener is off")?,
        ca_pem: ca_pem.clone(),
    });
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        paused: AtomicBool::new(false),
        listen: emulator.listen(),
        counts: Mutex::default(),
        killed: Mutex::default(),
    });
    let ledger: traffic::Ledger = Arc::default();
    let started = Instant::now();
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    println!(
        "soak: {:.1} min against {} (data {}), restart every {} s, seed {}",
        args.minutes,
        exe.display(),
        data_dir.display(),
        args.restart_every,
        args.seed
    );
    let mut tasks = Vec::new();
    for w in 0..3 {
        let client = ProvisioningServiceClient::from_connection_string(
            &info.service_connection_string,
            Some(options()),
        )?;
        tasks.push(runtime.spawn(traffic::service_writer(
            shared.clone(),
            client,
            ledger.clone(),
            w,
            args.seed,
        )));
    }
    for w in 0..2 {
        tasks.push(runtime.spawn(traffic::device_worker(
            shared.clone(),
            service.clone(),
            devices.clone(),
            w,
            args.seed,
        )));
    }
    tasks.push(runtime.spawn(traffic::fault_injector(shared.clone(), args.seed)));

    let mut restarts = 0u32;
    let mut last_restart = Instant::now();
    let mut last_progress = Instant::now();
    // The baseline of each incarnation: after WARM_UP of traffic (caches filled), with the
    // traffic paused for a moment.
    let mut baseline = None;
    let mut measure_at = Some(Instant::now() + WARM_UP);
    while started.elapsed() < duration || measure_at.is_some() {
        std::thread::sleep(Duration::from_millis(200));
        if measure_at.is_some_and(|t| Instant::now() >= t) {
            shared.paused.store(true, Ordering::Relaxed);
            std::thread::sleep(Duration::from_secs(2));
            baseline = Some(emulator.footprint()?);
            shared.paused.store(false, Ordering::Relaxed);
            measure_at = None;
        }
        let left = duration.saturating_sub(started.elapsed());
        if last_restart.elapsed() >= Duration::from_secs(args.restart_every) && left > WARM_UP * 2 {
            if let Ok(mut k) = shared.killed.lock() {
                *k = Some(Instant::now());
            }
            emulator.kill_and_restart()?;
            if let Ok(mut k) = shared.killed.lock() {
                *k = Some(Instant::now());
            }
            restarts += 1;
            last_restart = Instant::now();
            measure_at = Some(last_restart + WARM_UP);
        }
        if last_progress.elapsed() >= Duration::from_secs(10) {
            last_progress = Instant::now();
            let counts = shared.snapshot();
            let total: u64 = counts.values().sum();
            println!(
                "soak: {:>4.0} s, {total} operations, {restarts} restarts, {} 5xx",
                started.elapsed().as_secs_f64(),
                fives(&counts)
            );
        }
    }
    let baseline = baseline.context("no baseline was measured")?;
    shared.stop.store(true, Ordering::Relaxed);
    runtime.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });

    // Every acknowledged write, read back.
    let expected: Vec<(String, Expect)> = ledger
        .lock()
        .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let (mut checked, mut lost, mut unknown) = (0u64, Vec::new(), 0u64);
    runtime.block_on(async {
        for (id, expect) in &expected {
            let read = match service.get_enrollment(id, None).await {
                Ok(e) => traffic::tag(&e),
                Err(e) if e.status() == Some(404) => None,
                Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {id}"))),
            };
            match expect {
                Expect::Unknown => unknown += 1,
                Expect::Present(v) if read != Some(*v) => {
                    lost.push(format!("{id}: {read:?}, acknowledged {v}"))
                }
                Expect::Absent if read.is_some() => {
                    lost.push(format!("{id}: {read:?}, acknowledged deleted"))
                }
                _ => checked += 1,
            }
        }
        anyhow::Ok(())
    })?;
    drop(service);
    drop(runtime);
    // Quiet: the clients are gone, so every connection closes.
    std::thread::sleep(Duration::from_secs(15));
    let end = emulator.footprint()?;
    let (server_5xx, logged) = (emulator.logged_5xx()?, emulator.logged_requests());
    emulator.stop()?;

    let counts = shared.snapshot();
    let fives = fives(&counts);
    let disagree = counts
        .get("reads that disagree with an acknowledged write")
        .copied()
        .unwrap_or(0);
    println!(
        "\nsoak report ({:.1} min, {restarts} forced restarts by SIGKILL)",
        started.elapsed().as_secs_f64() / 60.0
    );
    for (what, n) in &counts {
        println!("  {what:<55} {n:>9}");
    }
    println!("  requests in the emulator's log, HTTPS and MQTT  {logged:>14}");
    println!(
        "  of them answered 5xx                             {:>14}",
        server_5xx.len()
    );
    println!("  acknowledged records checked at the end             {checked:>9}");
    println!("  records whose last write's answer was lost (skipped) {unknown:>8}");
    let rss_limit = baseline.rss_mib + RSS_SLACK_MIB.max(baseline.rss_mib * RSS_SLACK_SHARE);
    println!(
        "  RSS: {:.1} MiB after the last start's warm-up, {:.1} MiB at the end (limit {rss_limit:.1})",
        baseline.rss_mib, end.rss_mib
    );
    println!(
        "  descriptors: {} after the last start's warm-up, {} at the end (limit {})",
        baseline.fds,
        end.fds,
        baseline.fds + FD_SLACK
    );
    let mut failures = Vec::new();
    if !lost.is_empty() {
        failures.push(format!(
            "{} acknowledged writes lost: {}",
            lost.len(),
            lost.join("; ")
        ));
    }
    if fives > 0 {
        failures.push(format!("{fives} answers were 5xx"));
    }
    let outside: u64 = counts
        .iter()
        .filter(|(k, _)| k.starts_with(OUTSIDE))
        .map(|(_, v)| v)
        .sum();
    if outside > 0 {
        failures.push(format!(
            "{outside} requests lost their connection outside a restart"
        ));
    }
    if !server_5xx.is_empty() {
        failures.push(format!(
            "the emulator logged {} 5xx answers, the first: {}",
            server_5xx.len(),
            server_5xx[0]
        ));
    }
    if disagree > 0 {
        failures.push(format!(
            "{disagree} reads disagreed with an acknowledged write"
        ));
    }
    if end.rss_mib > rss_limit {
        failures.push(format!(
            "RSS grew from {:.1} to {:.1} MiB",
            baseline.rss_mib, end.rss_mib
        ));
    }
    if end.fds > baseline.fds + FD_SLACK {
        failures.push(format!(
            "descriptors grew from {} to {}",
            baseline.fds, end.fds
        ));
    }
    ensure!(
        failures.is_empty(),
        "soak failed:\n  {}\n(emulator log: {})",
        failures.join("\n  "),
        emulator_log(&data_dir)
    );
    println!(
        "soak: every check held (emulator log: {})",
        emulator_log(&data_dir)
    );
    Ok(())
}

fn emulator_log(data_dir: &std::path::Path) -> String {
    data_dir.with_extension("log").display().to_string()
}

/// Answers with a 5xx status, of every kind.
fn fives(counts: &BTreeMap<String, u64>) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| k.starts_with("5xx"))
        .map(|(_, v)| v)
        .sum()
}
