//! A symmetric-key device nobody enrolled: the hint's command, run as printed with the key in
//! the variable it names, enrolls the device, and the registration then succeeds. The hint never
//! repeats the key.

mod common;
mod hint_runner;

use common::Env;
use hint_runner::{HintShell, commands_of};

const DEVICE_KEY: &str = "ZHBzLXJzIHRlc3QgZGV2aWNlIGtleSAtIDMyIGJ5dGVzIQ==";
const GROUP_KEY: &str = "ZHBzLXJzIHRlc3QgZ3JvdXAga2V5IC0gMzIgYnl0ZXMhIQ==";

fn register(env: &Env, flag: &str, key: &str) -> std::process::Output {
    env.cli()
        .args([
            "device",
            "register",
            "--registration-id",
            "sensor-9",
            flag,
            key,
        ])
        .output()
        .expect("runs")
}

#[test]
fn an_unenrolled_symmetric_key_device_gets_the_enrollment_command() {
    let env = Env::new();
    let refused = register(&env, "--symmetric-key", DEVICE_KEY);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains(DEVICE_KEY),
        "the hint repeats the key: {stderr}"
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    let mut shell = HintShell::new(env.path());
    shell.env("DPS_DEVICE_KEY", DEVICE_KEY);
    shell.ok(&commands[0]);
    let registered = register(&env, "--symmetric-key", DEVICE_KEY);
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
}

#[test]
fn an_unknown_group_key_gets_the_group_command() {
    let env = Env::new();
    let refused = register(&env, "--group-key", GROUP_KEY);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains(GROUP_KEY),
        "the hint repeats the key: {stderr}"
    );
    let commands = commands_of(&stderr, "hint: ");
    assert_eq!(commands.len(), 1, "{stderr}");
    // GROUP_ID is the name the reader chooses, as the hint says.
    assert!(stderr.contains("GROUP_ID is a name you choose"), "{stderr}");
    let mut shell = HintShell::new(env.path());
    shell.env("DPS_GROUP_KEY", GROUP_KEY);
    shell.ok(&commands[0].replace("GROUP_ID", "sensors"));
    let registered = register(&env, "--group-key", GROUP_KEY);
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
}
