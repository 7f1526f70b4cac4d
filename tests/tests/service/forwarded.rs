//! The emulator behind a forwarded port (`docker run -p 18443:8443`, an SSH tunnel, a TCP
//! proxy): clients sign their SAS tokens for the host and port they connect to.

use dps_e2e::{TestEmulator, rt, send};
use dps_protocol::models::EnrollmentGroup;
use dps_service_client::ProvisioningServiceClient;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};

/// Forwards every connection to a local port to `target`; returns the local port.
async fn forward(target: SocketAddr) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

#[test]
fn http1_clients_through_a_forwarded_port() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let port = forward(t.emulator.addr()).await;
        let host = format!("localhost:{port}");
        let token = dps_protocol::auth::SasToken::generate(
            &host,
            &dps_protocol::auth::Secret::from(t.owner_key()),
            Some(dps_emulator::config::OWNER_POLICY),
            dps_e2e::unix_now() + 600,
        )
        .expect("token");
        let certs =
            reqwest::Certificate::from_pem_bundle(t.emulator.ca_pem().as_bytes()).expect("CA");
        let http1 = reqwest::Client::builder()
            .tls_certs_only(certs)
            .http1_only()
            .build()
            .expect("client");
        let body =
            serde_json::json!({"enrollmentGroupId": "fw", "attestation": {"type": "symmetricKey"}});
        let r = send(
            http1
                .put(format!(
                    "https://{host}/enrollmentGroups/fw?api-version=2021-10-01"
                ))
                .header("authorization", &token)
                .json(&body),
        )
        .await;
        assert_eq!(
            r.status,
            200,
            "HTTP/1.1 (Python, Node, the CLI): {}",
            r.text()
        );
    });
}

#[test]
fn the_sdk_through_a_forwarded_port() {
    let t = TestEmulator::start();
    rt().block_on(async {
        let port = forward(t.emulator.addr()).await;
        let cs = t
            .emulator
            .service_connection_string()
            .replace(&t.emulator.host(), &format!("localhost:{port}"));
        let client = ProvisioningServiceClient::from_connection_string(&cs, Some(t.options()))
            .expect("client");
        let g = EnrollmentGroup::symmetric_key("fw-sdk", None);
        client
            .create_or_update_enrollment_group(&g, None)
            .await
            .expect("HTTP/2 (this SDK) through the forwarded port");
    });
}
