//! The emulator's TLS: a local CA kept in the data folder (so a client trusts it once, and
//! name-constrained to the emulator's names, see [`ca`]), a server certificate for localhost,
//! 127.0.0.1, ::1 and any configured names (re-issued at each start), and a client-certificate
//! verifier that asks for a certificate, accepts any chain, and
//! still checks the handshake signature, so the device proves it holds the leaf key. Whether the
//! chain is good enough is decided per enrollment by the device API, as DPS does.

mod ca;

pub(crate) use ca::join_names;
pub use ca::{
    LOCAL_CA_COMMON_NAME, LocalCa, LocalCaProblem, PermittedName, check_host_names, local_ca_path,
    local_ca_permitted_names, regenerate_command, regenerate_local_ca,
};

use crate::EmulatorError;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use rustls::DigitallySignedStruct;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedName as RustlsDn, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The emulator's TLS material.
pub(crate) struct TlsMaterial {
    /// PEM of the local CA that signs the server certificate; clients trust this.
    pub(crate) ca_pem: String,
    /// Where the CA certificate is on disk.
    pub(crate) ca_path: PathBuf,
    /// The rustls server configuration.
    pub(crate) server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn err(what: &'static str) -> impl FnOnce(rcgen::Error) -> EmulatorError {
    move |source| EmulatorError::TlsCertificate { what, source }
}

/// Loads or creates the local CA in `dir` (`DATA_DIR/tls`) and issues a fresh server certificate for `names`.
pub(crate) fn prepare(dir: &Path, names: &[String]) -> Result<TlsMaterial, EmulatorError> {
    check_host_names(names)?;
    crate::datadir::create_private_dir(dir)?;
    let ca_path = dir.join(ca::CA_CERT_FILE);
    let (ca_pem, ca_key) = ca::load_or_create(dir, names)?;
    let issuer =
        Issuer::from_ca_cert_pem(&ca_pem, &ca_key).map_err(err("emulator CA certificate"))?;
    let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err("server key"))?;
    let server_cert = server_params(names)?
        .signed_by(&server_key, &issuer)
        .map_err(err("server certificate"))?;
    let ca_der = rustls::pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes())
        .map_err(EmulatorError::TlsCaPem)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(EmulatorError::TlsConfig)?
        .with_client_cert_verifier(Arc::new(AnyClientCert { provider }))
        .with_single_cert(
            vec![server_cert.der().clone(), ca_der],
            PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .map_err(EmulatorError::TlsConfig)?;
    let mut config = config;
    config.alpn_protocols = crate::server::http_alpn();
    Ok(TlsMaterial {
        ca_pem,
        ca_path,
        server_config: Arc::new(config),
    })
}

fn server_params(names: &[String]) -> Result<CertificateParams, EmulatorError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    p.distinguished_name = dn;
    let mut sans = vec![
        SanType::DnsName("localhost".try_into().map_err(err("SAN"))?),
        SanType::IpAddress([127, 0, 0, 1].into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
    ];
    for n in names {
        match n.parse::<std::net::IpAddr>() {
            Ok(ip) => sans.push(SanType::IpAddress(ip)),
            Err(_) => sans.push(SanType::DnsName(n.clone().try_into().map_err(err("SAN"))?)),
        }
    }
    p.subject_alt_names = sans;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(365);
    Ok(p)
}

/// The client-certificate verifier of every emulator listener: it asks for a client
/// certificate, accepts any chain and checks only the handshake signature, because the device
/// chain rule is judged in application code (the engine), not in TLS. Public so that a bare
/// TLS benchmark server does exactly the TLS work the emulator does.
pub fn client_certificate_verifier() -> Arc<dyn ClientCertVerifier> {
    Arc::new(AnyClientCert {
        provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    })
}

/// See [`client_certificate_verifier`].
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[RustlsDn] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
