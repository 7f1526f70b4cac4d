//! The web console: the portal step of the workflow (enrollment groups, registration records,
//! CA proof of possession) and why a device was refused, served by the emulator itself.
//!
//! It has its own HTTPS listener (`--console-listen`) because the device listener asks every
//! client for a certificate, which makes a browser prompt for one; this listener's handshake
//! asks none. Pages are rendered on the server with maud (which escapes every value it
//! interpolates) and read and write through the same functions as the service API, so the
//! console holds no DPS rule of its own. Assets are compiled into the binary: no CDN, no
//! build step, works offline.
//!
//! Safe by default ([`guard`]): the `Host` header must name the emulator; a session acts with
//! the owner policy only when the console listens on loopback, otherwise after a sign-in with a
//! policy key (the read-only policy gives a read-only console); every state-changing request
//! carries the session's anti-CSRF token and a same-origin `Origin`; every response forbids
//! framing and inline script.

mod activity;
mod assets;
mod certificates;
mod enrollment_create;
mod enrollment_detail;
mod enrollments;
mod guard;
mod layout;
mod overview;
mod registrations;
mod session;

use crate::EmulatorError;
use crate::app::App;
use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use dps_protocol::EmulatorInfo;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

/// Where the console lives on its listener.
pub(crate) const PREFIX: &str = "/portal/";

/// The console's state: the emulator it shows and the sessions of its visitors.
#[derive(Debug)]
pub(crate) struct Console {
    /// The emulator.
    pub(crate) app: Arc<App>,
    /// What `emulator.json` says (endpoints, connection strings), known once the emulator is up.
    info: OnceLock<EmulatorInfo>,
    /// Signed-in visitors.
    pub(crate) sessions: session::Sessions,
    /// The console's bound address.
    pub(crate) addr: SocketAddr,
}

impl Console {
    /// A console for `app` listening on `addr`.
    pub(crate) fn new(app: Arc<App>, addr: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            app,
            info: OnceLock::new(),
            sessions: session::Sessions::default(),
            addr,
        })
    }

    /// Publishes the emulator's endpoints and connection strings once it is up.
    pub(crate) fn publish(&self, info: EmulatorInfo) {
        let _ = self.info.set(info);
    }

    /// The emulator's endpoints and connection strings (`None` only during start-up).
    pub(crate) fn info(&self) -> Option<&EmulatorInfo> {
        self.info.get()
    }

    /// Whether visitors act with the owner policy without signing in: only on loopback.
    pub(crate) fn open_on_loopback(&self) -> bool {
        self.addr.ip().is_loopback()
    }
}

/// The console listener's TLS: the device listener's certificate, and no client-certificate
/// request, so a browser never asks its user to pick one.
pub(crate) fn tls_config(
    device: &rustls::ServerConfig,
) -> Result<Arc<rustls::ServerConfig>, EmulatorError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(EmulatorError::TlsConfig)?
        .with_no_client_auth()
        .with_cert_resolver(device.cert_resolver.clone());
    config.alpn_protocols = crate::server::http_alpn();
    Ok(Arc::new(config))
}

/// Every console route, behind [`guard::guard`].
pub(crate) fn router(console: Arc<Console>) -> Router {
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to(PREFIX) }))
        .route("/portal", get(|| async { Redirect::to(PREFIX) }))
        .route("/portal/", get(overview::page))
        .route("/portal/assets/{file}", get(assets::serve))
        .merge(activity::routes())
        .merge(certificates::routes())
        .merge(enrollment_create::routes())
        .merge(enrollments::routes())
        .merge(registrations::routes())
        .merge(session::routes());
    pages
        .fallback(layout::not_found)
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            guard::guard,
        ))
        .with_state(console)
}
