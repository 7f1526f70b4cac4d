//! `cargo xtask quickstart`: the Azure DPS X.509 quickstart, offline, in-process.
//!
//! 1. the test CA chain in certGen.sh's layout (reused on the next run);
//! 2. the local DPS emulator (state kept in `<out>/emulator`);
//! 3. the root CA uploaded and proven (proof of possession with a verification certificate);
//! 4. the enrollment group on the intermediate CA, as the seed quickstart creates it;
//! 5. a device certificate signed by the intermediate, with its full chain;
//! 6. the device registered over mutual TLS, sending its full chain (over HTTPS, or MQTT with
//!    `--transport mqtt`, or MQTT over WebSocket with `--transport mqtt-ws`);
//! 7. the registration shown under its group.
//!
//! Each step prints what it did and the equivalent `dps-cli` command.

use anyhow::Context;
use dps_certgen::{
    CertDir, ChainOptions, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, NOT_FOR_PRODUCTION,
    ROOT_PREFIX, Signer,
};
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient, Transport};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_service_client::{
    CertificateClient, ClientOptions, ProvePossessionError, ProvisioningServiceClient,
};
use futures_util::TryStreamExt;
use std::path::PathBuf;
use std::time::Instant;

/// Quickstart options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Folder for the certGen.sh-style chain and the emulator state (relative to the workspace root).
    #[arg(long, default_value = "certs")]
    out: PathBuf,
    /// Replace the chain and the emulator state instead of reusing them.
    #[arg(long)]
    fresh: bool,
    /// Keep the emulator running afterwards (Ctrl-C stops it).
    #[arg(long)]
    keep_running: bool,
    /// Key algorithm: rsa-4096 (certGen.sh's), rsa-2048, ecdsa-p256, ecdsa-p384.
    #[arg(long, default_value = "rsa-4096")]
    algorithm: String,
    /// Registration id of the quickstart device (its certificate CN).
    #[arg(long, default_value = "my-first-device")]
    device: String,
    /// Enrollment group id.
    #[arg(long, default_value = "my-x509-group")]
    group: String,
    /// How the device registers: https, mqtt (MQTT over TLS) or mqtt-ws (MQTT over WebSocket).
    #[arg(long, default_value = "https")]
    transport: Transport,
}

const CA_NAME: &str = "azure-iot-test-only-root";

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let dir = CertDir::new(&args.out);
    let emulator_dir = args.out.join("emulator");
    let started = Instant::now();
    let out = word(&args.out);

    step(1, "Test CA chain (root + intermediate), certGen.sh layout");
    let expired = dir.has_chain() && !chain_is_current(&dir);
    let renew = args.fresh || expired || !dir.has_chain();
    if expired {
        println!("   the chain in {out}/ has expired or is unreadable: making a new one");
    }
    if renew {
        let t = Instant::now();
        let done = dir.create_root_and_intermediate(&ChainOptions {
            algorithm,
            force: true,
            ..ChainOptions::default()
        })?;
        println!(
            "   made {} files in {:.2?} ({algorithm})",
            done.files.len(),
            t.elapsed()
        );
        // A new chain invalidates the emulator's view of the old one.
        if emulator_dir.exists() {
            std::fs::remove_dir_all(&emulator_dir)
                .with_context(|| format!("removing {}", emulator_dir.display()))?;
        }
    } else {
        println!(
            "   reusing the chain in {out}/ (pass --fresh to replace it and the emulator state)"
        );
    }
    println!(
        "   root CA:         {}",
        dir.cert_path(ROOT_PREFIX).display()
    );
    println!(
        "   intermediate CA: {}",
        dir.cert_path(INTERMEDIATE_PREFIX).display()
    );
    equivalent(&format!(
        "dps-cli certs create-root-and-intermediate --out {out} --algorithm {algorithm} --force"
    ));

    step(
        2,
        "Local DPS emulator (HTTPS and MQTT on 127.0.0.1, state in SQLite)",
    );
    let mut config = EmulatorConfig::new(&emulator_dir);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.mqtt_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    config.console_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let emulator = Emulator::spawn(config).context("starting the emulator")?;
    println!(
        "   listening on {} and {}; ID scope {}",
        emulator.service_endpoint(),
        emulator.mqtt_endpoint().as_deref().unwrap_or("-"),
        emulator.id_scope()
    );
    println!(
        "   connection strings and CA: {}",
        emulator.info_path().display()
    );
    equivalent(&format!(
        "dps-cli emulator start --data-dir {}",
        word(&emulator_dir)
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(flow(args, &dir, &emulator, algorithm))?;

    println!();
    println!(
        "Done in {:.2?}. The emulator state stays in {}.",
        started.elapsed(),
        emulator_dir.display()
    );
    println!(
        "Look at it: `dps-cli emulator start --data-dir {0}`, then in another shell \
         `dps-cli --emulator {0} enrollment-group list`;",
        word(&emulator_dir)
    );
    println!("run again to reuse the chain and the state, or with --fresh to start over.");
    if let Some(url) = emulator.console_url() {
        if args.keep_running {
            println!("See it in the web console: {url}");
        } else {
            println!(
                "See it in the web console: run `cargo xtask quickstart --keep-running` and \
                 open the console address it prints (the emulator stops when the quickstart ends)."
            );
        }
    }
    eprintln!("{NOT_FOR_PRODUCTION}");
    if args.keep_running {
        println!();
        println!(
            "The emulator keeps running on {} (Ctrl-C stops it); web console: {}",
            emulator.service_endpoint(),
            emulator.console_url().as_deref().unwrap_or("off")
        );
        runtime.block_on(tokio::signal::ctrl_c())?;
    }
    emulator.shutdown();
    Ok(())
}

async fn flow(
    args: &Args,
    dir: &CertDir,
    emulator: &Emulator,
    algorithm: KeyAlgorithm,
) -> anyhow::Result<()> {
    let out = word(&args.out);
    let emu = emulator_dir_arg(args);
    let options = ClientOptions {
        trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
        trust_only_custom_ca: true,
        ..ClientOptions::default()
    };
    let cs = emulator.service_connection_string();

    step(3, "Upload the root CA and prove possession of its key");
    let certificates = CertificateClient::for_emulator(&cs, Some(options.clone().into()))?;
    let root_pem = std::fs::read(dir.cert_path(ROOT_PREFIX))?;
    let verified = certificates
        .prove_possession(CA_NAME, &root_pem, |code| -> anyhow::Result<Vec<u8>> {
            println!("   verification code {code}: signing a verification certificate with the root's key");
            let made = dir
                .create_verification_certificate(code, &LeafOptions { algorithm: KeyAlgorithm::EcdsaP256, pfx: false, ..LeafOptions::default() })?;
            let path = &made.issued[0].cert_path;
            Ok(std::fs::read(path)?)
        }, None)
        .await
        .map_err(|e| match e {
            ProvePossessionError::Service(e) => anyhow::Error::from(e),
            ProvePossessionError::Sign(e) => e.context("signing the verification certificate"),
        })?;
    println!(
        "   {CA_NAME}: verified = {} (SHA-1 {})",
        verified.properties.is_verified.unwrap_or(false),
        verified.properties.thumbprint.as_deref().unwrap_or("?")
    );
    equivalent(&format!(
        "dps-cli --emulator {emu} certificate prove --name {CA_NAME} --cert {out}/certs/{ROOT_PREFIX}.cert.pem --key {out}/private/{ROOT_PREFIX}.key.pem"
    ));

    step(
        4,
        "Enrollment group with the intermediate CA as its signing certificate",
    );
    let service = ProvisioningServiceClient::from_connection_string(&cs, Some(options.clone()))?;
    let intermediate = std::fs::read(dir.cert_path(INTERMEDIATE_PREFIX))?;
    let group = service
        .create_x509_enrollment_group(&args.group, &intermediate, None, None)
        .await?;
    println!(
        "   {} (etag {})",
        group.enrollment_group_id,
        group.etag.as_deref().unwrap_or("?")
    );
    equivalent(&format!(
        "dps-cli --emulator {emu} enrollment-group create --group-id {} --cert {out}/certs/{INTERMEDIATE_PREFIX}.cert.pem",
        args.group
    ));

    step(
        5,
        "Device certificate signed by the intermediate, with its full chain",
    );
    let made = dir.create_device_certificates(
        std::slice::from_ref(&args.device),
        &LeafOptions {
            algorithm,
            signer: Signer::Intermediate,
            ..LeafOptions::default()
        },
        &|_, _| {},
    )?;
    let device = made
        .issued
        .first()
        .context("no device certificate reported")?;
    let chain_path = device
        .full_chain_path
        .clone()
        .context("no full-chain file")?;
    println!(
        "   {} (SHA-256 {})",
        device.cert_path.display(),
        device.thumbprints.sha256
    );
    println!(
        "   full chain: {} (leaf, intermediate, root)",
        chain_path.display()
    );
    equivalent(&format!(
        "dps-cli certs create-device-certificate-from-intermediate {} --out {out}",
        args.device
    ));

    let (over, endpoint) = match args.transport {
        Transport::Https => ("HTTPS", emulator.device_endpoint()),
        Transport::Mqtt => (
            "MQTT",
            emulator
                .mqtt_endpoint()
                .context("the emulator has no MQTT listener")?,
        ),
        Transport::MqttWebSocket => ("MQTT over WebSocket", emulator.mqtt_websocket_endpoint()),
        other => anyhow::bail!("the quickstart does not know the transport {other}"),
    };
    step(
        6,
        &format!("Register the device over {over} with mutual TLS, sending its full chain"),
    );
    let device_client = ProvisioningDeviceClient::new(
        &endpoint,
        emulator.id_scope(),
        &args.device,
        DeviceAuth::x509(
            std::fs::read(&chain_path)?,
            std::fs::read(&device.key_path)?,
        ),
        Some(DeviceClientOptions {
            transport: args.transport,
            trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..DeviceClientOptions::default()
        }),
    )?;
    let result = device_client.register(None).await?;
    println!(
        "   {}: {} to {} as device {} ({})",
        args.device,
        result.status,
        result.assigned_hub.as_deref().unwrap_or("?"),
        result.device_id.as_deref().unwrap_or("?"),
        result
            .substatus
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    let transport = match args.transport {
        Transport::Https => String::new(),
        other => format!(" --transport {other}"),
    };
    equivalent(&format!(
        "dps-cli --emulator {} device register --cert {} --key {}{transport}",
        emulator_dir_arg(args),
        word(&chain_path),
        word(&device.key_path)
    ));

    step(7, "The registration, seen from the service side");
    let states: Vec<_> = service
        .query_registration_states(&args.group, None)
        .try_collect()
        .await?;
    for s in &states {
        println!(
            "   {} -> {} ({})",
            s.registration_id,
            s.assigned_hub.as_deref().unwrap_or("-"),
            s.status
        );
    }
    anyhow::ensure!(
        states
            .iter()
            .any(|s| s.registration_id.eq_ignore_ascii_case(&args.device)),
        "the device's registration is missing from the group"
    );
    equivalent(&format!(
        "dps-cli --emulator {emu} enrollment-group registrations --group-id {}",
        args.group
    ));
    Ok(())
}

fn emulator_dir_arg(args: &Args) -> String {
    word(&args.out.join("emulator"))
}

/// A path as a printed command needs it typed (quoted when it holds spaces and the like), so
/// each `$ dps-cli ...` line runs as printed.
fn word(path: &std::path::Path) -> String {
    dps_cli::context::shell_word(&path.display().to_string())
}

/// Whether both CA certificates parse and are inside their validity period.
fn chain_is_current(dir: &CertDir) -> bool {
    [ROOT_PREFIX, INTERMEDIATE_PREFIX].iter().all(|p| {
        dps_certgen::inspect_file(&dir.cert_path(p))
            .map(|s| s.iter().all(|c| c.currently_valid))
            .unwrap_or(false)
    })
}

fn step(n: u32, what: &str) {
    println!();
    println!("[{n}] {what}");
}

fn equivalent(cmd: &str) {
    println!("   $ {cmd}");
}
