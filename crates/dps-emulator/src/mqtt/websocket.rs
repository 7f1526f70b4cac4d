//! MQTT over WebSocket on the HTTPS listener. An upgrade is recognised by its `Upgrade:
//! websocket` header, whatever the path (`/$iothub/websocket` for Python, Node and C; `/` for
//! C#), and must offer the subprotocol `mqtt`, which the 101 response echoes (Node's client
//! aborts without it). MQTT packets then travel in binary messages, split across or combined
//! within them as the client likes: the messages are pumped into a byte stream that the same
//! session as MQTT over TLS reads.

use super::codec::MAX_READ_PAST;
use super::session::{LINGER, WRITE_DEADLINE};
use super::{Peer, Via, session};
use crate::app::{App, ConnInfo};
use crate::conn::Permit;
use crate::error::{ApiError, codes};
use axum::extract::FromRequestParts;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The subprotocol MQTT clients ask for.
const SUBPROTOCOL: &str = "mqtt";

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_upgrade_request<B>(request: &axum::http::Request<B>) -> bool {
    request
        .headers()
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Answers an upgrade request: 101 with `Sec-WebSocket-Protocol: mqtt` and an MQTT session on
/// the socket, or a DPS error body saying what the request lacks.
pub(crate) async fn upgrade(app: Arc<App>, mut parts: Parts) -> Response {
    let certificates = parts
        .extensions
        .get::<ConnInfo>()
        .and_then(|c| c.peer_certificates.clone());
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => {
            return ApiError::bad_request(format!("not a valid WebSocket upgrade: {rejection}"))
                .into_response();
        }
    };
    let upgrade = upgrade.protocols([SUBPROTOCOL]);
    if upgrade.selected_protocol().is_none() {
        tracing::info!(
            path = parts.uri.path(),
            "WebSocket upgrade refused: it does not offer the subprotocol mqtt"
        );
        return ApiError::new(
            codes::BAD_REQUEST,
            "a WebSocket upgrade must offer the subprotocol `mqtt` \
             (Sec-WebSocket-Protocol: mqtt); DPS serves only MQTT over WebSocket here",
        )
        .into_response();
    }
    // Counted among the MQTT connections from the upgrade; over the limit, its CONNECT is
    // answered CONNACK 3.
    let place = app.mqtt.open(app.config.limits.max_mqtt_connections);
    // A message may carry a packet over max_mqtt_packet_bytes that the session reads past
    // to answer 413; beyond that, the message itself is refused and the connection ends.
    let max = MAX_READ_PAST.max(app.config.limits.max_mqtt_packet_bytes) + 16;
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            run(
                app,
                socket,
                Peer {
                    certificates,
                    via: Via::WebSocket,
                },
                place,
            )
        })
}

/// Runs one MQTT session over a WebSocket: binary messages in, and out whatever the session
/// wrote since the last message (packets may share a message or span two, as MQTT over
/// WebSocket allows).
async fn run(app: Arc<App>, socket: WebSocket, peer: Peer, place: Option<Permit>) {
    let (server_side, pump_side) = tokio::io::duplex(64 * 1024);
    let (mut from_session, mut to_session) = tokio::io::split(pump_side);
    let (mut ws_out, mut ws_in) = socket.split();
    // Client messages into the session's stream; once the session is gone, read and drop
    // until the client closes (see below).
    let inbound = async move {
        let mut session_open = true;
        loop {
            match ws_in.next().await {
                None | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Binary(bytes))) => {
                    if session_open && to_session.write_all(&bytes).await.is_err() {
                        session_open = false;
                    }
                }
                // A broken or oversized frame, or the client gone without a close: the
                // stream ends here (the session sees its end and logs nothing more).
                Some(Err(e)) => {
                    if session_open {
                        tracing::info!(
                            transport = Via::WebSocket.name(),
                            reason = %e,
                            "MQTT over WebSocket ended"
                        );
                    }
                    return;
                }
                Some(Ok(Message::Text(_))) => {
                    tracing::info!(
                        transport = Via::WebSocket.name(),
                        reason = "a text message; MQTT travels in binary messages",
                        "MQTT connection closed by the emulator"
                    );
                    return;
                }
            }
        }
    };
    let outbound = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from_session.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let message = Message::Binary(buf[..n].to_vec().into());
                    match tokio::time::timeout(WRITE_DEADLINE, ws_out.send(message)).await {
                        Ok(Ok(())) => {}
                        _ => return,
                    }
                }
            }
        }
        let _ = tokio::time::timeout(WRITE_DEADLINE, ws_out.send(Message::Close(None))).await;
    };
    // Either the session ends first (its end of the pipe drops; the outbound pump forwards what
    // is left and sends Close, then the client has a moment to close in turn, so it reads the
    // last packet), or the client goes (the pumps stop and the session reads the end of its
    // stream).
    let pumps = async {
        tokio::pin!(inbound);
        tokio::select! {
            () = &mut inbound => {}
            () = outbound => {
                let _ = tokio::time::timeout(LINGER, inbound).await;
            }
        }
    };
    tokio::join!(session::serve(app, server_side, peer, place), pumps);
}
