//! The devices workload: X.509 registrations through an enrollment group on the intermediate
//! CA, each device with its own client (so its own TLS connection and full chain check), over
//! HTTPS, MQTT or MQTT over WebSocket, from concurrent tasks on the worker's runtime (the
//! emulator has its own).

use super::{DevicesResult, client_options, concurrently};
use anyhow::{Context, ensure};
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile, key_to_pem};
use dps_device_client::{DeviceAuth, DeviceClientOptions, ProvisioningDeviceClient, Transport};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_service_client::{ProvisioningServiceClient, QueryOptions};
use futures_util::TryStreamExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const GROUP: &str = "bench-group";

/// One device's TLS identity: leaf + intermediate + root, and the leaf's key.
pub(crate) struct Device {
    pub(crate) name: String,
    pub(crate) chain_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

fn spec(common_name: &str, profile: Profile) -> CertSpec<'_> {
    CertSpec {
        common_name,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    }
}

/// A root, an intermediate and `count` P-256 devices signed by the intermediate; the root is
/// written to `work` for the emulator to register as verified. Returns the intermediate's PEM.
pub(crate) fn make_devices(count: usize, work: &Path) -> anyhow::Result<(String, Vec<Device>)> {
    let root = Credential::self_signed(&spec("bench-root", Profile::RootCa))?;
    let intermediate = root.sign(&spec("bench-intermediate", Profile::IntermediateCa))?;
    std::fs::create_dir_all(work)?;
    std::fs::write(work.join("root.cert.pem"), root.cert_pem())?;
    let cas = format!("{}{}", intermediate.cert_pem(), root.cert_pem());
    let devices = (0..count)
        .map(|i| {
            let name = format!("bench-device-{i:05}");
            let leaf = intermediate.sign(&spec(&name, Profile::Leaf))?;
            Ok(Device {
                chain_pem: format!("{}{cas}", leaf.cert_pem()).into_bytes(),
                key_pem: key_to_pem(leaf.key(), None)?.into_bytes(),
                name,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((intermediate.cert_pem(), devices))
}

/// The `devices-1000` scenarios, over `transport`.
pub(super) fn run(
    rt: &Runtime,
    transport: Transport,
    count: usize,
    concurrency: usize,
    work: &Path,
) -> anyhow::Result<DevicesResult> {
    let setup = Instant::now();
    let (intermediate_pem, devices) = make_devices(count, work)?;
    let mut config = EmulatorConfig::for_tests(work);
    config.in_memory = true;
    config.retry_after_secs = 0;
    config.pending_polls = 0;
    if transport == Transport::Mqtt {
        config.mqtt_listen = Some(([127, 0, 0, 1], 0).into());
    }
    config.ca_certificates = vec![("bench-root".into(), work.join("root.cert.pem"))];
    let emulator = Emulator::spawn(config).context("starting the emulator")?;
    let service = ProvisioningServiceClient::from_connection_string(
        &emulator.service_connection_string(),
        Some(client_options(emulator.ca_pem().as_bytes())),
    )?;
    rt.block_on(service.create_x509_enrollment_group(
        GROUP,
        intermediate_pem.as_bytes(),
        None,
        None,
    ))
    .context("creating the enrollment group")?;
    let options = DeviceClientOptions {
        transport,
        trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
        trust_only_custom_ca: true,
        default_poll_interval: Duration::from_millis(10),
        request_timeout: Duration::from_secs(30),
        total_timeout: Duration::from_secs(60),
        ..DeviceClientOptions::default()
    };
    let setup_secs = setup.elapsed().as_secs_f64();

    let shared = Arc::new((
        devices,
        options,
        endpoint(&emulator, transport)?,
        emulator.id_scope().to_owned(),
    ));
    let start = Instant::now();
    let latencies = concurrently(rt, count, concurrency, move |i| {
        let shared = shared.clone();
        async move {
            let (devices, options, endpoint, scope) = &*shared;
            let d = devices.get(i).context("no such device")?;
            let auth = DeviceAuth::x509(d.chain_pem.clone(), d.key_pem.clone());
            let client = ProvisioningDeviceClient::new(
                endpoint,
                scope,
                &d.name,
                auth,
                Some(options.clone()),
            )?;
            let t = Instant::now();
            let result = client
                .register(None)
                .await
                .with_context(|| format!("registering {}", d.name))?;
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            ensure!(
                result.assigned_hub.is_some()
                    && result.device_id.as_deref() == Some(d.name.as_str()),
                "{} was not assigned: {result:?}",
                d.name
            );
            Ok(elapsed)
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();

    let registered = rt.block_on(
        service
            .query_registration_states(GROUP, Some(QueryOptions::default().with_page_size(1000)))
            .try_fold(0usize, |n, _| async move { Ok(n + 1) }),
    )?;
    emulator.shutdown();
    ensure!(
        registered == count,
        "the service reports {registered} registrations, not {count}"
    );
    Ok(DevicesResult::summarize(
        &format!("{transport} registrations"),
        (count, concurrency),
        seconds,
        &latencies,
        setup_secs,
        registered,
    ))
}

/// Where devices connect for `transport`.
fn endpoint(emulator: &Emulator, transport: Transport) -> anyhow::Result<String> {
    Ok(match transport {
        Transport::Mqtt => emulator
            .mqtt_endpoint()
            .context("the emulator's MQTT listener is off")?,
        Transport::MqttWebSocket => emulator.mqtt_websocket_endpoint(),
        _ => emulator.device_endpoint(),
    })
}
