//! The `devices` group: 1,000 X.509 registrations (P-256, group on the intermediate, root
//! verified), each on a fresh TLS connection, from 32 concurrent tasks in the release worker
//! against an in-process emulator with Retry-After and pending polls 0, over HTTPS, MQTT and
//! MQTT over WebSocket; and the machine's TLS ceiling in the same run: bare mutual-TLS
//! handshakes with the same device certificates at the same concurrency (rustls on both sides,
//! no application), against which each transport's rate is reported as a share.
//!
//! Each run measures every selected scenario once, in an order that rotates from run to run,
//! so that a noisy neighbour spreads over all of them. The ceiling runs whenever a registration
//! scenario does (it takes half a second). No reference: the official device SDKs register one
//! device per process.

use super::stats::Summary;
use super::table::{Row, Share, Target, Unit};
use super::worker::{self, DevicesResult};
use super::{Env, GroupReport, Scratch, flush};
use anyhow::Context;
use serde_json::json;
use std::ffi::OsString;

const COUNT: usize = 1000;
const CONCURRENCY: usize = 32;
/// Issue 7's goal for HTTPS registrations.
const HTTPS_TARGET: f64 = 300.0;
/// What the shares are of.
const CEILING: &str = "the TLS ceiling";

/// One workload of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scenario {
    name: &'static str,
    /// For the table's description and the progress lines.
    label: &'static str,
    /// The worker's `--transport`, or `None` for the bare handshakes.
    transport: Option<&'static str>,
}

const HTTPS: Scenario = Scenario {
    name: "devices-1000",
    label: "HTTPS",
    transport: Some("https"),
};
const MQTT: Scenario = Scenario {
    name: "devices-1000-mqtt",
    label: "MQTT",
    transport: Some("mqtt"),
};
const MQTT_WS: Scenario = Scenario {
    name: "devices-1000-mqtt-ws",
    label: "MQTT over WebSocket",
    transport: Some("mqtt-ws"),
};
const TLS_CEILING: Scenario = Scenario {
    name: "tls-ceiling-1000",
    label: "TLS ceiling",
    transport: None,
};
const SCENARIOS: [Scenario; 4] = [HTTPS, MQTT, MQTT_WS, TLS_CEILING];

/// The scenario names, for `--filter`.
pub(crate) fn names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|s| s.name).collect()
}

/// The scenarios `filter` selects, plus the ceiling whenever a registration scenario is in.
fn selected(filter: Option<&str>) -> Vec<Scenario> {
    let mut chosen: Vec<Scenario> = SCENARIOS
        .into_iter()
        .filter(|s| filter.is_none_or(|f| s.name.contains(f)))
        .collect();
    if chosen.iter().any(|s| s.transport.is_some()) && !chosen.contains(&TLS_CEILING) {
        chosen.push(TLS_CEILING);
    }
    chosen
}

pub(crate) fn run(env: &Env, filter: Option<&str>) -> anyhow::Result<GroupReport> {
    let scenarios = selected(filter);
    println!();
    println!(
        "devices: {COUNT} X.509 registrations per transport, a new client and TLS connection \
         each, {CONCURRENCY} at a time; and {COUNT} bare mutual-TLS handshakes with the same \
         certificates ({})",
        scenarios
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let xtask = env.bins.xtask()?;
    let dir = Scratch::new(env.work.join("devices"))?;
    let mut results: Vec<(Scenario, Vec<DevicesResult>)> =
        scenarios.iter().map(|s| (*s, Vec::new())).collect();
    for run in 1..=env.runs {
        let n = results.len();
        for k in 0..n {
            let (scenario, samples) = &mut results[(k + run as usize - 1) % n];
            print!("  run {run}/{} {:<21}", env.runs, scenario.name);
            flush();
            let mut args: Vec<OsString> = match scenario.transport {
                Some(t) => vec!["devices".into(), "--transport".into(), t.into()],
                None => vec!["handshakes".into()],
            };
            args.extend([
                "--count".into(),
                COUNT.to_string().into(),
                "--concurrency".into(),
                CONCURRENCY.to_string().into(),
                "--work".into(),
                dir.path()
                    .join(format!("{}-run{run}", scenario.name))
                    .into(),
            ]);
            let r: DevicesResult = worker::invoke(&xtask, &args)?;
            println!(
                "{:>9.1} {}/s (p99 {:.1} ms)",
                r.per_second,
                if scenario.transport.is_some() {
                    "registrations"
                } else {
                    "handshakes"
                },
                r.latency_ms.p99
            );
            samples.push(r);
        }
    }
    let mut report = GroupReport::new("devices", "dps-rs", "");
    report.footer = "(rate: registrations, or bare mutual-TLS handshakes for the ceiling, per \
                     second over the whole run, client construction included; p50/p99: duration \
                     of each register() call (TLS handshake, registration and operation poll) or \
                     of each handshake; share: the rate's median over the ceiling's, measured \
                     in the same run)"
        .into();
    report.notes.push(
        "devices: no reference: the official device SDKs register one device per process".into(),
    );
    report.rows = rows(&results)?;
    Ok(report)
}

/// Row name suffix, what it measures, its unit, and how to read it from a result.
type Measure = (&'static str, &'static str, Unit, fn(&DevicesResult) -> f64);

const MEASURES: [Measure; 3] = [
    ("", "per second, sustained", Unit::PerSecond, |r| {
        r.per_second
    }),
    ("/p50", "median latency", Unit::Millis, |r| r.latency_ms.p50),
    ("/p99", "99th percentile latency", Unit::Millis, |r| {
        r.latency_ms.p99
    }),
];

/// Three rows per scenario (rate, p50, p99); each registration rate with its share of the
/// ceiling, HTTPS with issue 7's target and MQTT with "at least HTTPS".
fn rows(results: &[(Scenario, Vec<DevicesResult>)]) -> anyhow::Result<Vec<Row>> {
    let median = |wanted: Scenario| -> Option<f64> {
        let (_, r) = results.iter().find(|(s, _)| *s == wanted)?;
        let rates: Vec<f64> = r.iter().map(|r| r.per_second).collect();
        Summary::of(&rates).map(|s| s.median)
    };
    let ceiling = median(TLS_CEILING).filter(|c| *c > 0.0);
    let https = median(HTTPS);
    let mut rows = Vec::new();
    for (scenario, samples) in results {
        let what = match scenario.transport {
            Some(_) => format!(
                "{COUNT} X.509 registrations over {}, {CONCURRENCY} concurrent",
                scenario.label
            ),
            None => format!(
                "{COUNT} bare mutual-TLS handshakes with the devices' certificates, \
                 {CONCURRENCY} concurrent ({})",
                scenario.label
            ),
        };
        for (suffix, measure, unit, get) in MEASURES {
            let values: Vec<f64> = samples.iter().map(get).collect();
            let summary =
                Summary::of(&values).with_context(|| format!("no {} samples", scenario.name))?;
            let mut row = Row::new(
                "devices",
                format!("{}{suffix}", scenario.name),
                format!("{what}: {measure}"),
                unit,
                summary,
            );
            if suffix.is_empty() {
                row.extra.insert("count".into(), json!(COUNT));
                row.extra.insert("concurrency".into(), json!(CONCURRENCY));
                row.extra
                    .insert("transport".into(), json!(scenario.transport));
                let max: Vec<f64> = samples.iter().map(|r| r.latency_ms.max).collect();
                row.extra.insert("latencyMaxMs".into(), json!(max));
                if scenario.transport.is_some() {
                    row.share = ceiling.map(|c| Share {
                        fraction: row.ours.median / c,
                        of: CEILING,
                    });
                }
                if *scenario == HTTPS {
                    row.targets = vec![Target::AtLeast(HTTPS_TARGET)];
                } else if *scenario == MQTT {
                    row.targets = https
                        .map(|h| vec![Target::AtLeastRow(h, "HTTPS")])
                        .unwrap_or_default();
                }
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::worker::Latency;

    fn result(rate: f64, p99: f64) -> DevicesResult {
        DevicesResult {
            count: COUNT,
            concurrency: CONCURRENCY,
            seconds: COUNT as f64 / rate,
            per_second: rate,
            latency_ms: Latency {
                p50: 50.0,
                p90: 80.0,
                p99,
                max: 300.0,
                mean: 55.0,
            },
            setup_secs: 0.3,
            registered: COUNT,
        }
    }

    #[test]
    fn rate_latency_share_and_target_rows() {
        let results = vec![
            (
                HTTPS,
                vec![
                    result(400.0, 90.0),
                    result(200.0, 150.0),
                    result(350.0, 100.0),
                ],
            ),
            (MQTT, vec![result(300.0, 90.0); 3]),
            (TLS_CEILING, vec![result(1400.0, 20.0); 3]),
        ];
        let rows = rows(&results).unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "devices-1000",
                "devices-1000/p50",
                "devices-1000/p99",
                "devices-1000-mqtt",
                "devices-1000-mqtt/p50",
                "devices-1000-mqtt/p99",
                "tls-ceiling-1000",
                "tls-ceiling-1000/p50",
                "tls-ceiling-1000/p99",
            ]
        );
        assert_eq!(rows[0].ours.median, 350.0);
        assert_eq!(rows[0].unit, Unit::PerSecond);
        assert_eq!(rows[0].targets, vec![Target::AtLeast(300.0)]);
        assert_eq!(rows[0].share.map(|s| s.fraction), Some(0.25));
        assert_eq!((rows[2].ours.median, rows[2].ours.max), (100.0, 150.0));
        assert_eq!(rows[2].unit, Unit::Millis);
        assert_eq!(rows[3].targets, vec![Target::AtLeastRow(350.0, "HTTPS")]);
        assert_eq!(rows[3].target_text(), ">= HTTPS (350.0/s) MISSED");
        assert!(
            rows[3]
                .share
                .is_some_and(|s| s.text() == "21% of the TLS ceiling")
        );
        assert!(rows[6].share.is_none() && rows[6].targets.is_empty());
        assert!(rows[1].share.is_none() && rows[1].targets.is_empty());
        assert!(rows.iter().all(|r| r.reference.is_none() && r.runs == 3));
    }

    #[test]
    fn without_the_ceiling_there_are_no_shares() {
        let rows =
            rows(&[(MQTT_WS, vec![result(300.0, 90.0)])]).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(
            rows.iter()
                .all(|r| r.share.is_none() && r.targets.is_empty())
        );
        assert!(self::rows(&[(MQTT, Vec::new())]).is_err());
    }

    #[test]
    fn the_filter_keeps_the_ceiling_beside_any_transport() {
        let names = |f| selected(f).iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(None), super::names());
        assert_eq!(
            names(Some("mqtt")),
            [
                "devices-1000-mqtt",
                "devices-1000-mqtt-ws",
                "tls-ceiling-1000"
            ]
        );
        assert_eq!(names(Some("ceiling")), ["tls-ceiling-1000"]);
        assert_eq!(
            names(Some("-ws")),
            ["devices-1000-mqtt-ws", "tls-ceiling-1000"]
        );
        assert!(names(Some("nothing")).is_empty());
    }
}
