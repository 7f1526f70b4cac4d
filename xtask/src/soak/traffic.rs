//! The soak's workers: service writers that keep a ledger of every acknowledged write,
//! devices registering over HTTPS and MQTT, and a fault injector of killed, slow and idle
//! connections. Each worker runs until `stop` and skips work while `paused`.

use super::Shared;
use dps_device_client::{DeviceAuth, ProvisioningDeviceClient, Transport};
use dps_service_client::models::{BulkMode, IndividualEnrollment, QuerySpecification};
use dps_service_client::{ConditionalOptions, ProvisioningServiceClient};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the service last acknowledged for an enrollment id.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expect {
    /// Present with twin tag `soak` = this value.
    Present(u64),
    /// Absent (deleted, or never created).
    Absent,
    /// A write whose answer was lost (connection cut, emulator killed): either state.
    Unknown,
}

/// Every id's acknowledged state.
pub(super) type Ledger = Arc<Mutex<HashMap<String, Expect>>>;

/// A tiny deterministic generator (xorshift64*), one per worker, seeded from `--seed`.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// The enrollment a writer sends: symmetric key, twin tag `soak` = `value`.
pub(super) fn enrollment(id: &str, value: u64) -> IndividualEnrollment {
    // The model's own constructor and a JSON twin keep this independent of builder details.
    serde_json::from_value(json!({
        "registrationId": id,
        "attestation": {"type": "symmetricKey"},
        "initialTwin": {"tags": {"soak": value}},
    }))
    .expect("a fixed enrollment document is a valid model")
}

/// The `soak` tag of an enrollment read back.
pub(super) fn tag(e: &IndividualEnrollment) -> Option<u64> {
    serde_json::to_value(e).ok()?["initialTwin"]["tags"]["soak"].as_u64()
}

/// Records an error answer: a 5xx is a failure; no status (the connection broke) is normal
/// while the emulator is killed.
fn record_error(shared: &Shared, what: &str, e: &dps_service_client::Error) {
    match e.status() {
        Some(s) if s >= 500 => {
            shared.count(&format!("5xx {what} {s}"));
            eprintln!("soak: {what} answered {s}: {e}");
        }
        Some(s) => shared.count(&format!("{what} {s}")),
        None => shared.connection_error("service"),
    }
}

/// One service writer: owns the ids `soak-{worker}-{0..ids}` (so its ledger entries change
/// only in its own order), and writes, deletes, reads, queries and bulk-creates them.
pub(super) async fn service_writer(
    shared: Arc<Shared>,
    client: ProvisioningServiceClient,
    ledger: Ledger,
    worker: u64,
    seed: u64,
) {
    let mut rng = Rng::new(seed ^ (worker << 32));
    let mut etags: HashMap<String, String> = HashMap::new();
    let mut next = 1u64;
    let mut bulk = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        if shared.paused.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let id = format!("soak-{worker}-{}", rng.below(100));
        let known = ledger.lock().map(|l| l.get(&id).cloned()).unwrap_or(None);
        match rng.below(20) {
            0..=8 => {
                let value = next;
                next += 1;
                let options = match (&known, etags.get(&id)) {
                    (Some(Expect::Present(_)), Some(etag)) => {
                        Some(ConditionalOptions::default().with_if_match(etag.clone()))
                    }
                    _ => None,
                };
                match client
                    .create_or_update_enrollment(&enrollment(&id, value), options)
                    .await
                {
                    Ok(e) => {
                        if let Some(etag) = e.etag.clone() {
                            etags.insert(id.clone(), etag);
                        }
                        set(&ledger, &id, Expect::Present(value));
                        shared.count("enrollment writes acknowledged");
                    }
                    Err(e) => {
                        if e.status().is_none_or(|s| s >= 500) {
                            set(&ledger, &id, Expect::Unknown);
                        }
                        record_error(&shared, "enrollment write", &e);
                    }
                }
            }
            9..=11 => match client.delete_enrollment(&id, None).await {
                Ok(()) => {
                    set(&ledger, &id, Expect::Absent);
                    shared.count("enrollment deletes acknowledged");
                }
                Err(e) if e.status() == Some(404) => set(&ledger, &id, Expect::Absent),
                Err(e) => {
                    if e.status().is_none_or(|s| s >= 500) {
                        set(&ledger, &id, Expect::Unknown);
                    }
                    record_error(&shared, "enrollment delete", &e);
                }
            },
            12..=15 => match client.get_enrollment(&id, None).await {
                Ok(e) => {
                    shared.count("enrollment reads");
                    if let Some(etag) = e.etag.clone() {
                        etags.insert(id.clone(), etag);
                    }
                    check_read(&shared, &ledger, &id, tag(&e));
                }
                Err(e) if e.status() == Some(404) => {
                    shared.count("enrollment reads");
                    check_read(&shared, &ledger, &id, None);
                }
                Err(e) => record_error(&shared, "enrollment read", &e),
            },
            16..=17 => {
                let page = client
                    .query_enrollments_page(&QuerySpecification::all(), None, None)
                    .await;
                match page {
                    Ok(_) => shared.count("queries"),
                    Err(e) => record_error(&shared, "query", &e),
                }
            }
            _ => {
                let ids: Vec<String> = (0..3)
                    .map(|_| {
                        bulk += 1;
                        format!("soak-bulk-{worker}-{bulk}")
                    })
                    .collect();
                let items = ids.iter().map(|id| enrollment(id, 0)).collect();
                match client
                    .run_bulk_enrollment_operation(BulkMode::Create, items, None)
                    .await
                {
                    Ok(r) if r.is_successful => {
                        for id in &ids {
                            set(&ledger, id, Expect::Present(0));
                        }
                        shared.count("bulk creates acknowledged");
                    }
                    Ok(_) => shared.count("bulk creates refused"),
                    Err(e) => {
                        for id in &ids {
                            set(&ledger, id, Expect::Unknown);
                        }
                        record_error(&shared, "bulk create", &e);
                    }
                }
            }
        }
    }
}

fn set(ledger: &Ledger, id: &str, expect: Expect) {
    if let Ok(mut l) = ledger.lock() {
        l.insert(id.to_owned(), expect);
    }
}

/// A read while running must agree with the ledger (the writer of this id is this task).
fn check_read(shared: &Shared, ledger: &Ledger, id: &str, read: Option<u64>) {
    let expected = ledger.lock().map(|l| l.get(id).cloned()).unwrap_or(None);
    let agrees = match expected {
        Some(Expect::Present(v)) => read == Some(v),
        Some(Expect::Absent) | None => read.is_none(),
        Some(Expect::Unknown) => true,
    };
    if !agrees {
        shared.count("reads that disagree with an acknowledged write");
        eprintln!("soak: {id} read {read:?}, expected {expected:?}");
    }
    // Once read, an unknown id is known again.
    if expected == Some(Expect::Unknown) {
        set(ledger, id, read.map_or(Expect::Absent, Expect::Present));
    }
}

/// One device worker: registers devices of the symmetric-key group (HTTPS and MQTT in turn)
/// and the X.509 devices, then reads or deletes their registration state.
pub(super) async fn device_worker(
    shared: Arc<Shared>,
    service: ProvisioningServiceClient,
    devices: Arc<super::Devices>,
    worker: u64,
    seed: u64,
) {
    let mut rng = Rng::new(seed ^ (worker << 40) ^ 0xD);
    while !shared.stop.load(Ordering::Relaxed) {
        if shared.paused.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let transport = if rng.below(2) == 0 {
            Transport::Https
        } else {
            Transport::Mqtt
        };
        let (endpoint, options) = devices.options(transport);
        let (id, auth) = if rng.below(2) == 0 {
            let id = format!("soak-sym-{worker}-{}", rng.below(50));
            (id, DeviceAuth::GroupKey(devices.group_key.clone()))
        } else {
            // Each worker has its own half of the devices, so no worker deletes the
            // registration another is polling.
            let half = (devices.x509.len() / 2).max(1) as u64;
            let i = (worker * half + rng.below(half)) as usize % devices.x509.len();
            let d = &devices.x509[i];
            (
                d.name.clone(),
                DeviceAuth::x509(d.chain_pem.clone(), d.key_pem.clone()),
            )
        };
        let outcome = match ProvisioningDeviceClient::new(
            &endpoint,
            &devices.id_scope,
            &id,
            auth,
            Some(options),
        ) {
            Ok(client) => client.register(None).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(r) if r.assigned_hub.is_some() => {
                shared.count(&format!("{transport} registrations assigned"))
            }
            Ok(r) => {
                shared.count(&format!("{transport} registrations not assigned"));
                eprintln!("soak: {id} over {transport}: {r:?}");
            }
            Err(e) => match e.status() {
                Some(s) if s >= 500 => {
                    shared.count(&format!("5xx device {s}"));
                    eprintln!("soak: {id} over {transport}: {e}");
                }
                Some(s) => shared.count(&format!("device {s}")),
                None => shared.connection_error("device"),
            },
        }
        if rng.below(4) == 0 {
            let result = if rng.below(2) == 0 {
                service.get_registration_state(&id, None).await.map(drop)
            } else {
                service.delete_registration_state(&id, None).await
            };
            match result {
                Ok(()) => shared.count("registration-state reads and deletes"),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => record_error(&shared, "registration state", &e),
            }
        }
    }
}

/// Faults on the device listener: connections dropped at once, after a few bytes or in the
/// middle of a request head, slow clients trickling a byte a second and idle connections.
/// Counts the slow and idle ones the emulator closed before the client gave up.
pub(super) async fn fault_injector(shared: Arc<Shared>, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xFA17);
    let lingering = Arc::new(tokio::sync::Semaphore::new(16));
    while !shared.stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if shared.paused.load(Ordering::Relaxed) {
            continue;
        }
        let addr = shared.listen;
        let kind = rng.below(4);
        let junk: Vec<u8> = (0..1 + rng.below(64))
            .map(|_| rng.below(256) as u8)
            .collect();
        match kind {
            0 | 1 => {
                if let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await {
                    if kind == 1 {
                        let _ = tcp.write_all(&junk).await;
                    }
                    shared.count("faults: connections dropped");
                }
            }
            _ => {
                let Ok(permit) = lingering.clone().try_acquire_owned() else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await else {
                        return;
                    };
                    let what = if kind == 2 { "slow" } else { "idle" };
                    // A slow client starts a TLS record that announces 16 KiB of handshake
                    // and trickles the rest, so only a timeout can end it.
                    if kind == 2
                        && tcp
                            .write_all(&[0x16, 0x03, 0x01, 0x40, 0x00])
                            .await
                            .is_err()
                    {
                        return;
                    }
                    // Up to 60 s: beyond the emulator's handshake timeout (10 s).
                    let cut = tokio::time::timeout(Duration::from_secs(60), async {
                        let mut buf = [0u8; 64];
                        for byte in junk.iter().cycle() {
                            if kind == 2 && tcp.write_all(&[*byte]).await.is_err() {
                                return;
                            }
                            let read =
                                tokio::time::timeout(Duration::from_secs(1), tcp.read(&mut buf))
                                    .await;
                            if matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
                                return;
                            }
                        }
                    })
                    .await
                    .is_ok();
                    shared.count(&format!(
                        "faults: {what} clients {}",
                        if cut {
                            "closed by the emulator"
                        } else {
                            "left open for 60 s"
                        }
                    ));
                });
            }
        }
    }
}
