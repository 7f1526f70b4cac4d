//! The browser trusts exactly the emulator's CA: by its key (`--ignore-certificate-errors-spki-
//! list`), or through an NSS database that `dps-cli emulator trust` made; never every
//! certificate.

use super::browser;
use dps_e2e::browser::{Browser, Launch, Tools, Trust};
use dps_e2e::{TestChain, TestEmulator, rt};
use fantoccini::Locator;

/// The Overview page loads over TLS trusted by the CA's key alone; a browser given another
/// key sees a certificate error, so the trust is not blanket.
#[test]
fn the_overview_opens_over_tls_trusted_by_the_ca_key_alone() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    rt().block_on(async {
        let b = browser(&tools, &t).await;
        b.goto(&t.console("")).await.expect("overview");
        let scope = b.wait_for("#id-scope").await.expect("the ID scope");
        assert_eq!(scope.text().await.expect("text"), t.emulator.id_scope());
        b.close().await;

        let other = TestChain::new();
        let wrong = Trust::ca(&other.root_pem()).expect("another key");
        let b = Browser::launch(&tools, &Launch::desktop(wrong))
            .await
            .expect("browser");
        let opened = b.goto(&t.console("")).await;
        let found = b.client.find(Locator::Css("#id-scope")).await;
        assert!(
            opened.is_err() || found.is_err(),
            "a browser trusting another key opened the console: {}",
            b.body_text().await
        );
        b.close().await;
    });
}

/// `dps-cli emulator trust` into a scratch NSS database: Chromium, with HOME there and no
/// key flag, opens the console without a warning; with an empty HOME it does not.
#[test]
fn chromium_trusts_the_console_through_an_nss_database_made_by_emulator_trust() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    if which("certutil").is_none() {
        assert!(
            std::env::var(dps_e2e::browser::REQUIRE_ENV).as_deref() != Ok("1"),
            "certutil is missing (apt install libnss3-tools)"
        );
        dps_e2e::browser::skipped("SKIPPED: certutil not installed (apt install libnss3-tools)");
        return;
    }
    let t = TestEmulator::start_console();
    let scratch = tempfile::tempdir().expect("temp dir");
    let home = scratch.path().join("home");
    let empty_home = scratch.path().join("empty-home");
    std::fs::create_dir_all(&empty_home).expect("mkdir");
    let nss = home.join(".pki/nssdb");
    let out = std::process::Command::new(dps_cli())
        .env("HOME", &home)
        .args([
            "emulator",
            "trust",
            "--yes",
            "--no-system-store",
            "--nss-db",
        ])
        .arg(&nss)
        .arg("--data-dir")
        .arg(t.dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("dps-cli runs");
    assert!(
        out.status.success(),
        "emulator trust failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    rt().block_on(async {
        let b = Browser::launch(&tools, &Launch::desktop(Trust::NssHome(home.clone())))
            .await
            .expect("browser");
        b.goto(&t.console("")).await.expect("overview");
        let scope = b.wait_for("#id-scope").await.expect("the ID scope");
        assert_eq!(scope.text().await.expect("text"), t.emulator.id_scope());
        b.close().await;

        let b = Browser::launch(&tools, &Launch::desktop(Trust::NssHome(empty_home)))
            .await
            .expect("browser");
        let opened = b.goto(&t.console("")).await;
        let found = b.client.find(Locator::Css("#id-scope")).await;
        assert!(
            opened.is_err() || found.is_err(),
            "a browser without the CA opened the console: {}",
            b.body_text().await
        );
        b.close().await;
    });
}

/// The `dps-cli` binary, built by cargo first so it is never stale (`cargo test -p dps-e2e`
/// alone does not build other packages' binaries).
fn dps_cli() -> std::path::PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "dps-cli", "--bin", "dps-cli"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building dps-cli failed");
    let exe = std::env::current_exe().expect("this test's path");
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the target folder")
        .join(format!("dps-cli{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "no dps-cli at {}", bin.display());
    bin
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
