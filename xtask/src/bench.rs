//! `cargo xtask bench [certs|service|devices|all]`: side-by-side timings of the release
//! `dps-cli` against the reference tools, printed as a table and merged into
//! target/bench/report.json.
//!
//! Only the `certs` group exists so far: dps-cli against certGen.sh's openssl pipeline (see
//! [`openssl`]). Every scenario runs `--runs` times per tool, alternating which tool goes first,
//! each run in a fresh scratch folder under target/bench/work/. Nothing here asserts a time: the
//! output is a report.

mod openssl;
mod report;
mod stats;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use stats::{Summary, format_ratio, format_seconds};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Bench options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Scenario group: certs; service and devices arrive with the DPS emulator (issue 7); all
    /// runs every group that exists.
    #[arg(value_enum, default_value_t = Group::Certs)]
    group: Group,
    /// Timed runs per scenario and tool.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Only run the scenarios whose name contains SUBSTR.
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
}

/// A scenario group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Group {
    /// Certificate generation: dps-cli against certGen.sh's openssl pipeline.
    Certs,
    /// Service-side DPS operations (not yet: needs the emulator).
    Service,
    /// Device provisioning round trips (not yet: needs the emulator).
    Devices,
    /// Every group that exists.
    All,
}

/// Groups that arrive with the DPS emulator (issue 7).
const NOT_YET: [&str; 2] = ["service", "devices"];

/// Key algorithm of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Rsa4096,
    P256,
}

impl Algorithm {
    /// The `--algorithm` value of dps-cli.
    fn cli_name(self) -> &'static str {
        match self {
            Self::Rsa4096 => "rsa-4096",
            Self::P256 => "ecdsa-p256",
        }
    }
}

/// What a scenario times.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// create_root_and_intermediate in an empty folder.
    Chain,
    /// `count` root-signed device certificates, with a chain made beforehand (not timed).
    Devices { count: usize, pfx: bool },
}

#[derive(Debug)]
struct Scenario {
    name: &'static str,
    description: &'static str,
    algorithm: Algorithm,
    kind: Kind,
    /// Why there is no openssl reference, if there is none.
    no_reference: Option<&'static str>,
}

const DEVICE_NAME: &str = "bench-device";

const CERTS: [Scenario; 5] = [
    Scenario {
        name: "chain-rsa4096",
        description: "root + intermediate CA and chain file, RSA-4096 (certGen.sh create_root_and_intermediate)",
        algorithm: Algorithm::Rsa4096,
        kind: Kind::Chain,
        no_reference: None,
    },
    Scenario {
        name: "devices20-rsa4096",
        description: "20 root-signed device certificates with keys and PFX, RSA-4096 (certGen.sh create_device_certificate x20)",
        algorithm: Algorithm::Rsa4096,
        kind: Kind::Devices {
            count: 20,
            pfx: true,
        },
        no_reference: None,
    },
    Scenario {
        name: "chain-p256",
        description: "root + intermediate CA and chain file, ECDSA P-256",
        algorithm: Algorithm::P256,
        kind: Kind::Chain,
        no_reference: None,
    },
    Scenario {
        name: "devices20-p256",
        description: "20 root-signed device certificates with keys and PFX, ECDSA P-256",
        algorithm: Algorithm::P256,
        kind: Kind::Devices {
            count: 20,
            pfx: true,
        },
        no_reference: None,
    },
    Scenario {
        name: "devices1000-p256-nopfx",
        description: "1,000 root-signed P-256 device certificates with keys and full-chain files, no PFX (issue target: under 1 s)",
        algorithm: Algorithm::P256,
        kind: Kind::Devices {
            count: 1000,
            pfx: false,
        },
        no_reference: Some(
            "dps-cli only: the issue's target is 1,000 P-256 device certificates in under 1 s",
        ),
    },
];

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

/// One scenario's outcome.
#[derive(Debug)]
struct Outcome {
    scenario: &'static Scenario,
    runs: u32,
    dps_cli: Summary,
    reference: Option<Summary>,
    /// Why `reference` is missing.
    reference_note: Option<String>,
}

impl Outcome {
    fn ratio(&self) -> Option<f64> {
        stats::ratio(&self.dps_cli, self.reference.as_ref())
    }

    fn to_json(&self) -> Value {
        let s = self.scenario;
        let mut v = json!({
            "name": s.name,
            "group": "certs",
            "description": s.description,
            "algorithm": s.algorithm.cli_name(),
            "runs": self.runs,
            "dpsCli": self.dps_cli.to_json(),
            "reference": self.reference.as_ref().map(|r| {
                let mut r = r.to_json();
                if let Some(obj) = r.as_object_mut() {
                    obj.insert("tool".to_owned(), json!("openssl CLI (certGen.sh steps)"));
                }
                r
            }),
            "ratio": self.ratio().map(|r| (r * 1000.0).round() / 1000.0),
        });
        if let (Some(note), Some(obj)) = (&self.reference_note, v.as_object_mut()) {
            obj.insert("referenceNote".to_owned(), json!(note));
        }
        v
    }
}

/// Everything a scenario run needs.
struct Env {
    dps_cli: PathBuf,
    openssl: bool,
    work: PathBuf,
    runs: u32,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let skipped: &[&str] = match args.group {
        Group::Certs => &[],
        Group::All => &NOT_YET,
        Group::Service | Group::Devices => {
            let name = if args.group == Group::Service {
                "service"
            } else {
                "devices"
            };
            bail!(
                "the `{name}` bench scenarios arrive with the DPS emulator (issue 7); \
                 only `certs` exists so far: run `cargo xtask bench certs`"
            );
        }
    };
    let scenarios: Vec<&'static Scenario> = CERTS
        .iter()
        .filter(|s| args.filter.as_deref().is_none_or(|f| s.name.contains(f)))
        .collect();
    if scenarios.is_empty() {
        let names: Vec<&str> = CERTS.iter().map(|s| s.name).collect();
        bail!(
            "no scenario matches --filter {:?}; scenarios: {}",
            args.filter.as_deref().unwrap_or_default(),
            names.join(", ")
        );
    }

    let root = crate::project_root();
    let openssl_version = openssl::version();
    match &openssl_version {
        Some(v) => println!("reference: {v}"),
        None => println!("reference: skipped (openssl not found on PATH); timing dps-cli only"),
    }
    let dps_cli = build_dps_cli(&root)?;
    let bench_dir = dps_cli
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| root.join("target"), Path::to_path_buf)
        .join("bench");
    let ctx = Env {
        dps_cli,
        openssl: openssl_version.is_some(),
        work: bench_dir.join("work"),
        runs: args.runs,
    };

    let mut outcomes = Vec::new();
    for s in scenarios {
        outcomes.push(run_scenario(s, &ctx)?);
    }
    // Only removes the folder if every scenario cleaned up after itself.
    let _ = fs::remove_dir(&ctx.work);

    println!();
    print!("{}", table(&outcomes));
    for o in &outcomes {
        if let Some(note) = &o.reference_note {
            println!("{}: {note}", o.scenario.name);
        }
    }
    for group in skipped {
        println!("skipped group `{group}`: arrives with the DPS emulator (issue 7)");
    }

    let report_path = bench_dir.join("report.json");
    let fresh = json!({
        "machine": report::machine(openssl_version.as_deref()),
        "date": report::now_rfc3339(),
        "runs": args.runs,
        "scenarios": outcomes.iter().map(Outcome::to_json).collect::<Vec<_>>(),
    });
    write_report(&report_path, &fresh)?;
    println!("report: {}", report_path.display());
    Ok(())
}

/// `cargo build --release -p dps-cli` with the user watching; returns the binary's path.
fn build_dps_cli(root: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("building dps-cli in release mode (the only release build; the bench times it)");
    // Progress and diagnostics go to the terminal (stderr); stdout carries the artifact
    // messages that say where the binary is, whatever the target directory.
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "dps-cli",
            "--bin",
            "dps-cli",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build --release -p dps-cli")?;
    if !out.status.success() {
        bail!("cargo build --release -p dps-cli failed ({})", out.status);
    }
    let from_messages = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "dps-cli")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from));
    let exe = from_messages.unwrap_or_else(|| {
        root.join("target/release")
            .join(format!("dps-cli{}", std::env::consts::EXE_SUFFIX))
    });
    if !exe.is_file() {
        bail!("the release build did not produce {}", exe.display());
    }
    Ok(exe)
}

fn run_scenario(s: &'static Scenario, ctx: &Env) -> anyhow::Result<Outcome> {
    println!();
    println!("{}: {}", s.name, s.description);
    let dir = Scratch::new(ctx.work.join(s.name))?;
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

    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); tools.len()];
    for run in 0..ctx.runs {
        // Alternate which tool goes first, so neither always runs on a warm (or hot) machine.
        let mut order: Vec<usize> = (0..tools.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let tool = tools[i];
            let run_dir = dir.path().join(format!("{tool}-run{}", run + 1));
            print!("  run {}/{} {tool:<8} ", run + 1, ctx.runs);
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
    Ok(Outcome {
        scenario: s,
        runs: ctx.runs,
        dps_cli,
        reference,
        reference_note,
    })
}

/// Prepares `run_dir` (not timed), then times one run of `tool` in it.
fn timed_run(
    tool: Tool,
    s: &Scenario,
    run_dir: &Path,
    scenario_dir: &Path,
    ctx: &Env,
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
fn make_chain(tool: Tool, dir: &Path, algorithm: Algorithm, ctx: &Env) -> anyhow::Result<()> {
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
fn dps_cli(ctx: &Env, args: &[&str], out: &Path) -> anyhow::Result<()> {
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

/// The results table.
fn table(outcomes: &[Outcome]) -> String {
    let name_w = outcomes
        .iter()
        .map(|o| o.scenario.name.len())
        .chain(["scenario".len()])
        .max()
        .unwrap_or_default();
    let mut t = format!(
        "{:<name_w$}  {:>4}  {:>14} {:>7} {:>7}  {:>14} {:>7} {:>7}  {}\n",
        "scenario",
        "runs",
        "dps-cli median",
        "min",
        "max",
        "openssl median",
        "min",
        "max",
        "ratio (openssl/dps-cli)",
    );
    for o in outcomes {
        let r = o.reference.as_ref();
        t.push_str(&format!(
            "{:<name_w$}  {:>4}  {:>14} {:>7} {:>7}  {:>14} {:>7} {:>7}  {}\n",
            o.scenario.name,
            o.runs,
            format_seconds(Some(o.dps_cli.median)),
            format_seconds(Some(o.dps_cli.min)),
            format_seconds(Some(o.dps_cli.max)),
            format_seconds(r.map(|r| r.median)),
            format_seconds(r.map(|r| r.min)),
            format_seconds(r.map(|r| r.max)),
            format_ratio(o.ratio()),
        ));
    }
    t.push_str("(wall-clock seconds per run, each tool run as a subprocess)\n");
    t
}

/// Merges `fresh` into the report at `path` (keeping other groups' scenarios) and writes it.
fn write_report(path: &Path, fresh: &Value) -> anyhow::Result<()> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!(
                    "warning: {} is not valid JSON ({e}); starting a new report",
                    path.display()
                );
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let merged = report::merge(existing.as_ref(), fresh);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut text = serde_json::to_string_pretty(&merged)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A scratch folder, emptied on creation and removed when dropped (also on error).
struct Scratch(PathBuf);

impl Scratch {
    fn new(path: PathBuf) -> anyhow::Result<Self> {
        if path.exists() {
            remove_dir(&path)?;
        }
        fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn remove_dir(path: &Path) -> anyhow::Result<()> {
    fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))
}

/// Copies the folder tree `from` to `to` (files keep their permissions).
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}

fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Wrap::try_parse_from([&["bench"], argv].concat()).map(|w| w.args)
    }

    #[test]
    fn defaults_are_certs_and_three_runs() {
        let a = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.group, a.runs, a.filter), (Group::Certs, 3, None));
    }

    #[test]
    fn group_runs_and_filter_parse() {
        let a =
            parse(&["all", "--runs", "1", "--filter", "p256"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.group, Group::All);
        assert_eq!(a.runs, 1);
        assert_eq!(a.filter.as_deref(), Some("p256"));
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["gpu"]).is_err());
    }

    #[test]
    fn emulator_groups_fail_clearly() {
        for group in ["service", "devices"] {
            let a = parse(&[group]).unwrap_or_else(|e| panic!("{e}"));
            let err = run(&a).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("issue 7") && err.contains(group), "{err}");
        }
    }

    #[test]
    fn unknown_filter_lists_the_scenarios() {
        let a = parse(&["--filter", "nothing-like-this"]).unwrap_or_else(|e| panic!("{e}"));
        let err = run(&a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("chain-rsa4096"), "{err}");
    }

    #[test]
    fn scenario_names_are_unique() {
        let mut names: Vec<&str> = CERTS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CERTS.len());
    }

    #[test]
    fn table_shows_dashes_without_a_reference() {
        let summary = |v: &[f64]| Summary::of(v).unwrap_or_else(|| panic!("empty"));
        let outcomes = [
            Outcome {
                scenario: &CERTS[0],
                runs: 2,
                dps_cli: summary(&[0.1, 0.3]),
                reference: Some(summary(&[2.0, 2.0])),
                reference_note: None,
            },
            Outcome {
                scenario: &CERTS[4],
                runs: 2,
                dps_cli: summary(&[0.5, 0.5]),
                reference: None,
                reference_note: Some("dps-cli only".into()),
            },
        ];
        let t = table(&outcomes);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[1].starts_with("chain-rsa4096") && lines[1].ends_with("10.0x faster"),
            "{t}"
        );
        assert!(
            lines[2].contains("0.500") && lines[2].ends_with("  -"),
            "{t}"
        );
        let json = outcomes[1].to_json();
        assert_eq!(json["reference"], Value::Null);
        assert_eq!(json["ratio"], Value::Null);
        assert_eq!(json["referenceNote"], json!("dps-cli only"));
        assert_eq!(outcomes[0].to_json()["ratio"], json!(10.0));
    }
}
