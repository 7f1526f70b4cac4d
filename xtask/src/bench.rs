//! `cargo xtask bench [certs|service|devices|footprint|console|all]`: side-by-side timings of
//! dps-rs, built in release, against the reference tools, printed as tables and merged into
//! target/bench/report.json.
//!
//! * `certs` ([`certs`]): the release dps-cli against certGen.sh's openssl pipeline.
//! * `service` ([`service`]): 10,000 enrollments created in bulk, listed, deleted through the
//!   SDK against the emulator, and the same workload through the official Python service SDK;
//!   and ([`as_code`]) 10,000 enrollments applied from a file with the release `dps-cli apply`,
//!   then planned again, against the release emulator binary.
//! * `devices` ([`devices`]): 1,000 X.509 registrations, each on a fresh TLS connection, over
//!   HTTPS, MQTT and MQTT over WebSocket, as shares of the machine's TLS ceiling (bare
//!   mutual-TLS handshakes with the same certificates) measured in the same run.
//! * `footprint` ([`footprint`]): the emulator binary's memory and startup with 100,000
//!   enrollments stored.
//! * `console` ([`console`]): the web console's first pages with 100,000 enrollments, headless
//!   Chromium's DOMContentLoaded, and the console's share of the binary.
//!
//! The emulator groups run their load in the release `xtask bench-worker` ([`worker`]), a
//! hidden subcommand that prints its measurements as one JSON line. Nothing here asserts a time:
//! the output is a report, with issue 7's targets marked met or MISSED.

mod as_code;
mod certs;
mod console;
mod devices;
mod emulator;
mod footprint;
mod python;
mod report;
mod row;
mod service;
mod stats;
mod support;
mod table;
pub(crate) mod worker;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
pub(crate) use support::build_release;
use support::write_report;
pub(crate) use support::{Scratch, copy_dir, flush, remove_dir};
use table::Row;

/// Bench options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Scenario group; `all` runs certs, service, devices, footprint and console.
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
    /// Bulk create, paged list and bulk delete of 10,000 enrollments against the emulator;
    /// `dps-cli apply` of 10,000 enrollments from a file, then a re-plan.
    Service,
    /// 1,000 X.509 device registrations against the emulator, concurrently, over HTTPS, MQTT
    /// and MQTT over WebSocket, beside bare mutual-TLS handshakes (the TLS ceiling).
    Devices,
    /// The emulator's memory and startup time with 100,000 enrollments stored.
    Footprint,
    /// The web console with 100,000 enrollments: server pages, browser load, binary size.
    Console,
    /// Every group.
    All,
}

impl Group {
    const EACH: [Group; 5] = [
        Group::Certs,
        Group::Service,
        Group::Devices,
        Group::Footprint,
        Group::Console,
    ];

    /// The scenario names of a group, for `--filter`.
    fn scenarios(self) -> Vec<&'static str> {
        match self {
            Group::Certs => certs::names(),
            Group::Service => service::names(),
            Group::Devices => devices::names(),
            Group::Footprint => vec![footprint::SCENARIO],
            Group::Console => vec![console::SCENARIO],
            Group::All => Self::EACH.iter().flat_map(|g| g.scenarios()).collect(),
        }
    }

    /// The release binaries the group needs: (package, binary).
    fn binaries(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Group::Certs => &[("dps-cli", "dps-cli")],
            Group::Service => &[
                ("xtask", "xtask"),
                ("dps-emulator", "dps-emulator"),
                ("dps-cli", "dps-cli"),
            ],
            Group::Footprint | Group::Console => {
                &[("xtask", "xtask"), ("dps-emulator", "dps-emulator")]
            }
            Group::Devices => &[("xtask", "xtask")],
            Group::All => &[],
        }
    }
}

/// The release binaries, as built.
#[derive(Debug, Default)]
pub(crate) struct Bins(Vec<(&'static str, PathBuf)>);

impl Bins {
    pub(crate) fn get(&self, name: &str) -> anyhow::Result<PathBuf> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.clone())
            .with_context(|| format!("{name} was not built"))
    }
    pub(crate) fn dps_cli(&self) -> anyhow::Result<PathBuf> {
        self.get("dps-cli")
    }
    pub(crate) fn xtask(&self) -> anyhow::Result<PathBuf> {
        self.get("xtask")
    }
    pub(crate) fn emulator(&self) -> anyhow::Result<PathBuf> {
        self.get("dps-emulator")
    }
}

/// Everything a group needs.
#[derive(Debug)]
pub(crate) struct Env {
    /// target/bench.
    pub(crate) bench_dir: PathBuf,
    /// target/bench/work: scratch folders, removed after each scenario.
    pub(crate) work: PathBuf,
    pub(crate) runs: u32,
    pub(crate) bins: Bins,
}

/// The rows of one group and how to print them.
#[derive(Debug)]
pub(crate) struct GroupReport {
    pub(crate) ours: &'static str,
    pub(crate) reference: &'static str,
    pub(crate) rows: Vec<Row>,
    /// Printed under the table.
    pub(crate) footer: String,
    pub(crate) notes: Vec<String>,
    /// Added to the report's `machine` object (e.g. the Python SDK's version).
    pub(crate) machine: Vec<(&'static str, Value)>,
    pub(crate) name: &'static str,
}

impl GroupReport {
    pub(crate) fn new(name: &'static str, ours: &'static str, reference: &'static str) -> Self {
        Self {
            ours,
            reference,
            rows: Vec::new(),
            footer: String::new(),
            notes: Vec::new(),
            machine: Vec::new(),
            name,
        }
    }
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let groups: Vec<Group> = match args.group {
        Group::All => Group::EACH.to_vec(),
        g => vec![g],
    };
    let matches = |g: Group| {
        g.scenarios()
            .iter()
            .any(|s| args.filter.as_deref().is_none_or(|f| s.contains(f)))
    };
    let groups: Vec<Group> = groups.into_iter().filter(|&g| matches(g)).collect();
    if groups.is_empty() {
        bail!(
            "no scenario matches --filter {:?}; scenarios: {}",
            args.filter.as_deref().unwrap_or_default(),
            args.group.scenarios().join(", ")
        );
    }

    let root = crate::project_root();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for g in &groups {
        for b in g.binaries() {
            if !wanted.contains(b) {
                wanted.push(*b);
            }
        }
    }
    let bins = build_release(&root, &wanted)?;
    let bench_dir = bins
        .0
        .first()
        .and_then(|(_, p)| p.parent())
        .and_then(Path::parent)
        .map_or_else(|| root.join("target"), Path::to_path_buf)
        .join("bench");
    let env = Env {
        work: bench_dir.join("work"),
        bench_dir,
        runs: args.runs,
        bins,
    };

    let openssl_version = certs::openssl_version();
    let filter = args.filter.as_deref();
    let mut reports = Vec::new();
    for g in groups {
        reports.push(match g {
            Group::Certs => certs::run(&env, filter, openssl_version.as_deref())?,
            Group::Service => service::run(&env, filter)?,
            Group::Devices => devices::run(&env, filter)?,
            Group::Footprint => footprint::run(&env)?,
            Group::Console => console::run(&env)?,
            Group::All => unreachable!("expanded above"),
        });
    }
    // Only removes the folder if every scenario cleaned up after itself.
    let _ = fs::remove_dir(&env.work);

    let mut machine = report::machine(openssl_version.as_deref());
    for r in &reports {
        println!();
        println!("{}:", r.name);
        print!("{}", table::table(&r.rows, r.ours, r.reference));
        if !r.footer.is_empty() {
            println!("{}", r.footer);
        }
        for note in &r.notes {
            println!("{note}");
        }
        if let Some(obj) = machine.as_object_mut() {
            for (k, v) in &r.machine {
                obj.insert((*k).to_owned(), v.clone());
            }
        }
    }

    let report_path = env.bench_dir.join("report.json");
    let fresh = json!({
        "machine": machine,
        "date": report::now_rfc3339(),
        "runs": args.runs,
        "scenarios": reports.iter().flat_map(|r| r.rows.iter().map(Row::to_json)).collect::<Vec<_>>(),
    });
    write_report(&report_path, &fresh)?;
    println!("report: {}", report_path.display());
    Ok(())
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
        for g in ["service", "devices", "footprint", "console"] {
            assert!(parse(&[g]).is_ok(), "{g}");
        }
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["gpu"]).is_err());
    }

    #[test]
    fn unknown_filter_lists_the_scenarios() {
        let a = parse(&["--filter", "nothing-like-this"]).unwrap_or_else(|e| panic!("{e}"));
        let err = run(&a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("chain-rsa4096"), "{err}");
        let a = parse(&["all", "--filter", "nothing-like-this"]).unwrap_or_else(|e| panic!("{e}"));
        let err = run(&a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("service-10k")
                && err.contains("as-code-10k")
                && err.contains("footprint-100k"),
            "{err}"
        );
        let a = parse(&["devices", "--filter", "amqp"]).unwrap_or_else(|e| panic!("{e}"));
        let err = run(&a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("devices-1000, devices-1000-mqtt, devices-1000-mqtt-ws, tls-ceiling-1000"),
            "{err}"
        );
    }

    #[test]
    fn every_group_has_scenarios_and_binaries() {
        let mut names = Group::All.scenarios();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "scenario names are unique across groups");
        for g in Group::EACH {
            assert!(
                !g.scenarios().is_empty() && !g.binaries().is_empty(),
                "{g:?}"
            );
        }
    }
}
