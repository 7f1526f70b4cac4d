//! `dps-cli certs ...` and `cargo xtask gen-certs ...`: certGen.sh's operations (under their
//! certGen.sh names too) plus `inspect`.

use crate::output::{OutputFormat, Progress, print_json};
use anyhow::Context;
use dps_certgen::{
    CertDir, ChainOptions, DEFAULT_PASSWORD, DEFAULT_VALIDITY_DAYS, INTERMEDIATE_CN, KeyAlgorithm,
    LeafOptions, NOT_FOR_PRODUCTION, Outcome, ROOT_CN, Signer,
};
use serde_json::json;
use std::path::PathBuf;

/// Certificate commands. Each also answers to its certGen.sh name
/// (`create_root_and_intermediate`, ...).
#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Create the root and intermediate CA and the chain file (certGen.sh
    /// create_root_and_intermediate).
    #[command(
        visible_alias = "create_root_and_intermediate",
        after_help = "Examples:
  dps-cli certs create-root-and-intermediate --algorithm ecdsa-p256 --out ecc-certs
  dps-cli certs create-root-and-intermediate --out ecc-certs --algorithm ecdsa-p256 --force   # replaces that chain"
    )]
    CreateRootAndIntermediate(ChainArgs),
    /// Create a proof-of-possession certificate whose CN is the verification code DPS gave
    /// you (certGen.sh create_verification_certificate).
    #[command(visible_alias = "create_verification_certificate")]
    CreateVerificationCertificate {
        /// The verification code DPS gave, used exactly as given.
        code: String,
        /// Sign with the intermediate, to prove possession of an uploaded intermediate CA
        /// (certGen.sh always signs with the root).
        #[arg(long)]
        from_intermediate: bool,
        /// Output folder, keys and PFX options.
        #[command(flatten)]
        leaf: LeafArgs,
    },
    /// Create device certificates signed by the root CA (certGen.sh create_device_certificate).
    #[command(
        visible_alias = "create_device_certificate",
        after_help = "Example:\n  dps-cli certs create-device-certificate sensor --count 3 --algorithm ecdsa-p256 --out ecc-certs   # sensor-1 ... sensor-3"
    )]
    CreateDeviceCertificate(DeviceArgs),
    /// Create device certificates signed by the intermediate CA (certGen.sh
    /// create_device_certificate_from_intermediate). Use these with an enrollment group on
    /// the intermediate.
    #[command(
        visible_alias = "create_device_certificate_from_intermediate",
        after_help = "Example:\n  dps-cli certs create-device-certificate-from-intermediate dev1 --out certs"
    )]
    CreateDeviceCertificateFromIntermediate(DeviceArgs),
    /// Create an IoT Edge device CA certificate "NAME.ca" signed by the intermediate
    /// (certGen.sh create_edge_device_certificate).
    #[command(
        visible_alias = "create_edge_device_certificate",
        after_help = "Example:\n  dps-cli certs create-edge-device-certificate my-edge --out certs"
    )]
    CreateEdgeDeviceCertificate {
        /// Edge device name; the certificate's CN is "NAME.ca".
        name: String,
        /// Output folder, keys and PFX options.
        #[command(flatten)]
        leaf: LeafArgs,
    },
    /// Print subject, issuer, validity, key type, CA flag and SHA-1/SHA-256 thumbprints of
    /// every certificate in PEM or DER files.
    #[command(
        after_help = "Example:\n  dps-cli certs inspect certs/certs/dev1-full-chain.cert.pem"
    )]
    Inspect {
        /// Certificate files (PEM with one or more certificates, or DER).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Where the certGen.sh folder is.
#[derive(Debug, clap::Args)]
pub struct OutArgs {
    /// The certGen.sh working folder (certificates go to OUT/certs, keys to OUT/private).
    #[arg(long, default_value = "certs")]
    pub out: PathBuf,
}

/// Options shared by every generating command.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// Key algorithm of the new keys: rsa-2048, rsa-4096 (certGen.sh), ecdsa-p256, ecdsa-p384.
    #[arg(long, default_value = "rsa-4096", value_parser = AlgorithmParser)]
    pub algorithm: KeyAlgorithm,
    /// Validity in days.
    #[arg(long, default_value_t = DEFAULT_VALIDITY_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,
    /// Password of the CA keys and PFX files.
    #[arg(long, default_value = DEFAULT_PASSWORD, conflicts_with = "no_password", hide_default_value = false)]
    pub password: String,
    /// Write CA keys unencrypted (and PFX files with an empty password).
    #[arg(long)]
    pub no_password: bool,
}

impl KeyArgs {
    fn password(&self) -> Option<String> {
        (!self.no_password).then(|| self.password.clone())
    }
}

/// Options of `create-root-and-intermediate`.
#[derive(Debug, clap::Args)]
pub struct ChainArgs {
    /// The certGen.sh folder.
    #[command(flatten)]
    pub out: OutArgs,
    /// Key algorithm, validity and password.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Common name of the root CA.
    #[arg(long, default_value = ROOT_CN)]
    pub root_cn: String,
    /// Common name of the intermediate CA.
    #[arg(long, default_value = INTERMEDIATE_CN)]
    pub intermediate_cn: String,
    /// Replace an existing chain (every certificate it signed stops verifying).
    #[arg(long)]
    pub force: bool,
}

/// Options of the leaf commands.
#[derive(Debug, clap::Args)]
pub struct LeafArgs {
    /// The certGen.sh folder.
    #[command(flatten)]
    pub out: OutArgs,
    /// Key algorithm, validity and password.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Do not write .cert.pfx files.
    #[arg(long)]
    pub no_pfx: bool,
}

/// Options of the device commands.
#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    /// Device names (the certificate CN, which is the DPS registration id).
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Make N devices named NAME-1 ... NAME-N from a single NAME.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Output folder, keys and PFX options.
    #[command(flatten)]
    pub leaf: LeafArgs,
}

/// `--algorithm`'s parser: the four names completion scripts offer, and the spellings
/// [`KeyAlgorithm`]'s `FromStr` also takes (`p256`, `rsa`, ...).
#[derive(Debug, Clone, Copy)]
struct AlgorithmParser;

impl clap::builder::TypedValueParser for AlgorithmParser {
    type Value = KeyAlgorithm;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<KeyAlgorithm, clap::Error> {
        let text = value.to_string_lossy();
        text.parse().map_err(|e: dps_certgen::Error| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '--algorithm': {e}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            ["rsa-2048", "rsa-4096", "ecdsa-p256", "ecdsa-p384"]
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

impl LeafArgs {
    fn options(&self, signer: Signer) -> LeafOptions {
        LeafOptions {
            algorithm: self.key.algorithm,
            days: self.key.days,
            password: self.key.password(),
            signer,
            pfx: !self.no_pfx,
        }
    }
}

impl DeviceArgs {
    /// The names to create: the list as given, or NAME-1..NAME-N with `--count`.
    pub fn expanded_names(&self) -> anyhow::Result<Vec<String>> {
        match self.count {
            None => Ok(self.names.clone()),
            Some(0) => anyhow::bail!("--count must be at least 1"),
            Some(n) => {
                let [base] = self.names.as_slice() else {
                    anyhow::bail!(
                        "--count takes exactly one NAME to number, got {}",
                        self.names.len()
                    );
                };
                let width = n.to_string().len();
                Ok((1..=n).map(|i| format!("{base}-{i:0width$}")).collect())
            }
        }
    }
}

/// Runs one certificate command and prints its result; the not-for-production warning goes to
/// stderr after every generating command.
pub fn run(cmd: CertsCommand, format: OutputFormat) -> anyhow::Result<()> {
    let outcome = match cmd {
        CertsCommand::Inspect { files } => return inspect(&files, format),
        CertsCommand::CreateRootAndIntermediate(a) => CertDir::new(&a.out.out)
            .create_root_and_intermediate(&ChainOptions {
                algorithm: a.key.algorithm,
                days: a.key.days,
                root_cn: a.root_cn.clone(),
                intermediate_cn: a.intermediate_cn.clone(),
                password: a.key.password(),
                force: a.force,
            })
            .map_err(crate::errors::explain_certgen)?,
        CertsCommand::CreateVerificationCertificate {
            code,
            from_intermediate,
            leaf,
        } => {
            let signer = if from_intermediate {
                Signer::Intermediate
            } else {
                Signer::Root
            };
            CertDir::new(&leaf.out.out)
                .create_verification_certificate(&code, &leaf.options(signer))?
        }
        CertsCommand::CreateDeviceCertificate(d) => devices(&d, Signer::Root)?,
        CertsCommand::CreateDeviceCertificateFromIntermediate(d) => {
            devices(&d, Signer::Intermediate)?
        }
        CertsCommand::CreateEdgeDeviceCertificate { name, leaf } => CertDir::new(&leaf.out.out)
            .create_edge_device_certificate(&name, &leaf.options(Signer::Intermediate))?,
    };
    report(&outcome, format)?;
    crate::output::eprint_note("", NOT_FOR_PRODUCTION);
    Ok(())
}

fn devices(d: &DeviceArgs, signer: Signer) -> anyhow::Result<Outcome> {
    let names = d.expanded_names()?;
    let progress = Progress::new("device certificates", names.len());
    Ok(CertDir::new(&d.leaf.out.out).create_device_certificates(
        &names,
        &d.leaf.options(signer),
        &|done, total| progress.update(done, total),
    )?)
}

fn report(outcome: &Outcome, format: OutputFormat) -> anyhow::Result<()> {
    for w in &outcome.warnings {
        crate::output::eprint_note("warning: ", &w.to_string());
    }
    match format {
        OutputFormat::Json => print_json(&json!({
            "certificates": outcome.issued.iter().map(|i| json!({
                "commonName": i.common_name,
                "certificate": i.cert_path,
                "key": i.key_path,
                "fullChain": i.full_chain_path,
                "sha1Thumbprint": i.thumbprints.sha1,
                "sha256Thumbprint": i.thumbprints.sha256,
            })).collect::<Vec<_>>(),
            "files": outcome.files,
        })),
        OutputFormat::Table => {
            // A batch of a thousand devices would drown the terminal: summarise it.
            const LIST_MAX: usize = 20;
            for i in outcome.issued.iter().take(LIST_MAX) {
                println!("{}", i.common_name);
                println!("  certificate  {}", i.cert_path.display());
                println!("  key          {}", i.key_path.display());
                if let Some(chain) = &i.full_chain_path {
                    println!("  full chain   {}", chain.display());
                }
                println!("  SHA-1        {}", i.thumbprints.sha1);
                println!("  SHA-256      {}", i.thumbprints.sha256);
            }
            if outcome.issued.len() > LIST_MAX {
                println!("... and {} more", outcome.issued.len() - LIST_MAX);
            }
            println!("{} files written", outcome.files.len());
            Ok(())
        }
    }
}

fn inspect(files: &[PathBuf], format: OutputFormat) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for f in files {
        let summaries =
            dps_certgen::inspect_file(f).with_context(|| format!("inspecting {}", f.display()))?;
        all.extend(summaries.into_iter().map(|s| (f.clone(), s)));
    }
    match format {
        OutputFormat::Json => print_json(&json!(
            all.iter()
                .map(|(f, s)| json!({
                    "file": f,
                    "subject": s.subject,
                    "issuer": s.issuer,
                    "commonName": s.common_name,
                    "notBefore": s.not_before,
                    "notAfter": s.not_after,
                    "currentlyValid": s.currently_valid,
                    "keyType": s.key_type,
                    "isCa": s.is_ca,
                    "selfSigned": s.self_signed,
                    "serialNumber": s.serial,
                    "sha1Thumbprint": s.thumbprints.sha1,
                    "sha256Thumbprint": s.thumbprints.sha256,
                }))
                .collect::<Vec<_>>()
        )),
        OutputFormat::Table => {
            for (i, (f, s)) in all.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                println!("{}", f.display());
                println!("  subject      {}", s.subject);
                println!(
                    "  issuer       {}{}",
                    s.issuer,
                    if s.self_signed { " (self-signed)" } else { "" }
                );
                println!(
                    "  valid        {} .. {}{}",
                    s.not_before,
                    s.not_after,
                    if s.currently_valid {
                        ""
                    } else {
                        "  (NOT currently valid)"
                    }
                );
                println!("  key          {}", s.key_type);
                println!("  CA           {}", if s.is_ca { "yes" } else { "no" });
                println!("  serial       {}", s.serial);
                println!("  SHA-1        {}", s.thumbprints.sha1);
                println!("  SHA-256      {}", s.thumbprints.sha256);
            }
            Ok(())
        }
    }
}
