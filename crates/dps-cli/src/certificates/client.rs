//! Which certificate API to call: Azure Resource Manager for a DPS in Azure, or the emulator's
//! own host; and the verification certificate `certificate prove` signs.

use crate::Hint;
use crate::context::{self, GlobalArgs, shell_word};
use anyhow::Context;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_protocol::auth::Secret;
use dps_service_client::{CertificateClient, CertificateClientOptions};
use std::path::Path;

/// Where the DPS resource is in Azure. Without these, the certificate API of the service named
/// by --emulator or --connection-string is used (the emulator serves it on its own host).
#[derive(Debug, Clone, clap::Args)]
pub struct ArmArgs {
    /// Azure subscription id of the DPS (with --resource-group, --dps-name and a bearer token).
    #[arg(long, global = true, help_heading = "Azure options", value_name = "ID", requires_all = ["resource_group", "dps_name"])]
    pub subscription: Option<String>,
    /// Resource group of the DPS.
    #[arg(
        long,
        global = true,
        help_heading = "Azure options",
        value_name = "NAME"
    )]
    pub resource_group: Option<String>,
    /// Name of the DPS resource.
    #[arg(
        long,
        global = true,
        help_heading = "Azure options",
        value_name = "NAME"
    )]
    pub dps_name: Option<String>,
    /// Azure AD access token for `https://management.azure.com` (e.g. `az account
    /// get-access-token --query accessToken -o tsv`).
    #[arg(
        long,
        global = true,
        help_heading = "Azure options",
        value_name = "TOKEN",
        env = "AZURE_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub bearer_token: Option<String>,
}

impl ArmArgs {
    /// The Azure options as a hint's command repeats them (with a leading space; empty
    /// without --subscription): the bearer token only as `"$AZURE_ACCESS_TOKEN"`, never its
    /// value.
    pub(crate) fn hint_flags(&self) -> String {
        let (Some(subscription), Some(group), Some(dps)) =
            (&self.subscription, &self.resource_group, &self.dps_name)
        else {
            return String::new();
        };
        let mut out = format!(
            " --subscription {} --resource-group {} --dps-name {}",
            shell_word(subscription),
            shell_word(group),
            shell_word(dps)
        );
        if std::env::var_os(TOKEN_ENV).is_none() {
            out.push_str(&format!(" --bearer-token \"${TOKEN_ENV}\""));
        }
        out
    }
}

/// The environment variable `--bearer-token` reads.
const TOKEN_ENV: &str = "AZURE_ACCESS_TOKEN";

/// The certificate client the options name: Azure (`--subscription ...`) or the emulator.
pub(crate) fn certificate_client(
    arm: &ArmArgs,
    global: &GlobalArgs,
) -> anyhow::Result<CertificateClient> {
    let target = context::resolve(global)?;
    let options = CertificateClientOptions::from(target.client_options());
    if let Some(subscription) = &arm.subscription {
        let token = arm.bearer_token.clone().ok_or_else(|| {
            Hint::error(
                "--subscription needs a bearer token for Azure Resource Manager",
                "pass --bearer-token or set AZURE_ACCESS_TOKEN, e.g. AZURE_ACCESS_TOKEN=$(az \
                 account get-access-token --query accessToken -o tsv)",
            )
        })?;
        return CertificateClient::for_azure(
            subscription,
            arm.resource_group.as_deref().unwrap_or_default(),
            arm.dps_name.as_deref().unwrap_or_default(),
            Secret::from(token),
            Some(options),
        )
        .context("the Azure certificate API");
    }
    let cs = target.connection_string.as_deref().ok_or_else(|| {
        Hint::error(
            "no certificate API to talk to: give --emulator (or an emulator's \
             --connection-string), or --subscription, --resource-group, --dps-name and a bearer \
             token for Azure",
            "for a local DPS: `dps-cli emulator start` in another terminal, then add --emulator",
        )
    })?;
    CertificateClient::for_emulator(cs, Some(options)).context("--connection-string")
}

/// Loads the CA (certificate and key, checked to belong together) that signs verification
/// certificates, and its certificate as PEM for the upload: `cert` with `key`, or a PKCS#12
/// `cert` alone ([`crate::credentials::signing_ca`]).
pub(crate) fn load_ca(
    cert: &Path,
    key: Option<&Path>,
    password: Option<&str>,
) -> anyhow::Result<(Credential, String)> {
    crate::credentials::signing_ca(cert, key, password).map_err(|e| {
        // Errors that already say what the file is and what to do keep their own hint.
        if e.downcast_ref::<Hint>().is_some() || e.downcast_ref::<crate::Usage>().is_some() {
            return e;
        }
        Hint::error(
            format!("cannot use {} as the signing CA: {e:#}", cert.display()),
            "--cert is the CA certificate being proven and --key its private key \
             (certGen layout: certs/azure-iot-test-only.root.ca.cert.pem and \
             private/azure-iot-test-only.root.ca.key.pem); an encrypted key needs --password",
        )
    })
}

/// A verification certificate for `code`: CN = the code, Leaf profile, a fresh ECDSA P-256
/// key, valid for one day, signed by `ca`; as PEM.
pub(crate) fn verification_certificate(
    ca: &Credential,
    code: &str,
) -> dps_certgen::Result<Vec<u8>> {
    let cert = ca.sign(&CertSpec {
        common_name: code,
        profile: Profile::Leaf,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 1,
    })?;
    Ok(cert.cert_pem().into_bytes())
}
