//! `dps-cli certificate ...`: the CA certificates of a DPS (Azure Resource Manager's
//! certificate API, or the emulator's), step by step or `prove` in one go.

mod client;
mod hints;

pub use client::ArmArgs;
pub(crate) use client::{certificate_client, load_ca, verification_certificate};

use crate::context::GlobalArgs;
use crate::errors::{About, explain, explain_list};
use crate::output::{
    OutputFormat, dash, date, print_fields, print_line, print_serialized, print_table,
};
use crate::progress::Spinner;
use crate::records::read_certificate;
use dps_certgen::DEFAULT_PASSWORD;
use dps_protocol::models::CertificateResponse;
use dps_service_client::{CertificateClient, CertificateUploadOptions, ProvePossessionError};
use serde_json::json;
use std::path::PathBuf;

/// `certificate` and its options.
#[derive(Debug, clap::Args)]
pub struct CertificateArgs {
    /// Where the DPS is in Azure.
    #[command(flatten)]
    pub arm: ArmArgs,
    /// The operation.
    #[command(subcommand)]
    pub command: CertificateCommand,
}

/// CA certificate commands.
#[derive(Debug, clap::Subcommand)]
pub enum CertificateCommand {
    /// Upload a CA certificate (unverified unless --verified), or replace one
    #[command(
        after_help = "Example:\n  dps-cli --emulator certificate upload --name my-root --cert certs/certs/azure-iot-test-only.root.ca.cert.pem"
    )]
    Upload(UploadArgs),
    /// Get a verification code: the CN of the certificate `verify` takes
    #[command(
        after_help = "Example:\n  dps-cli certificate generate-verification-code --name my-root\n  dps-cli certs create-verification-certificate CODE   # signs certs/certs/verification-code.cert.pem"
    )]
    GenerateVerificationCode(EtagArgs),
    /// Prove possession with a verification certificate (CN = the latest code, signed by the CA)
    #[command(
        after_help = "Example:\n  dps-cli certificate verify --name my-root --cert certs/certs/verification-code.cert.pem"
    )]
    Verify(VerifyArgs),
    /// List the CA certificates of the DPS
    #[command(after_help = "Example:\n  dps-cli --emulator certificate list")]
    List,
    /// Show one CA certificate
    #[command(after_help = "Example:\n  dps-cli certificate show --name my-root")]
    Show(NameArgs),
    /// Delete a CA certificate
    #[command(after_help = "Example:\n  dps-cli certificate delete --name my-root")]
    Delete(EtagArgs),
    /// The whole proof of possession in one step: upload if absent, get a code, sign a
    /// verification certificate with the CA's key, verify
    #[command(after_help = "Examples:
  dps-cli --emulator certificate prove --name azure-iot-test-only-root --cert certs/certs/azure-iot-test-only.root.ca.cert.pem --key certs/private/azure-iot-test-only.root.ca.key.pem
  dps-cli certificate prove --subscription $SUB --resource-group my-rg --dps-name my-dps --name my-root --cert root.pem --key root.key.pem --password \"$KEY_PASSWORD\"")]
    Prove(ProveArgs),
}

/// `--name`.
#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// The certificate name (1-64 letters, digits, '-', '_', '.').
    #[arg(long, value_name = "NAME")]
    pub name: String,
}

/// `--name` and `--etag`.
#[derive(Debug, clap::Args)]
pub struct EtagArgs {
    /// The certificate name.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The certificate's ETag, sent as If-Match [default: the current one, read first].
    #[arg(long, value_name = "ETAG")]
    pub etag: Option<String>,
}

/// The options of `certificate upload`.
#[derive(Debug, clap::Args)]
pub struct UploadArgs {
    /// The certificate name.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The CA certificate, PEM or DER (.pem, .cer).
    #[arg(long = "cert", alias = "certificate", value_name = "FILE")]
    pub certificate: PathBuf,
    /// Mark it verified without proof of possession.
    #[arg(long)]
    pub verified: bool,
    /// Replace only if the existing certificate's ETag is still this.
    #[arg(long, value_name = "ETAG")]
    pub etag: Option<String>,
}

/// The options of `certificate verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The certificate name.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The verification certificate, PEM or DER.
    #[arg(long = "cert", alias = "certificate", value_name = "FILE")]
    pub certificate: PathBuf,
    /// The ETag generate-verification-code returned [default: the current one].
    #[arg(long, value_name = "ETAG")]
    pub etag: Option<String>,
}

/// The options of `certificate prove`.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// The certificate name on the DPS (uploaded if absent).
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The CA certificate to prove: PEM, DER, or a PKCS#12 .pfx with its key (then --key is
    /// not needed).
    #[arg(long = "cert", alias = "ca-cert", value_name = "CA.pem")]
    pub ca_cert: PathBuf,
    /// Its private key (PEM; PKCS#8, encrypted or not, PKCS#1 or SEC1); required unless --cert
    /// is a PKCS#12 .pfx.
    #[arg(long = "key", alias = "ca-key", value_name = "CA.key.pem")]
    pub ca_key: Option<PathBuf>,
    /// Password of an encrypted --key or of a .pfx --cert (certGen.sh's is 1234; ignored for a
    /// plain key).
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
}

fn about<'a>(name: &'a str, global: &'a GlobalArgs, arm: &ArmArgs) -> About<'a> {
    About {
        noun: "certificate",
        command: "certificate",
        flag: "--name",
        id: name,
        global,
        tail: arm.hint_flags(),
    }
}

/// Runs a certificate command.
pub fn run(args: CertificateArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let format = global.output;
    let certs = client::certificate_client(&args.arm, global)?;
    let rt = crate::runtime()?;
    match args.command {
        CertificateCommand::Prove(p) => {
            // The CA is checked before anything is uploaded.
            let (ca, pem) = client::load_ca(&p.ca_cert, p.ca_key.as_deref(), Some(&p.password))?;
            let spinner = Spinner::new(format!(
                "proving {}: upload (if absent) and verification code...",
                p.name
            ));
            let verified = rt.block_on(certs.prove_possession(
                &p.name,
                pem.as_bytes(),
                |code| {
                    spinner.set_message(format!(
                        "proving {}: signing the verification certificate and verifying...",
                        p.name
                    ));
                    client::verification_certificate(&ca, code)
                },
                None,
            ));
            spinner.finish();
            let verified = verified.map_err(|e| match e {
                ProvePossessionError::Service(e) => explain(e, &about(&p.name, global, &args.arm)),
                ProvePossessionError::Sign(e) => {
                    anyhow::Error::new(e).context("cannot sign the verification certificate")
                }
            })?;
            print_certificate(&verified, format)
        }
        CertificateCommand::Upload(a) => {
            let pem = read_certificate(&a.certificate, "--cert")?;
            let mut options = CertificateUploadOptions::default();
            options.is_verified = a.verified.then_some(true);
            options.if_match = a.etag.clone();
            let c = rt
                .block_on(certs.create_or_update(&a.name, pem.as_bytes(), Some(options)))
                .map_err(|e| explain(e, &about(&a.name, global, &args.arm)))?;
            print_certificate(&c, format)
        }
        CertificateCommand::GenerateVerificationCode(a) => {
            let code = rt
                .block_on(async {
                    let etag = etag_of(&certs, &a).await?;
                    certs.generate_verification_code(&a.name, &etag, None).await
                })
                .map_err(|e| explain(e, &about(&a.name, global, &args.arm)))?;
            if format == OutputFormat::Json {
                return print_serialized(&code);
            }
            let value = code
                .properties
                .verification_code
                .clone()
                .unwrap_or_default();
            print_fields(&[
                ("name", code.name.clone()),
                ("verification code", value.clone()),
                ("etag", dash(code.etag.as_ref())),
            ])?;
            print_line(format_args!(
                "{}",
                hints::after_code(
                    &code.name,
                    &value,
                    code.properties.thumbprint.as_deref(),
                    global,
                    &args.arm
                )
            ))?;
            Ok(())
        }
        CertificateCommand::Verify(a) => {
            let pem = read_certificate(&a.certificate, "--cert")?;
            let c = rt
                .block_on(async {
                    let etag = match &a.etag {
                        Some(e) => e.clone(),
                        None => current_etag(&certs, &a.name).await?,
                    };
                    certs.verify(&a.name, &etag, pem.as_bytes(), None).await
                })
                .map_err(|e| {
                    hints::verify_refused(e, &a, &about(&a.name, global, &args.arm), &args.arm)
                })?;
            print_certificate(&c, format)
        }
        CertificateCommand::List => {
            let list = rt
                .block_on(certs.list(None))
                .map_err(|e| explain_list(e, "certificate", global))?;
            print_certificates(&list, format)
        }
        CertificateCommand::Show(a) => {
            let c = rt
                .block_on(certs.get(&a.name, None))
                .map_err(|e| explain(e, &about(&a.name, global, &args.arm)))?;
            print_certificate(&c, format)
        }
        CertificateCommand::Delete(a) => {
            rt.block_on(async {
                let etag = etag_of(&certs, &a).await?;
                certs.delete(&a.name, &etag, None).await
            })
            .map_err(|e| explain(e, &about(&a.name, global, &args.arm)))?;
            match format {
                OutputFormat::Json => print_serialized(&json!({"name": a.name, "deleted": true})),
                OutputFormat::Table => {
                    print_line(format_args!("deleted certificate {:?}", a.name))?;
                    Ok(())
                }
            }
        }
    }
}

async fn etag_of(certs: &CertificateClient, a: &EtagArgs) -> dps_service_client::Result<String> {
    match &a.etag {
        Some(e) => Ok(e.clone()),
        None => current_etag(certs, &a.name).await,
    }
}

async fn current_etag(certs: &CertificateClient, name: &str) -> dps_service_client::Result<String> {
    Ok(certs.get(name, None).await?.etag.unwrap_or_default())
}

/// Prints one certificate: `name  value` lines, or the ARM resource as JSON.
pub fn print_certificate(c: &CertificateResponse, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_serialized(c);
    }
    let p = &c.properties;
    print_fields(&[
        ("name", c.name.clone()),
        ("subject", dash(p.subject.as_ref())),
        ("verified", verified_text(p.is_verified)),
        ("sha1 thumbprint", dash(p.thumbprint.as_ref())),
        ("expiry", date(p.expiry.as_ref())),
        ("created", date(p.created.as_ref())),
        ("updated", date(p.updated.as_ref())),
        ("etag", dash(c.etag.as_ref())),
    ])?;
    Ok(())
}

fn verified_text(v: Option<bool>) -> String {
    if v == Some(true) { "yes" } else { "no" }.to_owned()
}

fn print_certificates(list: &[CertificateResponse], format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_serialized(list);
    }
    if list.is_empty() {
        print_line(format_args!("no certificates"))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                verified_text(c.properties.is_verified),
                dash(c.properties.subject.as_ref()),
                dash(c.properties.thumbprint.as_ref()),
                date(c.properties.expiry.as_ref()),
            ]
        })
        .collect();
    print_table(
        &["NAME", "VERIFIED", "SUBJECT", "SHA1 THUMBPRINT", "EXPIRY"],
        &rows,
    )?;
    Ok(())
}
