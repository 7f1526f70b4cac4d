//! The `service` group: 10,000 enrollments created in bulk, listed back page by page and
//! deleted in bulk, by the SDK in the release worker against an in-process emulator, and by
//! the official Python SDK against the release `dps-emulator` binary (`service-10k`); then
//! 10,000 enrollments applied from a file and planned again ([`as_code`], `as-code-10k`),
//! whose reference is the Python SDK's create phase measured here.

use super::as_code;
use super::emulator::EmulatorProcess;
use super::stats::Summary;
use super::table::{Row, Target, Unit};
use super::worker::{self, ENDORSEMENT_KEY, ServiceResult};
use super::{Env, GroupReport, Scratch, flush, python};
use anyhow::Context;
use serde_json::json;
use std::ffi::OsString;
use std::path::Path;

pub(crate) const SCENARIO: &str = "service-10k";
const COUNT: usize = 10_000;
const PAGE_SIZE: u32 = 1000;
const REFERENCE: &str = "azure-iothub-provisioningserviceclient 1.2.0 (Python): bulk chunks of 10 sent one at a time, query iterator";

/// The scenario names, for `--filter`.
pub(crate) fn names() -> Vec<&'static str> {
    vec![SCENARIO, as_code::SCENARIO]
}

/// Runs the scenarios `filter` selects (both without one).
pub(crate) fn run(env: &Env, filter: Option<&str>) -> anyhow::Result<GroupReport> {
    let selected = |name: &str| filter.is_none_or(|f| name.contains(f));
    let mut report = GroupReport::new("service", "dps-rs", "python-sdk");
    report.footer = "(seconds per phase; service-10k: timed inside each client, dps-rs: SDK and \
                     in-process emulator in the release worker; as-code-10k: wall clock of each \
                     release dps-cli process; python-sdk: timed inside the script, against the \
                     release dps-emulator binary, in memory)"
        .into();
    let python = match python::venv(&env.bench_dir) {
        Ok(p) => {
            report
                .machine
                .push(("pythonSdk", json!(python::SDK_REQUIREMENT)));
            Some(p)
        }
        Err(why) => {
            let note = format!("python-sdk reference skipped: {why}");
            println!("  {note}");
            report.notes.push(format!("service: {note}"));
            None
        }
    };
    let mut reference = Vec::new();
    if selected(SCENARIO) {
        let (ours, python_runs) = service_10k(env, python.as_deref())?;
        report.rows = rows(&ours, &python_runs)?;
        reference = python_runs;
    }
    if selected(as_code::SCENARIO) {
        let creates: Vec<f64> = reference.iter().map(|r| r.create_secs).collect();
        as_code::run(env, python.as_deref(), &creates, &mut report)?;
    }
    Ok(report)
}

/// `service-10k`'s runs: ours, and the Python SDK's when it is there.
fn service_10k(
    env: &Env,
    python: Option<&Path>,
) -> anyhow::Result<(Vec<ServiceResult>, Vec<ServiceResult>)> {
    println!();
    println!(
        "{SCENARIO}: {COUNT} TPM enrollments created in bulk, listed in pages of {PAGE_SIZE}, deleted in bulk"
    );
    let xtask = env.bins.xtask()?;
    let emulator = env.bins.emulator()?;
    let dir = Scratch::new(env.work.join(SCENARIO))?;
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    for run in 0..env.runs {
        let n = run + 1;
        // `true`: dps-rs. Alternate which goes first.
        let mut order = [true, false];
        if run % 2 == 1 {
            order.reverse();
        }
        for rust in order {
            if rust {
                print!("  run {n}/{} dps-rs     ", env.runs);
                flush();
                let r = rust_run(&xtask, &dir.path().join(format!("rs-run{n}")))?;
                println!("{:>9.3} s", r.total_secs);
                ours.push(r);
            } else if let Some(python) = python {
                print!("  run {n}/{} python-sdk ", env.runs);
                flush();
                let data = dir.path().join(format!("py-run{n}"));
                let emu = EmulatorProcess::start(&emulator, &data, true)?;
                let r = python::run_reference(
                    python,
                    dir.path(),
                    &emu,
                    COUNT,
                    PAGE_SIZE,
                    ENDORSEMENT_KEY,
                )?;
                emu.stop()?;
                println!("{:>9.3} s", r.total_secs);
                reference.push(r);
            }
        }
    }
    Ok((ours, reference))
}

fn rust_run(xtask: &Path, work: &Path) -> anyhow::Result<ServiceResult> {
    let args: Vec<OsString> = vec![
        "service".into(),
        "--count".into(),
        COUNT.to_string().into(),
        "--page-size".into(),
        PAGE_SIZE.to_string().into(),
        "--work".into(),
        work.into(),
    ];
    worker::invoke(xtask, &args)
}

/// Row name suffix, what it measures, and how to read it from a result.
type Phase = (&'static str, &'static str, fn(&ServiceResult) -> f64);

/// The total and one row per phase, each with the reference's figures when there are any.
fn rows(ours: &[ServiceResult], reference: &[ServiceResult]) -> anyhow::Result<Vec<Row>> {
    let phases: [Phase; 4] = [
        ("", "create, list and delete", |r| r.total_secs),
        (
            "/create",
            "bulk create (run_bulk_enrollment_operation, chunks of 10)",
            |r| r.create_secs,
        ),
        (
            "/list",
            "paged listing (query_enrollments, 1,000 per page)",
            |r| r.list_secs,
        ),
        ("/delete", "bulk delete", |r| r.delete_secs),
    ];
    phases
        .iter()
        .map(|(suffix, what, get)| {
            let samples: Vec<f64> = ours.iter().map(get).collect();
            let summary = Summary::of(&samples).context("no dps-rs samples")?;
            let mut row = Row::new(
                "service",
                format!("{SCENARIO}{suffix}"),
                format!("{COUNT} enrollments: {what}"),
                Unit::Seconds,
                summary,
            );
            let ref_samples: Vec<f64> = reference.iter().map(get).collect();
            row.reference = Summary::of(&ref_samples);
            if row.reference.is_some() {
                row.reference_tool = Some(REFERENCE);
            } else {
                row.reference_note = Some("python-sdk reference skipped".into());
            }
            if suffix.is_empty() {
                row.targets = vec![Target::Below(10.0), Target::RatioAtLeast(10.0)];
                row.extra.insert("count".into(), json!(COUNT));
                row.extra.insert("pageSize".into(), json!(PAGE_SIZE));
            }
            Ok(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(create: f64, list: f64, delete: f64) -> ServiceResult {
        ServiceResult {
            count: COUNT,
            create_secs: create,
            list_secs: list,
            delete_secs: delete,
            total_secs: create + list + delete,
            listed: COUNT,
        }
    }

    #[test]
    fn one_row_per_phase_with_ratios() {
        let ours = [result(0.5, 0.1, 0.4), result(0.7, 0.1, 0.4)];
        let reference = [result(10.0, 1.0, 9.0)];
        let rows = rows(&ours, &reference).unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "service-10k",
                "service-10k/create",
                "service-10k/list",
                "service-10k/delete"
            ]
        );
        assert!((rows[0].ours.median - 1.1).abs() < 1e-9);
        assert_eq!(rows[0].runs, 2);
        assert!((rows[0].ratio().unwrap_or_default() - 20.0 / 1.1).abs() < 1e-9);
        assert_eq!(rows[0].targets.len(), 2);
        assert!(rows[1].targets.is_empty());
        assert!((rows[2].ratio().unwrap_or_default() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn without_a_reference_the_rows_say_so() {
        let alone = rows(&[result(0.5, 0.1, 0.4)], &[]).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(
            alone
                .iter()
                .all(|r| r.reference.is_none() && r.reference_note.is_some())
        );
        assert!(rows(&[], &[]).is_err());
    }
}
