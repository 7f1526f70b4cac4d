//! The HTTPS listeners: a rustls accept loop that records the client's certificate chain and
//! hands each connection to hyper, serving one axum router: the service, certificate and
//! device APIs on the main listener, the web console on its own.
//!
//! What every HTTPS connection gets, whichever router it serves (the limits are
//! [`Limits`]' fields, enforced here and in [`crate::conn`] only):
//! - a TLS handshake timeout, then the header, idle and progress deadlines of
//!   [`crate::conn::Watched`];
//! - a request body that stops arriving for the progress timeout is answered 408 with the
//!   DPS body (and the connection closed);
//! - a request target over `max_uri_bytes` is answered 414, header fields over
//!   `max_header_bytes` 431, with the DPS body; what hyper itself refuses before a request
//!   exists gets the DPS body from the connection layer;
//! - beyond `max_https_connections`, a connection is answered 503 with `Retry-After` and the
//!   DPS body, and closed.

use crate::app::{App, ConnInfo, dispatch};
use crate::config::Limits;
use crate::conn::{self, Drain, Entry, Guarded, Progress, Tracker, Watched};
use crate::error::{ApiError, codes};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How long open connections may finish once the emulator stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Seconds a client over the connection cap is told to wait (`Retry-After`).
const OVER_CAP_RETRY_AFTER_SECS: u64 = 1;

/// The ALPN protocols of every HTTPS listener, in the server's order: HTTP/2, HTTP/1.1, and
/// HTTP/1.0, which `curl --http1.0` offers alone (a server that lists protocols refuses, with
/// "no application protocol", a client that offers none of them).
pub(crate) fn http_alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()]
}

/// The main listener's router: every request goes to [`dispatch`].
pub(crate) fn api_router(app: Arc<App>) -> Router {
    Router::new().fallback(dispatch).with_state(app)
}

/// Serves `router` until `shutdown` turns true; then stops accepting and lets open requests
/// finish (at most a few seconds).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let limits = Arc::new(limits);
    let stop = shutdown.clone();
    let drain = Drain::Wait(SHUTDOWN_GRACE);
    conn::accept_loop(
        listener,
        &conn::Gate::default(),
        limits.max_https_connections,
        shutdown,
        drain,
        move |tcp, peer, entry| {
            let connection = Connection {
                acceptor: acceptor.clone(),
                router: router.clone(),
                limits: limits.clone(),
                peer,
            };
            connection.serve(tcp, entry, stop.clone())
        },
    )
    .await;
}

/// One accepted connection, before its handshake.
struct Connection {
    acceptor: TlsAcceptor,
    router: Router,
    limits: Arc<Limits>,
    peer: SocketAddr,
}

impl Connection {
    async fn serve(self, tcp: TcpStream, entry: Entry, mut stop: watch::Receiver<bool>) {
        let over_cap = matches!(entry, Entry::OverCap(_));
        let _counted = entry;
        let Connection {
            acceptor,
            router,
            limits,
            peer,
        } = self;
        let Some(tls) = handshake_within(&acceptor, tcp, limits.tls_handshake_timeout, peer).await
        else {
            return;
        };
        let session = tls.get_ref().1;
        let http2 = session.alpn_protocol() == Some(b"h2");
        let info = ConnInfo {
            peer_certificates: presented_chain(session),
        };
        let tracker = Tracker::new(over_cap);
        let io = Watched::new(tls, tracker.clone(), (&*limits).into(), http2);
        let svc = {
            let (tracker, limits) = (tracker.clone(), limits.clone());
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let in_flight = tracker.request();
                let (tracker, limits) = (tracker.clone(), limits.clone());
                let (router, info) = (router.clone(), info.clone());
                async move {
                    let response = respond(router, info, &limits, over_cap, req).await;
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        tracker.upgraded();
                    }
                    Ok::<_, Infallible>(response.map(|b| Guarded::new(b, in_flight)))
                }
            })
        };
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        // Our own deadlines replace hyper's header timeout, which would also cut an idle
        // keep-alive connection; the read buffer holds the largest head within the limits.
        builder
            .http1()
            .header_read_timeout(None)
            .max_buf_size(head_buffer(&limits));
        builder
            .http2()
            .max_header_list_size(header_list_size(&limits));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
        tokio::pin!(conn);
        let mut ending: Option<tokio::time::Instant> = None;
        loop {
            let grace_over =
                tokio::time::sleep_until(ending.unwrap_or_else(tokio::time::Instant::now));
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "HTTPS connection ended");
                    }
                    return;
                }
                () = tracker.expired(), if ending.is_none() => {
                    // Nothing is in progress: an HTTP/1 connection closes at once; HTTP/2 sends
                    // GOAWAY and waits a round trip for the client's answer, no longer than a
                    // request head may take.
                    conn.as_mut().graceful_shutdown();
                    ending = Some(tokio::time::Instant::now() + limits.http_header_timeout);
                }
                _ = stop.changed(), if ending.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    ending = Some(tokio::time::Instant::now() + SHUTDOWN_GRACE);
                }
                () = grace_over, if ending.is_some() => return,
            }
        }
    }
}

/// hyper's HTTP/1 read buffer: room for the longest request line and header section the
/// limits allow; a longer head is refused by hyper (431, given the DPS body by `conn`).
fn head_buffer(limits: &Limits) -> usize {
    (limits.max_uri_bytes + limits.max_header_bytes + 4096).max(8192)
}

/// The HTTP/2 header list size advertised to clients, above the limits so the emulator's own
/// check answers first (HTTP/2 counts 32 bytes more per field than HTTP/1).
fn header_list_size(limits: &Limits) -> u32 {
    u32::try_from((limits.max_uri_bytes + limits.max_header_bytes) * 2).unwrap_or(u32::MAX)
}

/// Answers one request: the connection layer's refusals (over the cap, head limits, a
/// stalled body), else the router's response.
async fn respond(
    router: Router,
    info: ConnInfo,
    limits: &Limits,
    over_cap: bool,
    req: Request<Incoming>,
) -> Response<Body> {
    use tower::ServiceExt;
    let http1 = req.version() < Version::HTTP_2;
    let refusal = if over_cap {
        let mut e = ApiError::new(
            codes::SERVICE_UNAVAILABLE,
            format!(
                "{} connections are open on this listener, the emulator's limit \
                 (max_https_connections); retry later",
                limits.max_https_connections
            ),
        );
        e.retry_after = Some(OVER_CAP_RETRY_AFTER_SECS);
        Some(e)
    } else {
        head_refusal(&req, limits)
    };
    let (mut response, close) = match refusal {
        Some(error) => {
            tracing::info!(
                method = %req.method(),
                status = error.code.status(),
                reason = %error.message,
                "request refused by the connection layer"
            );
            (error.into_response(), over_cap)
        }
        None => {
            let method = req.method().clone();
            let stalled = Arc::new(AtomicBool::new(false));
            let mut req =
                req.map(|b| Body::new(Progress::new(b, limits.progress_timeout, stalled.clone())));
            req.extensions_mut().insert(info);
            let response = router
                .oneshot(req)
                .await
                .unwrap_or_else(|never| match never {});
            if stalled.load(Ordering::Acquire) {
                let error = ApiError::new(
                    codes::REQUEST_TIMEOUT,
                    format!(
                        "no byte of the request body arrived for {:?}; the request is abandoned",
                        limits.progress_timeout
                    ),
                );
                tracing::info!(
                    %method,
                    status = 408,
                    reason = %error.message,
                    "request refused by the connection layer"
                );
                (error.into_response(), true)
            } else {
                (response, false)
            }
        }
    };
    if close && http1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// 414 for a request target over `max_uri_bytes`, 431 for header fields over
/// `max_header_bytes` (names, values and 4 bytes each, as on the HTTP/1.1 wire).
fn head_refusal<B>(req: &Request<B>, limits: &Limits) -> Option<ApiError> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > limits.max_uri_bytes {
        return Some(ApiError::new(
            codes::URI_TOO_LONG,
            format!(
                "the request target is {target} bytes; the emulator reads at most {} \
                 (max_uri_bytes)",
                limits.max_uri_bytes
            ),
        ));
    }
    let fields: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (fields > limits.max_header_bytes).then(|| {
        ApiError::new(
            codes::HEADERS_TOO_LARGE,
            format!(
                "the request's header fields are {fields} bytes; the emulator reads at most {} \
                 (max_header_bytes)",
                limits.max_header_bytes
            ),
        )
    })
}

/// The TLS handshake of an accepted connection, bounded by `deadline`; `None` (logged at
/// debug) when it fails or takes longer. Every listener calls it.
pub(crate) async fn handshake_within(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    deadline: Duration,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_limits_answer_414_and_431() {
        let limits = Limits {
            max_uri_bytes: 16,
            max_header_bytes: 40,
            ..Limits::default()
        };
        let ok = Request::get("/a?b=c")
            .header("x", "y")
            .body(())
            .expect("request");
        assert!(head_refusal(&ok, &limits).is_none());
        let long = Request::get(format!("/{}", "a".repeat(16)))
            .body(())
            .expect("request");
        let e = head_refusal(&long, &limits).expect("refused");
        assert_eq!(e.code, codes::URI_TOO_LONG);
        let big = Request::get("/")
            .header("x-long", "v".repeat(31))
            .body(())
            .expect("request");
        let e = head_refusal(&big, &limits).expect("refused");
        assert_eq!(e.code, codes::HEADERS_TOO_LARGE);
        assert!(head_buffer(&Limits::default()) > 40 * 1024);
    }
}
