//! Key and certificate material: secrets read from variables or files, certificate files
//! read and reduced to thumbprints, and the attestation in its two forms (to send, to compare).

use super::{Context, Kind};
use crate::error::LoadError;
use crate::model::{Attestation, CertificateRef};
use crate::record::{normal_hex, thumbprint_view};
use crate::secret_ref::SecretRef;
use dps_protocol::Thumbprints;
use dps_protocol::models::AttestationType;
use serde_json::{Map, Value, json};

/// A certificate file's bytes (PEM, DER or base64 DER) as the service takes them, and the
/// DER they hold.
pub(crate) fn certificate_upload(bytes: &[u8]) -> Result<(String, Vec<u8>), String> {
    let upload = dps_service_client::certificate_for_upload(bytes).map_err(|e| e.to_string())?;
    let der = dps_service_client::uploaded_der(&upload)
        .ok_or_else(|| "the certificate does not decode".to_owned())?;
    Ok((upload, der))
}

/// The start of a PEM certificate block.
const CERT_BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// How a certificate is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Thumbprint {
    Sha1,
    Sha256,
}

impl Context<'_> {
    pub(super) fn secret(
        &self,
        item: &str,
        field: &str,
        secret: &SecretRef,
    ) -> Result<String, LoadError> {
        let value = self.secret_text(item, field, secret)?;
        if value.is_empty() {
            // An unset CI secret or an empty key file: sent, the service would generate a key.
            return Err(self.invalid(item, field, format!("{} is empty", secret.describe())));
        }
        Ok(value)
    }

    /// A secret's text, trimmed.
    fn secret_text(
        &self,
        item: &str,
        field: &str,
        secret: &SecretRef,
    ) -> Result<String, LoadError> {
        match secret {
            // Trimmed as a file's text is: a trailing newline is never part of a key.
            SecretRef::Variable(name) => self
                .vars
                .get(name)
                .map(|v| v.trim().to_owned())
                .ok_or_else(|| LoadError::MissingVariable {
                    path: self.path.to_owned(),
                    item: item.to_owned(),
                    field: field.to_owned(),
                    name: name.clone(),
                }),
            SecretRef::File(file) => {
                let full = self.relative(file);
                std::fs::read_to_string(&full)
                    .map(|t| t.trim().to_owned())
                    .map_err(|e| LoadError::Material {
                        path: self.path.to_owned(),
                        item: item.to_owned(),
                        field: field.to_owned(),
                        file: full,
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// A certificate reference: its view, and its PEM when the file gives one.
    pub(super) fn certificate_ref(
        &self,
        item: &str,
        field: &str,
        cert: &CertificateRef,
        by: Thumbprint,
    ) -> Result<(Value, Option<String>, Thumbprints), LoadError> {
        match (&cert.file, &cert.sha1_thumbprint, &cert.sha256_thumbprint) {
            (None, Some(_), _) if by == Thumbprint::Sha256 => Err(self.invalid(
                item,
                field,
                "enrollment certificates are matched by `sha256Thumbprint` (the service's \
                 info.sha256Thumbprint); give that instead of sha1Thumbprint",
            )),
            (None, _, Some(_)) if by == Thumbprint::Sha1 => Err(self.invalid(
                item,
                field,
                "CA certificates are matched by `sha1Thumbprint` (the service's thumbprint); \
                 give that instead of sha256Thumbprint",
            )),
            (Some(file), None, None) => {
                let full = self.relative(file);
                let material = |reason: String| LoadError::Material {
                    path: self.path.to_owned(),
                    item: item.to_owned(),
                    field: field.to_owned(),
                    file: full.clone(),
                    reason,
                };
                let bytes = std::fs::read(&full).map_err(|e| material(e.to_string()))?;
                let blocks = bytes
                    .windows(CERT_BEGIN.len())
                    .filter(|w| *w == CERT_BEGIN)
                    .count();
                if blocks > 1 {
                    return Err(material(format!(
                        "holds {blocks} certificates: give the certificate alone (not a chain \
                         or full-chain file)"
                    )));
                }
                let (upload, der) = certificate_upload(&bytes).map_err(material)?;
                let t = Thumbprints::of_der(&der);
                let view = match by {
                    Thumbprint::Sha1 => thumbprint_view(Some(&t.sha1), None),
                    Thumbprint::Sha256 => thumbprint_view(None, Some(&t.sha256)),
                };
                Ok((view, Some(upload), t))
            }
            (None, sha1, sha256) => {
                let (want, name) = match by {
                    Thumbprint::Sha1 => (sha1, "sha1Thumbprint"),
                    Thumbprint::Sha256 => (sha256, "sha256Thumbprint"),
                };
                let Some(want) = want else {
                    return Err(self.invalid(
                        item,
                        field,
                        format!("give `file:` or `{name}:` (what the service shows for it)"),
                    ));
                };
                let hex = normal_hex(want);
                let len = if by == Thumbprint::Sha1 { 40 } else { 64 };
                if hex.len() != len || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(self.invalid(
                        item,
                        field,
                        format!("{name} must be {len} hex digits"),
                    ));
                }
                let t = Thumbprints {
                    sha1: if by == Thumbprint::Sha1 {
                        hex.clone()
                    } else {
                        String::new()
                    },
                    sha256: if by == Thumbprint::Sha256 {
                        hex.clone()
                    } else {
                        String::new()
                    },
                };
                let view = match by {
                    Thumbprint::Sha1 => thumbprint_view(Some(&hex), None),
                    Thumbprint::Sha256 => thumbprint_view(None, Some(&hex)),
                };
                Ok((view, None, t))
            }
            (Some(_), _, _) => {
                Err(self.invalid(item, field, "give either `file:` or a thumbprint, not both"))
            }
        }
    }

    /// The attestation to send and to compare, and the slots given only by thumbprint.
    pub(super) fn attestation(
        &self,
        kind: Kind,
        item: &str,
        a: &Attestation,
    ) -> Result<(Value, Value, Vec<String>), LoadError> {
        let t = &a.attestation_type.0;
        let members = [
            ("x509", a.x509.is_some(), AttestationType::X509),
            (
                "symmetricKey",
                a.symmetric_key.is_some(),
                AttestationType::SymmetricKey,
            ),
            ("tpm", a.tpm.is_some(), AttestationType::Tpm),
        ];
        for (name, present, ty) in &members {
            if *present && t != ty {
                return Err(self.invalid(
                    item,
                    &format!("attestation.{name}"),
                    format!("does not go with type {}", t.as_str()),
                ));
            }
        }
        let mut wire = json!({ "type": t.as_str() });
        let mut view = wire.clone();
        let mut thumbprint_only = Vec::new();
        match t {
            AttestationType::X509 => {
                let x = a.x509.as_ref().ok_or_else(|| {
                    self.invalid(item, "attestation.x509", "type x509 needs an x509 member")
                })?;
                let (slots, wrong) = match kind {
                    Kind::Enrollment => (
                        [("clientCertificates", &x.client_certificates)],
                        x.signing_certificates.is_some() || x.ca_references.is_some(),
                    ),
                    _ => (
                        [("signingCertificates", &x.signing_certificates)],
                        x.client_certificates.is_some(),
                    ),
                };
                let given = slots[0].1.is_some() as u8 + x.ca_references.is_some() as u8;
                if wrong || given != 1 {
                    let want = match kind {
                        Kind::Enrollment => "an enrollment needs clientCertificates",
                        _ => "a group needs exactly one of signingCertificates and caReferences",
                    };
                    return Err(self.invalid(item, "attestation.x509", want));
                }
                let mut wire_x = Map::new();
                let mut view_x = Map::new();
                if let (group, Some(pair)) = slots[0] {
                    let mut w = Map::new();
                    let mut v = Map::new();
                    for (slot, cert) in [
                        ("primary", Some(&pair.primary)),
                        ("secondary", pair.secondary.as_ref()),
                    ] {
                        let Some(cert) = cert else { continue };
                        let field = format!("attestation.x509.{group}.{slot}");
                        let (view_cert, pem, _) =
                            self.certificate_ref(item, &field, cert, Thumbprint::Sha256)?;
                        match pem {
                            Some(pem) => {
                                w.insert(slot.into(), json!({ "certificate": pem }));
                            }
                            None => thumbprint_only.push(field),
                        }
                        v.insert(slot.into(), view_cert);
                    }
                    wire_x.insert(group.into(), Value::Object(w));
                    view_x.insert(group.into(), Value::Object(v));
                }
                if let Some(refs) = &x.ca_references {
                    let r = serde_json::to_value(refs).unwrap_or(Value::Null);
                    wire_x.insert("caReferences".into(), r.clone());
                    view_x.insert("caReferences".into(), r);
                }
                wire["x509"] = Value::Object(wire_x);
                view["x509"] = Value::Object(view_x);
            }
            AttestationType::SymmetricKey => {
                let mut keys = Map::new();
                if let Some(k) = &a.symmetric_key {
                    for (name, secret) in [
                        ("primaryKey", &k.primary_key),
                        ("secondaryKey", &k.secondary_key),
                    ] {
                        if let Some(secret) = secret {
                            let field = format!("attestation.symmetricKey.{name}");
                            keys.insert(
                                name.into(),
                                Value::String(self.secret(item, &field, secret)?),
                            );
                        }
                    }
                }
                wire["symmetricKey"] = Value::Object(keys.clone());
                view["symmetricKey"] = Value::Object(keys);
            }
            AttestationType::Tpm => {
                if kind != Kind::Enrollment {
                    return Err(self.invalid(
                        item,
                        "attestation.type",
                        "tpm is for individual enrollments only",
                    ));
                }
                let tpm = a.tpm.as_ref().ok_or_else(|| {
                    self.invalid(item, "attestation.tpm", "type tpm needs a tpm member")
                })?;
                let v = serde_json::to_value(tpm).unwrap_or(Value::Null);
                wire["tpm"] = v.clone();
                view["tpm"] = v;
            }
            _ => {
                return Err(self.invalid(
                    item,
                    "attestation.type",
                    "use x509, symmetricKey or tpm",
                ));
            }
        }
        Ok((wire, view, thumbprint_only))
    }
}
