//! `dps-cli device register`: register a device the way it will in the field (X.509 over
//! mutual TLS, or a symmetric key) against Azure DPS or the emulator, and print its assignment.

use crate::Hint;
use crate::context::{self, GlobalArgs};
use crate::emulator::EmulatorInfo;
use crate::output::OutputFormat;
use crate::progress::Spinner;
use anyhow::Context;
use dps_chain::Cert;
use dps_device_client::{
    DeviceAuth, DeviceClientOptions, DeviceRegistrationResult, GLOBAL_ENDPOINT,
    ProvisioningDeviceClient, RegisterOptions, Transport,
};
use dps_protocol::auth::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Device commands.
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCommand {
    /// Register a device and print the IoT hub DPS assigns it to
    ///
    /// X.509: --cert (the leaf, or the leaf followed by its intermediates) and --key; the
    /// registration id defaults to the certificate's CN. Symmetric key: --registration-id with
    /// --symmetric-key (individual enrollment) or --group-key (enrollment group).
    ///
    /// --transport mqtt or mqtt-ws registers over MQTT as the device SDKs do (port 8883, or a
    /// WebSocket on port 443); with --emulator the endpoints come from its emulator.json.
    ///
    /// Examples:
    ///   dps-cli device register --emulator --cert certs/certs/dev1-full-chain.cert.pem --key certs/private/dev1.key.pem
    ///   dps-cli device register --id-scope 0ne00000000 --registration-id dev2 --group-key "$GROUP_KEY"
    #[command(verbatim_doc_comment)]
    Register(RegisterArgs),
}

/// The options of `device register`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("attestation")
        .required(true)
        .args(["cert", "symmetric_key", "group_key"])
))]
pub struct RegisterArgs {
    /// The DPS ID scope (0ne...) [default with --emulator: the emulator's].
    #[arg(long)]
    pub id_scope: Option<String>,
    /// The registration id [default: the device certificate's common name].
    #[arg(long, value_name = "ID")]
    pub registration_id: Option<String>,
    /// The device certificate (PEM or DER): the leaf, or the leaf followed by its intermediates.
    #[arg(long, value_name = "CHAIN.pem")]
    pub cert: Option<PathBuf>,
    /// The device certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "KEY.pem", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Password of an encrypted --key, or of a PFX given as --cert.
    #[arg(long = "password", alias = "key-password", value_name = "PASSWORD")]
    pub key_password: Option<String>,
    /// More intermediate certificates to send after those in --cert (repeatable).
    #[arg(long, value_name = "EXTRA.pem", requires = "cert")]
    pub chain: Vec<PathBuf>,
    /// The individual enrollment's symmetric key (base64).
    #[arg(long, value_name = "KEY", requires = "registration_id")]
    pub symmetric_key: Option<String>,
    /// The enrollment group's symmetric key (base64); the device key is derived from it.
    #[arg(long, value_name = "KEY", requires = "registration_id")]
    pub group_key: Option<String>,
    /// The device provisioning endpoint [default: global.azure-devices-provisioning.net, or the
    /// emulator's].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A custom JSON payload for the allocation webhook.
    #[arg(long, value_name = "JSON")]
    pub payload: Option<String>,
    /// HTTP(S) proxy URL (HTTPS transport only).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// The protocol: https, mqtt (MQTT over TLS, port 8883) or mqtt-ws (MQTT over a WebSocket,
    /// port 443). With --endpoint, give mqtts://HOST:PORT for mqtt.
    #[arg(long, value_enum, value_name = "TRANSPORT", default_value_t = TransportArg::Https)]
    pub transport: TransportArg,
    /// Give up after this many seconds, polls included.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
}

/// The values of `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    /// The HTTPS device API.
    Https,
    /// MQTT 3.1.1 over TLS (port 8883).
    Mqtt,
    /// MQTT 3.1.1 over a secure WebSocket (port 443, path /$iothub/websocket).
    #[value(name = "mqtt-ws")]
    MqttWs,
}

impl From<TransportArg> for Transport {
    fn from(t: TransportArg) -> Self {
        match t {
            TransportArg::Https => Transport::Https,
            TransportArg::Mqtt => Transport::Mqtt,
            TransportArg::MqttWs => Transport::MqttWebSocket,
        }
    }
}

/// Runs a device command.
pub fn run(cmd: DeviceCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        DeviceCommand::Register(args) => {
            let result = register(&args, global)?;
            print_result(&result, global.output)
        }
    }
}

/// Registers the device `args` describe and returns the assignment. A refusal is an error
/// carrying the service's code, with a [`Hint`] for the common ones.
pub fn register(
    args: &RegisterArgs,
    global: &GlobalArgs,
) -> anyhow::Result<DeviceRegistrationResult> {
    if args.id_scope.is_none() && global.emulator.is_none() {
        return Err(crate::Usage::error(
            "--id-scope is required (or --emulator, to use the emulator's)",
        ));
    }
    let target = context::resolve(global)?;
    let transport = Transport::from(args.transport);
    let endpoint = endpoint(args, target.emulator.as_ref(), global)?;
    let emulator = target.emulator;
    if transport != Transport::Https && args.proxy.is_some() {
        return Err(crate::Usage::error(format!(
            "--proxy works over --transport https only, not {transport}"
        )));
    }
    let options = DeviceClientOptions {
        transport,
        total_timeout: Duration::from_secs(args.timeout.max(1)),
        proxy: args.proxy.clone(),
        trust_only_custom_ca: target.trust_only_custom_ca,
        trusted_ca_pem: target.trusted_ca_pem,
        ..DeviceClientOptions::default()
    };
    let id_scope = args
        .id_scope
        .clone()
        .or_else(|| emulator.as_ref().map(|i| i.id_scope.clone()))
        .context("--id-scope is required")?;
    let payload = args
        .payload
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
        .context("--payload is not valid JSON")?;

    let (auth, registration_id) = attestation(args)?;
    let client =
        ProvisioningDeviceClient::new(&endpoint, &id_scope, &registration_id, auth, Some(options))?;
    let endpoint = client.endpoint();
    let spinner = Spinner::new(format!("registering {registration_id} with {endpoint}..."));
    let outcome = crate::runtime()?
        .block_on(client.register(payload.map(|p| RegisterOptions::default().with_payload(p))));
    spinner.finish();
    outcome.map_err(|e| crate::refusal::refusal(&e, args, global, &registration_id, &endpoint))
}

/// The endpoint of `--transport`: `--endpoint`, else the emulator's (its `mqttEndpoint` for
/// mqtt; its device endpoint for https and mqtt-ws, which the client reads as
/// `wss://host:port/$iothub/websocket`), else Azure's global endpoint.
fn endpoint(
    args: &RegisterArgs,
    emulator: Option<&EmulatorInfo>,
    global: &GlobalArgs,
) -> anyhow::Result<String> {
    if let Some(e) = &args.endpoint {
        return Ok(e.clone());
    }
    let Some(info) = emulator else {
        return Ok(GLOBAL_ENDPOINT.to_owned());
    };
    if args.transport != TransportArg::Mqtt {
        return Ok(info.device_endpoint.clone());
    }
    info.mqtt_endpoint.clone().ok_or_else(|| {
        Hint::error(
            format!(
                "the emulator runs with MQTT off ({} has no mqttEndpoint), so --transport mqtt \
                 has nothing to connect to",
                info.path.display()
            ),
            format!(
                "stop it and start it without --mqtt-listen off (MQTT is on by default, port \
                 8883): `{}`; or register with --transport mqtt-ws (MQTT over a WebSocket on its \
                 HTTPS port) or https",
                global.start_emulator_command()
            ),
        )
    })
}

/// The attestation and the registration id.
fn attestation(args: &RegisterArgs) -> anyhow::Result<(DeviceAuth, String)> {
    if let Some(key) = &args.symmetric_key {
        let id = args
            .registration_id
            .clone()
            .context("--registration-id is required")?;
        return Ok((DeviceAuth::SymmetricKey(Secret::from(key.clone())), id));
    }
    if let Some(key) = &args.group_key {
        let id = args
            .registration_id
            .clone()
            .context("--registration-id is required")?;
        return Ok((DeviceAuth::GroupKey(Secret::from(key.clone())), id));
    }
    let Some(cert_path) = &args.cert else {
        anyhow::bail!("give --cert and --key, --symmetric-key or --group-key");
    };
    // A PKCS#12 --cert carries its own key; anything else needs --key.
    let device = crate::credentials::device(
        cert_path,
        &args.chain,
        args.key.as_deref(),
        args.key_password.as_deref(),
    )?;
    let chain = device.chain;
    let key_path: &Path = args.key.as_deref().unwrap_or(cert_path);
    let Some(key) = device.key else {
        return Err(crate::Usage::error(format!(
            "--key is required: {} holds no private key (only a PKCS#12 .pfx carries its own)",
            cert_path.display()
        )));
    };
    let key = key?;
    let leaf_der = chain.first().context("no certificate in --cert")?;
    let leaf = Cert::parse(leaf_der).map_err(|e| {
        anyhow::anyhow!(
            "{}: the device certificate cannot be parsed: {e}",
            cert_path.display()
        )
    })?;
    if key.public_key != leaf.public_key() {
        return Err(Hint::error(
            format!(
                "the key {} does not belong to the certificate {} ({})",
                key_path.display(),
                cert_path.display(),
                leaf.subject()
            ),
            "pass the key that was generated with this certificate (certGen layout: private/<name>.key.pem)",
        ));
    }
    let registration_id = match (&args.registration_id, leaf.common_name()) {
        (Some(id), Some(cn)) => {
            if !id.eq_ignore_ascii_case(cn) {
                crate::output::eprint_note(
                    "warning: ",
                    &format!(
                        "--registration-id {id:?} is not the certificate's common name {cn:?}; \
                         DPS requires them to be equal and will refuse the device"
                    ),
                );
            }
            id.clone()
        }
        (Some(id), None) => id.clone(),
        (None, Some(cn)) => cn.to_owned(),
        (None, None) => anyhow::bail!(
            "the device certificate ({}) has no common name; pass --registration-id",
            leaf.subject()
        ),
    };
    let pem: String = chain.iter().map(|c| dps_certgen::pem_cert(c)).collect();
    Ok((
        DeviceAuth::x509(pem.into_bytes(), key.pem.into_bytes()),
        registration_id,
    ))
}

/// Prints the assignment: a table, or the `DeviceRegistrationResult` as JSON.
pub fn print_result(r: &DeviceRegistrationResult, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let group = r
        .x509
        .as_ref()
        .and_then(|x| x.enrollment_group_id.clone())
        .or_else(|| {
            r.symmetric_key
                .as_ref()
                .and_then(|s| s.enrollment_group_id.clone())
        });
    let dash = || "-".to_owned();
    let rows = [
        ("registration id", r.registration_id.clone()),
        ("status", r.status.to_string()),
        ("assigned hub", r.assigned_hub.clone().unwrap_or_else(dash)),
        ("device id", r.device_id.clone().unwrap_or_else(dash)),
        (
            "substatus",
            r.substatus.as_ref().map_or_else(dash, ToString::to_string),
        ),
        (
            "enrollment group",
            group.unwrap_or_else(|| "- (individual enrollment)".to_owned()),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<17}{v}");
    }
    if let Some(p) = &r.payload {
        println!("{:<17}{p}", "payload");
    }
    Ok(())
}
