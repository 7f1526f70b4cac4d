//! `xtask bench-worker`: the load of the emulator groups, run from the release build so that
//! the SDK and the emulator are measured optimised. The parent (`cargo xtask bench`) starts it
//! with [`invoke`]; it prints progress on stderr and its measurements as one
//! `bench-worker-result: {json}` line on stdout.

pub(crate) mod devices;
mod handshakes;
mod service;

pub(crate) use service::ENDORSEMENT_KEY;

use anyhow::{Context, bail};
use dps_device_client::Transport;
use dps_service_client::{ClientOptions, ProvisioningServiceClient, RetryOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The prefix of the result line.
const RESULT_PREFIX: &str = "bench-worker-result: ";

/// Worker options (hidden; run by `cargo xtask bench`).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    job: Job,
}

#[derive(Debug, clap::Subcommand)]
enum Job {
    /// Bulk create, paged list and bulk delete of COUNT enrollments on an in-process emulator.
    Service {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 1000)]
        page_size: u32,
        /// Scratch folder for the emulator's TLS material.
        #[arg(long)]
        work: PathBuf,
    },
    /// COUNT X.509 registrations, each on a fresh connection, on an in-process emulator.
    Devices {
        /// https, mqtt or mqtt-ws.
        #[arg(long, default_value_t = Transport::Https)]
        transport: Transport,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long)]
        work: PathBuf,
    },
    /// COUNT bare mutual-TLS handshakes with the devices' certificates: the TLS ceiling.
    Handshakes {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long)]
        work: PathBuf,
    },
    /// Creates COUNT enrollments in the running emulator that INFO (emulator.json) describes.
    Fill {
        #[arg(long)]
        info: PathBuf,
        #[arg(long)]
        count: usize,
        /// Bulk operations of the SDK run side by side (each sends 8 requests at a time).
        #[arg(long, default_value_t = 4)]
        streams: usize,
    },
    /// Lists every enrollment of the running emulator that INFO describes.
    List {
        #[arg(long)]
        info: PathBuf,
        #[arg(long, default_value_t = 1000)]
        page_size: u32,
    },
}

/// What `service` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceResult {
    pub(crate) count: usize,
    pub(crate) create_secs: f64,
    pub(crate) list_secs: f64,
    pub(crate) delete_secs: f64,
    pub(crate) total_secs: f64,
    /// How many enrollments the paged listing returned.
    pub(crate) listed: usize,
}

/// Latency percentiles of single registrations, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Latency {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

/// What `devices` (or `handshakes`) measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DevicesResult {
    pub(crate) count: usize,
    pub(crate) concurrency: usize,
    /// Wall-clock time of all registrations (client construction, TLS, register, poll).
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    /// Duration of each `register()` call.
    pub(crate) latency_ms: Latency,
    /// Untimed: keys, certificates and the emulator.
    pub(crate) setup_secs: f64,
    /// Registration states the service reports afterwards.
    pub(crate) registered: usize,
}

/// Runs `op(0..count)`, `concurrency` calls at a time, and collects what each returns (its
/// latency in ms): the load loop of `devices` and `handshakes`.
pub(crate) fn concurrently<F, Fut>(
    rt: &tokio::runtime::Runtime,
    count: usize,
    concurrency: usize,
    op: F,
) -> anyhow::Result<Vec<f64>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<f64>> + Send + 'static,
{
    use anyhow::Context as _;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let op = std::sync::Arc::new(op);
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..concurrency.max(1))
            .map(|_| {
                let op = op.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        mine.push(op(i).await?);
                    }
                    anyhow::Ok(mine)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(count);
        for t in tasks {
            all.extend(t.await.context("a load task panicked")??);
        }
        anyhow::Ok(all)
    })
}

impl DevicesResult {
    /// The result of `count` operations (`what`, for the worker's summary line) that took
    /// `seconds` at `concurrency`, one latency sample (ms) each; the summary goes to stderr.
    pub(crate) fn summarize(
        what: &str,
        (count, concurrency): (usize, usize),
        seconds: f64,
        latencies: &[f64],
        setup_secs: f64,
        registered: usize,
    ) -> Self {
        let pct = |p| crate::bench::stats::percentile(latencies, p).unwrap_or(f64::NAN);
        let latency_ms = Latency {
            p50: pct(50.0),
            p90: pct(90.0),
            p99: pct(99.0),
            max: pct(100.0),
            mean: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
        };
        let per_second = count as f64 / seconds;
        eprintln!(
            "  worker: {count} {what} in {seconds:.3} s ({per_second:.1}/s), p50 {:.1} ms, p99 {:.1} ms",
            latency_ms.p50, latency_ms.p99
        );
        Self {
            count,
            concurrency,
            seconds,
            per_second,
            latency_ms,
            setup_secs,
            registered,
        }
    }
}

/// What `fill` and `list` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CountResult {
    pub(crate) count: usize,
    pub(crate) seconds: f64,
}

/// Runs the hidden `bench-worker` subcommand.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-load")
        .enable_all()
        .build()
        .context("starting the load runtime")?;
    let json = match &args.job {
        Job::Service {
            count,
            page_size,
            work,
        } => serde_json::to_string(&service::run(&rt, *count, *page_size, work)?)?,
        Job::Devices {
            transport,
            count,
            concurrency,
            work,
        } => serde_json::to_string(&devices::run(&rt, *transport, *count, *concurrency, work)?)?,
        Job::Handshakes {
            count,
            concurrency,
            work,
        } => serde_json::to_string(&handshakes::run(&rt, *count, *concurrency, work)?)?,
        Job::Fill {
            info,
            count,
            streams,
        } => serde_json::to_string(&service::fill(
            &rt,
            &client_from_info(info)?,
            *count,
            *streams,
        )?)?,
        Job::List { info, page_size } => {
            serde_json::to_string(&service::list(&rt, &client_from_info(info)?, *page_size)?)?
        }
    };
    println!("{RESULT_PREFIX}{json}");
    Ok(())
}

/// Service client options that trust only `ca_pem` and retry quickly.
pub(crate) fn client_options(ca_pem: &[u8]) -> ClientOptions {
    ClientOptions {
        trusted_ca_pem: vec![ca_pem.to_vec()],
        trust_only_custom_ca: true,
        retry: RetryOptions {
            initial_delay: Duration::from_millis(5),
            max_retries: 4,
            max_delay: Duration::from_millis(200),
        },
        ..ClientOptions::default()
    }
}

/// `emulator.json`, the one type the emulator writes it with.
pub(crate) use dps_protocol::EmulatorInfo;

/// Reads an `emulator.json`.
pub(crate) fn read_info(path: &Path) -> anyhow::Result<EmulatorInfo> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    EmulatorInfo::from_json(&text).with_context(|| format!("parsing {}", path.display()))
}

fn client_from_info(info: &Path) -> anyhow::Result<ProvisioningServiceClient> {
    let info = read_info(info)?;
    let ca = std::fs::read(&info.ca_certificate_path)
        .with_context(|| format!("reading {}", info.ca_certificate_path.display()))?;
    Ok(ProvisioningServiceClient::from_connection_string(
        &info.service_connection_string,
        Some(client_options(&ca)),
    )?)
}

/// The result line of a worker's stdout.
pub(crate) fn parse_result<T: DeserializeOwned>(stdout: &str) -> anyhow::Result<T> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix(RESULT_PREFIX))
        .with_context(|| format!("the worker printed no `{RESULT_PREFIX}` line"))?;
    serde_json::from_str(line).with_context(|| format!("unexpected worker result {line:?}"))
}

/// Runs `xtask bench-worker ARGS` (stderr shown as it comes) and parses its result.
pub(crate) fn invoke<T: DeserializeOwned>(xtask: &Path, args: &[OsString]) -> anyhow::Result<T> {
    let out = Command::new(xtask)
        .arg("bench-worker")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", xtask.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`xtask bench-worker {}` failed ({}){}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            out.status,
            if stdout.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", stdout.trim_end())
            }
        );
    }
    parse_result(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn results_round_trip_through_the_result_line() {
        let r = DevicesResult {
            count: 1000,
            concurrency: 32,
            seconds: 2.5,
            per_second: 400.0,
            latency_ms: Latency {
                p50: 70.0,
                p90: 90.0,
                p99: 120.5,
                max: 200.0,
                mean: 75.0,
            },
            setup_secs: 0.4,
            registered: 1000,
        };
        let stdout = format!(
            "noise\n{RESULT_PREFIX}{{\"count\":1}}\n{RESULT_PREFIX}{}\n",
            serde_json::to_string(&r).unwrap_or_default()
        );
        let parsed: DevicesResult = parse_result(&stdout).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(parsed, r);
    }

    #[test]
    fn the_wire_names_are_camel_case() {
        let line = format!(
            "{RESULT_PREFIX}{{\"count\":10000,\"createSecs\":0.5,\"listSecs\":0.1,\"deleteSecs\":0.4,\"totalSecs\":1.0,\"listed\":10000}}"
        );
        let r: ServiceResult = parse_result(&line).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((r.count, r.listed, r.total_secs), (10_000, 10_000, 1.0));
    }

    #[test]
    fn missing_or_bad_result_lines_are_errors() {
        assert!(parse_result::<CountResult>("").is_err());
        assert!(parse_result::<CountResult>("just progress\n").is_err());
        let bad = format!("{RESULT_PREFIX}{{\"count\":\"many\"}}");
        let err = parse_result::<CountResult>(&bad)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("unexpected worker result"), "{err}");
    }

    #[test]
    fn jobs_parse() {
        #[derive(Debug, Parser)]
        struct Wrap {
            #[command(flatten)]
            args: Args,
        }
        let w = Wrap::try_parse_from(["w", "devices", "--work", "/tmp/x", "--count", "5"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            w.args.job,
            Job::Devices {
                transport: Transport::Https,
                count: 5,
                concurrency: 32,
                ..
            }
        ));
        let w = Wrap::try_parse_from(["w", "devices", "--work", "x", "--transport", "mqtt-ws"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            w.args.job,
            Job::Devices {
                transport: Transport::MqttWebSocket,
                ..
            }
        ));
        assert!(
            Wrap::try_parse_from(["w", "devices", "--work", "x", "--transport", "amqp"]).is_err()
        );
        let w = Wrap::try_parse_from(["w", "handshakes", "--work", "x", "--concurrency", "4"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            w.args.job,
            Job::Handshakes {
                count: 1000,
                concurrency: 4,
                ..
            }
        ));
        assert!(Wrap::try_parse_from(["w", "fill", "--info", "x"]).is_err());
    }
}
