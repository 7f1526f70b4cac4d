//! The TLS ceiling: bare mutual-TLS handshakes with the devices' own certificates, at the same
//! concurrency, and nothing else. The server is rustls (tokio-rustls) on its own two-thread
//! runtime, as the emulator runs, with a P-256 certificate chain like the emulator's (server
//! certificate + local CA) and a client verifier like the emulator's: it asks for a
//! certificate, accepts any chain, and checks the handshake signature. Each client builds its
//! rustls configuration from the device's PEM files (as the device client does), connects,
//! completes the handshake, reads one byte the server writes once it has verified the client,
//! and closes with close_notify. No HTTP, no MQTT, no registration: the most the machine can
//! do with these certificates.

use super::devices::{Device, make_devices};
use super::{DevicesResult, concurrently};
use anyhow::{Context, ensure};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The longest a handshake may take before the run fails.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The `tls-handshakes-1000` scenario.
pub(super) fn run(
    rt: &Runtime,
    count: usize,
    concurrency: usize,
    work: &Path,
) -> anyhow::Result<DevicesResult> {
    let setup = Instant::now();
    let (_, devices) = make_devices(count, work)?;
    let server = Server::start()?;
    let roots = {
        let mut roots = RootCertStore::empty();
        roots.add(server.ca.clone())?;
        Arc::new(roots)
    };
    let setup_secs = setup.elapsed().as_secs_f64();

    let shared = Arc::new((devices, roots, server.addr));
    let start = Instant::now();
    let latencies = concurrently(rt, count, concurrency, move |i| {
        let shared = shared.clone();
        async move {
            let (devices, roots, addr) = &*shared;
            let d = devices.get(i).context("no such device")?;
            let config = client_config(d, roots.clone())
                .with_context(|| format!("configuring {}", d.name))?;
            let t = Instant::now();
            tokio::time::timeout(TIMEOUT, handshake(config, *addr))
                .await
                .with_context(|| format!("{}: no handshake within {TIMEOUT:?}", d.name))?
                .with_context(|| format!("handshake of {}", d.name))?;
            Ok(t.elapsed().as_secs_f64() * 1000.0)
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let verified = server.stop();
    ensure!(
        verified == count,
        "the server verified {verified} client certificates, not {count}"
    );
    Ok(DevicesResult::summarize(
        "mutual-TLS handshakes",
        (count, concurrency),
        seconds,
        &latencies,
        setup_secs,
        verified,
    ))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The device's client configuration: its chain and key, trusting only the server's CA.
fn client_config(
    device: &Device,
    roots: Arc<RootCertStore>,
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let chain = CertificateDer::pem_slice_iter(&device.chain_pem).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(&device.key_pem)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// One connection: TCP, the TLS handshake, the server's byte, close_notify.
async fn handshake(config: Arc<rustls::ClientConfig>, addr: SocketAddr) -> anyhow::Result<()> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let mut byte = [0u8; 1];
    tls.read_exact(&mut byte).await?;
    tls.shutdown().await?;
    Ok(())
}

/// The handshake server, on its own runtime thread.
struct Server {
    addr: SocketAddr,
    ca: CertificateDer<'static>,
    verified: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

impl Server {
    fn start() -> anyhow::Result<Self> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "bench TLS ceiling CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &ca)?;
        let provider = provider();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(dps_emulator::client_certificate_verifier())
            .with_single_cert(
                vec![cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )?;
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tls-ceiling")
            .enable_all()
            .build()
            .context("starting the TLS server's runtime")?;
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let verified = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = watch::channel(false);
        let counter = verified.clone();
        let thread = std::thread::Builder::new()
            .name("tls-ceiling".into())
            .spawn(move || runtime.block_on(serve(listener, acceptor, counter, stopped)))?;
        Ok(Self {
            addr,
            ca: ca.der().clone(),
            verified,
            stop,
            thread,
        })
    }

    /// Stops the server; returns how many client certificates it verified.
    fn stop(self) -> usize {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
        self.verified.load(Ordering::Relaxed)
    }
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    verified: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let verified = verified.clone();
                conns.spawn(async move {
                    let Ok(Ok(mut tls)) = tokio::time::timeout(TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    if tls.get_ref().1.peer_certificates().is_none_or(<[_]>::is_empty) {
                        return;
                    }
                    verified.fetch_add(1, Ordering::Relaxed);
                    if tls.write_all(b"k").await.is_ok() && tls.flush().await.is_ok() {
                        // Until the client's close_notify (or its going away).
                        let mut rest = [0u8; 64];
                        let _ = tokio::time::timeout(TIMEOUT, tls.read(&mut rest)).await;
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}
