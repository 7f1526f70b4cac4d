//! Raw HTTPS for the connection tests: TLS with a chosen ALPN offer, requests written byte
//! for byte (so they can be partial, malformed or huge), and responses read as they arrive.

use super::support::{Env, WAIT, assert_dps_error, localhost};
use dps_protocol::ErrorCode;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A TLS connection to `addr` offering `alpn` (nothing when empty).
pub(crate) async fn https(env: &Env, addr: SocketAddr, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let mut config = (*env.tls_config(None, rustls::DEFAULT_VERSIONS)).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    env.tls(addr, localhost(), config.into()).await
}

/// Writes `bytes` and flushes them.
pub(crate) async fn send(tls: &mut TlsStream<TcpStream>, bytes: &[u8]) {
    tls.write_all(bytes).await.expect("write");
    tls.flush().await.expect("flush");
}

/// A response as read off the wire.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status code.
    pub(crate) status: u16,
    /// The status line and header fields, as text.
    pub(crate) head: String,
    /// The body (`content-length` bytes).
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// A header's value (the first), by lower-case name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// Asserts the DPS error body with `code`, sent as JSON, and returns it.
    pub(crate) fn assert_dps(&self, code: ErrorCode) -> Value {
        assert_eq!(self.status, code.status(), "{}", self.head);
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{}",
            self.head
        );
        let body: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)));
        assert_dps_error(&body, code);
        assert_eq!(
            self.header("x-ms-error-code"),
            Some(code.get().to_string().as_str())
        );
        body
    }
}

/// Reads one response: bytes already read past an earlier one (`carry`) come first; returns
/// the response and what follows it.
pub(crate) async fn read_reply_after(
    tls: &mut TlsStream<TcpStream>,
    mut bytes: Vec<u8>,
) -> (Reply, Vec<u8>) {
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = tokio::time::timeout(WAIT, tls.read(&mut chunk))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let mut reply = Reply {
        status,
        head,
        body: Vec::new(),
    };
    let length: usize = reply
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut rest = bytes.split_off(end + 4);
    while rest.len() < length {
        let n = tokio::time::timeout(WAIT, tls.read(&mut chunk))
            .await
            .expect("the body in time")
            .expect("read");
        assert!(n > 0, "closed in the body: {}", reply.head);
        rest.extend_from_slice(&chunk[..n]);
    }
    let after = rest.split_off(length);
    reply.body = rest;
    (reply, after)
}

/// Reads one response.
pub(crate) async fn read_reply(tls: &mut TlsStream<TcpStream>) -> Reply {
    read_reply_after(tls, Vec::new()).await.0
}

/// Asserts that the server closes the connection (within [`WAIT`]), sending nothing more.
pub(crate) async fn assert_closed(tls: &mut TlsStream<TcpStream>) {
    let mut chunk = [0u8; 1024];
    match tokio::time::timeout(WAIT, tls.read(&mut chunk)).await {
        Ok(Ok(0) | Err(_)) => {}
        Ok(Ok(n)) => panic!(
            "expected the close, got {:?}",
            String::from_utf8_lossy(&chunk[..n])
        ),
        Err(_) => panic!("still open after {WAIT:?}"),
    }
}

/// Asserts that the connection is still open: nothing arrives and no close for `quiet`.
pub(crate) async fn assert_open(tls: &mut TlsStream<TcpStream>, quiet: std::time::Duration) {
    let mut chunk = [0u8; 1024];
    if let Ok(read) = tokio::time::timeout(quiet, tls.read(&mut chunk)).await {
        panic!("expected an open, quiet connection, got {read:?}");
    }
}

/// A service API request head with a valid owner SAS, for `method path` with `extra` header
/// lines (each ending in CRLF) and no body yet.
pub(crate) fn service_head(env: &Env, method: &str, path: &str, extra: &str) -> String {
    let connection: dps_protocol::auth::ConnectionString = env
        .emulator
        .service_connection_string()
        .parse()
        .expect("connection string");
    let sas = connection
        .sas_token(dps_protocol::auth::unix_now() + 3600)
        .expect("SAS");
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {sas}\r\n{extra}\r\n",
        env.emulator.host()
    )
}
