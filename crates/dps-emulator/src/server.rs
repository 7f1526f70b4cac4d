//! The HTTPS listener: a rustls accept loop that records the client's certificate chain and
//! hands each connection to hyper, serving one axum router for the service, certificate and
//! device APIs.

use crate::app::{App, ConnInfo, dispatch};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Serves until `shutdown` turns true; then stops accepting and lets open requests finish
/// (at most a few seconds).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = Router::new().fallback(dispatch).with_state(app);
    let acceptor = TlsAcceptor::from(tls);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let router = router.clone();
                let mut stop = shutdown.clone();
                conns.spawn(async move {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    };
                    let peer_certificates = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|c| Arc::new(c.iter().map(|d| d.clone().into_owned()).collect::<Vec<_>>()));
                    let info = ConnInfo { peer_certificates };
                    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(info.clone());
                        let router = router.clone();
                        async move {
                            use tower::ServiceExt;
                            router.oneshot(req.map(axum::body::Body::new)).await
                        }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
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
