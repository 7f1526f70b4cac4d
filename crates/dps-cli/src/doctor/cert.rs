//! Certificates and keys as the checks need them: read from files, parsed once, compared by
//! name and by signature.

use anyhow::Context;
use dps_protocol::Thumbprints;
use rustls_pki_types::CertificateDer;
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::prelude::{FromDer, X509Certificate};

/// One parsed certificate.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    pub(crate) der: CertificateDer<'static>,
    /// Subject DN, for messages (`CN=...`).
    pub(crate) subject: String,
    /// Issuer DN, for messages.
    pub(crate) issuer: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    pub(crate) common_name: Option<String>,
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    /// basicConstraints CA:TRUE.
    pub(crate) is_ca: bool,
    /// `None` without an extendedKeyUsage extension (any use allowed); otherwise whether it
    /// allows TLS client authentication.
    pub(crate) client_auth: Option<bool>,
    /// The subjectPublicKey bits.
    pub(crate) public_key: Vec<u8>,
    pub(crate) thumbprints: Thumbprints,
}

impl Cert {
    /// Parses a DER certificate.
    pub(crate) fn parse(der: &CertificateDer<'_>) -> Result<Self, String> {
        let (_, c) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
        let client_auth = match c.extended_key_usage() {
            Ok(Some(eku)) => Some(eku.value.client_auth || eku.value.any),
            Ok(None) => None,
            Err(e) => return Err(format!("invalid extendedKeyUsage: {e}")),
        };
        Ok(Self {
            der: der.clone().into_owned(),
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            subject_raw: c.subject().as_raw().to_vec(),
            issuer_raw: c.issuer().as_raw().to_vec(),
            common_name: c
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            not_before: c.validity().not_before.to_datetime(),
            not_after: c.validity().not_after.to_datetime(),
            is_ca: c.is_ca(),
            client_auth,
            public_key: c.public_key().subject_public_key.data.to_vec(),
            thumbprints: Thumbprints::of_der(der),
        })
    }

    /// Whether the issuer DN equals the subject DN.
    pub(crate) fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// Whether this certificate names `issuer`'s subject as its issuer.
    pub(crate) fn names_issuer(&self, issuer: &Cert) -> bool {
        self.issuer_raw == issuer.subject_raw
    }

    /// Whether `issuer`'s key signed this certificate.
    pub(crate) fn signed_by(&self, issuer: &Cert) -> bool {
        let (Ok((_, me)), Ok((_, them))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        me.verify_signature(Some(them.public_key())).is_ok()
    }

    /// Whether `issuer` issued this certificate: by name and by signature.
    pub(crate) fn issued_by(&self, issuer: &Cert) -> bool {
        self.names_issuer(issuer) && self.signed_by(issuer)
    }

    /// A self-signed root.
    pub(crate) fn is_root(&self) -> bool {
        self.self_issued() && self.signed_by(self)
    }

    /// Whether `name` (a DN string the service reported) is this certificate's subject.
    pub(crate) fn subject_is(&self, name: &str) -> bool {
        same_dn(&self.subject, name)
    }

    /// Whether `name` (a DN string the service reported) is this certificate's issuer.
    pub(crate) fn issuer_is(&self, name: &str) -> bool {
        same_dn(&self.issuer, name)
    }
}

/// Compares two DN strings loosely: case and spaces are ignored, since services print DNs
/// with different spacing.
pub(crate) fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    norm(a) == norm(b)
}

/// RFC 3339 text of a time.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Every certificate in `files`, in order, without repeats.
pub(crate) fn read_all(files: &[&Path]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let mut out: Vec<CertificateDer<'static>> = Vec::new();
    for f in files {
        for c in dps_certgen::read_certs(f)? {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// A device's private key, normalised to unencrypted PKCS#8 PEM.
pub(crate) struct DeviceKey {
    /// PKCS#8 PEM.
    pub(crate) pem: String,
    /// The public key bits, to compare with a certificate's.
    pub(crate) public_key: Vec<u8>,
}

/// Reads a private key: PKCS#8 (plain or encrypted with `password`), PKCS#1 or SEC1.
pub(crate) fn read_key(path: &Path, password: Option<&str>) -> anyhow::Result<DeviceKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key {}", path.display()))?;
    let key = dps_certgen::key_from_pem(&text, password, path)?;
    Ok(DeviceKey {
        pem: key.serialize_pem(),
        public_key: key.public_key_raw().to_vec(),
    })
}
