//! The HTTPS listeners: a rustls accept loop that records the client's certificate chain and
//! hands each connection to hyper, serving one axum router: the service, certificate and
//! device APIs on the main listener, the web console on its own.

use crate::app::{App, ConnInfo, dispatch};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::Arc;
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// The main listener's router: every request goes to [`dispatch`].
pub(crate) fn api_router(app: Arc<App>) -> Router {
    Router::new().fallback(dispatch).with_state(app)
}

/// Serves `router` until `shutdown` turns true; then stops accepting and lets open requests
/// finish (at most a few seconds). `handshake` bounds the TLS handshake and the wait for the
/// first request.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    handshake: std::time::Duration,
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
                        pause_after_accept_error(&e).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let router = router.clone();
                let mut stop = shutdown.clone();
                conns.spawn(async move {
                    let Some(tls) = handshake_within(&acceptor, tcp, handshake, peer).await else {
                        return;
                    };
                    let peer_certificates = presented_chain(tls.get_ref().1);
                    let info = ConnInfo { peer_certificates };
                    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(info.clone());
                        let router = router.clone();
                        async move {
                            use tower::ServiceExt;
                            router.oneshot(req.map(axum::body::Body::new)).await
                        }
                    });
                    // A client that sends nothing after its handshake, or never finishes its
                    // request headers, is closed, like one that never finishes the handshake.
                    let mut tls = tokio::io::BufReader::new(tls);
                    match tokio::time::timeout(handshake, tls.fill_buf()).await {
                        Ok(Ok(bytes)) if !bytes.is_empty() => {}
                        _ => {
                            tracing::debug!(%peer, "no request after the TLS handshake");
                            return;
                        }
                    }
                    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    builder
                        .http1()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(handshake);
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn).await;
                        }
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

/// After a failed `accept` (most often: out of file descriptors), waits a moment before the
/// next, so the accept loop does not spin; every listener calls it.
pub(crate) async fn pause_after_accept_error(e: &std::io::Error) {
    tracing::warn!(error = %e, "cannot accept a connection; retrying in 100 ms");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

/// The TLS handshake of an accepted connection, bounded by `deadline`; `None` (logged at
/// debug) when it fails or takes longer. Every listener calls it.
pub(crate) async fn handshake_within(
    acceptor: &TlsAcceptor,
    tcp: tokio::net::TcpStream,
    deadline: std::time::Duration,
    peer: std::net::SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    match tokio::time::timeout(deadline, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// The certificate chain the client presented in the handshake, leaf first, if any.
pub(crate) fn presented_chain(
    connection: &rustls::ServerConnection,
) -> Option<Arc<Vec<rustls::pki_types::CertificateDer<'static>>>> {
    connection
        .peer_certificates()
        .map(|c| Arc::new(c.iter().map(|d| d.clone().into_owned()).collect()))
}
