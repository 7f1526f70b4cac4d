//! A raw MQTT connection for the tests: packets encoded and decoded by rumqttc's `mqttbytes`
//! (not the server's codec), carried on TLS or in binary WebSocket messages, and the checks
//! every answer gets (QoS 1 with a packet id, `$rid` first and exact, a JSON body).

use super::support::{RETRY_AFTER, WAIT, poll_topic, register_topic, uuid};
use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Packet, PubAck, Publish, SubAck, Subscribe,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// What came back on a request: a publish on the response topic.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status in the topic.
    pub(crate) status: u16,
    /// `retry-after`, if the topic has it.
    pub(crate) retry_after: Option<u64>,
    /// The JSON body.
    pub(crate) body: Value,
    /// The packet id of the response publish.
    pub(crate) pkid: u16,
}

/// Checks a response topic against the request id: `$dps/registrations/res/{status}/?$rid=
/// {rid}[&retry-after={n}]`, `$rid` first and exact.
pub(crate) fn parse_response_topic(topic: &str, rid: &str) -> (u16, Option<u64>) {
    let rest = topic
        .strip_prefix("$dps/registrations/res/")
        .unwrap_or_else(|| panic!("not a response topic: {topic}"));
    let (status, query) = rest
        .split_once("/?")
        .unwrap_or_else(|| panic!("no `/?` in {topic}"));
    let status: u16 = status
        .parse()
        .unwrap_or_else(|_| panic!("status of {topic}"));
    let mut fields = query.split('&');
    assert_eq!(
        fields.next(),
        Some(format!("$rid={rid}").as_str()),
        "`$rid` must come first and be echoed exactly: {topic}"
    );
    let retry_after = fields.next().map(|f| {
        f.strip_prefix("retry-after=")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected field {f:?} in {topic}"))
    });
    assert_eq!(fields.next(), None, "extra fields in {topic}");
    (status, retry_after)
}

enum Io {
    Tls(Box<TlsStream<TcpStream>>),
    Ws(Box<WebSocketStream<TlsStream<TcpStream>>>),
}

/// What reading the connection gave.
#[derive(Debug)]
pub(crate) enum Next {
    /// A packet.
    Packet(Packet),
    /// The server closed the connection (or reset it).
    Closed,
}

/// A raw MQTT connection: packets encoded by rumqttc, bytes on TLS or in binary WebSocket
/// messages (one message per `send`).
pub(crate) struct Conn {
    io: Io,
    buf: BytesMut,
    pkid: u16,
}

impl Conn {
    pub(crate) fn tls(tls: TlsStream<TcpStream>) -> Self {
        Self::new(Io::Tls(Box::new(tls)))
    }

    pub(crate) fn ws(ws: WebSocketStream<TlsStream<TcpStream>>) -> Self {
        Self::new(Io::Ws(Box::new(ws)))
    }

    fn new(io: Io) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            pkid: 0,
        }
    }

    /// The TLS connection under MQTT (or under its WebSocket).
    pub(crate) fn tls_state(&self) -> &rustls::ClientConnection {
        match &self.io {
            Io::Tls(t) => t.get_ref().1,
            Io::Ws(w) => w.get_ref().get_ref().1,
        }
    }

    /// A fresh packet id.
    pub(crate) fn next_pkid(&mut self) -> u16 {
        self.pkid += 1;
        self.pkid
    }

    /// The packet id given last.
    pub(crate) fn pkid_of_last_request(&self) -> u16 {
        self.pkid
    }

    /// Sends bytes as they are (one WebSocket message).
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.io {
            Io::Tls(t) => {
                t.write_all(bytes).await.expect("write");
                t.flush().await.expect("flush");
            }
            Io::Ws(w) => w
                .send(Message::Binary(bytes.to_vec().into()))
                .await
                .expect("send message"),
        }
    }

    /// Sends one packet.
    pub(crate) async fn send(&mut self, packet: Packet) {
        self.send_raw(&encode(&packet)).await;
    }

    /// Reads more bytes; false when the server closed the connection.
    async fn fill(&mut self) -> bool {
        match &mut self.io {
            Io::Tls(t) => {
                let mut chunk = [0u8; 8192];
                match t.read(&mut chunk).await {
                    Ok(0) | Err(_) => false,
                    Ok(n) => {
                        self.buf.extend_from_slice(&chunk[..n]);
                        true
                    }
                }
            }
            Io::Ws(w) => loop {
                match w.next().await {
                    Some(Ok(Message::Binary(b))) => {
                        self.buf.extend_from_slice(&b);
                        return true;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Text(t))) => panic!("a text message: {t}"),
                    Some(Ok(Message::Close(_) | Message::Frame(_)) | Err(_)) | None => {
                        return false;
                    }
                }
            },
        }
    }

    /// The next packet, or the end of the connection; panics after [`WAIT`].
    pub(crate) async fn next(&mut self) -> Next {
        tokio::time::timeout(WAIT, async {
            loop {
                if !self.buf.is_empty() {
                    match Packet::read(&mut self.buf, 1 << 20) {
                        Ok(p) => return Next::Packet(p),
                        Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
                        Err(e) => panic!("the server sent a malformed packet: {e}"),
                    }
                }
                if !self.fill().await {
                    assert!(
                        self.buf.is_empty(),
                        "the connection closed inside a packet: {:?}",
                        self.buf
                    );
                    return Next::Closed;
                }
            }
        })
        .await
        .expect("the server answered or closed in time")
    }

    /// The next packet; panics if the connection closes.
    pub(crate) async fn recv(&mut self) -> Packet {
        match self.next().await {
            Next::Packet(p) => p,
            Next::Closed => panic!("the server closed the connection"),
        }
    }

    /// Asserts that the server closes the connection without sending anything more.
    pub(crate) async fn expect_closed(&mut self) {
        match self.next().await {
            Next::Closed => {}
            Next::Packet(p) => panic!("expected the connection to close, got {p:?}"),
        }
    }

    /// Sends CONNECT and returns the CONNACK.
    pub(crate) async fn connect(&mut self, connect: Connect) -> ConnAck {
        self.send(Packet::Connect(connect)).await;
        match self.recv().await {
            Packet::ConnAck(ack) => ack,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Sends CONNECT and asserts it is accepted without a session.
    pub(crate) async fn connect_ok(&mut self, connect: Connect) {
        let ack = self.connect(connect).await;
        assert_eq!(
            (ack.code, ack.session_present),
            (ConnectReturnCode::Success, false)
        );
    }

    /// Sends CONNECT and asserts it is refused with `code`, then closed.
    pub(crate) async fn connect_refused(&mut self, connect: Connect, code: ConnectReturnCode) {
        let ack = self.connect(connect).await;
        assert_eq!((ack.code, ack.session_present), (code, false));
        self.expect_closed().await;
    }

    /// Subscribes to `filter` at `qos`; returns the SUBACK after checking its packet id.
    pub(crate) async fn subscribe(&mut self, filter: &str, qos: QoS) -> SubAck {
        let mut subscribe = Subscribe::new(filter, qos);
        subscribe.pkid = self.next_pkid();
        let pkid = subscribe.pkid;
        self.send(Packet::Subscribe(subscribe)).await;
        match self.recv().await {
            Packet::SubAck(ack) => {
                assert_eq!(ack.pkid, pkid);
                ack
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Publishes `body` to `topic` at `qos` (PUBACK checked at QoS 1) and returns the answer
    /// published for `rid`, which it acknowledges.
    pub(crate) async fn request(
        &mut self,
        topic: &str,
        rid: &str,
        qos: QoS,
        body: &[u8],
    ) -> Answer {
        let mut publish = Publish::new(topic, qos, body.to_vec());
        if qos != QoS::AtMostOnce {
            publish.pkid = self.next_pkid();
        }
        let pkid = publish.pkid;
        self.send(Packet::Publish(publish)).await;
        if qos == QoS::AtLeastOnce {
            match self.recv().await {
                Packet::PubAck(ack) => assert_eq!(ack.pkid, pkid),
                other => panic!("expected PUBACK {pkid}, got {other:?}"),
            }
        }
        self.answer(rid).await
    }

    /// Reads the answer to `rid`, checks its form, acknowledges it.
    pub(crate) async fn answer(&mut self, rid: &str) -> Answer {
        let publish = match self.recv().await {
            Packet::Publish(p) => p,
            other => panic!("expected a response PUBLISH, got {other:?}"),
        };
        assert_eq!(publish.qos, QoS::AtLeastOnce, "responses are QoS 1");
        assert_ne!(publish.pkid, 0, "a QoS 1 response carries a packet id");
        assert!(!publish.retain && !publish.dup, "{publish:?}");
        let (status, retry_after) = parse_response_topic(&publish.topic, rid);
        let body: Value = serde_json::from_slice(&publish.payload).unwrap_or_else(|e| {
            panic!(
                "the body of {} is not JSON ({e}): {:?}",
                publish.topic,
                String::from_utf8_lossy(&publish.payload)
            )
        });
        self.send(Packet::PubAck(PubAck::new(publish.pkid))).await;
        Answer {
            status,
            retry_after,
            body,
            pkid: publish.pkid,
        }
    }

    /// Registers with `body` at QoS 1 and a UUID `$rid`: checks the 202.
    pub(crate) async fn register(&mut self, body: &[u8]) -> Answer {
        let rid = uuid();
        self.request(&register_topic(&rid), &rid, QoS::AtLeastOnce, body)
            .await
    }

    /// Polls `operation_id` at QoS 1 with a `" "` body.
    pub(crate) async fn poll(&mut self, operation_id: &str) -> Answer {
        let rid = uuid();
        self.request(
            &poll_topic(&rid, operation_id),
            &rid,
            QoS::AtLeastOnce,
            b" ",
        )
        .await
    }

    /// Registers with `body` and polls until done; returns the final `registrationState`
    /// after checking the 202 and 200 answers.
    pub(crate) async fn provision(&mut self, body: &[u8]) -> Value {
        let accepted = self.register(body).await;
        let operation_id = assert_assigning(&accepted);
        let done = self.poll(&operation_id).await;
        assert_eq!(
            (done.status, done.retry_after),
            (200, None),
            "{:?}",
            done.body
        );
        assert_eq!(done.body["operationId"], operation_id.as_str());
        done.body["registrationState"].clone()
    }
}

/// Asserts a register answer is `202 assigning` with `retry-after`; returns the operation id.
pub(crate) fn assert_assigning(answer: &Answer) -> String {
    assert_eq!(
        (answer.status, answer.retry_after),
        (202, Some(RETRY_AFTER)),
        "{}",
        answer.body
    );
    assert_eq!(answer.body["status"], "assigning", "{}", answer.body);
    answer.body["operationId"]
        .as_str()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| panic!("no operationId: {}", answer.body))
        .to_owned()
}

/// Asserts a DPS error body with `code` (and its tracking id, message, timestamp).
pub(crate) fn assert_dps_error(body: &Value, code: dps_protocol::ErrorCode) {
    assert_eq!(body["errorCode"], code.get(), "{body}");
    for field in ["trackingId", "message", "timestampUtc"] {
        assert!(body[field].is_string(), "no {field}: {body}");
    }
}

/// Encodes one packet with rumqttc.
pub(crate) fn encode(packet: &Packet) -> Vec<u8> {
    let mut buf = BytesMut::new();
    packet.write(&mut buf, usize::MAX).expect("encode");
    buf.to_vec()
}
