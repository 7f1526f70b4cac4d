//! The time budget bounds the whole registration, whatever a single wait allows: a peer that
//! accepts the TCP connection and then says nothing ends the registration at
//! `total_timeout`, with `ErrorKind::Timeout`, on every transport.

use dps_device_client::{
    DeviceAuth, DeviceClientOptions, ErrorKind, ProvisioningDeviceClient, Transport,
};
use dps_protocol::auth::Secret;
use std::time::Duration;

const KEY: &str = "ZGV2aWNlIGtleSBmb3IgdGhlIGJ1ZGdldCB0ZXN0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_ends_the_registration_at_the_budget() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    // Accepts every connection and holds it, silent.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let endpoints = [
        (Transport::Https, format!("https://127.0.0.1:{port}")),
        (Transport::Mqtt, format!("mqtts://127.0.0.1:{port}")),
        (
            Transport::MqttWebSocket,
            format!("wss://127.0.0.1:{port}/$iothub/websocket"),
        ),
    ];
    for (transport, endpoint) in endpoints {
        let options = DeviceClientOptions {
            transport,
            request_timeout: Duration::from_secs(300),
            total_timeout: Duration::from_millis(500),
            trust_only_custom_ca: true,
            ..DeviceClientOptions::default()
        };
        let client = ProvisioningDeviceClient::new(
            &endpoint,
            "0ne00000001",
            "patient-device",
            DeviceAuth::SymmetricKey(Secret::from(KEY)),
            Some(options),
        )
        .expect("client");
        let e = client.register(None).await.expect_err("nobody answers");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{transport}: {e}");
        assert!(e.message().contains("time budget"), "{transport}: {e}");
    }
    silent.abort();
}
