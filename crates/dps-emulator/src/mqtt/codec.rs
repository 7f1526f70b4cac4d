//! Packets on the wire, through the `mqtt-proto` codec: one packet read with a size limit, one
//! written. Nothing here knows DPS.

use mqtt_proto::PollHeader as _;
use mqtt_proto::v3::{Header, Packet};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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
    /// Not an MQTT 3.1.1 packet (unknown type, bad flags, bad lengths or strings).
    #[error("malformed packet: {0}")]
    Malformed(#[source] mqtt_proto::Error),
    /// The transport failed.
    #[error("read failed: {0}")]
    Io(#[source] std::io::Error),
}

/// Reads one packet. A packet whose remaining length exceeds `max` is refused before its body
/// is read, so a peer cannot make the emulator buffer it.
pub(super) async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Packet, ReadError> {
    let header = match Header::decode_async(reader).await {
        Ok(h) => h,
        Err(e) if e.is_eof() => return Err(ReadError::Closed),
        Err(mqtt_proto::Error::IoError(kind)) => {
            return Err(ReadError::Io(std::io::Error::other(format!("{kind:?}"))));
        }
        Err(e) => return Err(ReadError::Malformed(e)),
    };
    let len = header.remaining_len();
    if len > max {
        return Err(ReadError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            ReadError::Closed
        } else {
            ReadError::Io(e)
        }
    })?;
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

/// Writes one packet and flushes it.
pub(super) async fn write_packet<W: AsyncWrite + Unpin>(
    writer: &mut W,
    packet: &Packet,
) -> std::io::Result<()> {
    let bytes = packet.encode().map_err(std::io::Error::other)?;
    writer.write_all(bytes.as_ref()).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_proto::v3::Connect;
    use mqtt_proto::{Protocol, QoS, QosPid, TopicName};

    async fn roundtrip(packet: &Packet, max: usize) -> Result<Packet, ReadError> {
        let bytes = packet.encode().expect("encodes");
        read_packet(&mut bytes.as_ref(), max).await
    }

    #[tokio::test]
    async fn reads_what_it_writes() {
        let mut connect = Connect::new("dev-1".into(), 60);
        connect.protocol = Protocol::V311;
        connect.username = Some("0ne/registrations/dev-1/api-version=2019-03-31".into());
        let publish = Packet::Publish(mqtt_proto::v3::Publish::new(
            QosPid::Level1(mqtt_proto::Pid::try_from(7).expect("non-zero")),
            TopicName::try_from("$dps/registrations/res/200/?$rid=1").expect("topic"),
            axum::body::Bytes::from_static(b"{}"),
        ));
        for p in [Packet::Connect(connect), publish, Packet::Pingreq] {
            assert_eq!(roundtrip(&p, 1024).await.expect("decodes"), p);
        }
        let _ = QoS::Level1;
    }

    #[tokio::test]
    async fn refuses_oversized_and_garbage_and_sees_the_end() {
        let big = Packet::Publish(mqtt_proto::v3::Publish::new(
            QosPid::Level0,
            TopicName::try_from("t").expect("topic"),
            axum::body::Bytes::from(vec![b'x'; 100]),
        ));
        assert!(matches!(
            roundtrip(&big, 50).await,
            Err(ReadError::TooLarge { max: 50, .. })
        ));
        let garbage: &[u8] = b"\xf0\x00";
        assert!(matches!(
            read_packet(&mut &garbage[..], 1024).await,
            Err(ReadError::Malformed(_))
        ));
        let empty: &[u8] = b"";
        assert!(matches!(
            read_packet(&mut &empty[..], 1024).await,
            Err(ReadError::Closed)
        ));
    }
}
