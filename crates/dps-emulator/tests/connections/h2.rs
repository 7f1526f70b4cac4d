//! HTTP/2, framed by hand: a connection that never sends a request, or goes idle after one,
//! is told GOAWAY; a request over the head limits gets the DPS body.

use super::http::{SHORT, listeners, start};
use super::raw::https;
use super::support::WAIT;
use dps_protocol::codes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// One frame: type, flags, stream, payload.
type Frame = (u8, u8, u32, Vec<u8>);

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().to_be_bytes();
    let mut bytes = vec![len[5], len[6], len[7], kind, flags];
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// An HTTP/2 connection (ALPN `h2`) past the preface and an empty SETTINGS.
async fn open(addr: std::net::SocketAddr, env: &super::support::Env) -> TlsStream<TcpStream> {
    let mut tls = https(env, addr, &[b"h2"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    tls.write_all(&hello).await.expect("preface");
    tls
}

/// The next frame; `None` once the connection ends.
async fn next(tls: &mut TlsStream<TcpStream>) -> Option<Frame> {
    let mut head = [0u8; 9];
    match tokio::time::timeout(WAIT, tls.read_exact(&mut head)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return None,
        Err(_) => panic!("no frame and no close within {WAIT:?}"),
    }
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; len];
    tls.read_exact(&mut payload).await.ok()?;
    Some((head[3], head[4], stream, payload))
}

/// Reads frames until a GOAWAY; panics if the connection ends without one.
async fn expect_goaway(tls: &mut TlsStream<TcpStream>) {
    while let Some((kind, ..)) = next(tls).await {
        if kind == GOAWAY {
            return;
        }
    }
    panic!("the connection ended without GOAWAY");
}

/// A GET of `path` on stream 1 (HPACK: indexed `:method GET`, `:scheme https`, a literal
/// `:path` and `:authority`), with `extra` HPACK-encoded fields.
fn get(path: &str, authority: &str, extra: &[u8]) -> Vec<u8> {
    let mut block = vec![0x82, 0x87];
    for (index, value) in [(0x04u8, path), (0x01, authority)] {
        block.push(index);
        hpack_string(&mut block, value.as_bytes());
    }
    block.extend_from_slice(extra);
    // HEADERS, then CONTINUATION frames: no frame over the default 16 KiB.
    let pieces: Vec<&[u8]> = block.chunks(16 * 1024).collect();
    let mut bytes = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let last = if i + 1 == pieces.len() {
            END_HEADERS
        } else {
            0
        };
        bytes.extend(match i {
            0 => frame(HEADERS, END_STREAM | last, 1, piece),
            _ => frame(CONTINUATION, last, 1, piece),
        });
    }
    bytes
}

/// An HPACK string literal (no Huffman).
fn hpack_string(block: &mut Vec<u8>, value: &[u8]) {
    let mut len = value.len();
    if len < 127 {
        block.push(len as u8);
    } else {
        block.push(127);
        len -= 127;
        while len >= 128 {
            block.push((len % 128) as u8 | 0x80);
            len /= 128;
        }
        block.push(len as u8);
    }
    block.extend_from_slice(value);
}

/// The response on stream 1: its HEADERS block and its body.
async fn response(tls: &mut TlsStream<TcpStream>) -> (Vec<u8>, Vec<u8>) {
    let (mut headers, mut body) = (Vec::new(), Vec::new());
    loop {
        let Some((kind, flags, stream, payload)) = next(tls).await else {
            panic!("closed before the response ended");
        };
        if stream != 1 {
            continue;
        }
        match kind {
            HEADERS => headers.extend(payload),
            DATA => body.extend(payload),
            _ => {}
        }
        if flags & END_STREAM != 0 {
            return (headers, body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_without_requests_or_idle_after_one_is_told_goaway() {
    let env = start(|_| {});
    for addr in listeners(&env) {
        let mut silent = open(addr, &env).await;
        expect_goaway(&mut silent).await;
        let mut tls = open(addr, &env).await;
        let authority = format!("localhost:{}", addr.port());
        tls.write_all(&get("/nothing", &authority, &[]))
            .await
            .expect("request");
        let (headers, _) = response(&mut tls).await;
        assert!(!headers.is_empty());
        expect_goaway(&mut tls).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_request_over_the_head_limits_gets_the_dps_body() {
    let env = start(|c| {
        c.limits.http_header_timeout = WAIT;
        c.limits.http_idle_timeout = WAIT;
    });
    let _ = SHORT;
    let addr = env.emulator.addr();
    let authority = format!("localhost:{}", addr.port());
    for (path, field, code) in [
        (format!("/{}", "a".repeat(9 * 1024)), 0, codes::URI_TOO_LONG),
        ("/nothing".to_owned(), 36 * 1024, codes::HEADERS_TOO_LARGE),
    ] {
        let mut extra = Vec::new();
        if field > 0 {
            // A literal field without indexing, new name.
            extra.push(0x00);
            hpack_string(&mut extra, b"x-big");
            hpack_string(&mut extra, &vec![b'v'; field]);
        }
        let mut tls = open(addr, &env).await;
        tls.write_all(&get(&path, &authority, &extra))
            .await
            .expect("request");
        let (_, body) = response(&mut tls).await;
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
        super::support::assert_dps_error(&body, code);
    }
}
