//! The MQTT transports (over TLS, and over a secure WebSocket) with rumqttc: one connection
//! per registration, CONNECT with the registration id as client id and the SAS token (if
//! any) as password, a QoS 1 subscription to the response topics, then one publish per
//! request answered on `$dps/registrations/res/{status}/?$rid=...`, and DISCONNECT at the end.

use crate::error::{Error, ErrorKind, Result, chain};
use crate::mqtt_wire::{self, ResponseTopic};
use crate::transport::{Reply, Target};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Outgoing,
    Packet, QoS, SubscribeReasonCode, TlsConfiguration,
};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Keep-alive of the connection, as the Python SDK sends it.
const KEEP_ALIVE: Duration = Duration::from_secs(60);
/// Largest packet sent or accepted: room for a large custom payload and its echo.
const MAX_PACKET: usize = 256 * 1024;
/// Longest wait for the DISCONNECT to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How to connect: where, with which TLS configuration and CONNECT fields. Holds no secret
/// (the password is made per connection).
#[derive(Clone)]
pub(crate) struct MqttTransport {
    target: Target,
    tls: Arc<rustls::ClientConfig>,
    client_id: String,
    username: String,
    request_timeout: Duration,
}

impl fmt::Debug for MqttTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttTransport")
            .field("endpoint", &self.target.to_string())
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl MqttTransport {
    /// A transport to `target` (an MQTT or WebSocket target) for `registration_id`.
    pub(crate) fn new(
        target: Target,
        tls: Arc<rustls::ClientConfig>,
        id_scope: &str,
        registration_id: &str,
        request_timeout: Duration,
    ) -> Self {
        Self {
            target,
            tls,
            client_id: registration_id.to_owned(),
            username: mqtt_wire::username(id_scope, registration_id, crate::client::USER_AGENT),
            request_timeout,
        }
    }

    /// The endpoint, for messages.
    pub(crate) fn endpoint(&self) -> String {
        self.target.to_string()
    }

    /// Connects, sends CONNECT with `password` and subscribes to the responses. A refused
    /// CONNECT is an error of the kind an HTTP status would give (see [`refused`]).
    pub(crate) async fn connect(&self, password: Option<String>) -> Result<MqttSession> {
        let tls = TlsConfiguration::Rustls(self.tls.clone());
        let mut options = match &self.target {
            Target::Mqtt { host, port } => {
                let mut o = MqttOptions::new(self.client_id.clone(), host.clone(), *port);
                o.set_transport(rumqttc::Transport::Tls(tls));
                o
            }
            Target::MqttWebSocket(url) => {
                let port = url.port_or_known_default().unwrap_or(crate::WEBSOCKET_PORT);
                let mut o = MqttOptions::new(self.client_id.clone(), url.as_str(), port);
                o.set_transport(rumqttc::Transport::Wss(tls));
                o
            }
            Target::Https(url) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{url} is no MQTT endpoint"),
                ));
            }
        };
        options
            .set_keep_alive(KEEP_ALIVE)
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_credentials(self.username.clone(), password.unwrap_or_default());
        let (client, mut events) = AsyncClient::new(options, 10);
        let mut network = events.network_options();
        network.set_connection_timeout(self.request_timeout.as_secs().max(1));
        // Each packet is a request or an answer someone waits for: without this, Nagle holds
        // a small write (CONNECT after the TLS Finished, a PUBLISH after a PUBACK) until the
        // last one is acknowledged, up to the peer's delayed-ACK timer.
        network.set_tcp_nodelay(true);
        events.set_network_options(network);
        let mut session = MqttSession {
            client,
            events,
            endpoint: self.endpoint(),
            request_timeout: self.request_timeout,
            next_rid: 0,
            broken: false,
        };
        match session.events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {}
            Ok(other) => {
                return Err(session.protocol(format!("expected CONNACK, got {other:?}")));
            }
            Err(ConnectionError::ConnectionRefused(code)) => {
                return Err(refused(code, &session.endpoint));
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!(
                        "cannot connect to {} over MQTT: {}",
                        session.endpoint,
                        chain(&e)
                    ),
                )
                .with_source(e));
            }
        }
        tracing::debug!(endpoint = %session.endpoint, "MQTT connected");
        session.subscribe().await?;
        Ok(session)
    }
}

/// The error for a CONNACK that refuses the connection.
///
/// Not authorized (5) and bad user name or password (4) are [`ErrorKind::Unauthorized`], as an
/// HTTP 401; server unavailable (3) is [`ErrorKind::Server`], as a 503.
pub(crate) fn refused(code: ConnectReturnCode, endpoint: &str) -> Error {
    let (kind, why, number) = match code {
        ConnectReturnCode::NotAuthorized => (ErrorKind::Unauthorized, "not authorized", 5),
        ConnectReturnCode::BadUserNamePassword => {
            (ErrorKind::Unauthorized, "bad user name or password", 4)
        }
        ConnectReturnCode::ServiceUnavailable => (ErrorKind::Server, "server unavailable", 3),
        ConnectReturnCode::BadClientId => (ErrorKind::BadRequest, "identifier rejected", 2),
        ConnectReturnCode::RefusedProtocolVersion => {
            (ErrorKind::Protocol, "unacceptable protocol version", 1)
        }
        ConnectReturnCode::Success => (ErrorKind::Protocol, "success", 0),
    };
    let mut message =
        format!("{endpoint} refused the MQTT CONNECT: {why} (CONNACK return code {number})");
    if kind == ErrorKind::Unauthorized {
        message.push_str(
            "; over MQTT the service refuses a SAS token that fails (wrong key, expired, another \
             registration id or ID scope) at CONNECT and tells the device nothing more: the \
             emulator's log states the reason",
        );
    }
    Error::new(kind, message)
}

/// One open MQTT connection of a registration.
pub(crate) struct MqttSession {
    client: AsyncClient,
    events: EventLoop,
    endpoint: String,
    request_timeout: Duration,
    next_rid: u64,
    /// The connection failed: polling again would reconnect, so nothing polls it any more.
    broken: bool,
}

impl MqttSession {
    async fn subscribe(&mut self) -> Result<()> {
        self.client
            .subscribe(mqtt_wire::RESPONSE_FILTER, QoS::AtLeastOnce)
            .await
            .map_err(|e| self.protocol(format!("cannot subscribe: {e}")))?;
        let endpoint = self.endpoint.clone();
        let suback = self
            .until(|event| match event {
                Event::Incoming(Packet::SubAck(ack)) => Some(ack),
                _ => None,
            })
            .await?;
        if suback
            .return_codes
            .iter()
            .any(|c| matches!(c, SubscribeReasonCode::Failure))
        {
            return Err(self.protocol(format!(
                "{endpoint} refused the subscription to {}",
                mqtt_wire::RESPONSE_FILTER
            )));
        }
        Ok(())
    }

    /// Publishes the register request with `body` and waits for its response.
    pub(crate) async fn register(&mut self, body: Vec<u8>) -> Result<Reply> {
        self.exchange(mqtt_wire::register_topic, body).await
    }

    /// Publishes a poll of `operation_id` and waits for its response.
    pub(crate) async fn poll(&mut self, operation_id: &str) -> Result<Reply> {
        self.exchange(|rid| mqtt_wire::poll_topic(rid, operation_id), Vec::new())
            .await
    }

    /// Publishes at QoS 1 to the topic `topic` makes of a fresh `$rid` and waits (at most the
    /// request timeout) for the response that echoes it.
    async fn exchange(
        &mut self,
        topic: impl FnOnce(&str) -> String,
        body: Vec<u8>,
    ) -> Result<Reply> {
        self.next_rid += 1;
        let rid = self.next_rid.to_string();
        self.client
            .publish(topic(&rid), QoS::AtLeastOnce, false, body)
            .await
            .map_err(|e| self.protocol(format!("cannot publish: {e}")))?;
        let (response, body) = self
            .until(|event| match event {
                Event::Incoming(Packet::Publish(p)) => {
                    let Some(r) = ResponseTopic::parse(&p.topic, SystemTime::now()) else {
                        tracing::debug!(topic = %p.topic, "ignoring a publish on another topic");
                        return None;
                    };
                    if r.rid.as_ref().is_some_and(|r| *r != rid) {
                        tracing::debug!(topic = %p.topic, "ignoring a response to another request");
                        return None;
                    }
                    Some((r, p.payload.to_vec()))
                }
                _ => None,
            })
            .await?;
        Ok(Reply {
            status: response.status,
            body,
            retry_after: response.retry_after,
            request_id: None,
        })
    }

    /// Drives the connection (acks, keep-alive pings) for `duration`, the wait between polls.
    pub(crate) async fn idle(&mut self, duration: Duration) -> Result<()> {
        let end = tokio::time::Instant::now() + duration;
        loop {
            match tokio::time::timeout_at(end, self.events.poll()).await {
                Err(_) => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.broke(e)),
            }
        }
    }

    /// Sends DISCONNECT and waits until it is written, then drops the connection.
    pub(crate) async fn close(mut self) {
        if self.broken || self.client.disconnect().await.is_err() {
            return;
        }
        let wait = self.request_timeout.min(CLOSE_TIMEOUT);
        let sent = tokio::time::timeout(wait, async {
            loop {
                match self.events.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
        })
        .await;
        tracing::debug!(endpoint = %self.endpoint, sent = ?sent, "MQTT DISCONNECT");
    }

    /// Polls until `pick` takes an event, within the request timeout.
    async fn until<T>(&mut self, mut pick: impl FnMut(Event) -> Option<T>) -> Result<T> {
        let polled = tokio::time::timeout(self.request_timeout, async {
            loop {
                match self.events.poll().await {
                    Ok(event) => {
                        if let Some(t) = pick(event) {
                            return Ok(t);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        match polled {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) => Err(self.broke(e)),
            Err(_) => {
                self.broken = true;
                Err(Error::new(
                    ErrorKind::Transport,
                    format!(
                        "no answer from {} within {:?}",
                        self.endpoint, self.request_timeout
                    ),
                ))
            }
        }
    }

    /// The error for a connection that failed; it is not polled again.
    fn broke(&mut self, e: ConnectionError) -> Error {
        self.broken = true;
        Error::new(
            ErrorKind::Transport,
            format!(
                "the MQTT connection to {} failed: {}",
                self.endpoint,
                chain(&e)
            ),
        )
        .with_source(e)
    }

    fn protocol(&mut self, message: String) -> Error {
        self.broken = true;
        Error::new(ErrorKind::Protocol, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connack_codes_map_to_the_kinds_of_http_statuses() {
        let e = refused(ConnectReturnCode::NotAuthorized, "mqtts://localhost:8883");
        assert_eq!(
            (e.kind(), e.status(), e.code()),
            (ErrorKind::Unauthorized, None, None)
        );
        assert!(
            e.message().starts_with(
                "mqtts://localhost:8883 refused the MQTT CONNECT: not authorized (CONNACK return code 5)"
            ),
            "{e}"
        );
        assert!(e.message().contains("emulator's log"), "{e}");
        let e = refused(ConnectReturnCode::BadUserNamePassword, "x");
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
        assert!(e.message().contains("return code 4"), "{e}");
        let e = refused(ConnectReturnCode::ServiceUnavailable, "x");
        assert_eq!(e.kind(), ErrorKind::Server);
        assert!(!e.message().contains("log"), "{e}");
        assert_eq!(
            refused(ConnectReturnCode::BadClientId, "x").kind(),
            ErrorKind::BadRequest
        );
        let e = refused(ConnectReturnCode::RefusedProtocolVersion, "x");
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }
}
