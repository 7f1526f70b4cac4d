//! HTTPS (HTTP/1) on the API and console listeners: the timeouts, the caps, the DPS body on
//! every refusal of the HTTP layer, and HTTP/1.0.

use super::raw::{
    Reply, assert_closed, assert_open, https, read_reply, read_reply_after, send, service_head,
};
use super::support::{Env, WAIT};
use dps_emulator::EmulatorConfig;
use dps_protocol::codes;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The timeouts the tests shorten.
pub(crate) const SHORT: Duration = Duration::from_millis(300);

/// An emulator with its console on and every connection timeout `SHORT`, after `tweak`.
pub(crate) fn start(tweak: impl FnOnce(&mut EmulatorConfig)) -> Env {
    Env::start_with(|c| {
        c.console_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.limits.tls_handshake_timeout = SHORT;
        c.limits.http_header_timeout = SHORT;
        c.limits.http_idle_timeout = SHORT;
        c.limits.progress_timeout = SHORT;
        tweak(c);
    })
}

/// The API and console listeners.
pub(crate) fn listeners(env: &Env) -> [SocketAddr; 2] {
    [
        env.emulator.addr(),
        env.emulator.console_addr().expect("console on"),
    ]
}

/// A GET of `path` with the right Host.
pub(crate) fn get(env: &Env, addr: SocketAddr, path: &str) -> String {
    let _ = env;
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
        addr.port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_and_request_heads_that_never_finish_are_cut() {
    let env = start(|_| {});
    for addr in listeners(&env) {
        // TCP only, and half a ClientHello: closed after the handshake timeout.
        for bytes in [&b""[..], &[0x16, 0x03, 0x01, 0x00, 0xff, 0x01][..]] {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(bytes).await.expect("write");
            let mut buf = [0u8; 64];
            let read = tokio::time::timeout(WAIT, tcp.read(&mut buf)).await;
            assert!(
                matches!(read, Ok(Ok(0) | Err(_))),
                "{addr} {bytes:?}: {read:?}"
            );
        }
        // A handshake, then nothing: closed without a word.
        let mut tls = https(&env, addr, &[]).await;
        assert_closed(&mut tls).await;
        // Part of a request head: 408 with the DPS body, then closed.
        let mut tls = https(&env, addr, &[]).await;
        send(&mut tls, b"GET /portal/ HTTP/1.1\r\nHost: localhost\r\n").await;
        let reply = read_reply(&mut tls).await;
        reply.assert_dps(codes::REQUEST_TIMEOUT);
        assert_eq!(reply.header("connection"), Some("close"), "{}", reply.head);
        assert_closed(&mut tls).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_that_stops_arriving_is_answered_408() {
    let env = start(|_| {});
    let mut tls = https(&env, env.emulator.addr(), &[]).await;
    let head = service_head(
        &env,
        "PUT",
        "/enrollments/dev-408?api-version=2021-10-01",
        "Content-Type: application/json\r\nContent-Length: 50000\r\n",
    );
    send(&mut tls, head.as_bytes()).await;
    send(&mut tls, br#"{"registrationId": "dev-408", "#).await;
    let reply = read_reply(&mut tls).await;
    let body = reply.assert_dps(codes::REQUEST_TIMEOUT);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("request body")),
        "{body}"
    );
    assert_eq!(reply.header("connection"), Some("close"), "{}", reply.head);
    assert_closed(&mut tls).await;
    env.service
        .get_enrollment("dev-408", None)
        .await
        .expect_err("nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_lasts_the_idle_timeout_not_the_header_timeout() {
    let env = start(|c| c.limits.http_idle_timeout = Duration::from_secs(2));
    for addr in listeners(&env) {
        let mut tls = https(&env, addr, &[]).await;
        send(&mut tls, get(&env, addr, "/nothing").as_bytes()).await;
        let first = read_reply(&mut tls).await;
        // Quiet for longer than the header timeout: still open, and served again.
        assert_open(&mut tls, SHORT * 3).await;
        send(&mut tls, get(&env, addr, "/nothing").as_bytes()).await;
        let second = read_reply(&mut tls).await;
        assert_eq!(first.status, second.status, "{}", second.head);
        // Then closed once idle for the idle timeout.
        assert_closed(&mut tls).await;
    }
}

/// Sends `bytes` on a fresh connection to `addr` and reads the one response.
async fn refused(env: &Env, addr: SocketAddr, bytes: &[u8]) -> Reply {
    let mut tls = https(env, addr, &[]).await;
    send(&mut tls, bytes).await;
    read_reply(&mut tls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_hyper_refuses_carries_the_dps_body() {
    let env = start(|c| c.limits.http_header_timeout = WAIT);
    let many_fields: String = (0..101).map(|i| format!("x-f{i}: v\r\n")).collect();
    let huge_field = format!("x-huge: {}\r\n", "v".repeat(60 * 1024));
    for addr in listeners(&env) {
        let host = format!("Host: localhost:{}\r\n", addr.port());
        for (bytes, code) in [
            (
                format!("GET / HTTP/1.1\r\n{host}Bad Header\r\n\r\n"),
                codes::BAD_REQUEST,
            ),
            (format!("G@T / HTTP/1.1\r\n{host}\r\n"), codes::BAD_REQUEST),
            (format!("GET / HTTP/9.9\r\n{host}\r\n"), codes::BAD_REQUEST),
            (
                format!("POST / HTTP/1.1\r\n{host}Content-Length: x\r\n\r\n"),
                codes::BAD_REQUEST,
            ),
            (
                format!("GET / HTTP/1.1\r\n{host}{many_fields}\r\n"),
                codes::HEADERS_TOO_LARGE,
            ),
            (
                format!("GET / HTTP/1.1\r\n{host}{huge_field}\r\n"),
                codes::HEADERS_TOO_LARGE,
            ),
        ] {
            let reply = refused(&env, addr, bytes.as_bytes()).await;
            reply.assert_dps(code);
            assert!(reply.header("date").is_some(), "{}", reply.head);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_limits_answer_414_and_431_with_the_dps_body() {
    let env = start(|c| c.limits.http_idle_timeout = WAIT);
    let long_target = format!("/{}", "a".repeat(9 * 1024));
    let big_fields = format!("x-big: {}\r\n", "v".repeat(36 * 1024));
    for addr in listeners(&env) {
        let mut tls = https(&env, addr, &[]).await;
        send(&mut tls, get(&env, addr, &long_target).as_bytes()).await;
        read_reply(&mut tls).await.assert_dps(codes::URI_TOO_LONG);
        let request = format!(
            "GET / HTTP/1.1\r\nHost: localhost:{}\r\n{big_fields}\r\n",
            addr.port()
        );
        send(&mut tls, request.as_bytes()).await;
        read_reply(&mut tls)
            .await
            .assert_dps(codes::HEADERS_TOO_LARGE);
        // The connection goes on.
        send(&mut tls, get(&env, addr, "/nothing").as_bytes()).await;
        let reply = read_reply(&mut tls).await;
        assert!(reply.status != 414 && reply.status != 431, "{}", reply.head);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_request_pipelined_after_a_good_one_gets_the_dps_body() {
    let env = start(|_| {});
    let addr = env.emulator.addr();
    let mut tls = https(&env, addr, &[]).await;
    let mut bytes = get(&env, addr, "/nothing?api-version=2021-10-01");
    bytes.push_str("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    send(&mut tls, bytes.as_bytes()).await;
    let (first, rest) = read_reply_after(&mut tls, Vec::new()).await;
    assert_ne!(first.status, 400, "{}", first.head);
    let (second, _) = read_reply_after(&mut tls, rest).await;
    second.assert_dps(codes::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_is_offered_by_alpn_and_served() {
    let env = start(|c| c.limits.http_header_timeout = WAIT);
    for addr in listeners(&env) {
        let mut tls = https(&env, addr, &[b"http/1.0"]).await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.0"[..]));
        let request = format!(
            "GET /nothing HTTP/1.0\r\nHost: localhost:{}\r\n\r\n",
            addr.port()
        );
        send(&mut tls, request.as_bytes()).await;
        let reply = read_reply(&mut tls).await;
        assert!(reply.head.starts_with("HTTP/1."), "{}", reply.head);
        assert_closed(&mut tls).await;
        curl_http_1_0(&env, addr).await;
    }
}

/// `curl --http1.0` (offering ALPN `http/1.0` alone) gets an HTTP response, when curl is
/// installed.
async fn curl_http_1_0(env: &Env, addr: SocketAddr) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, env.emulator.ca_pem()).expect("CA file");
    let url = format!("https://localhost:{}/nothing", addr.port());
    let command = (ca.clone(), url.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["--http1.0", "-sS", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg("--cacert")
            .arg(&command.0)
            .arg(&command.1)
            .output()
    })
    .await
    .expect("curl task");
    let Ok(output) = output else {
        eprintln!("curl is not installed: `curl --http1.0` not tried");
        return;
    };
    let code = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && code != "000",
        "curl --http1.0 {url}: {code} {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_503_with_retry_after_and_close() {
    let env = start(|c| {
        c.limits.max_https_connections = 2;
        c.limits.http_header_timeout = WAIT * 2;
        c.limits.http_idle_timeout = WAIT * 2;
    });
    for addr in listeners(&env) {
        let first = https(&env, addr, &[]).await;
        let _second = https(&env, addr, &[]).await;
        let mut excess = https(&env, addr, &[]).await;
        send(&mut excess, get(&env, addr, "/nothing").as_bytes()).await;
        let reply = read_reply(&mut excess).await;
        reply.assert_dps(codes::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header("retry-after"), Some("1"), "{}", reply.head);
        assert_eq!(reply.header("connection"), Some("close"), "{}", reply.head);
        assert_closed(&mut excess).await;
        // Once one leaves, its place is free.
        drop(first);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut next = https(&env, addr, &[]).await;
            send(&mut next, get(&env, addr, "/nothing").as_bytes()).await;
            let reply = read_reply(&mut next).await;
            if reply.status != 503 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{}", reply.head);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
