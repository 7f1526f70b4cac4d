//! The `devices` group: 1,000 X.509 registrations (P-256, group on the intermediate, root
//! verified), each on a fresh TLS connection, from 32 concurrent tasks in the release worker
//! against an in-process emulator with Retry-After and pending polls 0. No reference: the
//! official device SDKs register one device per process.

use super::stats::Summary;
use super::table::{Row, Target, Unit};
use super::worker::{self, DevicesResult};
use super::{Env, GroupReport, Scratch, flush};
use anyhow::Context;
use serde_json::json;
use std::ffi::OsString;

pub(crate) const SCENARIO: &str = "devices-1000";
const COUNT: usize = 1000;
const CONCURRENCY: usize = 32;

pub(crate) fn run(env: &Env) -> anyhow::Result<GroupReport> {
    println!();
    println!(
        "{SCENARIO}: {COUNT} X.509 registrations, a new client and TLS connection each, {CONCURRENCY} at a time"
    );
    let xtask = env.bins.xtask()?;
    let dir = Scratch::new(env.work.join(SCENARIO))?;
    let mut results = Vec::new();
    for run in 1..=env.runs {
        print!("  run {run}/{} dps-rs ", env.runs);
        flush();
        let args: Vec<OsString> = vec![
            "devices".into(),
            "--count".into(),
            COUNT.to_string().into(),
            "--concurrency".into(),
            CONCURRENCY.to_string().into(),
            "--work".into(),
            dir.path().join(format!("run{run}")).into(),
        ];
        let r: DevicesResult = worker::invoke(&xtask, &args)?;
        println!(
            "{:>9.1} registrations/s (p99 {:.1} ms)",
            r.per_second, r.latency_ms.p99
        );
        results.push(r);
    }
    let mut report = GroupReport::new("devices", "dps-rs", "");
    report.footer = "(rate: registrations per second over the whole run, client construction \
                     included; p50/p99: duration of each register() call, TLS handshake, \
                     registration and operation poll)"
        .into();
    report.notes.push(format!(
        "{SCENARIO}: no reference: the official device SDKs register one device per process"
    ));
    report.rows = rows(&results)?;
    Ok(report)
}

/// Row name suffix, what it measures, its unit, and how to read it from a result.
type Measure = (&'static str, &'static str, Unit, fn(&DevicesResult) -> f64);

fn rows(results: &[DevicesResult]) -> anyhow::Result<Vec<Row>> {
    let measures: [Measure; 4] = [
        (
            "",
            "registrations per second, sustained",
            Unit::PerSecond,
            |r| r.per_second,
        ),
        ("/p50", "median register() latency", Unit::Millis, |r| {
            r.latency_ms.p50
        }),
        (
            "/p99",
            "99th percentile register() latency",
            Unit::Millis,
            |r| r.latency_ms.p99,
        ),
        (
            "/wall",
            "wall-clock time of all registrations",
            Unit::Seconds,
            |r| r.seconds,
        ),
    ];
    measures
        .iter()
        .map(|(suffix, what, unit, get)| {
            let samples: Vec<f64> = results.iter().map(get).collect();
            let summary = Summary::of(&samples).context("no devices samples")?;
            let mut row = Row::new(
                "devices",
                format!("{SCENARIO}{suffix}"),
                format!("{COUNT} X.509 registrations, {CONCURRENCY} concurrent: {what}"),
                *unit,
                summary,
            );
            if suffix.is_empty() {
                row.targets = vec![Target::AtLeast(300.0)];
                row.extra.insert("count".into(), json!(COUNT));
                row.extra.insert("concurrency".into(), json!(CONCURRENCY));
                let max: Vec<f64> = results.iter().map(|r| r.latency_ms.max).collect();
                row.extra.insert("latencyMaxMs".into(), json!(max));
            }
            Ok(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::worker::Latency;

    #[test]
    fn rate_and_latency_rows() {
        let r = |rate: f64, p99: f64| DevicesResult {
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
        };
        let rows = rows(&[r(400.0, 90.0), r(200.0, 150.0), r(350.0, 100.0)])
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(rows[0].name, "devices-1000");
        assert_eq!(rows[0].ours.median, 350.0);
        assert_eq!(rows[0].unit, Unit::PerSecond);
        assert_eq!(rows[0].targets, vec![Target::AtLeast(300.0)]);
        assert_eq!(rows[2].name, "devices-1000/p99");
        assert_eq!((rows[2].ours.median, rows[2].ours.max), (100.0, 150.0));
        assert_eq!(rows[3].unit, Unit::Seconds);
        assert!(rows.iter().all(|r| r.reference.is_none() && r.runs == 3));
    }
}
