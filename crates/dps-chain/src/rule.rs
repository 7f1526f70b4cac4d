//! The device chain rule, as the service applies it: the certificates the device presents
//! (leaf first) must reach, by themselves, a certificate verified by proof of possession, and
//! pass through the enrollment group's certificate on the way (or end at it, when the group's
//! certificate is itself the verified CA). A certificate stored only in the group never fills
//! a gap in what the device sent.
//!
//! rustls-webpki decides acceptance, with the verified CAs as the only trust anchors and the
//! presented certificates as the only intermediates; when it refuses, a walk over the same
//! certificates gives the refusal its typed reason (which link, which rule).

use crate::cert::Cert;
use crate::error::{ChainError, Role};
use crate::select::issuer_path;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage};

/// What the DPS holds besides the device's chain.
#[derive(Debug, Clone, Copy)]
pub struct Trust<'a> {
    /// CA certificates verified by proof of possession, expired ones included (the rule names
    /// an expired one rather than pretending it does not exist).
    pub verified: &'a [Cert],
    /// CA certificates uploaded but not verified, with their DPS names: used only to explain a
    /// refusal, never to complete a chain.
    pub unverified: &'a [(String, Cert)],
}

/// A chain the rule accepts.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The verified CA the chain reaches.
    pub verified_ca: Cert,
    /// How many presented certificates the path uses (1 = the leaf alone).
    pub path_len: usize,
}

/// The validity period of one certificate at `now`.
pub fn check_validity(cert: &Cert, role: Role, now: OffsetDateTime) -> Result<(), ChainError> {
    if now < cert.not_before() {
        return Err(ChainError::NotYetValid {
            role,
            subject: cert.subject().to_owned(),
            not_before: cert.not_before(),
            now,
        });
    }
    if now > cert.not_after() {
        return Err(ChainError::Expired {
            role,
            subject: cert.subject().to_owned(),
            not_after: cert.not_after(),
            now,
        });
    }
    Ok(())
}

/// The role of the i-th presented certificate.
pub fn presented_role(i: usize) -> Role {
    if i == 0 {
        Role::Device
    } else {
        Role::Intermediate(i)
    }
}

/// The registration id must be the leaf's common name (compared without regard to case, as
/// the service does), and that common name at most
/// [`MAX_COMMON_NAME_LEN`](dps_protocol::id::MAX_COMMON_NAME_LEN) characters (X.520
/// `ub-common-name`), however it is encoded.
pub fn check_identity(leaf: &Cert, registration_id: &str) -> Result<(), ChainError> {
    if let Some(cn) = leaf.common_name() {
        let len = cn.chars().count();
        let max = dps_protocol::id::MAX_COMMON_NAME_LEN;
        if len > max {
            return Err(ChainError::CommonNameTooLong {
                common_name: cn.to_owned(),
                len,
                max,
            });
        }
    }
    match leaf.common_name() {
        Some(cn) if dps_protocol::same_registration_id(cn, registration_id) => Ok(()),
        cn => Err(ChainError::CommonNameMismatch {
            registration_id: registration_id.to_owned(),
            common_name: cn.map(str::to_owned),
        }),
    }
}

/// The leaf is an end-entity certificate: DPS refuses a CA certificate (basicConstraints
/// CA:TRUE) as a device certificate. [`verify_group_chain`] applies the same rule; this lets a
/// front end check it without a group.
pub fn check_end_entity(leaf: &Cert) -> Result<(), ChainError> {
    if leaf.is_ca() {
        return Err(ChainError::LeafIsCa {
            subject: leaf.subject().to_owned(),
        });
    }
    Ok(())
}

/// The leaf may be used for TLS client authentication: when it restricts its usage
/// (extendedKeyUsage), clientAuth (or anyExtendedKeyUsage) must be among them.
pub fn check_client_auth(leaf: &Cert) -> Result<(), ChainError> {
    if leaf.client_auth() == Some(false) {
        return Err(ChainError::LeafNotClientAuth {
            subject: leaf.subject().to_owned(),
        });
    }
    Ok(())
}

/// The private key whose public half is `public_key` belongs to `leaf`.
pub fn check_key(leaf: &Cert, public_key: &[u8]) -> Result<(), ChainError> {
    if leaf.public_key() != public_key {
        return Err(ChainError::KeyMismatch {
            subject: leaf.subject().to_owned(),
        });
    }
    Ok(())
}

/// An individually enrolled X.509 device: its leaf must be one of the enrollment's
/// certificates, within its validity, allowed client authentication.
pub fn check_individual(
    leaf: &Cert,
    enrolled: &[Cert],
    registration_id: &str,
    now: OffsetDateTime,
) -> Result<(), ChainError> {
    if !enrolled.iter().any(|c| c == leaf) {
        return Err(ChainError::NotEnrolledCertificate {
            registration_id: registration_id.to_owned(),
            sha256: leaf.thumbprints().sha256.clone(),
        });
    }
    check_validity(leaf, Role::Device, now)?;
    check_client_auth(leaf)
}

/// The refusal when no enrollment group's certificate is on the presented chain.
pub fn no_enrollment_group(presented: &[Cert], registration_id: &str) -> ChainError {
    let path = issuer_path(presented);
    let sent = path
        .iter()
        .map(|&i| presented[i].subject().to_owned())
        .collect();
    let unsent_issuer = path
        .last()
        .map(|&i| &presented[i])
        .filter(|top| !top.self_issued())
        .map(|top| top.issuer().to_owned());
    ChainError::NoEnrollmentGroup {
        registration_id: registration_id.to_owned(),
        sent,
        unsent_issuer,
    }
}

/// The device chain rule for an enrollment group whose certificate is `group` (see the module
/// documentation). `presented` is what the device sent, leaf first, in any order after it.
///
/// rustls-webpki decides: it searches every path (backtracking over cross-signed and re-keyed
/// CAs) from the leaf through the presented certificates to a verified CA within its validity,
/// and accepts only a path that contains the group's certificate. When it finds none, the walk
/// in `explain` names the failing link.
pub fn verify_group_chain(
    presented: &[Cert],
    group: &Cert,
    trust: Trust<'_>,
    now: OffsetDateTime,
) -> Result<Accepted, ChainError> {
    let leaf = presented.first().ok_or(ChainError::NoCertificate)?;
    for (i, c) in presented.iter().enumerate() {
        check_validity(c, presented_role(i), now)?;
    }
    check_end_entity(leaf)?;
    check_client_auth(leaf)?;
    let valid: Vec<&Cert> = trust.verified.iter().filter(|v| v.valid_at(now)).collect();
    match webpki_path(presented, group, &valid, now) {
        Ok((anchor, path_len)) => Ok(Accepted {
            verified_ca: valid[anchor].clone(),
            path_len,
        }),
        Err(reason) => Err(explain(presented, group, trust, &valid)
            .unwrap_or_else(|| rejected(reason, presented, group, now))),
    }
}

/// rustls-webpki's refusal as a [`ChainError`]: a validity error names its certificate (found
/// by the time webpki reports) as [`ChainError::Expired`] or [`ChainError::NotYetValid`];
/// anything else is [`ChainError::Rejected`], which words it.
fn rejected(
    reason: webpki::Error,
    presented: &[Cert],
    group: &Cert,
    now: OffsetDateTime,
) -> ChainError {
    let secs = |t: &UnixTime| i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    let find = |at: i64, of: fn(&Cert) -> OffsetDateTime| {
        presented
            .iter()
            .enumerate()
            .map(|(i, c)| (presented_role(i), c))
            .chain(std::iter::once((Role::GroupCertificate, group)))
            .find(|(_, c)| of(c).unix_timestamp() == at)
    };
    match &reason {
        webpki::Error::CertExpired { not_after, .. } => {
            if let Some((role, c)) = find(secs(not_after), Cert::not_after) {
                return ChainError::Expired {
                    role,
                    subject: c.subject().to_owned(),
                    not_after: c.not_after(),
                    now,
                };
            }
        }
        webpki::Error::CertNotValidYet { not_before, .. } => {
            if let Some((role, c)) = find(secs(not_before), Cert::not_before) {
                return ChainError::NotYetValid {
                    role,
                    subject: c.subject().to_owned(),
                    not_before: c.not_before(),
                    now,
                };
            }
        }
        _ => {}
    }
    ChainError::Rejected {
        group: group.subject().to_owned(),
        reason,
    }
}

/// Why no path was found: walks up from the leaf through what the device sent, by name and
/// signature, and names the first failing link. `None` when the walk reaches a verified CA
/// through the group's certificate, i.e. the structure is fine and rustls-webpki refused for
/// another reason (an algorithm, a key size, a constraint).
fn explain(
    presented: &[Cert],
    group: &Cert,
    trust: Trust<'_>,
    valid: &[&Cert],
) -> Option<ChainError> {
    let mut path = vec![0usize];
    let anchor: &Cert = loop {
        let cur = &presented[path[path.len() - 1]];
        if path.len() > 1
            && let Some(v) = valid.iter().find(|v| v.same_ca(cur))
        {
            break v;
        }
        if let Some(v) = valid.iter().find(|v| cur.issued_by(v)) {
            break v;
        }
        if cur.self_issued() {
            if let Some(v) = trust.verified.iter().find(|v| v.same_ca(cur)) {
                return Some(expired(v));
            }
            return Some(not_verified(group, cur, trust, None));
        }
        let unused = |i: &usize| !path.contains(i);
        // The signer by name and signature first; a same-name certificate that did not sign
        // it (a stale copy of a re-keyed CA, an impostor) only when nothing else is there.
        let signer = (0..presented.len()).find(|i| unused(i) && cur.issued_by(&presented[*i]));
        match signer {
            Some(i) => {
                let p = &presented[i];
                if !p.is_ca() {
                    return Some(ChainError::IssuerNotCa {
                        subject: cur.subject().to_owned(),
                        issuer: p.subject().to_owned(),
                    });
                }
                path.push(i);
            }
            None => {
                if let Some(p) = presented
                    .iter()
                    .enumerate()
                    .find(|(i, p)| unused(i) && cur.names_issuer(p))
                    .map(|(_, p)| p)
                {
                    return Some(ChainError::NotSignedBy {
                        subject: cur.subject().to_owned(),
                        issuer: p.subject().to_owned(),
                    });
                }
                return Some(gap(cur, group, trust, valid));
            }
        }
    };
    let through_group =
        path.iter().skip(1).any(|&i| presented[i].same_ca(group)) || anchor.same_ca(group);
    (!through_group).then(|| ChainError::GroupNotOnPath {
        group: group.subject().to_owned(),
        verified: anchor.subject().to_owned(),
    })
}

fn expired(v: &Cert) -> ChainError {
    ChainError::VerifiedCaExpired {
        subject: v.subject().to_owned(),
        not_after: v.not_after(),
    }
}

fn not_verified(group: &Cert, top: &Cert, trust: Trust<'_>, upload: Option<&str>) -> ChainError {
    let upload = upload.or_else(|| {
        trust
            .unverified
            .iter()
            .find(|(_, u)| u.same_ca(top) || top.issued_by(u))
            .map(|(n, _)| n.as_str())
    });
    // A root named like a verified CA but with another key, and not uploaded: the CA was
    // re-created (an uploaded copy only needs its proof of possession, said below).
    if upload.is_none()
        && top.self_issued()
        && let Some(v) = trust
            .verified
            .iter()
            .find(|v| v.same_subject(top) && !v.same_ca(top))
    {
        return ChainError::VerifiedCaReplaced {
            subject: top.subject().to_owned(),
            verified_sha256: v.thumbprints().sha256.clone(),
            presented_sha256: top.thumbprints().sha256.clone(),
        };
    }
    ChainError::NotVerified {
        group: group.subject().to_owned(),
        top: top.subject().to_owned(),
        verified_exist: !trust.verified.is_empty(),
        unverified_upload: upload.map(str::to_owned),
    }
}

/// Why the chain stops at `cur`, whose issuer the device did not send and is not a verified
/// CA: the device left out a certificate that leads to a verified CA, or nothing leads there.
fn gap(cur: &Cert, group: &Cert, trust: Trust<'_>, valid: &[&Cert]) -> ChainError {
    if let Some(v) = valid.iter().find(|v| cur.names_issuer(v)) {
        return ChainError::NotSignedBy {
            subject: cur.subject().to_owned(),
            issuer: v.subject().to_owned(),
        };
    }
    if let Some(v) = trust.verified.iter().find(|v| cur.issued_by(v)) {
        return expired(v);
    }
    // Certificates the DPS knows but the device did not send: they explain the gap only.
    let pool: Vec<(&Cert, Option<&str>)> = std::iter::once((group, None))
        .chain(trust.unverified.iter().map(|(n, c)| (c, Some(n.as_str()))))
        .collect();
    let Some(&(missing, missing_name)) = pool.iter().find(|(k, _)| cur.issued_by(k)) else {
        return not_verified(group, cur, trust, None);
    };
    let mut at = missing;
    let mut upload = missing_name;
    for _ in 0..8 {
        if let Some(v) = valid.iter().find(|v| v.same_ca(at) || at.issued_by(v)) {
            return ChainError::MissingIntermediate {
                last: cur.subject().to_owned(),
                missing: missing.subject().to_owned(),
                verified: v.subject().to_owned(),
            };
        }
        if let Some(v) = trust
            .verified
            .iter()
            .find(|v| v.same_ca(at) || at.issued_by(v))
        {
            return expired(v);
        }
        if at.self_issued() {
            break;
        }
        match pool.iter().find(|(k, _)| *k != at && at.issued_by(k)) {
            Some(&(k, name)) => {
                at = k;
                upload = upload.or(name);
            }
            None => break,
        }
    }
    not_verified(group, cur, trust, upload)
}

/// rustls-webpki over the same inputs: the verified CAs are the only anchors, the presented
/// certificates the only intermediates, and the path must contain the group's certificate.
/// Returns the index (in `valid`) of the anchor reached and the number of certificates of the
/// device on the path.
fn webpki_path(
    presented: &[Cert],
    group: &Cert,
    valid: &[&Cert],
    now: OffsetDateTime,
) -> Result<(usize, usize), webpki::Error> {
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let ee = EndEntityCert::try_from(presented[0].der())?;
    let anchors: Vec<(usize, TrustAnchor<'_>)> = valid
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            webpki::anchor_from_trusted_cert(v.der())
                .ok()
                .map(|a| (i, a))
        })
        .collect();
    let only_anchors: Vec<TrustAnchor<'_>> = anchors.iter().map(|(_, a)| a.clone()).collect();
    let intermediates: Vec<CertificateDer<'_>> =
        presented[1..].iter().map(|c| c.der().clone()).collect();
    let group_ders: Vec<&[u8]> = presented
        .iter()
        .filter(|c| c.same_ca(group))
        .map(|c| c.der().as_ref())
        .collect();
    let group_anchor = webpki::anchor_from_trusted_cert(group.der()).ok();
    let same = |a: &TrustAnchor<'_>, b: &TrustAnchor<'_>| {
        a.subject == b.subject && a.subject_public_key_info == b.subject_public_key_info
    };
    let must_contain = |p: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let in_path = p
            .intermediate_certificates()
            .any(|c| group_ders.contains(&c.der().as_ref()));
        let is_anchor = group_anchor.as_ref().is_some_and(|g| same(g, p.anchor()));
        if in_path || is_anchor {
            Ok(())
        } else {
            Err(webpki::Error::UnknownIssuer)
        }
    };
    let path = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &only_anchors,
        &intermediates,
        time,
        KeyUsage::client_auth(),
        None,
        Some(&must_contain),
    )?;
    let anchor = anchors
        .iter()
        .find(|(_, a)| same(a, path.anchor()))
        .map_or(0, |(i, _)| *i);
    Ok((anchor, path.intermediate_certificates().count() + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};

    fn cert(cn: &str, profile: Profile, days: u32) -> Cert {
        let spec = CertSpec {
            common_name: cn,
            profile,
            algorithm: KeyAlgorithm::EcdsaP256,
            days,
        };
        let c = Credential::self_signed(&spec).expect("certificate");
        Cert::parse(c.der()).expect("parses")
    }

    fn unix(t: OffsetDateTime) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(t.unix_timestamp()).expect("after 1970"),
        ))
    }

    #[test]
    fn a_webpki_validity_refusal_names_its_certificate() {
        let leaf = cert("device-1", Profile::Leaf, 30);
        let group = cert("Group CA", Profile::RootCa, 20);
        let now = leaf.not_after() + time::Duration::days(1);
        let expired = webpki::Error::CertExpired {
            time: unix(now),
            not_after: unix(group.not_after() + time::Duration::days(2)),
        };
        // No certificate ends then: the refusal is worded, without webpki's Debug text.
        let e = rejected(expired, std::slice::from_ref(&leaf), &group, now);
        let text = e.to_string();
        assert!(matches!(e, ChainError::Rejected { .. }), "{e:?}");
        assert!(text.contains("expired on 20"), "{text}");
        assert!(!text.contains("UnixTime") && !text.contains("{ "), "{text}");
        // The group's certificate ends then: it is named.
        let expired = webpki::Error::CertExpired {
            time: unix(now),
            not_after: unix(group.not_after()),
        };
        let e = rejected(expired, std::slice::from_ref(&leaf), &group, now);
        assert!(
            matches!(
                &e,
                ChainError::Expired { role: Role::GroupCertificate, subject, .. } if subject == "CN=Group CA"
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "the enrolled group certificate CN=Group CA expired on {}",
                crate::rfc3339(group.not_after())
            )
        );
    }

    #[test]
    fn every_webpki_refusal_is_worded() {
        for reason in [
            webpki::Error::CaUsedAsEndEntity,
            webpki::Error::UnknownIssuer,
            webpki::Error::BadDer,
            webpki::Error::PathLenConstraintViolated,
            webpki::Error::CertRevoked,
        ] {
            let e = ChainError::Rejected {
                group: "CN=Group".into(),
                reason,
            };
            let text = e.to_string();
            assert!(
                !text.contains("CaUsedAsEndEntity") && !text.contains("UnknownIssuer"),
                "{text}"
            );
            assert!(std::error::Error::source(&e).is_none());
        }
    }
}
