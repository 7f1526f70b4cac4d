//! [`Engine::authenticate`]: from a raw credential to the enrollment it proves membership of.
//! An individual enrollment wins over groups; among X.509 groups the one nearest the leaf on
//! the presented chain decides (dps-chain); symmetric-key devices prove a group by a key
//! derived from the group's key.

use super::refusal::Refusal;
use super::{Attested, Credential, Engine, Enrollment, Identity};
use crate::error::ApiResult;
use crate::store::Kind;
use crate::x509info;
use dps_chain::{Candidate, Cert, ChainError, GroupKey, Trust};
use dps_protocol::auth::{DEFAULT_SKEW_SECS, DEVICE_KEY_NAME, SasToken, Secret, derive_device_key};
use dps_protocol::models::{AttestationType, EnrollmentGroup, X509Attestation};
use rustls::pki_types::CertificateDer;
use serde::Deserialize;

/// An uploaded CA certificate as the store keeps it (the fields the rule reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCa {
    certificate: Option<String>,
    is_verified: Option<bool>,
}

/// The DPS's CA certificates, split by proof of possession.
struct Cas {
    verified: Vec<Cert>,
    unverified: Vec<(String, Cert)>,
}

fn parse_text(text: Option<&str>) -> Option<Cert> {
    let der = x509info::decode(text?).ok()?;
    Cert::parse(&der).ok()
}

impl Engine<'_> {
    /// Authenticates a device of `scope` registering as `registration_id` with `credential`.
    /// The outer error is an emulator failure (storage); the inner one a refusal to render,
    /// which is logged and recorded in the activity log here, once, whatever transport asked.
    pub(crate) fn authenticate(
        &self,
        scope: &str,
        registration_id: &str,
        credential: Option<Credential<'_>>,
    ) -> ApiResult<Result<Identity, Refusal>> {
        let outcome = self.decide(scope, registration_id, credential);
        if let Ok(Err(refusal)) = &outcome {
            self.refused(registration_id, refusal);
        }
        outcome
    }

    /// [`Self::authenticate`] without the log.
    fn decide(
        &self,
        scope: &str,
        registration_id: &str,
        credential: Option<Credential<'_>>,
    ) -> ApiResult<Result<Identity, Refusal>> {
        if let Err(refusal) = self.scope(scope) {
            return Ok(Err(refusal));
        }
        match credential {
            None => Ok(Err(Refusal::NoCredential {
                registration_id: registration_id.to_owned(),
            })),
            Some(Credential::Sas { token, audience }) => {
                self.symmetric(registration_id, token, audience)
            }
            Some(Credential::X509(chain)) => self.x509(registration_id, chain),
        }
    }

    /// Whether this emulator serves `scope` (compared without regard to case), for a device
    /// registering as `registration_id`. A transport may call it before it reads the rest of
    /// a request; a refusal is logged and recorded.
    pub(crate) fn check_scope(&self, scope: &str, registration_id: &str) -> Result<(), Refusal> {
        self.scope(scope)
            .inspect_err(|refusal| self.refused(registration_id, refusal))
    }

    /// [`Self::check_scope`] without the log.
    fn scope(&self, scope: &str) -> Result<(), Refusal> {
        let served = &self.app.config.id_scope;
        if scope.eq_ignore_ascii_case(served) {
            Ok(())
        } else {
            Err(Refusal::UnknownScope {
                scope: scope.to_owned(),
                served: served.clone(),
            })
        }
    }

    fn symmetric(
        &self,
        id: &str,
        token: &str,
        audience: &str,
    ) -> ApiResult<Result<Identity, Refusal>> {
        let token = match SasToken::parse(token) {
            Ok(t) => t,
            Err(e) => return Ok(Err(Refusal::SasMalformed(e))),
        };
        // `skn` is optional (the Python SDK sends none); when present it names the device
        // policy.
        if token
            .policy_name()
            .is_some_and(|p| !p.eq_ignore_ascii_case(DEVICE_KEY_NAME))
        {
            return Ok(Err(Refusal::SasPolicy));
        }
        let now = self.app.config.clock.unix();
        let try_keys = |keys: &[Secret]| {
            let refs: Vec<&Secret> = keys.iter().collect();
            token.verify(&refs, audience, now, DEFAULT_SKEW_SECS)
        };
        let identity = |enrollment| Identity {
            registration_id: id.to_owned(),
            enrollment,
            attested: Attested::SymmetricKey,
        };
        if let Some(rec) = self.app.store.get(Kind::Enrollment, id)? {
            let enrollment = Enrollment::individual(&rec.body)?;
            let attestation = enrollment.attestation();
            if attestation.attestation_type != AttestationType::SymmetricKey {
                return Ok(Err(Refusal::AttestationMismatch {
                    registration_id: id.to_owned(),
                    enrolled: attestation.attestation_type.to_string(),
                    presented: "a symmetric key",
                }));
            }
            let keys = symmetric_keys(attestation.symmetric_key.as_ref());
            return Ok(match try_keys(&keys) {
                Ok(()) => Ok(identity(enrollment)),
                Err(source) => Err(Refusal::SasIndividual {
                    registration_id: id.to_owned(),
                    source,
                }),
            });
        }
        let mut last = None;
        for g in self.app.store.list(Kind::Group, None, None, usize::MAX)? {
            let group: EnrollmentGroup = match serde_json::from_value(g.body.clone()) {
                Ok(group) => group,
                Err(_) => continue,
            };
            if group.attestation.attestation_type != AttestationType::SymmetricKey {
                continue;
            }
            let derived: Vec<Secret> = symmetric_keys(group.attestation.symmetric_key.as_ref())
                .iter()
                .filter_map(|k| derive_device_key(k, id).ok())
                .collect();
            match try_keys(&derived) {
                Ok(()) => return Ok(Ok(identity(Enrollment::group(&g.body)?))),
                Err(e) => last = Some(e),
            }
        }
        Ok(Err(match last {
            Some(source) => Refusal::SasGroups {
                registration_id: id.to_owned(),
                source,
            },
            None => Refusal::NoSymmetricEnrollment {
                registration_id: id.to_owned(),
            },
        }))
    }

    fn x509(
        &self,
        id: &str,
        chain: &[CertificateDer<'static>],
    ) -> ApiResult<Result<Identity, Refusal>> {
        let Some(leaf_der) = chain.first() else {
            return Ok(Err(ChainError::NoCertificate.into()));
        };
        let leaf = match Cert::parse(leaf_der) {
            Ok(leaf) => leaf,
            Err(source) => {
                return Ok(Err(ChainError::Unparseable {
                    position: 0,
                    source,
                }
                .into()));
            }
        };
        if let Err(e) = dps_chain::check_identity(&leaf, id) {
            return Ok(Err(e.into()));
        }
        let now = self.app.config.clock.now();
        let leaf_info = x509info::info(leaf.der())?;
        if let Some(rec) = self.app.store.get(Kind::Enrollment, id)? {
            let enrollment = Enrollment::individual(&rec.body)?;
            let attestation = enrollment.attestation();
            if attestation.attestation_type != AttestationType::X509 {
                return Ok(Err(Refusal::AttestationMismatch {
                    registration_id: id.to_owned(),
                    enrolled: attestation.attestation_type.to_string(),
                    presented: "X.509",
                }));
            }
            let enrolled = x509_certs(attestation.x509.as_ref(), Slots::Client);
            if let Err(e) = dps_chain::check_individual(&leaf, &enrolled, id, now) {
                return Ok(Err(e.into()));
            }
            return Ok(Ok(Identity {
                registration_id: id.to_owned(),
                enrollment,
                attested: Attested::X509 {
                    leaf_info,
                    signing_info: None,
                },
            }));
        }
        // Groups judge the whole chain the device sent.
        let presented = match Cert::parse_all(chain) {
            Ok(p) => p,
            Err((position, source)) => {
                return Ok(Err(ChainError::Unparseable { position, source }.into()));
            }
        };
        let cas = self.cas()?;
        // Every X.509 group with each certificate it matches with: its signing certificates,
        // or the verified CA certificates its caReferences name.
        let mut groups: Vec<(EnrollmentGroup, serde_json::Value)> = Vec::new();
        let mut certs: Vec<(usize, Cert)> = Vec::new();
        let mut unverified: Vec<(usize, String, Cert)> = Vec::new();
        for g in self.app.store.list(Kind::Group, None, None, usize::MAX)? {
            let Ok(group) = serde_json::from_value::<EnrollmentGroup>(g.body.clone()) else {
                continue;
            };
            if group.attestation.attestation_type != AttestationType::X509 {
                continue;
            }
            let x509 = group.attestation.x509.as_ref();
            for c in x509_certs(x509, Slots::Signing) {
                certs.push((groups.len(), c));
            }
            for name in ca_references(x509) {
                if let Some(rec) = self.app.store.get(Kind::Certificate, name)?
                    && let Ok(ca) = serde_json::from_value::<StoredCa>(rec.body)
                    && let Some(c) = parse_text(ca.certificate.as_deref())
                {
                    if ca.is_verified == Some(true) {
                        certs.push((groups.len(), c));
                    } else {
                        unverified.push((groups.len(), name.to_owned(), c));
                    }
                }
            }
            groups.push((group, g.body));
        }
        let candidates: Vec<Candidate<'_>> = certs
            .iter()
            .map(|(group, c)| Candidate {
                group: *group,
                key: GroupKey::Cert(c),
            })
            .collect();
        let Some(decision) = dps_chain::decide(&presented, &candidates) else {
            let references = unverified
                .iter()
                .map(|(g, name, c)| (groups[*g].0.enrollment_group_id.as_str(), name.as_str(), c));
            return Ok(Err(dps_chain::unverified_reference(&presented, references)
                .unwrap_or_else(|| dps_chain::no_group(&presented, &candidates, id))
                .into()));
        };
        // The nearest group decides; when both of its certificates sit there, either may admit.
        let trust = Trust {
            verified: &cas.verified,
            unverified: &cas.unverified,
        };
        let mut first_refusal = None;
        for &i in &decision.candidates {
            let cert = &certs[i].1;
            match dps_chain::verify_group_chain(&presented, cert, trust, now) {
                Ok(_) => {
                    return Ok(Ok(Identity {
                        registration_id: id.to_owned(),
                        enrollment: Enrollment::from_group(
                            groups[decision.group].0.clone(),
                            &groups[decision.group].1,
                        ),
                        attested: Attested::X509 {
                            leaf_info,
                            signing_info: Some(x509info::info(cert.der())?),
                        },
                    }));
                }
                Err(e) => {
                    first_refusal.get_or_insert(e);
                }
            }
        }
        Ok(Err(first_refusal
            .unwrap_or_else(|| dps_chain::no_enrollment_group(&presented, id))
            .into()))
    }

    fn cas(&self) -> ApiResult<Cas> {
        let mut cas = Cas {
            verified: Vec::new(),
            unverified: Vec::new(),
        };
        for rec in self
            .app
            .store
            .list(Kind::Certificate, None, None, usize::MAX)?
        {
            let Ok(ca) = serde_json::from_value::<StoredCa>(rec.body) else {
                continue;
            };
            let Some(cert) = parse_text(ca.certificate.as_deref()) else {
                continue;
            };
            if ca.is_verified == Some(true) {
                cas.verified.push(cert);
            } else {
                cas.unverified.push((rec.id, cert));
            }
        }
        Ok(cas)
    }
}

fn symmetric_keys(
    attestation: Option<&dps_protocol::models::SymmetricKeyAttestation>,
) -> Vec<Secret> {
    attestation
        .into_iter()
        .flat_map(|s| [s.primary_key.as_deref(), s.secondary_key.as_deref()])
        .flatten()
        .map(Secret::from)
        .collect()
}

#[derive(Clone, Copy)]
enum Slots {
    Client,
    Signing,
}

/// The certificates of an X.509 attestation's client or signing slots, parsed.
fn x509_certs(x509: Option<&X509Attestation>, slots: Slots) -> Vec<Cert> {
    let Some(x509) = x509 else {
        return Vec::new();
    };
    let set = match slots {
        Slots::Client => x509.client_certificates.as_ref(),
        Slots::Signing => x509.signing_certificates.as_ref(),
    };
    set.into_iter()
        .flat_map(|s| [s.primary.as_ref(), s.secondary.as_ref()])
        .flatten()
        .filter_map(|c| parse_text(c.certificate.as_deref()))
        .collect()
}

fn ca_references(x509: Option<&X509Attestation>) -> Vec<&str> {
    x509.and_then(|x| x.ca_references.as_ref())
        .into_iter()
        .flat_map(|r| [r.primary.as_deref(), r.secondary.as_deref()])
        .flatten()
        .collect()
}
