//! The rustls client configuration of the MQTT transports: the same trust and the same client
//! certificate as the HTTPS path, built here because rumqttc takes a ready `ClientConfig`.

use crate::client::{DeviceAuth, DeviceClientOptions};
use crate::error::{Error, ErrorKind, Result};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A TLS client configuration (aws-lc-rs, TLS 1.2 and 1.3, no ALPN) that trusts
/// `options.trusted_ca_pem` and presents the X.509 chain and key of `auth`, if any.
/// With `trust_only_custom_ca` unset, the system's roots are trusted too (through
/// rustls-platform-verifier, as on the HTTPS path).
pub(crate) fn client_config(
    options: &DeviceClientOptions,
    auth: &DeviceAuth,
) -> Result<Arc<rustls::ClientConfig>> {
    let invalid = |m: String| Error::new(ErrorKind::InvalidInput, m);
    let mut custom = Vec::new();
    for pem in &options.trusted_ca_pem {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("a trusted CA certificate is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(invalid(
                "a trusted CA certificate holds no PEM certificate".to_owned(),
            ));
        }
        custom.extend(certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("cannot configure TLS: {e}")))?;
    let builder = if options.trust_only_custom_ca {
        let mut roots = RootCertStore::empty();
        for cert in custom {
            roots
                .add(cert)
                .map_err(|e| invalid(format!("a trusted CA certificate cannot be used: {e}")))?;
        }
        builder.with_root_certificates(roots)
    } else {
        // The system's roots plus the given ones, as reqwest trusts them on the HTTPS path.
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(custom, provider)
                .map_err(|e| invalid(format!("cannot read the system's trusted roots: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };
    let config = match auth {
        DeviceAuth::X509 {
            certificate_chain_pem,
            private_key_pem,
        } => {
            let unusable = |e: &dyn std::fmt::Display| {
                invalid(format!(
                    "the certificate chain and key cannot be used for TLS: {e}"
                ))
            };
            let chain = CertificateDer::pem_slice_iter(certificate_chain_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| unusable(&e))?;
            if chain.is_empty() {
                return Err(unusable(&"the chain holds no PEM certificate"));
            }
            let key = PrivateKeyDer::from_pem_slice(private_key_pem.expose().as_bytes())
                .map_err(|e| unusable(&e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| unusable(&e))?
        }
        DeviceAuth::SymmetricKey(_) | DeviceAuth::GroupKey(_) => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;
    use dps_protocol::auth::Secret;

    fn options(trust_only: bool, ca: &[u8]) -> DeviceClientOptions {
        DeviceClientOptions {
            transport: Transport::Mqtt,
            trusted_ca_pem: vec![ca.to_vec()],
            trust_only_custom_ca: trust_only,
            ..DeviceClientOptions::default()
        }
    }

    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["device-1".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn builds_with_a_client_certificate_or_none() {
        let (cert, key) = self_signed();
        let o = options(true, cert.as_bytes());
        let sym = DeviceAuth::SymmetricKey(Secret::from("a2V5"));
        assert!(
            !client_config(&o, &sym)
                .expect("sas")
                .client_auth_cert_resolver
                .has_certs()
        );
        let x509 = DeviceAuth::x509(cert.clone().into_bytes(), key.into_bytes());
        let config = client_config(&o, &x509).expect("x509");
        assert!(config.client_auth_cert_resolver.has_certs());
        assert!(config.alpn_protocols.is_empty());
    }

    #[test]
    fn refusals_name_the_input_and_never_the_key() {
        let (cert, key) = self_signed();
        let check = |o: &DeviceClientOptions, auth: &DeviceAuth, needle: &str| {
            let e = client_config(o, auth).expect_err(needle);
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.message().contains(needle), "{needle:?} not in {e}");
            assert!(!e.message().contains("PRIVATE KEY"), "{e}");
        };
        let sym = DeviceAuth::GroupKey(Secret::from("a2V5"));
        // Beside the system's roots, as on the HTTPS path.
        assert!(client_config(&options(false, cert.as_bytes()), &sym).is_ok());
        check(
            &options(true, b"not a pem"),
            &sym,
            "holds no PEM certificate",
        );
        let o = options(true, cert.as_bytes());
        let no_key = DeviceAuth::x509(cert.clone().into_bytes(), b"garbage".to_vec());
        check(&o, &no_key, "cannot be used for TLS");
        let no_chain = DeviceAuth::x509(Vec::new(), key.into_bytes());
        check(&o, &no_chain, "the chain holds no PEM certificate");
    }
}
