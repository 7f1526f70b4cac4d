//! One device connection after its transport (TLS or WebSocket) is up: CONNECT, then
//! subscriptions, register and poll requests answered on the response topic, until the device
//! disconnects, breaks the protocol, or goes silent past its keep-alive.
//!
//! What the session guarantees, whatever the peer sends:
//! - CONNECT (MQTT 3.1.1) must come first and within `mqtt_connect_timeout`; anything else
//!   closes (an MQTT 3.1 or 5 CONNECT gets CONNACK 1 first); a connection beyond
//!   `max_mqtt_connections` (counted from `accept`) gets CONNACK 3;
//! - a register or poll request over `max_mqtt_packet_bytes` (up to 256 KiB) is read past and
//!   answered 413 with the DPS body on the response topic, as over HTTPS;
//! - a malformed packet, any other packet over `max_mqtt_packet_bytes`, a second CONNECT, a
//!   packet only a server sends, a QoS 2 publish, a publish to a topic that is not a DPS
//!   request or with a malformed `$rid` close this connection only, with the reason in the
//!   log; a subscription to another filter than `$dps/registrations/res/#` is refused with
//!   SUBACK return code 0x80 and the connection goes on;
//! - keep-alive `k` seconds closes after `1.5 k` seconds of silence (Node's 180 s: 270 s);
//!   0 means no limit; once a packet begins, each byte must follow the last within
//!   `progress_timeout`; a peer that stops reading is closed when a write stalls for
//!   [`WRITE_DEADLINE`];
//! - CleanSession 0 is served as a clean session (DPS keeps none); a QoS 2 subscription is
//!   granted QoS 1; answers go at the granted QoS with a packet id, only to a device that has
//!   subscribed (as a broker would: one that has not is told so in the log);
//! - a QoS 1 request sent again with DUP set gets the answer it already got, not a second
//!   operation;
//! - every close is orderly (close_notify, then a short drain), so the device reads the last
//!   packet, a refusing CONNACK included.

use super::answer::{Answer, answer};
use super::codec::{self, ReadError, read_first_byte, read_packet, read_rest, write_packet};
use super::connect::{self, Device};
use super::topics;
use super::{Peer, Via};
use crate::app::App;
use crate::conn::Permit;
use crate::error::{ApiError, codes, new_uuid};
use axum::body::Bytes;
use mqtt_proto::v3::{Connack, Connect, ConnectReturnCode, Packet, Publish, Subscribe};
use mqtt_proto::{Pid, Protocol, QoS, QosPid, TopicName};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The longest a write may stall before the connection is closed.
pub(super) const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// How long a closed connection is drained before it is dropped.
pub(super) const LINGER: Duration = Duration::from_secs(2);
/// How many answered QoS 1 requests a connection remembers, to answer a redelivery (DUP).
const REMEMBERED: usize = 16;

/// Why a connection ended.
enum End {
    /// The device left (DISCONNECT, or it closed the connection), or a write failed.
    Quietly,
    /// The emulator closes it, for this reason.
    Closed(String),
}

/// Serves one connection to its end. `place` is its place among `max_mqtt_connections`;
/// `None` when they are all taken: its CONNECT is answered CONNACK 3. The place is freed
/// before the close, so a device that reconnects as soon as it sees the close finds it free.
pub(crate) async fn serve<S>(app: Arc<App>, stream: S, peer: Peer, place: Option<Permit>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    let (registration_id, end) = converse(&app, &mut stream, &peer, place.is_some()).await;
    drop(place);
    match end {
        End::Quietly => {
            let _ = tokio::time::timeout(WRITE_DEADLINE, stream.shutdown()).await;
        }
        End::Closed(reason) => {
            tracing::info!(
                transport = peer.via.name(),
                registration_id,
                reason,
                "MQTT connection closed by the emulator"
            );
            linger(&mut stream).await;
        }
    }
}

/// CONNECT, then the requests; returns the client id (once known) and how it ended.
async fn converse<S>(
    app: &App,
    stream: &mut BufReader<S>,
    peer: &Peer,
    has_place: bool,
) -> (Option<String>, End)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limits = &app.config.limits;
    let (max, progress) = (limits.max_mqtt_packet_bytes, limits.progress_timeout);
    let first = tokio::time::timeout(
        limits.mqtt_connect_timeout,
        read_packet(stream, max, progress),
    )
    .await;
    let connect = match first {
        Ok(Ok(Packet::Connect(c))) => c,
        Ok(Ok(other)) => {
            let reason = format!("{:?} before CONNECT", other.get_type());
            return (None, End::Closed(reason));
        }
        Ok(Err(ReadError::Malformed(
            mqtt_proto::Error::UnexpectedProtocol(_) | mqtt_proto::Error::InvalidProtocol(..),
        ))) => {
            let _ = send(
                stream,
                &connack(ConnectReturnCode::UnacceptableProtocolVersion),
            )
            .await;
            return (None, End::Closed("not MQTT 3.1.1".into()));
        }
        Ok(Err(e)) => return (None, End::Closed(format!("no CONNECT: {e}"))),
        Err(_) => {
            let reason = format!("no CONNECT within {:?}", limits.mqtt_connect_timeout);
            return (None, End::Closed(reason));
        }
    };
    let client_id = Some(connect.client_id.to_string());
    if connect.protocol != Protocol::V311 {
        let _ = send(
            stream,
            &connack(ConnectReturnCode::UnacceptableProtocolVersion),
        )
        .await;
        let reason = format!("{:?} CONNECT; DPS speaks MQTT 3.1.1", connect.protocol);
        return (client_id, End::Closed(reason));
    }
    if !has_place {
        let _ = send(stream, &connack(ConnectReturnCode::ServerUnavailable)).await;
        let reason = format!(
            "{} MQTT connections are open, the limit (max_mqtt_connections)",
            limits.max_mqtt_connections
        );
        return (client_id, End::Closed(reason));
    }
    let admitted = connect::admit(app, &connect, peer);
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
            let _ = send(stream, &connack(code)).await;
            return (client_id, End::Closed(format!("CONNACK {}", code as u8)));
        }
    };
    if send(stream, &connack(ConnectReturnCode::Accepted))
        .await
        .is_err()
    {
        return (client_id, End::Quietly);
    }
    let mut session = Session::new(app, peer, device, &connect);
    (client_id, session.run(stream).await)
}

/// The state of one admitted connection.
struct Session<'a> {
    app: &'a App,
    peer: &'a Peer,
    device: Device,
    /// Silence allowed between packets: 1.5 keep-alive periods (MQTT 3.1.1 §3.1.2.10).
    silence: Option<Duration>,
    /// The QoS granted on the response filter; `None` until the device subscribes.
    subscribed: Option<QoS>,
    next_pid: u16,
    /// The last answers to QoS 1 requests, by the request's packet id.
    answered: VecDeque<(Pid, Packet)>,
}

impl<'a> Session<'a> {
    fn new(app: &'a App, peer: &'a Peer, device: Device, connect: &Connect) -> Self {
        Self {
            app,
            peer,
            device,
            silence: keep_alive_silence(connect.keep_alive),
            subscribed: None,
            next_pid: 0,
            answered: VecDeque::new(),
        }
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: &mut BufReader<S>) -> End {
        let limits = &self.app.config.limits;
        let (max, progress) = (limits.max_mqtt_packet_bytes, limits.progress_timeout);
        loop {
            // Silence is measured between packets; once one begins, its bytes must progress.
            let first = match self.silence {
                Some(limit) => match tokio::time::timeout(limit, read_first_byte(stream)).await {
                    Ok(r) => r,
                    Err(_) => return End::Closed(format!("silent for {limit:?}")),
                },
                None => read_first_byte(stream).await,
            };
            let packet = match first {
                Ok(first) => read_rest(stream, first, max, progress).await,
                Err(e) => Err(e),
            };
            let packet = match packet {
                Ok(p) => p,
                Err(ReadError::Closed) => return End::Quietly,
                Err(ReadError::Oversized(o)) => match self.oversized(stream, o).await {
                    Ok(Some(reply)) => {
                        if send(stream, &reply).await.is_err() {
                            return End::Quietly;
                        }
                        continue;
                    }
                    Ok(None) => continue,
                    Err(end) => return end,
                },
                Err(e) => return End::Closed(e.to_string()),
            };
            let reply = match packet {
                Packet::Pingreq => Some(Packet::Pingresp),
                Packet::Disconnect => return End::Quietly,
                Packet::Subscribe(s) => {
                    let suback = self.subscribe(&s);
                    let sent =
                        tokio::time::timeout(WRITE_DEADLINE, codec::write_bytes(stream, &suback))
                            .await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return End::Quietly;
                    }
                    None
                }
                Packet::Unsubscribe(u) => {
                    if u.topics.iter().any(|t| &**t == topics::RESPONSE_FILTER) {
                        self.subscribed = None;
                    }
                    Some(Packet::Unsuback(u.pid))
                }
                Packet::Puback(_) => None,
                Packet::Publish(p) => match self.request(stream, p).await {
                    Ok(reply) => reply,
                    Err(end) => return end,
                },
                other => {
                    return End::Closed(format!(
                        "{:?} is not a packet a device sends here",
                        other.get_type()
                    ));
                }
            };
            if let Some(reply) = reply
                && send(stream, &reply).await.is_err()
            {
                return End::Quietly;
            }
        }
    }

    /// The SUBACK (encoded) for `s`: the response filter granted at QoS 0 or 1, any other
    /// filter refused with 0x80 (DPS publishes nothing else), the connection going on.
    fn subscribe(&mut self, s: &Subscribe) -> Vec<u8> {
        let mut granted = Vec::with_capacity(s.topics.len());
        for (filter, qos) in &s.topics {
            if &**filter != topics::RESPONSE_FILTER {
                tracing::info!(
                    transport = self.peer.via.name(),
                    registration_id = self.device.registration_id.as_str(),
                    filter = &**filter,
                    "subscription refused (SUBACK 0x80): a device subscribes to {} only",
                    topics::RESPONSE_FILTER
                );
                granted.push(codec::SUBACK_FAILURE);
                continue;
            }
            let qos = if *qos == QoS::Level0 {
                QoS::Level0
            } else {
                QoS::Level1
            };
            self.subscribed = Some(qos);
            granted.push(qos as u8);
        }
        codec::suback(s.pid, &granted)
    }

    /// A PUBLISH over `max_mqtt_packet_bytes`, already read past: a register or poll request
    /// is acknowledged and answered 413 with the DPS body, as the HTTPS device API answers a
    /// body over its limit; anything else closes the connection.
    async fn oversized<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut BufReader<S>,
        o: codec::Oversized,
    ) -> Result<Option<Packet>, End> {
        let request = match (o.qos, topics::parse(&o.topic)) {
            (QoS::Level2, _) => {
                return Err(End::Closed("a QoS 2 publish (DPS allows 0 and 1)".into()));
            }
            (_, Err(_)) => return Err(End::Closed(ReadError::Oversized(o).to_string())),
            (_, Ok(r)) => r,
        };
        if let Some(pid) = o.pid
            && send(stream, &Packet::Puback(pid)).await.is_err()
        {
            return Err(End::Quietly);
        }
        let limits = &self.app.config.limits;
        let error = ApiError::new(
            codes::TOO_LARGE,
            format!(
                "the request is an MQTT packet of {} bytes; the emulator reads at most {} \
                 (max_mqtt_packet_bytes: a register body of at most {} bytes and its topic)",
                o.len, o.max, limits.max_body_bytes
            ),
        );
        let answer = Answer {
            status: error.code.status(),
            body: error.dps_body(&new_uuid()),
            retry_after: None,
        };
        self.log_request(&request, &answer, Instant::now());
        Ok(self.publish(&request, o.pid, answer))
    }

    /// A register or poll: acknowledged (QoS 1), answered through the engine, and the answer
    /// built for the response topic (`None` when the device has not subscribed).
    async fn request<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut BufReader<S>,
        p: Publish,
    ) -> Result<Option<Packet>, End> {
        let request = match (&p.qos_pid, topics::parse(&p.topic_name)) {
            (QosPid::Level2(_), _) => {
                return Err(End::Closed("a QoS 2 publish (DPS allows 0 and 1)".into()));
            }
            (_, Err(e)) => return Err(End::Closed(e.to_string())),
            (_, Ok(r)) => r,
        };
        let request_pid = match p.qos_pid {
            QosPid::Level1(pid) => {
                if send(stream, &Packet::Puback(pid)).await.is_err() {
                    return Err(End::Quietly);
                }
                if p.dup
                    && let Some((_, earlier)) = self.answered.iter().find(|(id, _)| *id == pid)
                {
                    return Ok(Some(earlier.clone()));
                }
                Some(pid)
            }
            _ => None,
        };
        let started = Instant::now();
        let answer = answer(self.app, &self.device, &request, &p.payload).await;
        self.log_request(&request, &answer, started);
        Ok(self.publish(&request, request_pid, answer))
    }

    /// The request line of the log.
    fn log_request(&self, request: &topics::Request, answer: &Answer, started: Instant) {
        tracing::info!(
            transport = self.peer.via.name(),
            operation = request.name(),
            status = answer.status,
            duration_ms = %format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            registration_id = self.device.registration_id.as_str(),
            "request"
        );
    }

    /// `answer` as a PUBLISH on the response topic, at the granted QoS, remembered for a
    /// redelivery of the QoS 1 request `request_pid`; `None` when the device has not
    /// subscribed.
    fn publish(
        &mut self,
        request: &topics::Request,
        request_pid: Option<Pid>,
        answer: Answer,
    ) -> Option<Packet> {
        let Some(qos) = self.subscribed else {
            tracing::warn!(
                transport = self.peer.via.name(),
                registration_id = self.device.registration_id.as_str(),
                status = answer.status,
                "answer not sent: the device has not subscribed to {}",
                topics::RESPONSE_FILTER
            );
            return None;
        };
        let qos_pid = if qos == QoS::Level0 {
            QosPid::Level0
        } else {
            self.next_pid = self.next_pid.checked_add(1).unwrap_or(1);
            match Pid::try_from(self.next_pid) {
                Ok(pid) => QosPid::Level1(pid),
                Err(_) => return None,
            }
        };
        let topic = topics::response(answer.status, request.rid(), answer.retry_after);
        let Ok(topic) = TopicName::try_from(topic.as_str()) else {
            return None;
        };
        let reply = Packet::Publish(Publish::new(
            qos_pid,
            topic,
            Bytes::from(answer.body.to_string()),
        ));
        if let Some(pid) = request_pid {
            if self.answered.len() == REMEMBERED {
                self.answered.pop_front();
            }
            self.answered.push_back((pid, reply.clone()));
        }
        Some(reply)
    }
}

/// The silence allowed between packets for a CONNECT keep-alive of `seconds`: one and a half
/// periods (MQTT 3.1.1 section 3.1.2.10; Node's 180 s allows 270 s); `None` for 0, no limit.
fn keep_alive_silence(seconds: u16) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_millis(u64::from(seconds) * 1500))
}

fn connack(code: ConnectReturnCode) -> Packet {
    Packet::Connack(Connack::new(false, code))
}

/// Writes one packet within [`WRITE_DEADLINE`]: a peer that stops reading cannot hold the
/// connection open.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    packet: &Packet,
) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_DEADLINE, write_packet(stream, packet))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Closes a connection so that the device reads what it was sent last: the write side is shut
/// (TLS close_notify, then FIN) and what the device already sent is read and dropped for a
/// moment, since closing a socket with unread data would reset the connection and could
/// destroy a CONNACK before the device reads it.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut BufReader<S>) {
    let _ = tokio::time::timeout(WRITE_DEADLINE, stream.shutdown()).await;
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
    fn keep_alive_allows_one_and_a_half_periods_and_0_is_no_limit() {
        assert_eq!(keep_alive_silence(0), None);
        assert_eq!(keep_alive_silence(60), Some(Duration::from_secs(90)));
        assert_eq!(keep_alive_silence(180), Some(Duration::from_secs(270)));
        assert_eq!(
            keep_alive_silence(u16::MAX),
            Some(Duration::from_millis(98_302_500))
        );
    }
}
