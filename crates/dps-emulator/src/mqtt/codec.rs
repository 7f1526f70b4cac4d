//! Packets on the wire, through the `mqtt-proto` codec: one packet read with a size limit, one
//! written. Nothing here knows DPS.

use mqtt_proto::PollHeader as _;
use mqtt_proto::v3::{Header, Packet};
use mqtt_proto::{Pid, QoS};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest packet over the size limit that is still read past (never kept: its bytes are
/// dropped as they arrive) so that a register or poll request can be answered 413; any
/// larger packet closes the connection. 256 KiB is IoT Hub's largest MQTT message.
pub(super) const MAX_READ_PAST: usize = 256 * 1024;

/// The SUBACK return code of a refused subscription (MQTT 3.1.1 section 3.9.3).
pub(super) const SUBACK_FAILURE: u8 = 0x80;

/// A PUBLISH over the size limit, read past: what is needed to answer it.
#[derive(Debug)]
pub(super) struct Oversized {
    /// Its remaining length.
    pub(super) len: usize,
    /// The limit.
    pub(super) max: usize,
    /// Its topic.
    pub(super) topic: String,
    /// Its QoS.
    pub(super) qos: QoS,
    /// Its packet id (QoS 1 and 2).
    pub(super) pid: Option<Pid>,
}

/// Why no packet could be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// The peer closed the connection between packets.
    #[error("the connection closed")]
    Closed,
    /// The packet announces more bytes than the limit.
    #[error("a packet of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its remaining length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A PUBLISH over the limit (up to [`MAX_READ_PAST`]), read past.
    #[error("a PUBLISH of {} bytes to {:?} exceeds the limit of {} bytes", .0.len, .0.topic, .0.max)]
    Oversized(Oversized),
    /// A packet began, then no byte of it arrived for this long.
    #[error("no byte of a begun packet arrived for {0:?}")]
    Stalled(Duration),
    /// Not an MQTT 3.1.1 packet (unknown type, bad flags, bad lengths or strings).
    #[error("malformed packet: {0}")]
    Malformed(#[source] mqtt_proto::Error),
    /// The transport failed.
    #[error("read failed: {0}")]
    Io(#[source] std::io::Error),
}

fn io_error(e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ReadError::Closed
    } else {
        ReadError::Io(e)
    }
}

/// Waits for the first byte of the next packet (between packets, the keep-alive rules).
pub(super) async fn read_first_byte<R: AsyncRead + Unpin>(reader: &mut R) -> Result<u8, ReadError> {
    reader.read_u8().await.map_err(io_error)
}

/// Fills `buf`, each read within `progress` of the last.
async fn read_exact<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    progress: Duration,
) -> Result<(), ReadError> {
    let mut filled = 0;
    while filled < buf.len() {
        match tokio::time::timeout(progress, reader.read(&mut buf[filled..])).await {
            Err(_) => return Err(ReadError::Stalled(progress)),
            Ok(Ok(0)) => return Err(ReadError::Closed),
            Ok(Ok(n)) => filled += n,
            Ok(Err(e)) => return Err(io_error(e)),
        }
    }
    Ok(())
}

/// Reads one packet. A packet whose remaining length exceeds `max` is refused before its body
/// is read, so a peer cannot make the emulator buffer it; once a packet begins, each of its
/// bytes must follow the last within `progress`.
pub(super) async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
    progress: Duration,
) -> Result<Packet, ReadError> {
    let first = read_first_byte(reader).await?;
    read_rest(reader, first, max, progress).await
}

/// Reads the rest of a packet whose first byte is `first` (see [`read_packet`]).
pub(super) async fn read_rest<R: AsyncRead + Unpin>(
    reader: &mut R,
    first: u8,
    max: usize,
    progress: Duration,
) -> Result<Packet, ReadError> {
    let mut len: usize = 0;
    let mut len_bytes: u32 = 0;
    loop {
        let mut byte = [0u8; 1];
        read_exact(reader, &mut byte, progress).await?;
        len |= usize::from(byte[0] & 0x7f) << (7 * len_bytes);
        len_bytes += 1;
        if byte[0] & 0x80 == 0 {
            break;
        }
        if len_bytes == 4 {
            return Err(ReadError::Malformed(mqtt_proto::Error::InvalidVarByteInt));
        }
    }
    let header = Header::new_with(first, len as u32, len_bytes).map_err(ReadError::Malformed)?;
    if len > max {
        if header.typ == mqtt_proto::v3::PacketType::Publish && len <= MAX_READ_PAST {
            return Err(read_past(reader, &header, len, max, progress).await);
        }
        return Err(ReadError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len];
    read_exact(reader, &mut body, progress).await?;
    if let Some(packet) = header.build_empty_packet() {
        return if len == 0 {
            Ok(packet)
        } else {
            Err(ReadError::Malformed(mqtt_proto::Error::InvalidHeader))
        };
    }
    let mut offset = 0;
    let packet = header
        .decode_buffer(&body, &mut offset)
        .map_err(ReadError::Malformed)?;
    if offset != len {
        return Err(ReadError::Malformed(
            mqtt_proto::Error::InvalidRemainingLength,
        ));
    }
    Ok(packet)
}

/// Reads an oversized PUBLISH's topic and packet id, and drops the rest as it arrives.
async fn read_past<R: AsyncRead + Unpin>(
    reader: &mut R,
    header: &Header,
    len: usize,
    max: usize,
    progress: Duration,
) -> ReadError {
    let mut topic_len = [0u8; 2];
    if let Err(e) = read_exact(reader, &mut topic_len, progress).await {
        return e;
    }
    let topic_len = usize::from(u16::from_be_bytes(topic_len));
    let pid_len = if header.qos == QoS::Level0 { 0 } else { 2 };
    if 2 + topic_len + pid_len > len {
        return ReadError::Malformed(mqtt_proto::Error::InvalidRemainingLength);
    }
    let mut head = vec![0u8; topic_len + pid_len];
    if let Err(e) = read_exact(reader, &mut head, progress).await {
        return e;
    }
    let Ok(topic) = std::str::from_utf8(&head[..topic_len]) else {
        return ReadError::Malformed(mqtt_proto::Error::InvalidString);
    };
    let pid = match pid_len {
        0 => None,
        _ => match Pid::try_from(u16::from_be_bytes([head[topic_len], head[topic_len + 1]])) {
            Ok(pid) => Some(pid),
            Err(e) => return ReadError::Malformed(e),
        },
    };
    let topic = topic.to_owned();
    let mut left = len - 2 - topic_len - pid_len;
    let mut sink = [0u8; 8192];
    while left > 0 {
        let chunk = left.min(sink.len());
        if let Err(e) = read_exact(reader, &mut sink[..chunk], progress).await {
            return e;
        }
        left -= chunk;
    }
    ReadError::Oversized(Oversized {
        len,
        max,
        topic,
        qos: header.qos,
        pid,
    })
}

/// Writes one packet and flushes it.
pub(super) async fn write_packet<W: AsyncWrite + Unpin>(
    writer: &mut W,
    packet: &Packet,
) -> std::io::Result<()> {
    let bytes = packet.encode().map_err(std::io::Error::other)?;
    write_bytes(writer, bytes.as_ref()).await
}

/// Writes bytes already encoded and flushes them.
pub(super) async fn write_bytes<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// A SUBACK for `pid` with one return code per filter: 0 or 1 (the QoS granted) or
/// [`SUBACK_FAILURE`]. Encoded here because `mqtt-proto` writes its `Failure` as 3, not 0x80.
pub(super) fn suback(pid: Pid, codes: &[u8]) -> Vec<u8> {
    let mut remaining = 2 + codes.len();
    let mut bytes = vec![0x90];
    loop {
        let digit = (remaining % 128) as u8;
        remaining /= 128;
        if remaining == 0 {
            bytes.push(digit);
            break;
        }
        bytes.push(digit | 0x80);
    }
    bytes.extend_from_slice(&pid.value().to_be_bytes());
    bytes.extend_from_slice(codes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_proto::v3::Connect;
    use mqtt_proto::{Protocol, QosPid, TopicName};

    const PROGRESS: Duration = Duration::from_secs(5);

    async fn roundtrip(packet: &Packet, max: usize) -> Result<Packet, ReadError> {
        let bytes = packet.encode().expect("encodes");
        read_packet(&mut bytes.as_ref(), max, PROGRESS).await
    }

    fn publish(qos_pid: QosPid, topic: &str, body: Vec<u8>) -> Packet {
        Packet::Publish(mqtt_proto::v3::Publish::new(
            qos_pid,
            TopicName::try_from(topic).expect("topic"),
            axum::body::Bytes::from(body),
        ))
    }

    #[tokio::test]
    async fn reads_what_it_writes() {
        let mut connect = Connect::new("dev-1".into(), 60);
        connect.protocol = Protocol::V311;
        connect.username = Some("0ne/registrations/dev-1/api-version=2019-03-31".into());
        let publish = publish(
            QosPid::Level1(Pid::try_from(7).expect("non-zero")),
            "$dps/registrations/res/200/?$rid=1",
            b"{}".to_vec(),
        );
        for p in [Packet::Connect(connect), publish, Packet::Pingreq] {
            assert_eq!(roundtrip(&p, 1024).await.expect("decodes"), p);
        }
    }

    #[tokio::test]
    async fn an_oversized_publish_is_read_past_and_the_next_packet_read() {
        let pid = Pid::try_from(9).expect("non-zero");
        let big = publish(QosPid::Level1(pid), "t/x", vec![b'x'; 3000]);
        let mut bytes = big.encode().expect("encodes").as_ref().to_vec();
        bytes.extend_from_slice(Packet::Pingreq.encode().expect("encodes").as_ref());
        let mut reader = &bytes[..];
        match read_packet(&mut reader, 50, PROGRESS).await {
            Err(ReadError::Oversized(o)) => {
                assert_eq!((o.topic.as_str(), o.pid, o.max), ("t/x", Some(pid), 50));
                assert_eq!(o.qos, QoS::Level1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_packet(&mut reader, 50, PROGRESS).await.expect("next"),
            Packet::Pingreq
        );
    }

    #[tokio::test]
    async fn refuses_too_large_and_garbage_and_sees_the_end() {
        // A PUBLISH beyond what is read past, and any other packet over the limit.
        let mut huge = vec![0x30];
        let mut n = MAX_READ_PAST + 1;
        while n > 0 {
            let digit = (n % 128) as u8;
            n /= 128;
            huge.push(if n > 0 { digit | 0x80 } else { digit });
        }
        assert!(matches!(
            read_packet(&mut &huge[..], 50, PROGRESS).await,
            Err(ReadError::TooLarge { max: 50, .. })
        ));
        let subscribe: &[u8] = &[0x82, 100];
        assert!(matches!(
            read_packet(&mut &subscribe[..], 50, PROGRESS).await,
            Err(ReadError::TooLarge { len: 100, .. })
        ));
        let garbage: &[u8] = b"\xf0\x00";
        assert!(matches!(
            read_packet(&mut &garbage[..], 1024, PROGRESS).await,
            Err(ReadError::Malformed(_))
        ));
        let empty: &[u8] = b"";
        assert!(matches!(
            read_packet(&mut &empty[..], 1024, PROGRESS).await,
            Err(ReadError::Closed)
        ));
    }

    #[tokio::test]
    async fn a_begun_packet_that_stops_arriving_is_stalled() {
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(&[0x30, 20, 0]).await.expect("write");
        let read = read_packet(&mut server, 1024, Duration::from_millis(50)).await;
        assert!(matches!(read, Err(ReadError::Stalled(_))), "{read:?}");
    }

    #[test]
    fn a_suback_refusal_is_0x80() {
        let pid = Pid::try_from(0x0102).expect("non-zero");
        assert_eq!(suback(pid, &[1, SUBACK_FAILURE]), [0x90, 4, 1, 2, 1, 0x80]);
        let many = suback(pid, &[0; 200]);
        assert_eq!(&many[..3], [0x90, 0xca, 0x01]);
    }
}
