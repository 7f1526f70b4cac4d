//! What the doctor-fix tests share: doctor run against the test's emulator, the `fix:` text of
//! a finding taken from the printed checklist, the runnable commands in it, and a device
//! registration that must succeed.

#![allow(dead_code, unreachable_pub)]

use crate::common::{Env, devices};
use crate::hint_runner::{HintShell, commands};
use dps_certgen::{CertDir, Signer};

pub const ROOT: &str = crate::common::TOUR_ROOT;
pub const ROOT_KEY: &str = crate::common::TOUR_ROOT_KEY;
pub const INTERMEDIATE: &str = crate::common::TOUR_INTERMEDIATE;
pub const INTERMEDIATE_KEY: &str = "certs/private/azure-iot-test-only.intermediate.key.pem";
pub const DEV1: &str = "certs/certs/dev1.cert.pem";
pub const DEV1_FULL: &str = "certs/certs/dev1-full-chain.cert.pem";
pub const DEV1_KEY: &str = "certs/private/dev1.key.pem";
pub const GROUP_KEY: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";

/// The certGen folder of the test: `certs` in its temporary folder.
pub fn certgen(env: &Env) -> CertDir {
    CertDir::new(env.path().join("certs"))
}

/// A chain (CA keys encrypted with certGen's password) and the device `dev1` issued by its
/// intermediate.
pub fn chain_and_device(env: &Env) {
    env.chain();
    devices(&certgen(env), &["dev1"], Signer::Intermediate);
}

/// The group `id` on the intermediate, with extra options.
pub fn group(env: &Env, id: &str, extra: &[&str]) {
    let mut args = vec![
        "enrollment-group",
        "create",
        "--group-id",
        id,
        "--cert",
        INTERMEDIATE,
    ];
    args.extend_from_slice(extra);
    env.json(&args);
}

/// `dps-cli --emulator DIR doctor ARGS`, run in the test's folder: its exit code and the
/// printed checklist.
pub fn doctor(env: &Env, args: &[&str]) -> (i32, String) {
    let out = env.cli().arg("doctor").args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The `fix:` text of the first failed or warned `check` of a printed checklist, with the
/// lines that continue it.
pub fn fix_of(report: &str, check: &str) -> String {
    let mut lines = report.lines();
    lines
        .by_ref()
        .find(|l| {
            (l.starts_with("[FAIL]") || l.starts_with("[warn]"))
                && l.get(7..).and_then(|r| r.split_whitespace().next()) == Some(check)
        })
        .unwrap_or_else(|| panic!("no failed or warned {check:?} check:\n{report}"));
    let first = lines
        .next()
        .and_then(|l| l.split_once("fix: "))
        .map(|(_, f)| f.to_owned())
        .unwrap_or_else(|| panic!("no fix under {check:?}:\n{report}"));
    let more = lines.take_while(|l| !l.starts_with('[') && !l.contains(" checks: "));
    std::iter::once(first)
        .chain(more.map(|l| l.trim().to_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The commands of a fix that doctor could fill in completely: no placeholder is left (a fix
/// with one says "where NAME is ...").
pub fn runnable(fix: &str) -> Vec<String> {
    assert!(!fix.contains(", where "), "a placeholder is left: {fix}");
    let found = commands(fix);
    assert!(!found.is_empty(), "no backticked command: {fix}");
    found
}

/// The doctor report's fix for `check`, its one command, which carries `--emulator DIR`; run
/// as printed, it must succeed.
pub fn run_fix(env: &Env, report: &str, check: &str) -> String {
    let fix = fix_of(report, check);
    let commands = runnable(&fix);
    let [command] = commands.as_slice() else {
        panic!("one command: {fix}")
    };
    HintShell::new(env.path()).ok(command);
    command.clone()
}

/// `dps-cli --emulator DIR ARGS` as the hints print it.
pub fn with_emulator(env: &Env, rest: &str) -> String {
    format!("dps-cli --emulator {} {rest}", env.data_dir.display())
}

/// Doctor, which must pass now.
pub fn doctor_passes(env: &Env, args: &[&str]) {
    let (code, report) = doctor(env, args);
    assert_eq!(code, 0, "{report}");
}

/// `device register --cert CERT --key KEY [ARGS]`, which must succeed.
pub fn register(env: &Env, cert: &str, key: &str, extra: &[&str]) {
    env.cli()
        .args(["device", "register", "--cert", cert, "--key", key])
        .args(extra)
        .assert()
        .success();
}
