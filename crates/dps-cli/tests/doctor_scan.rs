//! Doctor without `--group-id` looks at every enrollment group, as the service does; a group
//! that cannot match the device (its CA reference names no certificate) is no finding then,
//! while the same group asked about by `--group-id` is.

mod common;

use common::{Env, devices};
use dps_certgen::{CertDir, Signer};
use predicates::prelude::*;

const DEVICE: [&str; 4] = [
    "--cert",
    "certs/certs/dev1-full-chain.cert.pem",
    "--key",
    "certs/private/dev1.key.pem",
];

#[test]
fn an_unrelated_group_with_a_dangling_reference_does_not_fail_the_device() {
    let env = Env::new();
    env.tour();
    env.json(&[
        "enrollment-group",
        "create",
        "--group-id",
        "g-ref",
        "--ca-reference",
        "nope",
    ]);
    devices(
        &CertDir::new(env.path().join("certs")),
        &["dev1"],
        Signer::Intermediate,
    );
    env.cli()
        .arg("doctor")
        .args(DEVICE)
        .assert()
        .success()
        .stdout(predicate::str::contains("g-ref").not());
    env.cli()
        .args(["device", "register"])
        .args(DEVICE)
        .assert()
        .success();
    env.cli()
        .arg("doctor")
        .args(DEVICE)
        .args(["--group-id", "g-ref"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"nope\", which does not exist"));
}
