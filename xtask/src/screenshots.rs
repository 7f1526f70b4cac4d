//! `cargo xtask screenshots [--out docs/screenshots]`: the web console's main pages as PNGs
//! for the README, taken by headless Chromium (the same launcher as the browser tests,
//! `dps_e2e::browser`) from an in-process emulator filled with demo data: a verified CA and an
//! unverified one, X.509 and symmetric-key groups, an individual enrollment, devices
//! registered over HTTPS and MQTT, and a refused one, so every page has something to show.

use anyhow::{Context, bail};
use dps_certgen::Signer;
use dps_device_client::{DeviceAuth, Transport};
use dps_e2e::browser::{Browser, Launch, Tools};
use dps_e2e::{TestChain, TestEmulator, symmetric_enrollment, symmetric_group};
use dps_protocol::auth::Secret;
use dps_protocol::models::{InitialTwin, TwinCollection};
use std::path::{Path, PathBuf};

/// Screenshot options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Folder the PNGs are written to (created if missing).
    #[arg(long, value_name = "DIR", default_value = "docs/screenshots")]
    out: PathBuf,
}

/// The X.509 group the detail and registration pages show.
const X509_GROUP: &str = "factory-line-x509";

/// Each shot: file name, console path, an element that says the page is there.
const DESKTOP: [(&str, &str, &str); 6] = [
    ("overview.png", "", "#id-scope"),
    ("certificates.png", "certificates", "#certificates"),
    ("enrollment-groups.png", "enrollments?tab=groups", "#groups"),
    (
        "group-detail.png",
        "enrollments/groups/factory-line-x509",
        "#etag",
    ),
    (
        "registration-records.png",
        "registrations?group=factory-line-x509",
        "#registrations",
    ),
    ("device-activity.png", "activity", "#activity"),
];

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let Some(tools) = Tools::find() else {
        bail!("chromium/chromedriver not installed (apt install chromium chromium-driver)");
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting a runtime")?;
    let t = TestEmulator::start_with(|c| {
        c.console_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        c.mqtt_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    });
    let chain = TestChain::new();
    let staging = TestChain::new();
    rt.block_on(async {
        println!("demo data: CAs, groups, devices");
        seed(&t, &chain, &staging).await?;
        let b = Browser::launch(&tools, &Launch::desktop(t.browser_trust())).await?;
        for (file, path, ready) in DESKTOP {
            shoot(&b, &t, path, ready, &args.out.join(file)).await?;
        }
        b.close().await;
        let b = Browser::launch(&tools, &Launch::phone(t.browser_trust())).await?;
        shoot(
            &b,
            &t,
            "",
            "#id-scope",
            &args.out.join("overview-phone.png"),
        )
        .await?;
        b.close().await;
        anyhow::Ok(())
    })
}

/// Opens `path`, waits for `ready` and writes the viewport to `file`.
async fn shoot(
    b: &Browser,
    t: &TestEmulator,
    path: &str,
    ready: &str,
    file: &Path,
) -> anyhow::Result<()> {
    b.goto(&t.console(path)).await?;
    b.wait_for(ready).await?;
    // Fonts and the live feed's first paint.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let png = b.screenshot().await?;
    std::fs::write(file, &png).with_context(|| format!("writing {}", file.display()))?;
    println!("  {} ({} bytes)", file.display(), png.len());
    Ok(())
}

/// The demo data: what a user has after the quickstart and a few more steps.
async fn seed(t: &TestEmulator, chain: &TestChain, staging: &TestChain) -> anyhow::Result<()> {
    let service = t.client();
    let cas = t.certificate_client();
    let root = chain.root_pem();
    cas.create_or_update("quickstart-root", root.as_bytes(), None)
        .await?;
    cas.prove_possession(
        "quickstart-root",
        root.as_bytes(),
        |code| {
            Ok::<_, std::convert::Infallible>(
                chain.verification_pem(code, Signer::Root).into_bytes(),
            )
        },
        None,
    )
    .await?;
    cas.create_or_update("staging-root", staging.root_pem().as_bytes(), None)
        .await?;

    service
        .create_x509_enrollment_group(X509_GROUP, chain.intermediate_pem().as_bytes(), None, None)
        .await?;
    let sensors_key = symmetric_group(&service, "field-sensors", |g| {
        g.initial_twin = Some(InitialTwin {
            tags: Some(
                TwinCollection::new()
                    .with("site", "north-yard")
                    .with("tier", "pilot"),
            ),
            ..Default::default()
        });
    })
    .await;
    symmetric_group(&service, "lab-benches", |g| {
        g.provisioning_status = Some(dps_protocol::models::ProvisioningStatus::Disabled);
    })
    .await;
    let (gateway_key, _) = symmetric_enrollment(&service, "gateway-01", |e| {
        e.device_id = Some("gateway-01".into());
    })
    .await;

    for (i, transport) in [Transport::Https, Transport::Https, Transport::Mqtt]
        .into_iter()
        .enumerate()
    {
        let name = format!("press-{:03}", i + 1);
        let device = chain.device(&name, Signer::Intermediate);
        t.device_over(transport, &name, device.full_chain())
            .register(None)
            .await
            .with_context(|| format!("registering {name}"))?;
    }
    for name in ["sensor-001", "sensor-002"] {
        let key = derived_key(&sensors_key, name)?;
        t.device(name, DeviceAuth::SymmetricKey(Secret::from(key)))
            .register(None)
            .await
            .with_context(|| format!("registering {name}"))?;
    }
    t.device(
        "gateway-01",
        DeviceAuth::SymmetricKey(Secret::from(gateway_key)),
    )
    .register(None)
    .await?;
    // Refused: signed by the staging CA, which no group uses and nobody proved.
    let stray = staging.device("stray-device", Signer::Intermediate);
    if t.device("stray-device", stray.full_chain())
        .register(None)
        .await
        .is_ok()
    {
        bail!("the stray device was expected to be refused");
    }
    Ok(())
}

/// A device's key in a symmetric-key group: base64(HMAC-SHA256(group key, registration id)).
fn derived_key(group_key: &str, registration_id: &str) -> anyhow::Result<String> {
    dps_protocol::auth::derive_device_key(&Secret::from(group_key.to_owned()), registration_id)
        .map(|k| k.expose().to_owned())
        .context("deriving a device key")
}
