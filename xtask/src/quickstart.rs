//! `cargo xtask quickstart`: the DPS X.509 quickstart, offline and in-process.
//!
//! Today it runs the certificate half of the quickstart (the part certGen.sh did): the test CA
//! chain in certGen.sh's layout, a device certificate signed by the intermediate with its full
//! chain, and an independent chain check. Each step prints what it did and the equivalent
//! `dps-cli` command. The emulator half (upload and prove the CA, enroll the group, register the
//! device) joins when the emulator exists.

use anyhow::Context;
use dps_certgen::{
    CertDir, ChainOptions, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, NOT_FOR_PRODUCTION,
    ROOT_PREFIX, Signer, read_certs,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::path::PathBuf;
use std::time::Instant;

/// Quickstart options.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Folder for the certGen.sh-style chain (relative to the workspace root).
    #[arg(long, default_value = "certs")]
    out: PathBuf,
    /// Replace an existing chain instead of reusing it.
    #[arg(long)]
    fresh: bool,
    /// Key algorithm: rsa-4096 (certGen.sh's), rsa-2048, ecdsa-p256, ecdsa-p384.
    #[arg(long, default_value = "rsa-4096")]
    algorithm: String,
    /// Registration id of the quickstart device (its certificate CN).
    #[arg(long, default_value = "my-first-device")]
    device: String,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let dir = CertDir::new(&args.out);
    let started = Instant::now();
    let out = args.out.display();

    step(1, "Test CA chain (root + intermediate), certGen.sh layout");
    let expired = dir.has_chain() && !chain_is_current(&dir);
    if expired {
        println!("   the chain in {out}/ has expired or is unreadable: making a new one");
    }
    if dir.has_chain() && !args.fresh && !expired {
        println!("   reusing the chain in {out}/ (pass --fresh to replace it)");
    } else {
        let t = Instant::now();
        let done = dir.create_root_and_intermediate(&ChainOptions {
            algorithm,
            force: args.fresh || expired,
            ..ChainOptions::default()
        })?;
        println!(
            "   made {} files in {:.2?} ({algorithm})",
            done.files.len(),
            t.elapsed()
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
        "dps-cli certs create-root-and-intermediate --out {out} --algorithm {algorithm}{}",
        if args.fresh { " --force" } else { "" }
    ));

    step(
        2,
        "Device certificate signed by the intermediate, with its full chain",
    );
    let t = Instant::now();
    let done = dir.create_device_certificates(
        std::slice::from_ref(&args.device),
        &LeafOptions {
            algorithm,
            signer: Signer::Intermediate,
            ..LeafOptions::default()
        },
        &|_, _| {},
    )?;
    let device = done
        .issued
        .first()
        .context("the device certificate was not reported")?;
    let chain_path = device
        .full_chain_path
        .clone()
        .context("no full-chain file for the device")?;
    println!("   made {} files in {:.2?}", done.files.len(), t.elapsed());
    println!("   certificate: {}", device.cert_path.display());
    println!(
        "   full chain:  {} (leaf, intermediate, root)",
        chain_path.display()
    );
    println!("   SHA-1:   {}", device.thumbprints.sha1);
    println!("   SHA-256: {}", device.thumbprints.sha256);
    equivalent(&format!(
        "dps-cli certs create-device-certificate-from-intermediate {} --out {out} --algorithm {algorithm}",
        args.device
    ));

    step(
        3,
        "Check the device chain the way DPS will (rustls-webpki, client auth)",
    );
    verify_chain(&read_certs(&chain_path)?)?;
    println!(
        "   {} -> intermediate -> root: valid for TLS client authentication",
        args.device
    );
    equivalent(&format!(
        "openssl verify -CAfile {out}/certs/{ROOT_PREFIX}.cert.pem -untrusted {out}/certs/{INTERMEDIATE_PREFIX}.cert.pem {}",
        device.cert_path.display()
    ));

    println!();
    println!("Done in {:.2?}.", started.elapsed());
    println!(
        "Next: the local DPS emulator (upload and prove the root CA, enroll a group on the \
         intermediate, register '{}') is not built yet; these certificates are ready for it \
         and for a real Azure DPS.",
        args.device
    );
    eprintln!("{NOT_FOR_PRODUCTION}");
    Ok(())
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

/// Verifies leaf + intermediates against the last certificate of the chain as trust anchor.
fn verify_chain(chain: &[CertificateDer<'static>]) -> anyhow::Result<()> {
    let (leaf, rest) = chain.split_first().context("empty chain file")?;
    let (root, intermediates) = rest
        .split_last()
        .context("the chain file has no CA certificate")?;
    let anchor =
        webpki::anchor_from_trusted_cert(root).context("root is not a usable trust anchor")?;
    let ee = webpki::EndEntityCert::try_from(leaf).context("device certificate does not parse")?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        intermediates,
        UnixTime::now(),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map_err(|e| anyhow::anyhow!("chain does not verify: {e:?}"))?;
    Ok(())
}
