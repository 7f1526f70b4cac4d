//! Which enrollment applies to the device, as the service decides: an individual enrollment
//! first ([`dps_chain::check_individual`]), else the group whose certificate sits nearest to
//! the leaf ([`dps_chain::decide`], over the same candidates the emulator uses: signing
//! certificates and verified CA references; a disabled nearest group refuses the device, it
//! does not fall through to a farther one).

use super::checks::{GroupCandidate, Individual, Inputs, Out};
use super::render::FixContext;
use crate::context::shell_word;
use dps_chain::{
    Candidate, Cert, check_individual, decide, issuer_path, no_group, unverified_reference,
};

fn ordinal(i: usize) -> String {
    match i {
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        n => format!("{n}th"),
    }
}

/// Where the chosen group's certificate sits, in words.
fn placement(chain: &[Cert], position: usize) -> String {
    let path = issuer_path(chain);
    if position < path.len() {
        format!(
            "is the {} certificate above the device's in the chain it sends",
            ordinal(position)
        )
    } else if path.len() == 1 {
        "issued the device certificate".to_owned()
    } else {
        let top = path.last().map_or("", |&i| chain[i].subject());
        format!("issued {top}, the last certificate of the device's chain")
    }
}

/// The group the service applies to the device, if any, with the `enrollment` and
/// `group-status` findings: its certificates at the decisive position (one, or both of a
/// rollover), empty when no group applies.
pub(super) fn choose_group(
    out: &mut Out,
    inp: &Inputs,
    chain: &[Cert],
    ctx: &FixContext<'_>,
) -> Vec<GroupCandidate> {
    let Some(groups) = &inp.groups else {
        out.warn(
            "enrollment",
            "not checked: no enrollment group given".into(),
            Some(
                "pass --group-cert CA.pem, or --group-id ID with --connection-string or --emulator"
                    .into(),
            ),
        );
        return Vec::new();
    };
    // A reference to an unverified CA matches nothing; it only explains a refusal.
    let counts = |g: &GroupCandidate| g.reference.as_ref().is_none_or(|r| r.verified);
    let usable: Vec<usize> = (0..groups.len()).filter(|&i| counts(&groups[i])).collect();
    // Candidates of one group share its id (a --group-cert has none: it is its own group).
    let group_of = |i: usize| {
        groups[i]
            .group_id
            .as_ref()
            .and_then(|id| groups.iter().position(|g| g.group_id.as_ref() == Some(id)))
            .unwrap_or(i)
    };
    let candidates: Vec<Candidate<'_>> = usable
        .iter()
        .map(|&i| Candidate {
            group: group_of(i),
            key: groups[i].cert.key(),
        })
        .collect();
    let Some(decision) = decide(chain, &candidates) else {
        let references = groups.iter().filter(|g| !counts(g)).filter_map(|g| {
            match (&g.cert, &g.reference, &g.group_id) {
                (super::checks::GroupCert::Known(c), Some(r), Some(id)) => {
                    Some((id.as_str(), r.name.as_str(), c.as_ref()))
                }
                _ => None,
            }
        });
        let e = unverified_reference(chain, references)
            .unwrap_or_else(|| no_group(chain, &candidates, &inp.registration_id_or(&chain[0])));
        out.refusal(&e, ctx);
        return Vec::new();
    };
    let position = decision.position;
    let chosen: Vec<GroupCandidate> = decision
        .candidates
        .iter()
        .map(|&c| groups[usable[c]].clone())
        .collect();
    let Some(g) = chosen.first() else {
        return Vec::new();
    };
    out.ok(
        "enrollment",
        format!(
            "{} matches: its certificate {} {}",
            g.label,
            g.cert.subject(),
            placement(chain, position)
        ),
    );
    if let (false, Some(id)) = (g.enabled, g.group_id.as_deref()) {
        out.fail(
            "group-status",
            format!(
                "the enrollment group {id:?} is disabled: the device would get status \"disabled\" \
                 (a disabled group nearest to the device refuses it; a group farther up the chain \
                 does not take over)"
            ),
            format!(
                "enable it: {}",
                ctx.cmd(format_args!(
                    "enrollment-group update --group-id {} --provisioning-status enabled",
                    shell_word(id)
                ))
            ),
        );
    } else if g.group_id.is_some() {
        out.ok("group-status", "the enrollment group is enabled".into());
    }
    chosen
}

/// The individual enrollment for the device's registration id, which takes precedence over
/// every group.
pub(super) fn individual(
    out: &mut Out,
    inp: &Inputs,
    ind: &Individual,
    leaf: &Cert,
    ctx: &FixContext<'_>,
) {
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
                "delete the individual enrollment to let a group match: {}; or give the device \
                 that attestation",
                ctx.cmd(format_args!(
                    "enrollment delete --registration-id {}",
                    shell_word(id)
                ))
            ),
        );
        return;
    }
    // The service does not return enrolled certificates, only their thumbprints: one that
    // matches the leaf's is the leaf.
    let mut enrolled = ind.certificates.clone();
    if ind
        .thumbprints
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&leaf.thumbprints().sha256))
    {
        enrolled.push(leaf.clone());
    }
    if let Err(e) = check_individual(leaf, &enrolled, id, inp.now) {
        out.refusal(&e, ctx);
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
                "enable it: {}",
                ctx.cmd(format_args!(
                    "enrollment update --registration-id {} --provisioning-status enabled",
                    shell_word(id)
                ))
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
