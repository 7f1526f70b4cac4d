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
mod console;
mod device;
mod engine;
mod error;
mod mqtt;
mod records;
mod server;
mod service;
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
pub use error::codes;
pub use store::StoreError;

use dps_protocol::auth::Secret;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the file written into the data folder when the emulator is ready.
pub const EMULATOR_JSON: &str = "emulator.json";

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A file or folder could not be read or written.
    #[error("{}: {}", .0.display(), .1)]
    Io(PathBuf, #[source] std::io::Error),
    /// A listening address could not be bound (busy, or not this machine's).
    #[error(
        "cannot listen on {addr} ({flag}): {source}; pass another address with {flag} \
         (port 0 picks a free one){}",
        if *flag == "--listen" { String::new() } else { format!(", or {flag} off") }
    )]
    Bind {
        /// The flag that chose the address: `--listen`, `--mqtt-listen` or `--console-listen`.
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The local CA or the server certificate could not be made, or the stored CA key not
    /// loaded.
    #[error("TLS setup failed: {what}: {source}")]
    TlsCertificate {
        /// What was being made or loaded (`CA key`, `server certificate`, ...).
        what: &'static str,
        /// Why.
        #[source]
        source: rcgen::Error,
    },
    /// The local CA could not be written into the data folder.
    #[error("TLS setup failed: {0}")]
    TlsFiles(#[source] dps_certgen::Error),
    /// The stored local CA certificate is not valid PEM.
    #[error("TLS setup failed: emulator CA PEM: {0}")]
    TlsCaPem(#[source] rustls::pki_types::pem::Error),
    /// rustls refused the server configuration.
    #[error("TLS setup failed: {0}")]
    TlsConfig(#[source] rustls::Error),
    /// `emulator.json` could not be serialized.
    #[error("cannot write {EMULATOR_JSON}: {0}")]
    InfoJson(#[source] serde_json::Error),
    /// `emulator.json` could not be written.
    #[error("cannot write {EMULATOR_JSON}: {0}")]
    InfoFile(#[source] dps_certgen::Error),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A `--ca-certificate` could not be registered.
    #[error("CA certificate {name:?}: {source}")]
    CaCertificate {
        /// The name it was to be registered under.
        name: String,
        /// The file it was read from.
        path: PathBuf,
        /// Why it was refused.
        #[source]
        source: CaCertificateError,
    },
    /// The system random generator failed while making fresh policy keys (`--generate-keys`).
    #[error("cannot generate the policy keys: the random generator failed")]
    KeyGeneration(#[source] aws_lc_rs::error::Unspecified),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A configured host name lies outside the name constraints of the local CA kept in the
    /// data folder, so the CA cannot vouch for it: the CA must be regenerated (and trusted
    /// again) with every host name.
    #[error(
        "host name {host_name:?} is outside the name constraints of the emulator's local CA {} \
         (it may vouch only for {}); regenerate the CA for every host name and trust the new \
         one: `{}`, then start the emulator again",
        ca_path.display(),
        tls::join_names(allowed),
        regenerate_command(data_dir, host_names)
    )]
    HostNameOutsideLocalCa {
        /// The host name the CA does not cover.
        host_name: String,
        /// The CA certificate's file.
        ca_path: PathBuf,
        /// The names the CA may vouch for (its permitted subtrees).
        allowed: Vec<PermittedName>,
        /// The data folder.
        data_dir: PathBuf,
        /// Every configured host name, for the command that regenerates the CA.
        host_names: Vec<String>,
    },
    /// A `--host-name` that is neither a DNS name nor an IP address.
    #[error(
        "--host-name {host_name:?} is neither a DNS name (letters, digits, `-` and `_` in \
         dot-separated labels) nor an IP address"
    )]
    InvalidHostName {
        /// The name as given.
        host_name: String,
    },
    /// The local CA certificate in the data folder could not be read.
    #[error("the emulator's local CA {} cannot be read: {source}", path.display())]
    LocalCaUnreadable {
        /// The certificate's file.
        path: PathBuf,
        /// Why.
        #[source]
        source: LocalCaProblem,
    },
}

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
}

impl Emulator {
    /// Starts an emulator on its own runtime thread and returns once it accepts connections
    /// and `emulator.json` is written, so a test can block on a subprocess meanwhile.
    pub fn spawn(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let data_dir = config.data_dir.clone();
        create_private_dir(&data_dir)?;
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
            store::Store::open(&data_dir.join("state.db"))?
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
                            serve_app.config.limits.mqtt_connect_timeout,
                            stopped.clone(),
                        ))
                    });
                    let handshake = serve_app.config.limits.mqtt_connect_timeout;
                    let api = server::api_router(serve_app);
                    server::serve(listener, server_config, api, handshake, stopped).await;
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
        let mut files = dps_certgen::FileSet::new();
        let text = self
            .info()
            .to_json_pretty()
            .map_err(EmulatorError::InfoJson)?;
        files.add(self.info_path(), text, dps_certgen::Mode::Secret);
        files.commit().map_err(EmulatorError::InfoFile)?;
        Ok(())
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
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Creates the data folder readable by its owner only (it holds keys).
fn create_private_dir(dir: &Path) -> Result<(), EmulatorError> {
    let io = |e| EmulatorError::Io(dir.to_owned(), e);
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(io)
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
