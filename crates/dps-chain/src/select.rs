//! Which enrollment group a presented chain belongs to. The service walks the device's chain
//! from the leaf up and applies the first enrollment group it finds (the nearest to the leaf);
//! see ARCHITECTURE.md for the documented rule.

use crate::cert::Cert;

/// The presented certificates along the issuer path from the leaf (by name and signature),
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
        let next = (0..presented.len()).find(|&i| !used[i] && cur.issued_by(&presented[i]));
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
pub fn position(presented: &[Cert], path: &[usize], group: GroupKey<'_>) -> Option<usize> {
    let on_path = path.iter().skip(1).position(|&i| match group {
        GroupKey::Cert(g) => presented[i].same_ca(g),
        GroupKey::Summary { sha256, .. } => presented[i]
            .thumbprints()
            .sha256
            .eq_ignore_ascii_case(sha256),
    });
    if let Some(i) = on_path {
        return Some(i + 1);
    }
    let top = &presented[*path.last()?];
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
        if let Some(p) = position(presented, &path, g)
            && best.is_none_or(|(_, bp)| p < bp)
        {
            best = Some((i, p));
        }
    }
    best
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
