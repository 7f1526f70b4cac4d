//! Which enrollment applies to the device, as the service decides: an individual enrollment
//! first ([`dps_chain::check_individual`]), else the group whose certificate sits nearest to
//! the leaf ([`dps_chain::nearest`]; a disabled nearest group refuses the device, it does not
//! fall through to a farther one).

use super::checks::{GroupCandidate, Individual, Inputs, Out};
use super::render::FixContext;
use dps_chain::{Cert, check_individual, issuer_path, nearest, no_enrollment_group};

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
/// `group-status` findings.
pub(super) fn choose_group(
    out: &mut Out,
    inp: &Inputs,
    chain: &[Cert],
    ctx: &FixContext<'_>,
) -> Option<GroupCandidate> {
    let Some(groups) = &inp.groups else {
        out.warn(
            "enrollment",
            "not checked: no enrollment group given".into(),
            Some(
                "pass --group-cert CA.pem, or --group-id ID with --connection-string or --emulator"
                    .into(),
            ),
        );
        return None;
    };
    let Some((i, position)) = nearest(chain, groups.iter().map(|g| g.cert.key())) else {
        let e = no_enrollment_group(chain, &inp.registration_id_or(&chain[0]));
        out.refusal(&e, ctx);
        return None;
    };
    let g = &groups[i];
    out.ok(
        "enrollment",
        format!(
            "{} matches: its certificate {} {}",
            g.label,
            g.cert.subject(),
            placement(chain, position)
        ),
    );
    if !g.enabled {
        let id = g.group_id.as_deref().unwrap_or("<id>");
        out.fail(
            "group-status",
            format!(
                "the enrollment group {id:?} is disabled: the device would get status \"disabled\" \
                 (a disabled group nearest to the device refuses it; a group farther up the chain \
                 does not take over)"
            ),
            format!(
                "enable it: dps-cli enrollment-group update --group-id {id} --provisioning-status enabled"
            ),
        );
    } else if g.group_id.is_some() {
        out.ok("group-status", "the enrollment group is enabled".into());
    }
    Some(g.clone())
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
                "delete the individual enrollment (dps-cli enrollment delete --registration-id {id}) \
                 to let a group match, or give the device that attestation"
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
