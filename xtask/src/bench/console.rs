//! The `console` group: the web console of the release `dps-emulator` with 100,000
//! individual enrollments (filled through the SDK's bulk API by the release worker, as
//! `footprint` does) and 100 enrollment groups.
//!
//! * the server's first page of the Enrollment Groups and Individual Enrollments tabs, and of
//!   an id-prefix search: HTTPS request to last body byte, one kept-alive connection, median
//!   of 20 after 2 warm-ups;
//! * headless Chromium's DOMContentLoaded of the overview and of the individual list
//!   (`performance` navigation timing), median of 10 after a warm-up;
//! * the console's share of the binary: the release binary's size now against the same
//!   binary built from the commit before the console was added (the parent of the commit
//!   that added `console/mod.rs`), in a target folder of its own under target/bench; and the
//!   bytes of the embedded assets.
//!
//! Nothing asserts a time: rows carry issue 13's targets, marked met or MISSED.

use super::emulator::EmulatorProcess;
use super::stats::Summary;
use super::table::{Row, Target, Unit};
use super::worker::{self, CountResult, EmulatorInfo};
use super::{Env, GroupReport, Scratch, flush};
use anyhow::{Context, bail, ensure};
use dps_e2e::browser::{Browser, Launch, Tools, Trust};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub(crate) const SCENARIO: &str = "console-100k";
const ENROLLMENTS: usize = 100_000;
const GROUPS: usize = 100;
const SERVER_SAMPLES: usize = 20;
const BROWSER_SAMPLES: usize = 10;
/// The file whose first commit is the console's.
const CONSOLE_MOD: &str = "crates/dps-emulator/src/console/mod.rs";
const ASSETS: &str = "crates/dps-emulator/src/console/assets";
const MIB: f64 = 1_048_576.0;

pub(crate) fn run(env: &Env) -> anyhow::Result<GroupReport> {
    println!();
    println!(
        "{SCENARIO}: the web console of dps-emulator (release binary) with {ENROLLMENTS} \
         enrollments and {GROUPS} groups"
    );
    let mut report = GroupReport::new("console", "dps-emulator", "");
    report.footer = format!(
        "(pages: HTTPS request to last byte from this process, median of {SERVER_SAMPLES}; \
         DOMContentLoaded: headless Chromium's navigation timing, median of {BROWSER_SAMPLES}; \
         MB = MiB)"
    );
    let dir = Scratch::new(env.work.join(SCENARIO))?;
    let emu = EmulatorProcess::start(&env.bins.emulator()?, &dir.path().join("data"), false)?;
    let info = emu.info.clone();
    let console = info
        .console_url
        .clone()
        .context("the emulator printed no console URL")?;
    fill(&env.bins.xtask()?, &emu.info_path, &info)?;
    let ca_pem = std::fs::read_to_string(&info.ca_certificate_path)
        .with_context(|| format!("reading {}", info.ca_certificate_path.display()))?;

    report.rows.extend(server_rows(&console, &ca_pem)?);
    match browser_rows(&console, &ca_pem) {
        Ok(rows) => report.rows.extend(rows),
        Err(e) => {
            let note = format!("{SCENARIO}: browser timings skipped: {e:#}");
            println!("  {note}");
            report.notes.push(note);
        }
    }
    emu.stop()?;
    match size_row(env) {
        Ok((row, note)) => {
            report.rows.push(row);
            report.notes.push(note);
        }
        Err(e) => {
            let note = format!("{SCENARIO}: binary size skipped: {e:#}");
            println!("  {note}");
            report.notes.push(note);
        }
    }
    Ok(report)
}

/// 100,000 enrollments through the release worker's SDK bulk fill, then 100 symmetric-key
/// groups one by one.
fn fill(xtask: &Path, info_path: &Path, info: &EmulatorInfo) -> anyhow::Result<()> {
    print!("  setup: {ENROLLMENTS} enrollments through the SDK's bulk API ... ");
    flush();
    let filled: CountResult = worker::invoke(
        xtask,
        &[
            "fill".into(),
            "--info".into(),
            info_path.into(),
            "--count".into(),
            ENROLLMENTS.to_string().into(),
        ],
    )?;
    println!("{:.1} s", filled.seconds);
    print!("  setup: {GROUPS} enrollment groups ... ");
    flush();
    let ca = std::fs::read(&info.ca_certificate_path)?;
    let service = dps_service_client::ProvisioningServiceClient::from_connection_string(
        &info.service_connection_string,
        Some(worker::client_options(&ca)),
    )?;
    runtime()?.block_on(async {
        for i in 0..GROUPS {
            let group =
                dps_protocol::models::EnrollmentGroup::symmetric_key(format!("group-{i:03}"), None);
            service
                .create_or_update_enrollment_group(&group, None)
                .await
                .with_context(|| format!("creating group-{i:03}"))?;
        }
        anyhow::Ok(())
    })?;
    println!("done");
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting a runtime")
}

/// The pages the server is timed on: (row suffix, path, what, table id).
const PAGES: [(&str, &str, &str, &str); 3] = [
    (
        "/groups-page",
        "enrollments?tab=groups",
        "first page of Enrollment Groups",
        "groups",
    ),
    (
        "/individual-page",
        "enrollments?tab=individual",
        "first page of Individual Enrollments",
        "individual",
    ),
    (
        "/individual-search",
        "enrollments?tab=individual&prefix=bench-0999",
        "Individual Enrollments whose id starts with bench-0999",
        "individual",
    ),
];

fn server_rows(console: &str, ca_pem: &str) -> anyhow::Result<Vec<Row>> {
    let client = dps_e2e::https_client(ca_pem);
    let rt = runtime()?;
    rt.block_on(async {
        // One session for every request, as a browser has.
        let first = dps_e2e::send(client.get(console)).await;
        let cookie = first
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .context("the console set no session cookie")?
            .to_owned();
        let mut rows = Vec::new();
        for (suffix, path, what, table) in PAGES {
            let url = format!("{console}{path}");
            let mut samples = Vec::new();
            for i in 0..SERVER_SAMPLES + 2 {
                let start = Instant::now();
                let r = dps_e2e::send(client.get(&url).header("cookie", &cookie)).await;
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                let body = r.text();
                ensure!(
                    r.status == 200 && body.contains(&format!("id=\"{table}\"")),
                    "GET {url}: HTTP {} without the {table} table",
                    r.status
                );
                if i >= 2 {
                    samples.push(ms);
                }
            }
            let mut row = Row::new(
                "console",
                format!("{SCENARIO}{suffix}"),
                format!("server: {what}, with {ENROLLMENTS} enrollments and {GROUPS} groups"),
                Unit::Millis,
                Summary::of(&samples).context("no samples")?,
            );
            row.targets = vec![Target::Below(100.0)];
            println!("  {:<40} median {:>7.2} ms", row.name, row.ours.median);
            rows.push(row);
        }
        Ok(rows)
    })
}

fn browser_rows(console: &str, ca_pem: &str) -> anyhow::Result<Vec<Row>> {
    let tools = Tools::find()
        .context("chromium/chromedriver not installed (apt install chromium chromium-driver)")?;
    let rt = runtime()?;
    rt.block_on(async {
        let b = Browser::launch(&tools, &Launch::desktop(Trust::ca(ca_pem)?)).await?;
        let mut rows = Vec::new();
        for (suffix, path, what) in [
            ("/dcl-overview", "", "the overview"),
            (
                "/dcl-individual",
                "enrollments?tab=individual",
                "the Individual Enrollments list",
            ),
        ] {
            let url = format!("{console}{path}");
            let mut samples = Vec::new();
            for i in 0..=BROWSER_SAMPLES {
                b.goto(&url).await?;
                let v = b
                    .js("const n = performance.getEntriesByType('navigation')[0]; \
                         return n ? n.domContentLoadedEventEnd - n.startTime : null;")
                    .await?;
                let ms = v.as_f64().context("no navigation timing")?;
                if i > 0 {
                    samples.push(ms);
                }
            }
            let mut row = Row::new(
                "console",
                format!("{SCENARIO}{suffix}"),
                format!("headless Chromium: DOMContentLoaded of {what}"),
                Unit::Millis,
                Summary::of(&samples).context("no samples")?,
            );
            row.targets = vec![Target::Below(300.0)];
            println!("  {:<40} median {:>7.2} ms", row.name, row.ours.median);
            rows.push(row);
        }
        b.close().await;
        Ok(rows)
    })
}

/// The release binary now against the one built before the console, and the assets.
fn size_row(env: &Env) -> anyhow::Result<(Row, String)> {
    let root = crate::project_root();
    let now = file_size(&env.bins.emulator()?)?;
    let assets: u64 = std::fs::read_dir(root.join(ASSETS))
        .with_context(|| format!("reading {ASSETS}"))?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let (base_commit, before) = baseline(&root, &env.bench_dir)?;
    let delta = now as f64 - before as f64;
    let mut row = Row::new(
        "console",
        format!("{SCENARIO}/size"),
        format!(
            "release dps-emulator: bytes added since {} (the commit before the console)",
            &base_commit[..12.min(base_commit.len())]
        ),
        Unit::Megabytes,
        Summary::of(&[delta / MIB]).context("no size")?,
    );
    row.targets = vec![Target::Below(2.0)];
    row.extra.insert("binaryBytes".into(), json!(now));
    row.extra.insert("baselineBytes".into(), json!(before));
    row.extra
        .insert("baselineCommit".into(), json!(base_commit));
    row.extra.insert("assetBytes".into(), json!(assets));
    let note = format!(
        "{SCENARIO}/size: release dps-emulator {:.2} MiB now, {:.2} MiB at {} (before the \
         console): {:+.2} MiB, which also holds every other change since; embedded assets {} \
         bytes",
        now as f64 / MIB,
        before as f64 / MIB,
        &base_commit[..12.min(base_commit.len())],
        delta / MIB,
        assets
    );
    println!("  {note}");
    Ok((row, note))
}

fn file_size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("{}", path.display()))?
        .len())
}

/// The release `dps-emulator` of the commit before the console: its source from `git
/// archive`, built in target/bench/baseline (kept, so only the first run compiles it all).
fn baseline(root: &Path, bench_dir: &Path) -> anyhow::Result<(String, u64)> {
    let git = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new("git")
            .current_dir(root)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .context("running git")?;
        ensure!(out.status.success(), "git {} failed", args.join(" "));
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let added = git(&["log", "--diff-filter=A", "--format=%H", "--", CONSOLE_MOD])?;
    let first = added
        .lines()
        .last()
        .context("no commit added the console (is this a git clone with history?)")?;
    let base = git(&["rev-parse", &format!("{first}^")])?;
    let work = bench_dir.join("baseline");
    let src = work.join(format!("src-{}", &base[..12.min(base.len())]));
    if !src.join("Cargo.toml").is_file() {
        std::fs::create_dir_all(&src)?;
        let archive = Command::new("git")
            .current_dir(root)
            .args(["archive", "--format=tar", &base])
            .stdout(Stdio::piped())
            .spawn()
            .context("running git archive")?;
        let status = Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(&src)
            .stdin(archive.stdout.context("git archive's output")?)
            .status()
            .context("running tar")?;
        ensure!(status.success(), "unpacking {base} failed");
    }
    print!("  size: building dps-emulator at {base} (release, first time slow) ... ");
    flush();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target: PathBuf = work.join("target");
    let status = Command::new(cargo)
        .current_dir(&src)
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "dps-emulator",
            "--bin",
            "dps-emulator",
        ])
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building dps-emulator at {base} failed");
    }
    println!("done");
    let exe = target
        .join("release")
        .join(format!("dps-emulator{}", std::env::consts::EXE_SUFFIX));
    Ok((base, file_size(&exe)?))
}
