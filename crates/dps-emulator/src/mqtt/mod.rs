//! The MQTT front end: devices provision over MQTT 3.1.1 on TLS (`--mqtt-listen`, 8883 by
//! default) and over MQTT in WebSocket messages on the HTTPS listener (subprotocol `mqtt`,
//! [`websocket`]). An adapter over the registration engine, like the HTTPS device API: it
//! reads CONNECT into a credential ([`connect`]), turns request topics into engine calls
//! ([`topics`], [`session`]) and publishes the engine's answers; it holds no DPS rule.
//!
//! The wire facts it follows are in `shared/reference/mqtt-wire-facts.md`; the refusal table is
//! in ARCHITECTURE.md. Packets are encoded and decoded by the `mqtt-proto` crate ([`codec`]).

mod answer;
mod codec;
mod connect;
pub(crate) mod session;
mod topics;
pub(crate) mod websocket;

use crate::app::App;
use crate::conn::{self, Entry};
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How a connection reached the MQTT session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// MQTT directly on TLS.
    Tls,
    /// MQTT in WebSocket messages on the HTTPS listener.
    WebSocket,
}

/// What the transport knows about the peer.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// The TLS client certificate chain, leaf first, if one was sent.
    pub(crate) certificates: Option<Arc<Vec<CertificateDer<'static>>>>,
    /// The transport.
    pub(crate) via: Via,
}

/// The count of open MQTT connections, over both transports, from `accept` (or the
/// WebSocket upgrade) to the close.
pub(crate) type Connections = crate::conn::Gate;

/// The HTTPS listener's TLS configuration without its ALPN list: MQTT clients offer `mqtt` or
/// nothing, and a server that lists protocols refuses a client whose offer matches none.
pub(crate) fn tls_config(https: &Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut config = (**https).clone();
    config.alpn_protocols.clear();
    Arc::new(config)
}

/// Accepts MQTT-over-TLS connections until `shutdown` turns true. A connection is counted
/// from `accept`; one beyond `max_mqtt_connections` is still read up to its CONNECT and
/// answered CONNACK 3 (or closed after the connect timeout).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Arc<App>,
    shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let limits = &app.config.limits;
    let serving = app.clone();
    conn::accept_loop(
        listener,
        &app.mqtt,
        limits.max_mqtt_connections,
        shutdown,
        conn::Drain::Abort,
        move |tcp, peer, entry| {
            let acceptor = acceptor.clone();
            let app = serving.clone();
            async move {
                let (place, over_cap) = match entry {
                    Entry::Admitted(place) => (Some(place), None),
                    Entry::OverCap(counted) => (None, Some(counted)),
                };
                let handshake = app.config.limits.tls_handshake_timeout;
                let Some(tls) =
                    crate::server::handshake_within(&acceptor, tcp, handshake, peer).await
                else {
                    return;
                };
                let certificates = crate::server::presented_chain(tls.get_ref().1);
                let peer = Peer {
                    certificates,
                    via: Via::Tls,
                };
                session::serve(app, tls, peer, place).await;
                drop(over_cap);
            }
        },
    )
    .await;
}
