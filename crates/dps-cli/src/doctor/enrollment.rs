//! Which enrollment would match the device: the service's ranking (an individual enrollment
//! first, then the group whose certificate sits closest to the leaf), and whether the matching
//! enrollment is enabled.

use super::cert::Cert;
use super::chain::describe_chain;
use super::checks::{GroupCandidate, GroupCert, Individual, Inputs, Out};

/// How close a group's certificate sits to the leaf, as the service ranks groups: `i` when it
/// is the i-th presented certificate (1 = first intermediate), `n` when it issued the last
/// presented certificate, `None` when it is not on the chain.
fn distance(chain: &[Cert], g: &GroupCert) -> Option<usize> {
    let top = chain.last()?;
    match g {
        GroupCert::Known(gc) => {
            if let Some(i) = chain.iter().skip(1).position(|c| c.der == gc.der) {
                return Some(i + 1);
            }
            (top.names_issuer(gc) && !top.self_issued()).then_some(chain.len())
        }
        GroupCert::Info {
            subject, sha256, ..
        } => {
            if let Some(i) = chain
                .iter()
                .skip(1)
                .position(|c| c.thumbprints.sha256.eq_ignore_ascii_case(sha256))
            {
                return Some(i + 1);
            }
            (top.issuer_is(subject) && !top.self_issued()).then_some(chain.len())
        }
    }
}

/// The group the service would pick: the smallest distance, the first on a tie.
pub(super) fn best_group(inp: &Inputs, chain: &[Cert]) -> Option<(GroupCandidate, usize)> {
    let mut best: Option<(GroupCandidate, usize)> = None;
    for g in inp.groups.iter().flatten() {
        if let Some(d) = distance(chain, &g.cert)
            && best.as_ref().is_none_or(|(_, bd)| d < *bd)
        {
            best = Some((g.clone(), d));
        }
    }
    best
}

fn ordinal(i: usize) -> String {
    match i {
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        n => format!("{n}th"),
    }
}

pub(super) fn enrollment(
    out: &mut Out,
    inp: &Inputs,
    chain: &[Cert],
    best: Option<&(GroupCandidate, usize)>,
) {
    let top = &chain[chain.len() - 1];
    let Some(groups) = &inp.groups else {
        out.warn(
            "enrollment",
            "not checked: no enrollment group given".into(),
            Some(
                "pass --group-cert CA.pem, or --group-id ID with --connection-string or --emulator"
                    .into(),
            ),
        );
        return;
    };
    if groups.is_empty() {
        out.fail(
            "enrollment",
            format!(
                "no X.509 enrollment group to match and no individual enrollment for {:?} (401002)",
                chain[0].common_name.as_deref().unwrap_or_default()
            ),
            format!(
                "create an enrollment group on the CA that issued the device ({}): dps-cli \
                 enrollment-group create --group-id <id> --certificate <ca.pem>",
                chain[0].issuer
            ),
        );
        return;
    }
    let Some((g, d)) = best else {
        let complete = top.is_root();
        let listed = groups
            .iter()
            .map(|g| format!("{}: {}", g.label, g.cert.subject()))
            .collect::<Vec<_>>()
            .join("; ");
        out.fail(
            "enrollment",
            format!(
                "no enrollment group's certificate is on the chain the device sends ({}); groups: \
                 {listed} (401002)",
                describe_chain(chain)
            ),
            if complete {
                format!(
                    "enroll a CA of this chain (the device's issuer is {}): dps-cli enrollment-group \
                     create --group-id <id> --certificate <ca.pem>; or issue the device from the \
                     enrolled CA",
                    chain[0].issuer
                )
            } else {
                format!(
                    "send the full chain first (see chain-complete); if the group's CA is not an \
                     ancestor of {}, enroll the CA that issued it or issue the device from the \
                     enrolled CA",
                    chain[0].subject
                )
            },
        );
        return;
    };
    if let GroupCert::Known(gc) = &g.cert
        && *d == chain.len()
        && !top.signed_by(gc)
    {
        out.fail(
            "enrollment",
            format!(
                "{} names the group's certificate {} as its issuer, but that certificate's key did \
                 not sign it (the CA was re-created?) (401002)",
                top.subject, gc.subject
            ),
            "enroll the CA certificate that actually issued the chain, or re-issue the device \
             from the enrolled CA"
                .into(),
        );
        return;
    }
    let position = if *d < chain.len() {
        format!("is the {} intermediate the device sends", ordinal(*d))
    } else if chain.len() == 1 {
        "issued the device certificate".to_owned()
    } else {
        format!(
            "issued {}, the last certificate the device sends",
            top.subject
        )
    };
    out.ok(
        "enrollment",
        format!(
            "{} matches: its certificate {} {position}",
            g.label,
            g.cert.subject()
        ),
    );
    if !g.enabled {
        let id = g.group_id.as_deref().unwrap_or("<id>");
        out.fail(
            "group-status",
            format!(
                "the enrollment group {id:?} is disabled: the device would get status \"disabled\""
            ),
            format!(
                "enable it: dps-cli enrollment-group update --group-id {id} --provisioning-status enabled"
            ),
        );
    } else if g.group_id.is_some() {
        out.ok("group-status", "the enrollment group is enabled".into());
    }
}

pub(super) fn individual(out: &mut Out, ind: &Individual, leaf: &Cert) {
    let id = &ind.registration_id;
    if ind.attestation != "x509" {
        out.fail(
            "enrollment",
            format!(
                "the individual enrollment {id:?} uses {} attestation; it takes precedence over \
                 every group, so this X.509 device is refused (401002)",
                ind.attestation
            ),
            format!(
                "delete the individual enrollment (dps-cli enrollment delete --registration-id {id}) \
                 to let a group match, or give the device that attestation"
            ),
        );
        return;
    }
    if !ind
        .thumbprints
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&leaf.thumbprints.sha256))
    {
        out.fail(
            "enrollment",
            format!(
                "the individual enrollment {id:?} takes precedence over every group but holds a \
                 different certificate than {} (SHA-256 {}) (401002)",
                leaf.subject, leaf.thumbprints.sha256
            ),
            format!(
                "update the enrollment with this certificate (dps-cli enrollment update \
                 --registration-id {id} --certificate <device.pem>), or delete it to let a group match"
            ),
        );
        return;
    }
    out.ok(
        "enrollment",
        format!(
            "the individual enrollment {id:?} holds this certificate (individual enrollments take \
             precedence over groups)"
        ),
    );
    if ind.enabled {
        out.ok("enrollment-status", "the enrollment is enabled".into());
    } else {
        out.fail(
            "enrollment-status",
            format!("the individual enrollment {id:?} is disabled: the device would get status \"disabled\""),
            format!(
                "enable it: dps-cli enrollment update --registration-id {id} --provisioning-status enabled"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(4), "4th");
    }
}
