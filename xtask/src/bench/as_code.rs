//! `as-code-10k`, in the `service` group: 10,000 enrollments applied from one file with the
//! release `dps-cli apply -f FILE --yes` (read, resolve, plan against the live state, bulk
//! apply), then planned again with `dps-cli plan -f FILE`, which must be empty, each against a
//! fresh release `dps-emulator` binary in memory. The apply's reference is the official Python
//! SDK creating the same 10,000 TPM enrollments in bulk: `service-10k`'s create phase when it
//! ran in the same invocation, else measured here the same way. Nothing else plans, so the
//! re-plan has only its target.

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
/// Issue 15's targets on this machine, seconds.
const APPLY_TARGET: f64 = 3.0;
const REPLAN_TARGET: f64 = 1.0;
const REFERENCE: &str = "azure-iothub-provisioningserviceclient 1.2.0 (Python): the same 10,000 TPM enrollments created in bulk chunks of 10 (service-10k's create phase)";
/// One IoT hub the emulator knows (its default).
const HUB: &str = "emulator-hub.azure-devices.net";

/// The file: `COUNT` TPM individual enrollments in YAML, every third with its IoT hub, an
/// allocation policy and an initial twin.
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
                "    allocationPolicy: hashed\n    iotHubs: [{HUB}]\n    initialTwin:\n      tags: {{batch: {}}}\n      properties:\n        desired: {{interval: 30}}\n",
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

/// Runs the scenario and adds its rows and notes to `report`. `python` is the reference's
/// interpreter (`None`: skipped); `creates` its create times from `service-10k` in this
/// invocation, measured here when empty.
pub(crate) fn run(
    env: &Env,
    python: Option<&Path>,
    creates: &[f64],
    report: &mut GroupReport,
) -> anyhow::Result<()> {
    println!();
    println!(
        "{SCENARIO}: dps-cli apply -f FILE --yes with {COUNT} enrollments, then dps-cli plan -f \
         FILE (must be empty), against a fresh release dps-emulator"
    );
    let cli = env.bins.dps_cli()?;
    let emulator = env.bins.emulator()?;
    let dir = Scratch::new(env.work.join(SCENARIO))?;
    let file = dir.path().join("fleet.yaml");
    std::fs::write(&file, fleet()).with_context(|| format!("writing {}", file.display()))?;
    let mut ours = Vec::new();
    let mut reference = creates.to_vec();
    for run in 0..env.runs {
        let n = run + 1;
        print!("  run {n}/{} dps-rs     ", env.runs);
        flush();
        let emu = EmulatorProcess::start(&emulator, &dir.path().join(format!("rs-run{n}")), true)?;
        let phases = rust_run(&cli, &emu, &file)?;
        emu.stop()?;
        println!(
            "apply {:>7.3} s ({:>6.0} records/s), re-plan {:>7.3} s ({:>6.0} records/s)",
            phases.apply,
            per_second(phases.apply),
            phases.replan,
            per_second(phases.replan)
        );
        ours.push(phases);
        if let (Some(python), true) = (python, creates.is_empty()) {
            print!("  run {n}/{} python-sdk ", env.runs);
            flush();
            let emu =
                EmulatorProcess::start(&emulator, &dir.path().join(format!("py-run{n}")), true)?;
            let r = python::run_reference(python, dir.path(), &emu, COUNT, 1000, ENDORSEMENT_KEY)?;
            emu.stop()?;
            println!(
                "create {:>7.3} s ({:>6.0} records/s)",
                r.create_secs,
                per_second(r.create_secs)
            );
            reference.push(r.create_secs);
        }
    }
    if !creates.is_empty() {
        println!(
            "  python-sdk: service-10k's create phase above ({} runs)",
            creates.len()
        );
    }
    let rows = rows(&ours, &reference)?;
    report.notes.push(summary_note(&rows));
    report.rows.extend(rows);
    Ok(())
}

/// `COUNT` records in `secs`.
fn per_second(secs: f64) -> f64 {
    if secs > 0.0 { COUNT as f64 / secs } else { 0.0 }
}

/// The medians as records/s against issue 15's targets (a comparison, not a check).
fn summary_note(rows: &[Row]) -> String {
    let phase = |row: &Row, target: f64| {
        let m = row.ours.median;
        let verdict = if m < target { "met" } else { "MISSED" };
        format!(
            "{m:.3} s, {:.0} records/s (target < {target} s: {verdict})",
            per_second(m)
        )
    };
    let mut note = format!("{SCENARIO} medians: apply ");
    if let [apply, replan, ..] = rows {
        note.push_str(&phase(apply, APPLY_TARGET));
        note.push_str("; re-plan ");
        note.push_str(&phase(replan, REPLAN_TARGET));
        if let Some(ratio) = apply.ratio() {
            let _ = write!(
                note,
                "; the Python SDK's bulk create takes {ratio:.1}x the apply"
            );
        }
    }
    note
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

/// One run against a fresh emulator: the apply, then the re-plan, each checked.
fn rust_run(cli: &Path, emu: &EmulatorProcess, file: &Path) -> anyhow::Result<Phases> {
    let file = file.to_string_lossy();
    let (apply, applied) = dps_cli(cli, emu, &["apply", "-f", &file, "--yes"])?;
    check_applied(&applied)?;
    let (replan, plan) = dps_cli(cli, emu, &["plan", "-f", &file])?;
    check_empty(&plan)?;
    Ok(Phases { apply, replan })
}

/// `dps-cli apply --output json` created every enrollment (it exits non-zero on a failure).
fn check_applied(applied: &Value) -> anyhow::Result<()> {
    let outcomes = applied["report"]["outcomes"].as_array().map_or(0, Vec::len);
    if outcomes != COUNT || applied["plan"]["summary"]["create"] != COUNT {
        bail!(
            "apply did not create {COUNT} enrollments ({outcomes} outcomes): {}",
            applied["plan"]["summary"]
        );
    }
    Ok(())
}

/// `dps-cli plan --output json` after the apply: nothing to do, every record unchanged.
fn check_empty(plan: &Value) -> anyhow::Result<()> {
    let s = &plan["summary"];
    let nothing = ["create", "update", "delete", "problems"]
        .iter()
        .all(|k| s[*k] == 0);
    if !nothing || s["unchanged"] != COUNT {
        bail!("the plan after the apply is not empty: {s}");
    }
    Ok(())
}

fn rows(ours: &[Phases], reference: &[f64]) -> anyhow::Result<Vec<Row>> {
    let apply: Vec<f64> = ours.iter().map(|p| p.apply).collect();
    let replan: Vec<f64> = ours.iter().map(|p| p.replan).collect();
    let mut apply_row = Row::new(
        "service",
        format!("{SCENARIO}/apply"),
        format!(
            "{COUNT} enrollments from a YAML file: dps-cli apply (read, resolve, plan, bulk apply)"
        ),
        Unit::Seconds,
        Summary::of(&apply).context("no dps-rs samples")?,
    );
    apply_row.reference = Summary::of(reference);
    if apply_row.reference.is_some() {
        apply_row.reference_tool = Some(REFERENCE);
    } else {
        apply_row.reference_note = Some("python-sdk reference skipped".into());
    }
    apply_row.targets = vec![Target::Below(APPLY_TARGET)];
    let mut replan_row = Row::new(
        "service",
        format!("{SCENARIO}/re-plan"),
        format!("the same file planned again: dps-cli plan, {COUNT} unchanged"),
        Unit::Seconds,
        Summary::of(&replan).context("no dps-rs samples")?,
    );
    replan_row.reference_note = Some("no reference tool plans enrollments".into());
    replan_row.targets = vec![Target::Below(REPLAN_TARGET)];
    for row in [&mut apply_row, &mut replan_row] {
        row.extra.insert("count".into(), json!(COUNT));
        let rate = (per_second(row.ours.median) * 10.0).round() / 10.0;
        row.extra.insert("recordsPerSecond".into(), json!(rate));
    }
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
    fn the_checks_refuse_a_partial_apply_and_a_non_empty_replan() {
        let summary = |create: usize, unchanged: usize, update: usize| {
            json!({"create": create, "update": update, "delete": 0, "problems": 0,
                   "unchanged": unchanged})
        };
        let outcomes = |n: usize| vec![json!({"ok": true}); n];
        let applied = json!({"plan": {"summary": summary(COUNT, 0, 0)}, "report": {"outcomes": outcomes(COUNT)}});
        check_applied(&applied).unwrap_or_else(|e| panic!("{e:#}"));
        let short = json!({"plan": {"summary": summary(COUNT, 0, 0)}, "report": {"outcomes": outcomes(COUNT - 1)}});
        assert!(check_applied(&short).is_err());
        let nothing =
            json!({"plan": {"summary": summary(0, COUNT, 0)}, "report": {"outcomes": []}});
        assert!(check_applied(&nothing).is_err());

        check_empty(&json!({"summary": summary(0, COUNT, 0)})).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(check_empty(&json!({"summary": summary(0, COUNT - 1, 1)})).is_err());
        assert!(check_empty(&json!({"summary": summary(1, COUNT, 0)})).is_err());
        assert!(check_empty(&json!({"summary": summary(0, COUNT - 1, 0)})).is_err());
        assert!(check_empty(&json!({})).is_err());
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
        assert_eq!(rows[0].target_text(), "< 3 s met");
        assert_eq!(rows[0].to_json()["recordsPerSecond"], json!(9090.9));
        let note = summary_note(&rows);
        assert!(
            note.contains("apply 1.100 s, 9091 records/s (target < 3 s: met)")
                && note.contains("re-plan 0.250 s, 40000 records/s (target < 1 s: met)")
                && note.contains("13.6x"),
            "{note}"
        );
        let slow = rows_of(4.0, 1.5);
        assert_eq!(slow[0].target_text(), "< 3 s MISSED");
        assert!(summary_note(&slow).contains("(target < 1 s: MISSED)"));
        assert!(!summary_note(&slow).contains("Python"));
    }

    fn rows_of(apply: f64, replan: f64) -> Vec<Row> {
        rows(&[Phases { apply, replan }], &[]).unwrap_or_else(|e| panic!("{e:#}"))
    }
}
