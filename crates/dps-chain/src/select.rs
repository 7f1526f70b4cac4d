//! Which enrollment group a presented chain belongs to. The service walks the device's chain
//! from the leaf up and applies the first enrollment group it finds (the nearest to the leaf);
//! see ARCHITECTURE.md for the documented rule.

use crate::cert::Cert;
use crate::error::ChainError;

/// The presented certificates along the issuer path from the leaf (by name, and by signature
/// among certificates of the same name),
/// whatever order the device sent them in, as indices into `presented`; certificates off the
/// path are left out. Empty when nothing was presented.
pub fn issuer_path(presented: &[Cert]) -> Vec<usize> {
    let mut path = Vec::new();
    if presented.is_empty() {
        return path;
    }
    let mut used = vec![false; presented.len()];
    let mut current = 0;
    loop {
        path.push(current);
        used[current] = true;
        let cur = &presented[current];
        if cur.self_issued() {
            break;
        }
        // By name; the signature decides only between certificates of the same name (a
        // stale copy of a re-keyed CA, a rogue one), so the usual chain costs no verification.
        let named: Vec<usize> = (0..presented.len())
            .filter(|&i| !used[i] && cur.names_issuer(&presented[i]))
            .collect();
        let next = match named.as_slice() {
            [one] => Some(*one),
            _ => named
                .iter()
                .copied()
                .find(|&i| cur.signed_by(&presented[i])),
        };
        match next {
            Some(i) => current = i,
            None => break,
        }
    }
    path
}

/// A group's certificate as the matcher knows it: the certificate itself, or only the summary
/// a service returns for groups whose certificate it does not echo.
#[derive(Debug, Clone, Copy)]
pub enum GroupKey<'a> {
    /// The certificate.
    Cert(&'a Cert),
    /// The subject DN text and SHA-256 thumbprint (hex, any case) the service reported.
    Summary {
        /// Subject DN text.
        subject: &'a str,
        /// SHA-256 thumbprint.
        sha256: &'a str,
    },
}

/// How far from the leaf a group's certificate sits on the presented chain: `Some(i)` when it
/// is the i-th certificate of the issuer path (1 = the leaf's issuer), `Some(n)` for a path of
/// `n` certificates when it issued the last one, `None` when it is not on the chain.
pub fn position(presented: &[Cert], group: GroupKey<'_>) -> Option<usize> {
    position_on(presented, &issuer_path(presented), group)
}

/// [`position`] on an issuer path computed once.
fn position_on(presented: &[Cert], path: &[usize], group: GroupKey<'_>) -> Option<usize> {
    let on_path = path.iter().skip(1).position(|&i| {
        presented.get(i).is_some_and(|c| match group {
            GroupKey::Cert(g) => c.same_ca(g),
            GroupKey::Summary { sha256, .. } => c.thumbprints().sha256.eq_ignore_ascii_case(sha256),
        })
    });
    if let Some(i) = on_path {
        return Some(i + 1);
    }
    let top = presented.get(*path.last()?)?;
    if top.self_issued() {
        return None;
    }
    let issued = match group {
        GroupKey::Cert(g) => top.issued_by(g),
        GroupKey::Summary { subject, .. } => same_dn(top.issuer(), subject),
    };
    issued.then_some(path.len())
}

/// The group the service applies: the one at the smallest [`position`]; on a tie, the first
/// given. Returns its index in `groups` and its position.
pub fn nearest<'a>(
    presented: &[Cert],
    groups: impl IntoIterator<Item = GroupKey<'a>>,
) -> Option<(usize, usize)> {
    let path = issuer_path(presented);
    let mut best: Option<(usize, usize)> = None;
    for (i, g) in groups.into_iter().enumerate() {
        if let Some(p) = position_on(presented, &path, g)
            && best.is_none_or(|(_, bp)| p < bp)
        {
            best = Some((i, p));
        }
    }
    best
}

/// One certificate an enrollment group can match a device with: a signing certificate of the
/// group, or a CA certificate its `caReferences` name once that CA is verified (a reference to
/// an unverified CA matches nothing; see [`unverified_reference`]).
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Which group (an index the caller chooses, e.g. into its list of groups).
    pub group: usize,
    /// The certificate.
    pub key: GroupKey<'a>,
}

/// The enrollment group the service applies to a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The group (as given in [`Candidate::group`]).
    pub group: usize,
    /// Its position on the chain (see [`position`]).
    pub position: usize,
    /// Indices into the candidates of that group's certificates at that position (a group's
    /// primary and secondary may both be there during a rollover; either may admit).
    pub candidates: Vec<usize>,
}

/// Enrollment precedence among groups: the group whose certificate sits nearest the leaf
/// decides, the first given on a tie. The caller applies the individual enrollment first, and
/// a disabled group refuses the device rather than passing it to a farther one.
pub fn decide(presented: &[Cert], candidates: &[Candidate<'_>]) -> Option<Decision> {
    let path = issuer_path(presented);
    let positions: Vec<Option<usize>> = candidates
        .iter()
        .map(|c| position_on(presented, &path, c.key))
        .collect();
    let (first, position) = positions
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .min_by_key(|&(i, p)| (p, i))?;
    let group = candidates[first].group;
    let same = (0..candidates.len())
        .filter(|&i| candidates[i].group == group && positions[i] == Some(position))
        .collect();
    Some(Decision {
        group,
        position,
        candidates: same,
    })
}

/// The refusal when no group applies ([`decide`] found none): a chain whose last certificate
/// names a group's certificate as its issuer but was not signed by it borrowed the name (a
/// rogue or re-created CA) and is [`ChainError::NotSignedBy`]; a CA certificate of the chain
/// with a group certificate's subject but another key is [`ChainError::StaleGroupCertificate`]
/// (the CA was re-created with the same names, and the group holds the old certificate);
/// otherwise [`no_enrollment_group`](crate::no_enrollment_group).
pub fn no_group(
    presented: &[Cert],
    candidates: &[Candidate<'_>],
    registration_id: &str,
) -> ChainError {
    let path = issuer_path(presented);
    if let Some(top) = path.last().and_then(|&i| presented.get(i))
        && !top.self_issued()
        && let Some(g) = candidates.iter().find_map(|c| match c.key {
            GroupKey::Cert(g) if top.names_issuer(g) && !top.signed_by(g) => Some(g),
            _ => None,
        })
    {
        return ChainError::NotSignedBy {
            subject: top.subject().to_owned(),
            issuer: g.subject().to_owned(),
        };
    }
    if let Some(e) = stale_group_certificate(presented, &path, candidates) {
        return e;
    }
    crate::no_enrollment_group(presented, registration_id)
}

/// A certificate above the leaf on the issuer path whose subject is a group certificate's but
/// whose key (or, for a service summary, thumbprint) is not.
fn stale_group_certificate(
    presented: &[Cert],
    path: &[usize],
    candidates: &[Candidate<'_>],
) -> Option<ChainError> {
    let on_chain = path.iter().skip(1).filter_map(|&i| presented.get(i));
    for p in on_chain {
        for c in candidates {
            let enrolled = match c.key {
                GroupKey::Cert(g) if p.same_subject(g) && !p.same_ca(g) => {
                    g.thumbprints().sha256.clone()
                }
                GroupKey::Summary { subject, sha256 }
                    if same_dn(p.subject(), subject)
                        && !p.thumbprints().sha256.eq_ignore_ascii_case(sha256) =>
                {
                    sha256.to_ascii_uppercase()
                }
                _ => continue,
            };
            return Some(ChainError::StaleGroupCertificate {
                subject: p.subject().to_owned(),
                enrolled_sha256: enrolled,
                presented_sha256: p.thumbprints().sha256.clone(),
            });
        }
    }
    None
}

/// When no group applies: the first group (in the order given) whose `caReferences` names an
/// uploaded CA certificate that is on the device's chain but not verified. Items are
/// `(group id, certificate name, certificate)`.
pub fn unverified_reference<'a>(
    presented: &[Cert],
    references: impl IntoIterator<Item = (&'a str, &'a str, &'a Cert)>,
) -> Option<ChainError> {
    let path = issuer_path(presented);
    references
        .into_iter()
        .find(|(_, _, c)| position_on(presented, &path, GroupKey::Cert(c)).is_some())
        .map(|(group_id, name, c)| ChainError::UnverifiedReference {
            group_id: group_id.to_owned(),
            name: name.to_owned(),
            subject: c.subject().to_owned(),
        })
}

/// Compares two DN strings loosely (case and white space ignored), since services print DNs
/// with different spacing.
pub fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    norm(a) == norm(b)
}
