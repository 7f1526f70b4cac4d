//! One device connection after its transport (TLS or WebSocket) is up: CONNECT, then
//! subscriptions, register and poll requests answered on the response topic, until the device
//! disconnects, breaks the protocol, or goes silent past its keep-alive.
//!
//! What the session guarantees, whatever the peer sends:
//! - CONNECT must come first and within `mqtt_connect_timeout`; anything else closes;
//! - a packet over `max_mqtt_packet_bytes`, a malformed one, a second CONNECT, a packet only a
//!   server sends, a QoS 2 publish, a publish to a topic that is not a DPS request or with a
//!   malformed `$rid` close this connection only (logged with the reason);
//! - keep-alive `k` seconds closes after `1.5 k` seconds of silence; 0 means no limit;
//! - CleanSession 0 is served as a clean session (DPS keeps none), and a QoS 2 subscription is
//!   granted QoS 1; answers go at QoS 1 with a packet id (QoS 0 to a device that subscribed at
//!   QoS 0);
//! - a refusing CONNACK is followed by an orderly close, so the device reads it.

use super::codec::{ReadError, read_packet, write_packet};
use super::connect::{self, Device};
use super::topics::{self, Request};
use super::{Peer, Via};
use crate::app::{App, admit_device_request};
use crate::engine::OperationStatus;
use crate::error::{ApiError, ApiResult, new_uuid};
use axum::body::Bytes;
use mqtt_proto::v3::{Connack, ConnectReturnCode, Packet, Publish, Suback, SubscribeReturnCode};
use mqtt_proto::{Pid, QoS, QosPid, TopicName};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// An answer to publish: status, JSON body, and the `retry-after` to put in the topic.
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

/// Serves one connection to its end.
pub(crate) async fn serve<S>(app: Arc<App>, stream: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    let limits = &app.config.limits;
    let max = limits.max_mqtt_packet_bytes;
    let first =
        tokio::time::timeout(limits.mqtt_connect_timeout, read_packet(&mut stream, max)).await;
    let connect = match first {
        Ok(Ok(Packet::Connect(c))) => c,
        Ok(Ok(other)) => {
            return closed(
                &mut stream,
                &peer,
                None,
                format!("{:?} before CONNECT", other.get_type()),
            )
            .await;
        }
        Ok(Err(ReadError::Malformed(
            mqtt_proto::Error::UnexpectedProtocol(_) | mqtt_proto::Error::InvalidProtocol(..),
        ))) => {
            let _ = connack(&mut stream, ConnectReturnCode::UnacceptableProtocolVersion).await;
            return closed(&mut stream, &peer, None, "not MQTT 3.1.1".into()).await;
        }
        Ok(Err(e)) => return closed(&mut stream, &peer, None, format!("no CONNECT: {e}")).await,
        Err(_) => {
            return closed(
                &mut stream,
                &peer,
                None,
                format!("no CONNECT within {:?}", limits.mqtt_connect_timeout),
            )
            .await;
        }
    };
    let Some(_slot) = app.mqtt.open(limits.max_mqtt_connections) else {
        let _ = connack(&mut stream, ConnectReturnCode::ServerUnavailable).await;
        return closed(
            &mut stream,
            &peer,
            Some(&connect.client_id),
            format!(
                "{} MQTT connections are open, the limit",
                limits.max_mqtt_connections
            ),
        )
        .await;
    };
    let admitted = connect::admit(&app, &connect, &peer);
    let code = admitted.as_ref().err().copied();
    tracing::info!(
        transport = peer.via.name(),
        operation = "connect",
        connack = code.unwrap_or(ConnectReturnCode::Accepted) as u8,
        registration_id = &*connect.client_id,
        "request"
    );
    let device = match admitted {
        Ok(device) => device,
        Err(code) => {
            refuse(&mut stream, code).await;
            return;
        }
    };
    if connack(&mut stream, ConnectReturnCode::Accepted)
        .await
        .is_err()
    {
        return;
    }
    // MQTT 3.1.1 §3.1.2.10: the server allows one and a half keep-alive periods.
    let silence = (connect.keep_alive > 0)
        .then(|| Duration::from_millis(u64::from(connect.keep_alive) * 1500));
    let mut next_pid: u16 = 0;
    // Answers go at QoS 1, or 0 to a device that subscribed at 0.
    let mut answer_qos = QoS::Level1;
    let id = device.registration_id.as_str();
    loop {
        let read = read_packet(&mut stream, max);
        let packet = match silence {
            Some(limit) => match tokio::time::timeout(limit, read).await {
                Ok(r) => r,
                Err(_) => {
                    return closed(
                        &mut stream,
                        &peer,
                        Some(id),
                        format!("silent for {limit:?}"),
                    )
                    .await;
                }
            },
            None => read.await,
        };
        let packet = match packet {
            Ok(p) => p,
            Err(ReadError::Closed) => return,
            Err(e) => return closed(&mut stream, &peer, Some(id), e.to_string()).await,
        };
        let reply = match packet {
            Packet::Pingreq => Packet::Pingresp,
            Packet::Disconnect => return,
            Packet::Subscribe(s) => {
                let granted = s
                    .topics
                    .iter()
                    .map(|(filter, qos)| {
                        if &**filter != topics::RESPONSE_FILTER {
                            SubscribeReturnCode::Failure
                        } else if *qos == QoS::Level0 {
                            answer_qos = QoS::Level0;
                            SubscribeReturnCode::MaxLevel0
                        } else {
                            answer_qos = QoS::Level1;
                            SubscribeReturnCode::MaxLevel1
                        }
                    })
                    .collect();
                Packet::Suback(Suback::new(s.pid, granted))
            }
            Packet::Unsubscribe(u) => Packet::Unsuback(u.pid),
            Packet::Puback(_) => continue,
            Packet::Publish(p) => {
                let request = match (&p.qos_pid, topics::parse(&p.topic_name)) {
                    (QosPid::Level2(_), _) => {
                        return closed(
                            &mut stream,
                            &peer,
                            Some(id),
                            "a QoS 2 publish (DPS allows 0 and 1)".into(),
                        )
                        .await;
                    }
                    (_, Err(e)) => {
                        return closed(&mut stream, &peer, Some(id), e.to_string()).await;
                    }
                    (_, Ok(r)) => r,
                };
                if let QosPid::Level1(pid) = p.qos_pid
                    && write_packet(&mut stream, &Packet::Puback(pid))
                        .await
                        .is_err()
                {
                    return;
                }
                let started = Instant::now();
                let answer = answer(&app, &device, &request, &p.payload).await;
                tracing::info!(
                    transport = peer.via.name(),
                    operation = request.name(),
                    status = answer.status,
                    duration_ms = %format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
                    registration_id = id,
                    "request"
                );
                let qos_pid = if answer_qos == QoS::Level0 {
                    QosPid::Level0
                } else {
                    next_pid = next_pid.checked_add(1).unwrap_or(1);
                    match Pid::try_from(next_pid) {
                        Ok(pid) => QosPid::Level1(pid),
                        Err(_) => continue,
                    }
                };
                let topic = topics::response(answer.status, request.rid(), answer.retry_after);
                let Ok(topic) = TopicName::try_from(topic.as_str()) else {
                    continue;
                };
                Packet::Publish(Publish::new(
                    qos_pid,
                    topic,
                    Bytes::from(answer.body.to_string()),
                ))
            }
            other => {
                return closed(
                    &mut stream,
                    &peer,
                    Some(id),
                    format!("{:?} is not a packet a device sends here", other.get_type()),
                )
                .await;
            }
        };
        if write_packet(&mut stream, &reply).await.is_err() {
            return;
        }
    }
}

/// Sends a refusing CONNACK and closes in order ([`linger`]).
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    code: ConnectReturnCode,
) {
    if connack(stream, code).await.is_ok() {
        linger(stream).await;
    }
}

/// Closes a connection so that the device reads what it was sent last: the write side is shut
/// (TLS close_notify, then FIN) and what the device already sent is read and dropped for a
/// moment, since closing a socket with unread data would reset the connection and could
/// destroy a CONNACK before the device reads it.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut BufReader<S>) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// How long a refused connection is drained before it is dropped.
const LINGER: Duration = Duration::from_secs(2);

async fn connack<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    code: ConnectReturnCode,
) -> std::io::Result<()> {
    write_packet(stream, &Packet::Connack(Connack::new(false, code))).await
}

/// Logs why the emulator closes a connection, and closes it in order ([`linger`]).
async fn closed<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    peer: &Peer,
    registration_id: Option<&str>,
    reason: String,
) {
    tracing::info!(
        transport = peer.via.name(),
        registration_id,
        reason,
        "MQTT connection closed by the emulator"
    );
    linger(stream).await;
}

/// Answers one request, as the HTTPS device API would.
async fn answer(app: &App, device: &Device, request: &Request, body: &[u8]) -> Answer {
    match respond(app, device, request, body).await {
        Ok(status @ OperationStatus::Assigning { .. }) => Answer {
            status: 202,
            body: status.body(),
            retry_after: Some(app.config.retry_after_secs),
        },
        Ok(status) => Answer {
            status: 200,
            body: status.body(),
            retry_after: None,
        },
        Err(e) => Answer {
            status: e.code.status(),
            body: e.dps_body(&new_uuid()),
            retry_after: e.retry_after,
        },
    }
}

async fn respond(
    app: &App,
    device: &Device,
    request: &Request,
    body: &[u8],
) -> ApiResult<OperationStatus> {
    admit_device_request(app).await?;
    let audience = device.audience();
    let who = app.engine().authenticate(
        &device.scope,
        &device.registration_id,
        Some(device.credential(&audience)),
    )??;
    match request {
        Request::Register { .. } => {
            let payload = register_payload(body)?;
            app.engine().register(&who, payload).await
        }
        Request::Poll { operation_id, .. } => {
            let Some(operation_id) = operation_id else {
                return Err(ApiError::bad_request("the poll topic has no operationId"));
            };
            app.engine().operation_status(&who, operation_id)
        }
    }
}

/// The `payload` of a register body: empty, blank and JSON bodies are all accepted; the
/// registration id always comes from CONNECT, never from the body.
fn register_payload(body: &[u8]) -> ApiResult<Option<Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the register body is not JSON: {e}")))?;
    match value {
        Value::Object(mut fields) => Ok(fields.remove("payload")),
        _ => Err(ApiError::bad_request(
            "the register body must be a JSON object",
        )),
    }
}

impl Via {
    /// `mqtt` or `mqtt-ws`, for the log.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Via::Tls => "mqtt",
            Via::WebSocket => "mqtt-ws",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_bodies_of_every_sdk() {
        assert_eq!(register_payload(b"").ok(), Some(None));
        assert_eq!(register_payload(b" ").ok(), Some(None));
        assert_eq!(
            register_payload(br#"{"payload": null, "registrationId": "d"}"#).ok(),
            Some(Some(Value::Null))
        );
        assert_eq!(
            register_payload(br#"{"registrationId": "d", "payload": {"a": 1}}"#).ok(),
            Some(Some(serde_json::json!({"a": 1})))
        );
        assert!(register_payload(b"{").is_err());
        assert!(register_payload(b"[1]").is_err());
    }
}
