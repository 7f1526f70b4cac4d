//! The `certs` group: the release dps-cli against certGen.sh's openssl pipeline (see
//! [`openssl`]). Every scenario runs `--runs` times per tool, alternating which tool goes first,
//! each run in a fresh scratch folder under target/bench/work/.

mod openssl;
mod scenarios;

use super::stats::Summary;
use super::table::{Row, Unit};
use super::{Env, GroupReport, Scratch, copy_dir, flush, remove_dir};
use anyhow::{Context, bail};
use scenarios::{Algorithm, CERTS, DEVICE_NAME, Kind, Scenario};
use serde_json::json;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Scenario names, for `--filter`.
pub(super) fn names() -> Vec<&'static str> {
    CERTS.iter().map(|s| s.name).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    DpsCli,
    OpenSsl,
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DpsCli => "dps-cli",
            Self::OpenSsl => "openssl",
        })
    }
}

/// What a certs run needs besides the shared [`Env`].
struct Ctx<'a> {
    env: &'a Env,
    dps_cli: PathBuf,
    openssl: bool,
}

/// `openssl version`, or `None` without openssl.
pub(super) fn openssl_version() -> Option<String> {
    openssl::version()
}

/// Runs the certs scenarios whose name contains `filter`.
pub(super) fn run(
    env: &Env,
    filter: Option<&str>,
    openssl_version: Option<&str>,
) -> anyhow::Result<GroupReport> {
    match openssl_version {
        Some(v) => println!("reference: {v}"),
        None => println!("reference: skipped (openssl not found on PATH); timing dps-cli only"),
    }
    let ctx = Ctx {
        env,
        dps_cli: env.bins.dps_cli()?,
        openssl: openssl_version.is_some(),
    };
    let mut report = GroupReport::new("certs", "dps-cli", "openssl");
    report.footer = "(wall-clock seconds per run, each tool run as a subprocess)".into();
    for s in CERTS
        .iter()
        .filter(|s| filter.is_none_or(|f| s.name.contains(f)))
    {
        let (row, note) = run_scenario(s, &ctx)?;
        if let Some(note) = note {
            report.notes.push(format!("{}: {note}", s.name));
        }
        report.rows.push(row);
    }
    Ok(report)
}

/// The report row of a scenario; the JSON keeps the layout of the first `bench certs` reports.
fn row(s: &Scenario, dps_cli: Summary, reference: Option<Summary>, note: Option<String>) -> Row {
    let mut r = Row::new("certs", s.name, s.description, Unit::Seconds, dps_cli);
    r.ours_key = "dpsCli";
    r.reference = reference;
    r.reference_tool = Some("openssl CLI (certGen.sh steps)");
    r.reference_note = note;
    r.targets = s.target.into_iter().collect();
    r.extra
        .insert("algorithm".to_owned(), json!(s.algorithm.cli_name()));
    r
}

fn run_scenario(s: &'static Scenario, ctx: &Ctx<'_>) -> anyhow::Result<(Row, Option<String>)> {
    println!();
    println!("{}: {}", s.name, s.description);
    let dir = Scratch::new(ctx.env.work.join(s.name))?;
    let reference_note = match s.no_reference {
        Some(why) => Some(why.to_owned()),
        None if !ctx.openssl => Some("openssl reference skipped: openssl not found on PATH".into()),
        None => None,
    };
    let tools: &[Tool] = if reference_note.is_none() {
        &[Tool::DpsCli, Tool::OpenSsl]
    } else {
        &[Tool::DpsCli]
    };

    // A chain per tool, made once with that tool, for the device scenarios.
    if let Kind::Devices { .. } = s.kind {
        for &tool in tools {
            let chain = dir.path().join(format!("{tool}-chain"));
            print!(
                "  setup: {} chain with {tool} (not timed) ... ",
                s.algorithm.cli_name()
            );
            flush();
            make_chain(tool, &chain, s.algorithm, ctx)?;
            println!("done");
        }
    }

    let runs = ctx.env.runs;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); tools.len()];
    for run in 0..runs {
        // Alternate which tool goes first, so neither always runs on a warm (or hot) machine.
        let mut order: Vec<usize> = (0..tools.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let tool = tools[i];
            let run_dir = dir.path().join(format!("{tool}-run{}", run + 1));
            print!("  run {}/{runs} {tool:<8} ", run + 1);
            flush();
            let secs = timed_run(tool, s, &run_dir, dir.path(), ctx)?;
            println!("{secs:>9.3} s");
            remove_dir(&run_dir)?;
            samples[i].push(secs);
        }
    }
    let mut summaries = samples.iter().map(|v| Summary::of(v));
    let dps_cli = summaries
        .next()
        .flatten()
        .context("no dps-cli samples (--runs must be at least 1)")?;
    let reference = summaries.next().flatten();
    let note = reference_note.clone();
    Ok((row(s, dps_cli, reference, reference_note), note))
}

/// Prepares `run_dir` (not timed), then times one run of `tool` in it.
fn timed_run(
    tool: Tool,
    s: &Scenario,
    run_dir: &Path,
    scenario_dir: &Path,
    ctx: &Ctx<'_>,
) -> anyhow::Result<f64> {
    match s.kind {
        Kind::Chain => match tool {
            Tool::DpsCli => fs::create_dir_all(run_dir)
                .with_context(|| format!("creating {}", run_dir.display()))?,
            Tool::OpenSsl => openssl::prepare(run_dir)?,
        },
        Kind::Devices { .. } => {
            copy_dir(&scenario_dir.join(format!("{tool}-chain")), run_dir)?;
        }
    }
    let start = Instant::now();
    match (s.kind, tool) {
        (Kind::Chain, _) => make_chain(tool, run_dir, s.algorithm, ctx)?,
        (Kind::Devices { count, pfx }, Tool::DpsCli) => {
            let count = count.to_string();
            let mut args = vec![
                "certs",
                "create-device-certificate",
                DEVICE_NAME,
                "--count",
                &count,
                "--algorithm",
                s.algorithm.cli_name(),
            ];
            if !pfx {
                args.push("--no-pfx");
            }
            dps_cli(ctx, &args, run_dir)?;
        }
        (Kind::Devices { count, .. }, Tool::OpenSsl) => {
            // The names dps-cli's --count gives.
            let width = count.to_string().len();
            let names: Vec<String> = (1..=count)
                .map(|i| format!("{DEVICE_NAME}-{i:0width$}"))
                .collect();
            openssl::create_devices(run_dir, s.algorithm, &names)?;
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// create_root_and_intermediate with `tool` into `dir`.
fn make_chain(tool: Tool, dir: &Path, algorithm: Algorithm, ctx: &Ctx<'_>) -> anyhow::Result<()> {
    match tool {
        Tool::DpsCli => dps_cli(
            ctx,
            &[
                "certs",
                "create-root-and-intermediate",
                "--algorithm",
                algorithm.cli_name(),
            ],
            dir,
        ),
        Tool::OpenSsl => {
            if !dir.join(openssl::CNF).is_file() {
                openssl::prepare(dir)?;
            }
            openssl::create_chain(dir, algorithm)
        }
    }
}

/// Runs the release dps-cli with `args --out OUT`; stdout is discarded, a failure shows stderr.
fn dps_cli(ctx: &Ctx<'_>, args: &[&str], out: &Path) -> anyhow::Result<()> {
    let output = Command::new(&ctx.dps_cli)
        .args(args)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {}", ctx.dps_cli.display()))?;
    if !output.status.success() {
        bail!(
            "`dps-cli {} --out {}` failed ({}):\n{}",
            args.join(" "),
            out.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn summary(v: &[f64]) -> Summary {
        Summary::of(v).unwrap_or_else(|| panic!("empty"))
    }

    #[test]
    fn scenario_names_are_unique() {
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CERTS.len());
    }

    #[test]
    fn rows_keep_the_report_layout() {
        let with_ref = row(
            &CERTS[0],
            summary(&[0.1, 0.3]),
            Some(summary(&[2.0, 2.0])),
            None,
        );
        let json = with_ref.to_json();
        assert_eq!(json["group"], json!("certs"));
        assert_eq!(json["algorithm"], json!("rsa-4096"));
        assert_eq!(json["dpsCli"]["median"], json!(0.2));
        assert_eq!(
            json["reference"]["tool"],
            json!("openssl CLI (certGen.sh steps)")
        );
        assert_eq!(json["ratio"], json!(10.0));

        let alone = row(
            &CERTS[4],
            summary(&[0.5, 0.5]),
            None,
            Some("dps-cli only".into()),
        );
        let json = alone.to_json();
        assert_eq!(json["reference"], Value::Null);
        assert_eq!(json["ratio"], Value::Null);
        assert_eq!(json["referenceNote"], json!("dps-cli only"));
        let t = super::super::table::table(&[with_ref, alone], "dps-cli", "openssl");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("chain-rsa4096"), "{t}");
        assert!(lines[1].contains("10.0x faster"), "{t}");
        assert!(lines[2].contains("0.500"), "{t}");
        assert!(lines[2].ends_with("< 1 s met"), "{t}");
    }
}
