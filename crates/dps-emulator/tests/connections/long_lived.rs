//! What the timeouts must never cut: the console's live feed (an open response stream is not
//! idle) and MQTT over WebSocket (it follows the MQTT keep-alive, not the HTTP idle rule).

use super::http::{SHORT, start};
use super::raw::{https, read_reply_after, send};
use super::support::{API_2019, Env, SasForm, WAIT, connect_packet, in_an_hour, sas, username};
use rumqttc::mqttbytes::v4::Packet;
use tokio::io::AsyncReadExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_outlives_the_idle_and_progress_timeouts() {
    let env = start(|_| {});
    let console = env.emulator.console_addr().expect("console on");
    let host = format!("Host: localhost:{}\r\n", console.port());
    let mut tls = https(&env, console, &[]).await;
    send(
        &mut tls,
        format!("GET /portal/ HTTP/1.1\r\n{host}\r\n").as_bytes(),
    )
    .await;
    let (page, _) = read_reply_after(&mut tls, Vec::new()).await;
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {}", page.head))
        .to_owned();
    let request = format!(
        "GET /portal/activity/events HTTP/1.1\r\n{host}Cookie: {cookie}\r\n\
         Accept: text/event-stream\r\n\r\n"
    );
    send(&mut tls, request.as_bytes()).await;
    let (feed, mut seen) = read_reply_after(&mut tls, Vec::new()).await;
    assert_eq!(feed.status, 200, "{}", feed.head);
    assert!(
        feed.header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream")),
        "{}",
        feed.head
    );
    // Quiet for many idle timeouts (its keep-alive comments come every 15 s)...
    tokio::time::sleep(SHORT * 8).await;
    // ...and still delivering.
    let id = "live-feed-device";
    let mut device = env.sas_device(id).await;
    let state = device.provision(b"").await;
    assert_eq!(state["status"], "assigned", "{state}");
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(id) {
        let n = tokio::time::timeout_at(deadline, tls.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no event for {id}: {}", String::from_utf8_lossy(&seen)))
            .expect("read");
        assert!(n > 0, "the feed closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
}

/// A device connected over MQTT over WebSocket with `keep_alive`.
async fn ws_device(env: &Env, id: &str, keep_alive: u16) -> super::conn::Conn {
    let key = env.individual_key(id).await;
    let token = sas(SasForm::CSharp, env.scope(), id, &key, in_an_hour());
    let user = username(env.scope(), id, API_2019, None);
    let mut connect = connect_packet(user, id, Some(token));
    connect.keep_alive = keep_alive;
    let (mut ws, _) = env.mqtt_ws("/$iothub/websocket", None).await;
    ws.connect_ok(connect).await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_over_websocket_follows_the_keep_alive_not_the_http_idle_timeout() {
    let env = start(|_| {});
    // Keep-alive 60 s and 0 (none): silent for many HTTP idle timeouts, still served.
    for keep_alive in [60, 0] {
        let mut ws = ws_device(&env, &format!("ws-keep-alive-{keep_alive}"), keep_alive).await;
        tokio::time::sleep(SHORT * 8).await;
        ws.send(Packet::PingReq).await;
        assert_eq!(ws.recv().await, Packet::PingResp, "keep-alive {keep_alive}");
    }
    // Keep-alive 1 s: closed after 1.5 s of silence, as over TLS.
    let env = start(|c| c.limits.http_idle_timeout = WAIT * 2);
    let mut ws = ws_device(&env, "ws-keep-alive-1", 1).await;
    ws.expect_closed().await;
}
