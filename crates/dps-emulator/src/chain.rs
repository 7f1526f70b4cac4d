//! X.509 chain rules of device registration: which enrollment group a presented chain belongs
//! to, and whether it is good enough — the chain must lead, by signature, from the leaf through
//! the presented intermediates to the group's certificate and on to an uploaded, verified CA,
//! with every certificate inside its validity period and the leaf allowed client authentication.
//!
//! rustls-webpki refuses a CA certificate as an end entity, so the verified CAs are the trust
//! anchors, the group's certificate and the presented intermediates are intermediates, and the
//! verified path is then required to contain the group's certificate.

use rustls::pki_types::TrustAnchor;
use rustls::pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The subject DN of a certificate, for messages.
pub(crate) fn subject(der: &[u8]) -> String {
    X509Certificate::from_der(der).map_or_else(
        |_| "<unparseable certificate>".into(),
        |(_, c)| c.subject().to_string(),
    )
}

/// The issuer DN of a certificate, for messages.
pub(crate) fn issuer(der: &[u8]) -> Option<String> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, c)| c.issuer().to_string())
}

/// The subject common name of a certificate.
pub(crate) fn common_name(der: &[u8]) -> Option<String> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let cn = c
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(cn)
}

/// How close a group's certificate sits to the leaf of a presented chain: `Some(i)` when it is
/// the i-th presented certificate (1 = first intermediate), `Some(n + 1)` when it issued the
/// last presented certificate, `None` when it is not on the chain at all.
pub(crate) fn distance(presented: &[CertificateDer<'_>], group_cert: &[u8]) -> Option<usize> {
    let path = issuer_path(presented);
    if let Some(i) = path.iter().skip(1).position(|c| c.as_ref() == group_cert) {
        return Some(i + 1);
    }
    let top = path.last()?;
    let (_, top) = X509Certificate::from_der(top).ok()?;
    let (_, group) = X509Certificate::from_der(group_cert).ok()?;
    (top.issuer().as_raw() == group.subject().as_raw()
        && top.subject().as_raw() != top.issuer().as_raw())
    .then_some(path.len())
}

/// The presented certificates along the issuer path from the leaf, whatever order the device
/// sent them in; certificates off the path are left out.
fn issuer_path<'a>(presented: &'a [CertificateDer<'a>]) -> Vec<&'a CertificateDer<'a>> {
    let parsed: Vec<_> = presented
        .iter()
        .map(|c| X509Certificate::from_der(c).ok().map(|(_, x)| x))
        .collect();
    let mut path = Vec::new();
    let mut used = vec![false; presented.len()];
    let mut current = 0;
    loop {
        path.push(&presented[current]);
        used[current] = true;
        let Some(Some(cur)) = parsed.get(current) else {
            break;
        };
        if cur.issuer().as_raw() == cur.subject().as_raw() {
            break;
        }
        let next = (0..presented.len()).find(|&i| {
            !used[i]
                && parsed[i]
                    .as_ref()
                    .is_some_and(|p| p.subject().as_raw() == cur.issuer().as_raw())
        });
        match next {
            Some(i) => current = i,
            None => break,
        }
    }
    path
}

/// Verifies that `presented` (leaf first) leads to `group_cert` and on to one of
/// `verified_cas`. The error names the failing link and the fix.
pub(crate) fn verify(
    presented: &[CertificateDer<'_>],
    group_cert: &CertificateDer<'_>,
    verified_cas: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<(), String> {
    let leaf = presented
        .first()
        .ok_or("the device sent no client certificate")?;
    check_validity(presented, now)?;
    // The group's certificate need not be presented, but when it has expired the refusal
    // must say so rather than come out of the verified-CA step as "not verified".
    if !presented.iter().any(|c| c == group_cert) {
        check_one(group_cert, "enrolled group certificate", now)?;
    }
    let ee = EndEntityCert::try_from(leaf).map_err(|e| {
        format!(
            "the device certificate {} cannot be used: {e:?}",
            subject(leaf)
        )
    })?;
    let mut intermediates: Vec<CertificateDer<'_>> = presented[1..].to_vec();
    if !intermediates.iter().any(|c| c == group_cert) {
        intermediates.push(group_cert.clone());
    }
    // First: does the presented chain reach the group's certificate at all?
    let group_anchor = webpki::anchor_from_trusted_cert(group_cert)
        .map_err(|e| format!("the group's certificate is unusable: {e:?}"))?;
    let reach = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        std::slice::from_ref(&group_anchor),
        &presented[1..],
        now,
        KeyUsage::client_auth(),
        None,
        None,
    );
    if let Err(e) = reach {
        return Err(match e {
            webpki::Error::RequiredEkuNotFoundContext(_) => format!(
                "the device certificate {} does not allow TLS client authentication (extendedKeyUsage clientAuth)",
                subject(leaf)
            ),
            _ => format!(
                "the certificate chain sent by the device ({}) does not lead to the group's certificate {}: {e:?}; \
                 the device must send its leaf and every intermediate up to the enrolled CA",
                presented
                    .iter()
                    .map(|c| subject(c))
                    .collect::<Vec<_>>()
                    .join(" <- "),
                subject(group_cert)
            ),
        });
    }
    // Then: does the group's certificate roll up to a verified CA?
    if verified_cas.is_empty() {
        return Err(format!(
            "the group's certificate {} is not a verified CA certificate and no verified CA exists: upload the root \
             (or intermediate) CA and complete proof of possession",
            subject(group_cert)
        ));
    }
    let anchors: Vec<TrustAnchor<'_>> = verified_cas
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect();
    let must_contain = |path: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let in_intermediates = path
            .intermediate_certificates()
            .any(|c| c.der().as_ref() == group_cert.as_ref());
        let anchor = path.anchor();
        let is_anchor = X509Certificate::from_der(group_cert).is_ok_and(|(_, g)| {
            g.public_key().subject_public_key.data.as_ref()
                == spki_key_bits(anchor.subject_public_key_info.as_ref())
        });
        if in_intermediates || is_anchor {
            Ok(())
        } else {
            Err(webpki::Error::UnknownIssuer)
        }
    };
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        now,
        KeyUsage::client_auth(),
        None,
        Some(&must_contain),
    )
    .map(|_| ())
    .map_err(|e| {
        format!(
            "the group's certificate {} is not a verified CA certificate and does not chain to one ({e:?}): upload \
             and verify it, or the CA that issued it",
            subject(group_cert)
        )
    })
}

/// The subjectPublicKey bits inside a trust anchor's SPKI contents (AlgorithmIdentifier, BIT STRING).
fn spki_key_bits(spki_contents: &[u8]) -> &[u8] {
    // webpki stores the SPKI without its outer SEQUENCE header; parse the two inner elements.
    let mut rest = spki_contents;
    for i in 0..2 {
        let Some((tag_len, len)) = der_header(rest) else {
            return &[];
        };
        if i == 1 {
            // BIT STRING: skip the unused-bits octet.
            return rest.get(tag_len + 1..tag_len + len).unwrap_or(&[]);
        }
        rest = rest.get(tag_len + len..).unwrap_or(&[]);
    }
    &[]
}

fn der_header(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*b.get(2 + i)?);
    }
    Some((2 + n, len))
}

/// The checks an individually enrolled certificate gets: validity period and, when the
/// certificate restricts its usage, TLS client authentication.
pub(crate) fn check_leaf(leaf: &CertificateDer<'_>, now: UnixTime) -> Result<(), String> {
    check_validity(std::slice::from_ref(leaf), now)?;
    let (_, c) = X509Certificate::from_der(leaf)
        .map_err(|e| format!("the device certificate cannot be parsed: {e}"))?;
    if let Ok(Some(eku)) = c.extended_key_usage()
        && !(eku.value.client_auth || eku.value.any)
    {
        return Err(format!(
            "the device certificate {} does not allow TLS client authentication (extendedKeyUsage clientAuth)",
            c.subject()
        ));
    }
    Ok(())
}

fn check_validity(presented: &[CertificateDer<'_>], now: UnixTime) -> Result<(), String> {
    for (i, der) in presented.iter().enumerate() {
        let role = if i == 0 {
            "device certificate"
        } else {
            "intermediate certificate"
        };
        check_one(der, role, now)?;
    }
    Ok(())
}

/// The validity period of one certificate; `role` names it in the message.
pub(crate) fn check_one(der: &[u8], role: &str, now: UnixTime) -> Result<(), String> {
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let Ok((_, c)) = X509Certificate::from_der(der) else {
        return Err(format!("the {role} cannot be parsed"));
    };
    let v = c.validity();
    if now_secs < v.not_before.timestamp() {
        return Err(format!(
            "the {role} {} is not valid before {}",
            c.subject(),
            v.not_before
        ));
    }
    if now_secs > v.not_after.timestamp() {
        return Err(format!(
            "the {role} {} expired on {}",
            c.subject(),
            v.not_after
        ));
    }
    Ok(())
}
