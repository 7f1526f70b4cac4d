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
mod session;
mod topics;
pub(crate) mod websocket;

use crate::app::App;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The count of open MQTT connections, over both transports.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    open: AtomicUsize,
}

/// One open connection; closing it (dropping) frees its place.
#[derive(Debug)]
pub(crate) struct Slot<'a>(&'a Connections);

impl Connections {
    /// A place for one more connection, unless `max` are open.
    pub(crate) fn open(&self, max: usize) -> Option<Slot<'_>> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The HTTPS listener's TLS configuration without its ALPN list: MQTT clients offer `mqtt` or
/// nothing, and a server that lists protocols refuses a client whose offer matches none.
pub(crate) fn tls_config(https: &Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut config = (**https).clone();
    config.alpn_protocols.clear();
    Arc::new(config)
}

/// Accepts MQTT-over-TLS connections until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        crate::server::pause_after_accept_error(&e).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let app = app.clone();
                conns.spawn(async move {
                    let handshake = app.config.limits.mqtt_connect_timeout;
                    let Some(tls) =
                        crate::server::handshake_within(&acceptor, tcp, handshake, peer).await
                    else {
                        return;
                    };
                    let certificates = crate::server::presented_chain(tls.get_ref().1);
                    session::serve(app, tls, Peer { certificates, via: Via::Tls }).await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}
