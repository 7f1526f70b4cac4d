//! In-process drivers of the emulator's two parsers of network input, for fuzzing and
//! property tests: the HTTPS request routing ([`Harness::http`]) and the MQTT session
//! ([`Harness::mqtt`]).
//!
//! Both run the real code, not a copy: `http` sends one request through the same axum router
//! the HTTPS listener serves (`server::api_router`, so `app::dispatch` and every
//! handler behind it), and `mqtt` runs the same session an MQTT-over-TLS connection gets, over
//! an in-memory stream ([`tokio::io::duplex`]) instead of TLS. What the harness leaves out is
//! the transport only: no socket, no TLS handshake, no hyper (so hyper's own refusals and the
//! connection layer's deadlines and head limits, which sit in front of the router, are not
//! exercised here). State lives in an in-memory store, fresh for each [`Harness`], so an input
//! replays the same way every time.
//!
//! The functions are `async`: the caller chooses the runtime. A fuzz target uses a
//! current-thread runtime with paused time, so the session's deadlines (CONNECT, keep-alive,
//! write, linger) pass at once and a run never waits on the clock.
//!
//! ```
//! use dps_emulator::harness::{Harness, http};
//! use dps_emulator::EmulatorConfig;
//!
//! let harness = Harness::new(EmulatorConfig::for_tests("unused"))?;
//! let request = http::Request::get("/enrollments/x?api-version=2021-10-01")
//!     .body(Vec::new())?;
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let answer = runtime.block_on(harness.http(request, None));
//! assert_eq!(answer.status, 401); // no SAS
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// The `http` crate's types that [`Harness::http`] takes and returns, so that a caller needs
/// no dependency of its own on the version the emulator uses.
pub use axum::http;

use crate::app::{App, ConnInfo};
use crate::config::EmulatorConfig;
use crate::{EmulatorError, activity, mqtt, policy_keys, server, store, throttle};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request};
use dps_protocol::auth::Secret;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most bytes of a response body [`Harness::http`] reads (the emulator's largest answer,
/// a query page, stays far below it).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// The size of each direction's buffer of the in-memory MQTT stream (as the WebSocket pump's).
const PIPE_BYTES: usize = 64 * 1024;

/// One emulator, without listeners, over an in-memory store.
#[derive(Debug)]
pub struct Harness {
    app: Arc<App>,
}

/// What the router answered.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole response body.
    pub body: Bytes,
}

/// What an MQTT session did with the bytes a client sent.
#[derive(Debug, Clone)]
pub struct MqttExchange {
    /// Every byte the session wrote back, in order (packets as they are on the wire).
    pub written: Vec<u8>,
}

impl Harness {
    /// An emulator with `config` (its store always in memory, its listeners never opened) and
    /// the well-known development policy keys. Fails only when the in-memory store cannot be
    /// made.
    pub fn new(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let store = store::Store::in_memory()?;
        let policies = policy_keys(&store, false)?;
        let port = config.listen.port();
        let app = Arc::new(App {
            throttle: throttle::Throttle::new(config.quotas.clone()),
            policies,
            port,
            mqtt: mqtt::Connections::default(),
            console_port: None,
            activity: activity::Activity::default(),
            store,
            config: EmulatorConfig {
                in_memory: true,
                ..config
            },
        });
        Ok(Self { app })
    }

    /// The ID scope devices register under.
    pub fn id_scope(&self) -> &str {
        &self.app.config.id_scope
    }

    /// The key of the full-rights `provisioningserviceowner` policy.
    pub fn owner_key(&self) -> &Secret {
        &self.app.policies.owner
    }

    /// The key of the read-only `enrollmentread` policy.
    pub fn read_key(&self) -> &Secret {
        &self.app.policies.read
    }

    /// Sends one request through the HTTPS listener's router, as if it came over a TLS
    /// connection whose client presented `client_chain` (leaf first), and reads the whole
    /// answer. A handler that panics panics here.
    pub async fn http(
        &self,
        request: Request<Vec<u8>>,
        client_chain: Option<Vec<CertificateDer<'static>>>,
    ) -> HttpAnswer {
        use tower::ServiceExt;
        let mut request = request.map(Body::from);
        request.extensions_mut().insert(ConnInfo {
            peer_certificates: client_chain.map(Arc::new),
        });
        let router = server::api_router(self.app.clone());
        let response = match router.oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        // A body that fails to stream is kept as what arrived: none.
        let body = axum::body::to_bytes(body, MAX_ANSWER_BYTES)
            .await
            .unwrap_or_default();
        HttpAnswer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    /// Runs one MQTT session, the one an MQTT-over-TLS connection gets (counted among
    /// `max_mqtt_connections`), over an in-memory stream: the client sends `input` and then
    /// ends its side of the stream; whatever the session writes is read until it closes its
    /// side. Returns once the session has ended. `client_chain` is the TLS client chain the
    /// device presented, leaf first.
    pub async fn mqtt(
        &self,
        input: &[u8],
        client_chain: Option<Vec<CertificateDer<'static>>>,
    ) -> MqttExchange {
        let (server_side, client_side) = tokio::io::duplex(PIPE_BYTES);
        let (mut from_session, mut to_session) = tokio::io::split(client_side);
        let peer = mqtt::Peer {
            certificates: client_chain.map(Arc::new),
            via: mqtt::Via::Tls,
        };
        let place = self
            .app
            .mqtt
            .open(self.app.config.limits.max_mqtt_connections);
        let session = mqtt::session::serve(self.app.clone(), server_side, peer, place);
        let send = async move {
            // The session may close before it has read everything: the rest is not sent.
            let _ = to_session.write_all(input).await;
            let _ = to_session.shutdown().await;
        };
        let receive = async move {
            let mut written = Vec::new();
            let _ = from_session.read_to_end(&mut written).await;
            written
        };
        let ((), (), written) = tokio::join!(session, send, receive);
        MqttExchange { written }
    }
}
