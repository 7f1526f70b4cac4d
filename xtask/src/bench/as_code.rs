//! The `as-code` group: 10,000 enrollments applied from one file with the release
//! `dps-cli apply`, then planned again (the plan must be empty), against the release
//! `dps-emulator` binary. The reference for the apply is the official Python SDK creating the
//! same 10,000 enrollments in bulk, measured in the same run (its create phase of
//! `service-10k`'s workload); nothing else plans, so the re-plan has only its target.

use super::emulator::EmulatorProcess;
use super::stats::Summary;
use super::table::{Row, Target, Unit};
use super::worker::ENDORSEMENT_KEY;
use super::{Env, GroupReport, Scratch, flush, python};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub(crate) const SCENARIO: &str = "as-code-10k";
const COUNT: usize = 10_000;
const REFERENCE: &str = "azure-iothub-provisioningserviceclient 1.2.0 (Python): the same 10,000 TPM enrollments created in bulk chunks of 10";

/// The file: `COUNT` TPM enrollments, every third with hubs and a twin.
fn fleet() -> String {
    let mut text = String::from("enrollments:\n");
    for n in 0..COUNT {
        let _ = write!(
            text,
            "  - registrationId: bench-{n:05}\n    attestation:\n      type: tpm\n      tpm: {{endorsementKey: {ENDORSEMENT_KEY}}}\n"
        );
        if n % 3 == 0 {
            let _ = write!(
                text,
                "    iotHubs: [emulator-hub.azure-devices.net]\n    initialTwin:\n      tags: {{batch: {}}}\n",
                n / 1000
            );
        }
    }
    text
}

/// One run's phases, seconds.
#[derive(Debug, Clone, Copy)]
struct Phases {
    apply: f64,
    replan: f64,
}

pub(crate) fn run(env: &Env) -> anyhow::Result<GroupReport> {
    println!();
    println!(
        "{SCENARIO}: dps-cli apply -f FILE with {COUNT} enrollments, then dps-cli plan -f FILE \
         (empty), against the release dps-emulator"
    );
    let cli = env.bins.dps_cli()?;
    let emulator = env.bins.emulator()?;
    let mut report = GroupReport::new("as-code", "dps-rs", "python-sdk");
    report.footer = "(seconds, wall clock of each dps-cli process, against the release \
                     dps-emulator binary in memory; python-sdk: its bulk create of the same \
                     enrollments against the same binary)"
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
            report.notes.push(format!("{SCENARIO}: {note}"));
            None
        }
    };
    let dir = Scratch::new(env.work.join(SCENARIO))?;
    let file = dir.path().join("fleet.yaml");
    std::fs::write(&file, fleet()).with_context(|| format!("writing {}", file.display()))?;
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    for run in 0..env.runs {
        let n = run + 1;
        print!("  run {n}/{} dps-rs     ", env.runs);
        flush();
        let emu = EmulatorProcess::start(&emulator, &dir.path().join(format!("rs-run{n}")), true)?;
        let phases = rust_run(&cli, &emu, &file)?;
        emu.stop()?;
        println!(
            "apply {:>7.3} s, re-plan {:>7.3} s",
            phases.apply, phases.replan
        );
        ours.push(phases);
        if let Some(python) = &python {
            print!("  run {n}/{} python-sdk ", env.runs);
            flush();
            let emu =
                EmulatorProcess::start(&emulator, &dir.path().join(format!("py-run{n}")), true)?;
            let r = python::run_reference(python, dir.path(), &emu, COUNT, 1000, ENDORSEMENT_KEY)?;
            emu.stop()?;
            println!("create {:>7.3} s", r.create_secs);
            reference.push(r.create_secs);
        }
    }
    report.rows = rows(&ours, &reference)?;
    Ok(report)
}

/// Runs `dps-cli ARGS` against `emu` with `--output json`; its wall time and stdout parsed.
fn dps_cli(cli: &Path, emu: &EmulatorProcess, args: &[&str]) -> anyhow::Result<(f64, Value)> {
    let started = Instant::now();
    let out = Command::new(cli)
        .args(["--output", "json", "--connection-string"])
        .arg(&emu.info.service_connection_string)
        .arg("--ca-file")
        .arg(&emu.info.ca_certificate_path)
        .args(args)
        .env_remove("DPS_CONNECTION_STRING")
        .env_remove("DPS_CA_FILE")
        .output()
        .with_context(|| format!("running {}", cli.display()))?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "dps-cli {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json = serde_json::from_slice(&out.stdout).context("dps-cli's JSON output")?;
    Ok((secs, json))
}

fn rust_run(cli: &Path, emu: &EmulatorProcess, file: &Path) -> anyhow::Result<Phases> {
    let file = file.to_string_lossy();
    let (apply, applied) = dps_cli(cli, emu, &["apply", "-f", &file])?;
    let outcomes = applied["report"]["outcomes"].as_array().map_or(0, Vec::len);
    if outcomes != COUNT || applied["plan"]["summary"]["create"] != COUNT {
        bail!(
            "apply did not create {COUNT} enrollments: {}",
            applied["plan"]["summary"]
        );
    }
    let (replan, plan) = dps_cli(cli, emu, &["plan", "-f", &file])?;
    let s = &plan["summary"];
    if s["unchanged"] != COUNT || s["create"] != 0 || s["update"] != 0 {
        bail!("the plan after apply is not empty: {s}");
    }
    Ok(Phases { apply, replan })
}

fn rows(ours: &[Phases], reference: &[f64]) -> anyhow::Result<Vec<Row>> {
    let apply: Vec<f64> = ours.iter().map(|p| p.apply).collect();
    let replan: Vec<f64> = ours.iter().map(|p| p.replan).collect();
    let mut apply_row = Row::new(
        "as-code",
        format!("{SCENARIO}/apply"),
        format!("{COUNT} enrollments from a file: dps-cli apply (read, plan, bulk apply)"),
        Unit::Seconds,
        Summary::of(&apply).context("no dps-rs samples")?,
    );
    apply_row.reference = Summary::of(reference);
    if apply_row.reference.is_some() {
        apply_row.reference_tool = Some(REFERENCE);
    } else {
        apply_row.reference_note = Some("python-sdk reference skipped".into());
    }
    apply_row.targets = vec![Target::Below(3.0)];
    apply_row.extra.insert("count".into(), json!(COUNT));
    let mut replan_row = Row::new(
        "as-code",
        format!("{SCENARIO}/re-plan"),
        format!("the same file planned again: dps-cli plan, {COUNT} unchanged"),
        Unit::Seconds,
        Summary::of(&replan).context("no dps-rs samples")?,
    );
    replan_row.reference_note = Some("no reference tool plans enrollments".into());
    replan_row.targets = vec![Target::Below(1.0)];
    Ok(vec![apply_row, replan_row])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_declares_every_enrollment_and_reads_back() {
        let text = fleet();
        let manifest = dps_as_code::load::parse(Path::new("fleet.yaml"), &text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(manifest.enrollments.len(), COUNT);
        assert!(manifest.enrollments[0].initial_twin.is_some());
        assert!(manifest.enrollments[1].initial_twin.is_none());
    }

    #[test]
    fn two_rows_with_targets_and_the_apply_ratio() {
        let ours = [
            Phases {
                apply: 1.0,
                replan: 0.2,
            },
            Phases {
                apply: 1.2,
                replan: 0.3,
            },
        ];
        let rows = rows(&ours, &[15.0]).unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["as-code-10k/apply", "as-code-10k/re-plan"]);
        assert!((rows[0].ratio().unwrap_or_default() - 15.0 / 1.1).abs() < 1e-9);
        assert!(rows[1].reference.is_none() && rows[1].reference_note.is_some());
    }
}
