//! `cargo xtask fuzz [TARGET] [--seconds N]`: runs the cargo-fuzz targets of `fuzz/` (one, or
//! all in turn), each for a fixed time, and reports per target what libFuzzer did: executions,
//! executions per second, the corpus, and any crash with the input it saved
//! (`fuzz/artifacts/<target>/crash-*`). Exits non-zero when a target crashed.
//!
//! The targets build with `--sanitizer none` by default, which works on stable Rust (the
//! machine's only toolchain in CI); another sanitizer (`--sanitizer address`) needs nightly and
//! runs `cargo +nightly fuzz`. Optimized, with debug assertions and overflow checks.
//! `fuzz/corpus/<target>` is the corpus: it starts with the committed seeds (`seed-*`) and
//! keeps what libFuzzer finds (ignored by git). `--build-only` is what CI runs.

use anyhow::{Context, bail};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

/// `cargo xtask fuzz` options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The target to run; every target in turn when absent (`--list` names them).
    target: Option<String>,
    /// Seconds of fuzzing for each target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Print the targets and exit.
    #[arg(long)]
    list: bool,
    /// Build the targets and exit (the CI check).
    #[arg(long)]
    build_only: bool,
    /// Run the targets as last built, without building (a long campaign keeps its binaries
    /// while the sources change).
    #[arg(long, conflicts_with = "build_only")]
    no_build: bool,
    /// The sanitizer: `none` builds on stable Rust; the others need nightly.
    #[arg(long, value_enum, default_value_t = Sanitizer::None)]
    sanitizer: Sanitizer,
    /// Where libFuzzer's output goes, one file per target and run
    /// (default: `fuzz/artifacts/<target>/`).
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// More libFuzzer options, after `--` (e.g. `-- -max_len=65536`).
    #[arg(last = true)]
    libfuzzer: Vec<String>,
}

/// cargo-fuzz's `--sanitizer` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Sanitizer {
    None,
    Address,
    Leak,
    Memory,
    Thread,
}

impl Sanitizer {
    fn name(self) -> &'static str {
        match self {
            Sanitizer::None => "none",
            Sanitizer::Address => "address",
            Sanitizer::Leak => "leak",
            Sanitizer::Memory => "memory",
            Sanitizer::Thread => "thread",
        }
    }
}

/// The fuzz project, from the workspace root.
const FUZZ_DIR: &str = "fuzz";
/// Seconds one input may take before libFuzzer calls it a hang (a timeout crash).
const INPUT_TIMEOUT_SECS: u64 = 10;
/// The memory a target may use before libFuzzer calls it out-of-memory.
const RSS_LIMIT_MB: u64 = 2048;

/// Runs the command.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let fuzz = crate::project_root().join(FUZZ_DIR);
    let targets = list_targets(&fuzz)?;
    if args.list {
        for t in &targets {
            println!("{t}");
        }
        return Ok(());
    }
    let chosen = match &args.target {
        Some(t) if targets.contains(t) => vec![t.clone()],
        Some(t) => bail!(
            "no fuzz target {t:?}; the targets are: {} (`cargo xtask fuzz --list`)",
            targets.join(", ")
        ),
        None => targets,
    };
    let version = cargo_fuzz(args, &fuzz)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    if version.is_none() && !args.no_build {
        bail!("cargo-fuzz is not installed; install it with `cargo install cargo-fuzz --locked`");
    }
    if !args.no_build {
        let started = Instant::now();
        let mut build = cargo_fuzz(args, &fuzz);
        build.arg("build").args(BUILD_FLAGS);
        build.args(["--sanitizer", args.sanitizer.name()]);
        if let Some(t) = &args.target {
            build.arg(t);
        }
        println!("== building the fuzz targets ({})", describe(&build));
        let status = build.status().context("cannot run cargo fuzz build")?;
        if !status.success() {
            bail!("cargo fuzz build failed ({status})");
        }
        println!("   built in {:.0} s", started.elapsed().as_secs_f64());
    }
    if args.build_only {
        return Ok(());
    }
    let mut reports = Vec::new();
    for target in &chosen {
        reports.push(run_target(args, &fuzz, target)?);
    }
    print_table(&reports);
    let crashed: Vec<&Report> = reports.iter().filter(|r| r.outcome.failed()).collect();
    if !crashed.is_empty() {
        for r in &crashed {
            eprintln!(
                "{}: {} — input {}, log {}",
                r.target,
                r.outcome.kind.as_deref().unwrap_or("failed"),
                r.outcome.artifact.as_deref().unwrap_or("(none saved)"),
                r.log.display()
            );
            if let Some(p) = &r.outcome.panic {
                eprintln!("    {p}");
            }
        }
        bail!(
            "{} of {} fuzz targets crashed; reproduce one with `cargo fuzz run --sanitizer \
             none -O -a <target> <input>` in fuzz/, then minimize it (`cargo fuzz tmin`) into \
             fuzz/regressions/<target>/",
            crashed.len(),
            reports.len()
        );
    }
    Ok(())
}

/// The targets: the files of `fuzz/fuzz_targets/`, sorted.
fn list_targets(fuzz: &Path) -> anyhow::Result<Vec<String>> {
    let dir = fuzz.join("fuzz_targets");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            targets.push(stem.to_owned());
        }
    }
    targets.sort();
    Ok(targets)
}

/// `cargo fuzz` in `fuzz/`, on nightly when the sanitizer needs it.
fn cargo_fuzz(args: &Args, fuzz: &Path) -> Command {
    let mut c = Command::new("cargo");
    if args.sanitizer != Sanitizer::None {
        c.arg("+nightly");
    }
    c.arg("fuzz").current_dir(fuzz);
    c
}

/// How the targets are built besides the sanitizer: optimized (`-O`), with debug assertions
/// and overflow checks (`-a`).
const BUILD_FLAGS: [&str; 2] = ["-O", "-a"];

/// The newest build of `target` (`fuzz/target/<triple>/release/<target>`).
fn binary(fuzz: &Path, target: &str) -> anyhow::Result<PathBuf> {
    let builds = fuzz.join("target");
    let mut found: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(&builds)
        .with_context(|| format!("{}: no build; run without --no-build", builds.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("release").join(target))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    match found.pop() {
        Some((_, path)) => Ok(path),
        None => bail!("no build of {target} under {}", builds.display()),
    }
}

fn describe(c: &Command) -> String {
    let mut words = vec![c.get_program().to_string_lossy().into_owned()];
    words.extend(c.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// One target's run.
#[derive(Debug)]
struct Report {
    target: String,
    seconds: f64,
    corpus_files: usize,
    log: PathBuf,
    outcome: Outcome,
}

fn run_target(args: &Args, fuzz: &Path, target: &str) -> anyhow::Result<Report> {
    let corpus = fuzz.join("corpus").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    let log_dir = args.log_dir.clone().unwrap_or_else(|| artifacts.clone());
    for d in [&corpus, &artifacts, &log_dir] {
        std::fs::create_dir_all(d).with_context(|| format!("{}", d.display()))?;
    }
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let log = log_dir.join(format!("{target}-{stamp}.log"));
    let mut file = File::create(&log).with_context(|| format!("{}", log.display()))?;
    let mut command = Command::new(binary(fuzz, target)?);
    command
        .arg(&corpus)
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_total_time={}", args.seconds))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1");
    let dict = fuzz.join("dicts").join(format!("{target}.dict"));
    if dict.is_file() {
        command.arg(format!("-dict={}", dict.display()));
    }
    command.args(&args.libfuzzer);
    writeln!(file, "$ {}", describe(&command))?;
    command
        .stdout(file.try_clone()?)
        .stderr(file)
        .stdin(Stdio::null());
    println!(
        "== fuzzing {target} for {} s (log: {})",
        args.seconds,
        log.display()
    );
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", describe(&command)))?;
    let seconds = started.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut outcome = parse_log(&text);
    if !status.success() && outcome.kind.is_none() {
        outcome.kind = Some(format!("the target failed ({status})"));
    }
    let corpus_files = std::fs::read_dir(&corpus).map_or(0, |d| d.count());
    Ok(Report {
        target: target.to_owned(),
        seconds,
        corpus_files,
        log,
        outcome,
    })
}

/// What one libFuzzer run reported.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    /// Inputs run (`stat::number_of_executed_units`, else the last status line's `#N`).
    executions: Option<u64>,
    /// `stat::average_exec_per_sec`, else the last status line's `exec/s`.
    execs_per_sec: Option<u64>,
    /// The last status line's `corp: units/size`.
    corpus: Option<String>,
    /// `stat::new_units_added`.
    new_units: Option<u64>,
    /// `stat::peak_rss_mb`.
    peak_rss_mb: Option<u64>,
    /// Why it stopped, when it failed: `deadly signal` (a panic), `timeout`, `out-of-memory`…
    kind: Option<String>,
    /// The input libFuzzer saved for the failure.
    artifact: Option<String>,
    /// The panic message, when a Rust panic was the failure.
    panic: Option<String>,
}

impl Outcome {
    fn failed(&self) -> bool {
        self.kind.is_some() || self.artifact.is_some()
    }
}

/// Reads libFuzzer's output.
fn parse_log(text: &str) -> Outcome {
    let mut o = Outcome::default();
    let mut status_execs = None;
    let mut status_rate = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let stat = |name: &str| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim().parse::<u64>().ok())
        };
        if let Some(n) = stat("stat::number_of_executed_units:") {
            o.executions = Some(n);
        } else if let Some(n) = stat("stat::average_exec_per_sec:") {
            o.execs_per_sec = Some(n);
        } else if let Some(n) = stat("stat::new_units_added:") {
            o.new_units = Some(n);
        } else if let Some(n) = stat("stat::peak_rss_mb:") {
            o.peak_rss_mb = Some(n);
        } else if let Some(rest) = line.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            if let Some(n) = words.next().and_then(|w| w.parse::<u64>().ok()) {
                status_execs = Some(n);
                let fields: Vec<&str> = rest.split_whitespace().collect();
                for pair in fields.windows(2) {
                    match pair[0] {
                        "corp:" => o.corpus = Some(pair[1].to_owned()),
                        "exec/s:" => status_rate = pair[1].parse().ok(),
                        _ => {}
                    }
                }
            }
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            o.artifact = Some(path.trim().to_owned());
        } else if let Some((_, kind)) = line.split_once("ERROR: libFuzzer: ") {
            o.kind.get_or_insert_with(|| kind.trim().to_owned());
        } else if let Some((_, kind)) = line.split_once("SUMMARY: libFuzzer: ") {
            o.kind.get_or_insert_with(|| kind.trim().to_owned());
        } else if line.starts_with("thread '") && line.contains("panicked at") {
            let message = lines.peek().map(|m| m.trim()).unwrap_or_default();
            o.panic
                .get_or_insert_with(|| format!("{} {message}", line.trim()));
        }
    }
    o.executions = o.executions.or(status_execs);
    o.execs_per_sec = o.execs_per_sec.or(status_rate);
    o
}

fn print_table(reports: &[Report]) {
    let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |n| n.to_string());
    println!();
    println!(
        "{:<18} {:>7} {:>13} {:>9} {:>8} {:>14}  result",
        "target", "seconds", "executions", "execs/s", "files", "corpus"
    );
    let mut total = 0;
    for r in reports {
        total += r.outcome.executions.unwrap_or(0);
        let result = match (&r.outcome.kind, &r.outcome.artifact) {
            (None, None) => "ok".to_owned(),
            (kind, artifact) => format!(
                "CRASH ({}): {}",
                kind.as_deref().unwrap_or("failed"),
                artifact.as_deref().unwrap_or("no input saved")
            ),
        };
        println!(
            "{:<18} {:>7.0} {:>13} {:>9} {:>8} {:>14}  {result}",
            r.target,
            r.seconds,
            show(r.outcome.executions),
            show(r.outcome.execs_per_sec),
            r.corpus_files,
            r.outcome.corpus.as_deref().unwrap_or("?"),
        );
    }
    println!("total executions: {total}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_run_reports_its_statistics() {
        let log = "INFO: Seed: 1\n\
            #2\tINITED cov: 10 ft: 11 corp: 5/120b exec/s: 0 rss: 30Mb\n\
            #3388022\tDONE   cov: 569 ft: 1697 corp: 757/154Kb lim: 4096 exec/s: 376446 rss: 28Mb\n\
            Done 3388022 runs in 9 second(s)\n\
            stat::number_of_executed_units: 3388022\n\
            stat::average_exec_per_sec:     376446\n\
            stat::new_units_added:          1234\n\
            stat::slowest_unit_time_sec:    0\n\
            stat::peak_rss_mb:              28\n";
        let o = parse_log(log);
        assert_eq!(o.executions, Some(3_388_022));
        assert_eq!(o.execs_per_sec, Some(376_446));
        assert_eq!(o.corpus.as_deref(), Some("757/154Kb"));
        assert_eq!((o.new_units, o.peak_rss_mb), (Some(1234), Some(28)));
        assert!(!o.failed());
    }

    #[test]
    fn a_panic_is_reported_with_its_message_and_input() {
        let log = "#1000\tNEW    cov: 5 ft: 6 corp: 7/8b lim: 4 exec/s: 500 rss: 30Mb L: 3/3 MS: 1\n\
            \n\
            thread '<unnamed>' (29361) panicked at src/targets.rs:123:29:\n\
            a token for \" \" is refused for it\n\
            ==29361== ERROR: libFuzzer: deadly signal\n\
            artifact_prefix='/w/fuzz/artifacts/sas_service/'; Test unit written to /w/fuzz/artifacts/sas_service/crash-561b\n\
            SUMMARY: libFuzzer: deadly signal\n";
        let o = parse_log(log);
        assert!(o.failed());
        assert_eq!(o.kind.as_deref(), Some("deadly signal"));
        assert_eq!(
            o.artifact.as_deref(),
            Some("/w/fuzz/artifacts/sas_service/crash-561b")
        );
        assert_eq!(o.executions, Some(1000));
        assert_eq!(o.execs_per_sec, Some(500));
        let panic = o.panic.expect("panic");
        assert!(panic.contains("targets.rs:123") && panic.contains("refused for it"));
    }

    #[test]
    fn a_hang_is_a_timeout() {
        let log = "ALARM: working on the last Unit for 11 seconds\n\
            ==7== ERROR: libFuzzer: timeout after 11 seconds\n\
            Test unit written to fuzz/artifacts/mqtt_session/timeout-ab\n";
        let o = parse_log(log);
        assert_eq!(o.kind.as_deref(), Some("timeout after 11 seconds"));
        assert_eq!(
            o.artifact.as_deref(),
            Some("fuzz/artifacts/mqtt_session/timeout-ab")
        );
    }
}
