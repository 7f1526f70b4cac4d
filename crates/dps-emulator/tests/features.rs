//! The library without its default `cli` feature brings no command-line dependencies.
//!
//! Runs `cargo tree --offline` (a fraction of a second: it reads the lock file and the manifests
//! the build already fetched).

use std::collections::BTreeSet;
use std::process::Command;

const CLI_ONLY: [&str; 3] = ["clap", "anyhow", "tracing-subscriber"];

/// The names of the normal dependencies of dps-emulator, with or without its default features.
fn dependencies(default_features: bool) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["tree", "--offline", "-p", "dps-emulator", "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    if !default_features {
        cmd.arg("--no-default-features");
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn without_the_cli_feature_there_is_no_clap_anyhow_or_tracing_subscriber() {
    let with = dependencies(true);
    let without = dependencies(false);
    for name in CLI_ONLY {
        assert!(
            with.contains(name),
            "{name} is expected with the cli feature: {with:?}"
        );
        assert!(
            !without.contains(name),
            "{name} is a dependency without the cli feature"
        );
    }
}
