//! A local Azure IoT Hub Device Provisioning Service.
//!
//! It speaks the service's wire protocol over HTTPS — the service API (enrollments, groups,
//! bulk, queries, registration states), the CA-certificate API with proof of possession — and
//! enforces the service's rules: SAS signatures, expiry and policy rights, ids, certificate
//! parsing, ETag preconditions, limits, with DPS's status codes and error bodies. State lives in
//! SQLite in a data folder (or in memory) and survives restarts.
//!
//! Run it as the `dps-emulator` binary, or in-process:
//!
//! ```no_run
//! use dps_emulator::{Emulator, EmulatorConfig};
//!
//! let dir = std::env::temp_dir().join("dps-emulator-doc");
//! let emulator = Emulator::spawn(EmulatorConfig::for_tests(&dir))?;
//! println!("service: {}", emulator.service_endpoint());
//! println!("connection string: {}", emulator.service_connection_string());
//! emulator.shutdown();
//! # Ok::<(), dps_emulator::EmulatorError>(())
//! ```

mod activity;
mod allocation;
mod app;
mod auth;
mod bulk;
mod certificates;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
mod conn;
mod console;
mod datadir;
mod device;
mod engine;
mod error;
pub mod harness;
mod mqtt;
mod records;
mod server;
mod service;
mod start_error;
mod store;
mod throttle;
mod tls;
pub use tls::client_certificate_verifier;
pub use tls::{
    LOCAL_CA_COMMON_NAME, LocalCa, LocalCaProblem, PermittedName, check_host_names, local_ca_path,
    local_ca_permitted_names, regenerate_command, regenerate_local_ca,
};
mod x509info;

pub use certificates::CaCertificateError;
pub use config::{EmulatorConfig, Faults, Limits, Quotas, default_data_dir};
pub use datadir::LockHolder;
pub use error::codes;
pub use start_error::EmulatorError;
pub use store::{Damage, StoreError, StoreProblem};

use dps_protocol::auth::Secret;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the file written into the data folder when the emulator is ready.
pub const EMULATOR_JSON: &str = "emulator.json";

/// Binds a listening socket for `flag`'s address.
fn bind(
    flag: &'static str,
    addr: SocketAddr,
) -> Result<(std::net::TcpListener, SocketAddr), EmulatorError> {
    let failed = |source| EmulatorError::Bind { flag, addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(failed)?;
    listener.set_nonblocking(true).map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}

/// A running emulator. Dropping it shuts the emulator down.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    mqtt_addr: Option<SocketAddr>,
    console_addr: Option<SocketAddr>,
    id_scope: String,
    ca_pem: String,
    ca_path: PathBuf,
    data_dir: PathBuf,
    owner_key: Secret,
    read_key: Secret,
    iot_hubs: Vec<String>,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The data folder's lock, released once the runtime thread (and the store) is gone.
    lock: Option<datadir::Lock>,
}

impl Emulator {
    /// Starts an emulator on its own runtime thread and returns once it accepts connections
    /// and `emulator.json` is written, so a test can block on a subprocess meanwhile.
    ///
    /// It holds the data folder's lock until it stops: a data folder another emulator runs on
    /// is refused ([`EmulatorError::DataDirInUse`]), and so is a damaged, empty or missing
    /// store ([`StoreError::Refused`]) unless `config.reset` moves it aside.
    pub fn spawn(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let data_dir = config.data_dir.clone();
        datadir::create_private_dir(&data_dir)?;
        // Before anything in the folder is read or written: a second emulator stops here.
        let lock = datadir::Lock::acquire(&data_dir)?;
        if let Some(console) = config.console_listen
            && !console.ip().is_loopback()
            && !config.generate_keys
        {
            tracing::warn!(
                console = %console,
                "the web console listens beyond loopback and signs in with the well-known \
                 development keys unless --generate-keys made fresh ones"
            );
        }
        if !config.listen.ip().is_loopback() && !config.generate_keys {
            tracing::warn!(
                listen = %config.listen,
                "listening beyond loopback: anyone who can reach this address may hold the \
                 well-known development keys unless --generate-keys made fresh ones"
            );
        }
        let store = if config.in_memory {
            store::Store::in_memory()?
        } else {
            datadir::open_store(&data_dir, config.reset)?
        };
        let policies = policy_keys(&store, config.generate_keys)?;
        let tls = tls::prepare(&data_dir.join("tls"), &config.host_names)?;
        let (std_listener, addr) = bind("--listen", config.listen)?;
        let mqtt_listener = config
            .mqtt_listen
            .map(|a| bind("--mqtt-listen", a))
            .transpose()?;
        let mqtt_addr = mqtt_listener.as_ref().map(|(_, a)| *a);
        let console_listener = config
            .console_listen
            .map(|a| bind("--console-listen", a))
            .transpose()?;
        let console_addr = console_listener.as_ref().map(|(_, a)| *a);
        lock.publish_ports(
            addr.port(),
            mqtt_addr.map(|a| a.port()),
            console_addr.map(|a| a.port()),
        )?;
        let app = Arc::new(app::App {
            throttle: throttle::Throttle::new(config.quotas.clone()),
            policies: policies.clone(),
            port: addr.port(),
            mqtt: mqtt::Connections::default(),
            console_port: console_addr.map(|a| a.port()),
            activity: activity::Activity::default(),
            store,
            config: config.clone(),
        });
        for (name, path) in &config.ca_certificates {
            let bytes = std::fs::read(path).map_err(|e| EmulatorError::Io(path.clone(), e))?;
            let refused = |source| EmulatorError::CaCertificate {
                name: name.clone(),
                path: path.clone(),
                source,
            };
            if !certificates::name_is_valid(name) {
                return Err(refused(CaCertificateError::InvalidName {
                    name: name.clone(),
                }));
            }
            let der = dps_certgen::certs_from_bytes(&bytes)
                .and_then(|certs| {
                    certs
                        .into_iter()
                        .next()
                        .ok_or(dps_certgen::Error::NoPemCertificate)
                })
                .map_err(|e| refused(CaCertificateError::Unreadable(e)))?;
            // Stored as the certificate API would have received it: PEM text or base64 DER.
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) if t.contains("-----BEGIN") => t.to_owned(),
                _ => base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes),
            };
            let current = app.store.get(store::Kind::Certificate, name)?;
            certificates::store_certificate(&app, name, &text, &der, true, current.as_ref())
                .map_err(refused)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dps-emulator")
            .enable_all()
            .build()
            .map_err(EmulatorError::Runtime)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        app.activity.end_feeds_on(stopped.clone());
        let server_config = tls.server_config.clone();
        let serve_app = app.clone();
        let console = console_addr.map(|a| console::Console::new(app.clone(), a));
        let (listener, mqtt_listener, console_listener) = {
            let _guard = runtime.enter();
            let tokio_listener = |flag, (l, addr): (std::net::TcpListener, SocketAddr)| {
                tokio::net::TcpListener::from_std(l).map_err(|source| EmulatorError::Bind {
                    flag,
                    addr,
                    source,
                })
            };
            (
                tokio_listener("--listen", (std_listener, addr))?,
                mqtt_listener
                    .map(|l| tokio_listener("--mqtt-listen", l))
                    .transpose()?,
                console_listener
                    .map(|l| tokio_listener("--console-listen", l))
                    .transpose()?,
            )
        };
        let console_tls = console::tls_config(&server_config)?;
        let serving_console = console.clone();
        let thread = std::thread::Builder::new()
            .name("dps-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mqtt = mqtt_listener.map(|l| {
                        tokio::spawn(mqtt::serve(
                            l,
                            mqtt::tls_config(&server_config),
                            serve_app.clone(),
                            stopped.clone(),
                        ))
                    });
                    let console = console_listener.zip(serving_console).map(|(l, c)| {
                        tokio::spawn(server::serve(
                            l,
                            console_tls,
                            console::router(c),
                            serve_app.config.limits.clone(),
                            stopped.clone(),
                        ))
                    });
                    let limits = serve_app.config.limits.clone();
                    let api = server::api_router(serve_app);
                    server::serve(listener, server_config, api, limits, stopped).await;
                    for task in [mqtt, console].into_iter().flatten() {
                        let _ = task.await;
                    }
                })
            })
            .map_err(EmulatorError::Runtime)?;
        let emulator = Self {
            addr,
            mqtt_addr,
            console_addr,
            id_scope: config.id_scope.clone(),
            ca_pem: tls.ca_pem,
            ca_path: tls.ca_path,
            data_dir: data_dir.clone(),
            owner_key: policies.owner,
            read_key: policies.read,
            iot_hubs: config.iot_hubs.clone(),
            stop,
            thread: Some(thread),
            lock: Some(lock),
        };
        if let Some(console) = &console {
            console.publish(emulator.info());
        }
        emulator.write_info_file()?;
        tracing::info!(
            service = %emulator.service_endpoint(),
            mqtt = emulator.mqtt_endpoint().as_deref().unwrap_or("off"),
            console = emulator.console_url().as_deref().unwrap_or("off"),
            id_scope = %emulator.id_scope,
            info = %emulator.info_path().display(),
            "dps-emulator ready"
        );
        Ok(emulator)
    }

    /// The bound address (never port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound MQTT (TLS) address, if MQTT is on (never port 0).
    pub fn mqtt_addr(&self) -> Option<SocketAddr> {
        self.mqtt_addr
    }

    /// `mqtts://localhost:<port>`: where devices connect over MQTT, if it is on.
    pub fn mqtt_endpoint(&self) -> Option<String> {
        self.mqtt_addr
            .map(|a| format!("mqtts://localhost:{}", a.port()))
    }

    /// The bound web console address, if the console is on (never port 0).
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console_addr
    }

    /// `https://localhost:<port>/portal/`: the web console, if it is on.
    pub fn console_url(&self) -> Option<String> {
        self.console_addr
            .map(|a| format!("https://localhost:{}{}", a.port(), console::PREFIX))
    }

    /// `wss://localhost:<port>/$iothub/websocket`: MQTT over WebSocket, on the HTTPS listener.
    pub fn mqtt_websocket_endpoint(&self) -> String {
        format!("wss://{}/$iothub/websocket", self.host())
    }

    /// `localhost:<port>`: the host name clients use (the TLS certificate covers it).
    pub fn host(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }

    /// `https://localhost:<port>`: the service API endpoint.
    pub fn service_endpoint(&self) -> String {
        format!("https://{}", self.host())
    }

    /// The device API endpoint (the same listener).
    pub fn device_endpoint(&self) -> String {
        self.service_endpoint()
    }

    /// Connection string of the full-rights `provisioningserviceowner` policy. It contains a key.
    pub fn service_connection_string(&self) -> String {
        format!(
            "HostName={};SharedAccessKeyName={};SharedAccessKey={}",
            self.host(),
            config::OWNER_POLICY,
            self.owner_key.expose()
        )
    }

    /// Connection string of the read-only `enrollmentread` policy. It contains a key.
    pub fn read_only_connection_string(&self) -> String {
        format!(
            "HostName={};SharedAccessKeyName={};SharedAccessKey={}",
            self.host(),
            config::READ_POLICY,
            self.read_key.expose()
        )
    }

    /// The ID scope devices register under.
    pub fn id_scope(&self) -> &str {
        &self.id_scope
    }

    /// PEM of the local CA clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the local CA certificate is.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// Where `emulator.json` is.
    pub fn info_path(&self) -> PathBuf {
        self.data_dir.join(EMULATOR_JSON)
    }

    /// What `emulator.json` says about this emulator.
    pub fn info(&self) -> dps_protocol::EmulatorInfo {
        dps_protocol::EmulatorInfo {
            ca_certificate_path: self.ca_path.clone(),
            console_url: self.console_url(),
            device_endpoint: self.device_endpoint(),
            id_scope: self.id_scope.clone(),
            iot_hubs: self.iot_hubs.clone(),
            mqtt_endpoint: self.mqtt_endpoint(),
            pid: std::process::id(),
            port: self.addr.port(),
            read_only_connection_string: self.read_only_connection_string(),
            service_connection_string: self.service_connection_string(),
            service_endpoint: self.service_endpoint(),
        }
    }

    fn write_info_file(&self) -> Result<(), EmulatorError> {
        datadir::write_info(&self.info_path(), &self.info())
    }

    /// Stops the emulator and waits for it.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.lock = None;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Blocks until Ctrl-C (or SIGTERM on Unix): what the `dps-emulator` binary and
/// `dps-cli emulator start` wait for before [`Emulator::shutdown`].
pub fn wait_for_shutdown_signal() -> Result<(), EmulatorError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EmulatorError::Runtime)?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r?,
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
    .map_err(EmulatorError::Runtime)
}

/// The policy keys: kept in the store; the well-known development keys unless fresh ones were
/// asked for.
fn policy_keys(store: &store::Store, generate: bool) -> Result<auth::Policies, EmulatorError> {
    let get = |name: &str, dev: &str| -> Result<Secret, EmulatorError> {
        let stored = store.setting(name)?;
        let key = match (generate, stored) {
            (false, Some(k)) => k,
            (false, None) => dev.to_owned(),
            (true, _) => {
                let mut b = [0u8; 32];
                aws_lc_rs::rand::fill(&mut b).map_err(EmulatorError::KeyGeneration)?;
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
            }
        };
        store.set_setting(name, &key)?;
        Ok(Secret::from(key))
    };
    Ok(auth::Policies {
        owner: get("key.owner", config::DEV_OWNER_KEY)?,
        read: get("key.read", config::DEV_READ_KEY)?,
    })
}
