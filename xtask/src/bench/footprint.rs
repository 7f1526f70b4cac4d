//! The `footprint` group: the release `dps-emulator` binary with 100,000 individual
//! enrollments in its persistent store (filled once through the SDK by the release worker):
//! resident memory after the fill, after a restart and after listing them all, and the time
//! from spawn until it is ready (`emulator.json` written, port accepting connections).

use super::emulator::{EmulatorProcess, Memory, files_size};
use super::stats::Summary;
use super::table::{Row, Target, Unit};
use super::worker::{self, CountResult};
use super::{Env, GroupReport, Scratch, flush};
use anyhow::{Context, ensure};
use serde_json::json;
use std::ffi::OsString;
use std::path::Path;

pub(crate) const SCENARIO: &str = "footprint-100k";
const COUNT: usize = 100_000;
/// SDK bulk operations run side by side by the filling worker.
const FILL_STREAMS: usize = 4;
const MAX_RSS_MB: f64 = 100.0;

/// The measurements of one restart.
#[derive(Debug, Clone, Copy)]
struct Restart {
    startup_secs: f64,
    idle: Memory,
    listed: Memory,
}

pub(crate) fn run(env: &Env) -> anyhow::Result<GroupReport> {
    println!();
    println!("{SCENARIO}: dps-emulator (release binary) with {COUNT} enrollments stored");
    if !cfg!(target_os = "linux") {
        anyhow::bail!("the footprint group reads /proc and runs on Linux only");
    }
    let xtask = env.bins.xtask()?;
    let exe = env.bins.emulator()?;
    let dir = Scratch::new(env.work.join(SCENARIO))?;
    let data = dir.path().join("data");

    print!("  setup: fill with {COUNT} enrollments through the SDK (timed, once) ... ");
    flush();
    let emu = EmulatorProcess::start(&exe, &data, false)?;
    let fill: CountResult = worker::invoke(
        &xtask,
        &[
            "fill".into(),
            "--info".into(),
            emu.info_path.clone().into(),
            "--count".into(),
            COUNT.to_string().into(),
            "--streams".into(),
            FILL_STREAMS.to_string().into(),
        ],
    )?;
    let filled = emu.memory()?;
    emu.stop()?;
    println!("{:.3} s, RSS {:.1} MB", fill.seconds, filled.rss_mb);
    let db_bytes = files_size(&data, "state.db");

    let mut restarts = Vec::new();
    for run in 1..=env.runs {
        print!("  run {run}/{} restart ", env.runs);
        flush();
        let r = restart(&xtask, &exe, &data)?;
        println!(
            "{:>7.3} s to ready, RSS {:.1} MB idle, {:.1} MB after listing all",
            r.startup_secs, r.idle.rss_mb, r.listed.rss_mb
        );
        restarts.push(r);
    }
    let mut report = GroupReport::new("footprint", "dps-emulator", "");
    report.footer = format!(
        "(MB = MiB of VmRSS from /proc; startup: spawn until emulator.json exists and the port \
         accepts a connection; store on disk: {:.1} MB)",
        db_bytes as f64 / 1_048_576.0
    );
    report.rows = rows(&fill, filled, &restarts, db_bytes)?;
    Ok(report)
}

/// Starts the emulator on the filled store, then lists every enrollment through the SDK.
fn restart(xtask: &Path, exe: &Path, data: &Path) -> anyhow::Result<Restart> {
    let emu = EmulatorProcess::start(exe, data, false)?;
    let startup_secs = emu.startup.as_secs_f64();
    let idle = emu.memory()?;
    let args: Vec<OsString> = vec!["list".into(), "--info".into(), emu.info_path.clone().into()];
    let listed_all: CountResult = worker::invoke(xtask, &args)?;
    ensure!(
        listed_all.count == COUNT,
        "the restarted emulator lists {} enrollments, not {COUNT}",
        listed_all.count
    );
    let listed = emu.memory()?;
    emu.stop()?;
    Ok(Restart {
        startup_secs,
        idle,
        listed,
    })
}

fn rows(
    fill: &CountResult,
    filled: Memory,
    restarts: &[Restart],
    db_bytes: u64,
) -> anyhow::Result<Vec<Row>> {
    let row = |suffix: &str, what: &str, unit: Unit, samples: &[f64]| -> anyhow::Result<Row> {
        Ok(Row::new(
            "footprint",
            format!("{SCENARIO}{suffix}"),
            format!("dps-emulator with {COUNT} enrollments stored: {what}"),
            unit,
            Summary::of(samples).context("no footprint samples")?,
        ))
    };
    let each = |f: fn(&Restart) -> f64| restarts.iter().map(f).collect::<Vec<_>>();
    let mut startup = row(
        "/startup",
        "startup time",
        Unit::Seconds,
        &each(|r| r.startup_secs),
    )?;
    startup.targets = vec![Target::Below(1.0)];
    let mut rss_filled = row(
        "/rss-filled",
        "resident memory right after the fill",
        Unit::Megabytes,
        &[filled.rss_mb],
    )?;
    rss_filled.targets = vec![Target::Below(MAX_RSS_MB)];
    rss_filled
        .extra
        .insert("peakMb".into(), json!(filled.peak_mb));
    let mut rss_idle = row(
        "/rss-idle",
        "resident memory after a restart",
        Unit::Megabytes,
        &each(|r| r.idle.rss_mb),
    )?;
    rss_idle.targets = vec![Target::Below(MAX_RSS_MB)];
    let mut rss_listed = row(
        "/rss-listed",
        "resident memory after a restart and listing all enrollments",
        Unit::Megabytes,
        &each(|r| r.listed.rss_mb),
    )?;
    rss_listed.targets = vec![Target::Below(MAX_RSS_MB)];
    rss_listed
        .extra
        .insert("peakMb".into(), json!(each(|r| r.listed.peak_mb)));
    let mut fill_row = row(
        "/fill",
        "filling through the SDK (bulk create)",
        Unit::Seconds,
        &[fill.seconds],
    )?;
    fill_row.extra.insert("count".into(), json!(fill.count));
    fill_row.extra.insert("storeBytes".into(), json!(db_bytes));
    Ok(vec![startup, rss_filled, rss_idle, rss_listed, fill_row])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_targets_and_samples() {
        let mem = |rss_mb: f64| Memory {
            rss_mb,
            peak_mb: rss_mb + 5.0,
        };
        let restarts = [
            Restart {
                startup_secs: 0.05,
                idle: mem(10.0),
                listed: mem(30.0),
            },
            Restart {
                startup_secs: 0.07,
                idle: mem(12.0),
                listed: mem(140.0),
            },
        ];
        let fill = CountResult {
            count: COUNT,
            seconds: 9.0,
        };
        let rows = rows(&fill, mem(60.0), &restarts, 1 << 20).unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "footprint-100k/startup",
                "footprint-100k/rss-filled",
                "footprint-100k/rss-idle",
                "footprint-100k/rss-listed",
                "footprint-100k/fill"
            ]
        );
        assert!((rows[0].ours.median - 0.06).abs() < 1e-9);
        assert_eq!(rows[3].ours.max, 140.0);
        assert_eq!(rows[3].to_json()["peakMb"], json!([35.0, 145.0]));
        assert_eq!(rows[4].runs, 1);
        assert!(rows[4].targets.is_empty());
    }
}
