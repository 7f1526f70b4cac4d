//! Which enrollment would match the device, and whether its CA is verified: the service's
//! group ranking (individual enrollment first, then the group closest to the leaf), chain
//! completeness up to the group's certificate, the verified-CA rule, and the rustls-webpki
//! verification the emulator runs.

use super::cert::Cert;
use super::checks::{GroupCandidate, GroupCert, Individual, Inputs, Out, describe_chain};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

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

fn full_chain_fix(inp: &Inputs, leaf: &Cert, missing: &str) -> String {
    let name = leaf.common_name.as_deref().unwrap_or("<name>");
    let sibling = inp
        .cert_path
        .with_file_name(format!("{name}-full-chain.cert.pem"));
    let file = if sibling.is_file() && sibling != inp.cert_path {
        sibling.display().to_string()
    } else {
        format!("certs/{name}-full-chain.cert.pem")
    };
    format!(
        "send the intermediate ({missing}) with the device certificate, leaf first: use {file} \
         (certGen layout), or add --chain <intermediate.pem>"
    )
}

pub(super) fn completeness(
    out: &mut Out,
    inp: &Inputs,
    chain: &[Cert],
    best: Option<&(GroupCandidate, usize)>,
) {
    let Some(top) = chain.last() else { return };
    if top.is_root() {
        out.ok(
            "chain-complete",
            format!("the chain ends at the root {}", top.subject),
        );
        return;
    }
    if let Some((g, _)) = best {
        out.ok(
            "chain-complete",
            format!(
                "the chain reaches the group's certificate {}",
                g.cert.subject()
            ),
        );
        return;
    }
    match &inp.groups {
        Some(groups) if !groups.is_empty() => out.fail(
            "chain-complete",
            format!(
                "the chain stops at {}, issued by {}, which the device does not send; the service \
                 needs every certificate from the device up to the enrolled CA ({}) (401002)",
                top.subject,
                top.issuer,
                groups
                    .iter()
                    .map(|g| g.cert.subject().to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            full_chain_fix(inp, &chain[0], &top.issuer),
        ),
        _ => out.warn(
            "chain-complete",
            format!(
                "the chain stops at {}, issued by {}, which the device does not send: that is \
                 enough only if an enrollment group holds {}",
                top.subject, top.issuer, top.issuer
            ),
            Some(format!(
                "pass --group-cert or --group-id to check; otherwise {}",
                full_chain_fix(inp, &chain[0], &top.issuer)
            )),
        ),
    }
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

/// The group's certificate must be a verified CA certificate or chain to one.
pub(super) fn verified(out: &mut Out, inp: &Inputs, chain: &[Cert], g: &GroupCandidate) {
    let Some(verified) = &inp.verified else {
        out.warn(
            "verified-ca",
            "not checked: nothing is known about the DPS's verified CA certificates".into(),
            Some(
                "pass --verified-ca for each verified CA certificate, or --emulator / \
                 --connection-string to read them from the service"
                    .into(),
            ),
        );
        return;
    };
    let list = if verified.is_empty() {
        "no verified CA certificate exists".to_owned()
    } else {
        format!(
            "verified: {}",
            verified
                .iter()
                .map(|v| format!("{} ({})", v.cert.subject, v.source))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match &g.cert {
        GroupCert::Known(gc) => {
            if let Some(v) = verified.iter().find(|v| {
                v.cert.der == gc.der
                    || (v.cert.subject == gc.subject && v.cert.public_key == gc.public_key)
            }) {
                out.ok(
                    "verified-ca",
                    format!(
                        "the group's certificate {} is itself a verified CA certificate ({})",
                        gc.subject, v.source
                    ),
                );
                return;
            }
            // Walk up by signature through everything known until a verified CA is reached.
            let pool: Vec<&Cert> = chain
                .iter()
                .skip(1)
                .chain(inp.unverified.iter().map(|k| &k.cert))
                .collect();
            let mut current = gc.clone();
            let mut path = vec![gc.clone()];
            for _ in 0..8 {
                if let Some(v) = verified.iter().find(|v| current.issued_by(&v.cert)) {
                    out.ok(
                        "verified-ca",
                        format!(
                            "the group's certificate {} chains to the verified CA {} ({})",
                            gc.subject, v.cert.subject, v.source
                        ),
                    );
                    return;
                }
                if current.is_root() {
                    break;
                }
                match pool
                    .iter()
                    .find(|p| p.der != current.der && current.issued_by(p))
                {
                    Some(p) => {
                        current = (*p).clone();
                        path.push(current.clone());
                    }
                    None => break,
                }
            }
            let fix = match path.iter().find_map(|c| {
                inp.unverified
                    .iter()
                    .find(|u| u.cert.der == c.der)
                    .map(|u| (u, c))
            }) {
                Some((u, c)) => format!(
                    "complete proof of possession for the uploaded certificate {} ({}): dps-cli \
                     certificate prove --name {} --ca-cert <its .pem> --ca-key <its key>",
                    u.name.as_deref().unwrap_or(&u.source),
                    c.subject,
                    u.name.as_deref().unwrap_or("<name>")
                ),
                None => {
                    let top = path.last().unwrap_or(gc);
                    let root = if top.is_root() {
                        top.subject.clone()
                    } else {
                        top.issuer.clone()
                    };
                    format!(
                        "upload and verify the root CA ({root}), or the group's certificate itself: \
                         dps-cli certificate prove --name <name> --ca-cert <root.pem> --ca-key \
                         <root.key.pem> (certGen layout: certs/azure-iot-test-only.root.ca.cert.pem \
                         and private/azure-iot-test-only.root.ca.key.pem)"
                    )
                }
            };
            let impostor = path
                .iter()
                .find_map(|c| {
                    verified
                        .iter()
                        .find(|v| c.names_issuer(&v.cert) && !c.signed_by(&v.cert))
                        .map(|v| (c, v))
                })
                .map(|(c, v)| {
                    format!(
                        "; the verified CA {} ({}) has the name of {}'s issuer but a different key \
                         (a re-created CA?)",
                        v.cert.subject, v.source, c.subject
                    )
                })
                .unwrap_or_default();
            out.fail(
                "verified-ca",
                format!(
                    "the group's certificate {} is not a verified CA certificate and does not chain \
                     to one; {list}{impostor} (401002)",
                    gc.subject
                ),
                fix,
            );
        }
        GroupCert::Info {
            subject,
            issuer,
            sha256,
        } => {
            if let Some(v) = verified
                .iter()
                .find(|v| v.cert.thumbprints.sha256.eq_ignore_ascii_case(sha256))
            {
                out.ok(
                    "verified-ca",
                    format!(
                        "the group's certificate {subject} is itself a verified CA certificate ({})",
                        v.source
                    ),
                );
            } else if let Some(v) = verified.iter().find(|v| v.cert.subject_is(issuer)) {
                out.ok(
                    "verified-ca",
                    format!(
                        "the group's certificate {subject} names the verified CA {} ({}) as its \
                         issuer (pass --group-cert to check the signature too)",
                        v.cert.subject, v.source
                    ),
                );
            } else {
                out.fail(
                    "verified-ca",
                    format!(
                        "the group's certificate {subject} is not a verified CA certificate and no \
                         verified CA issued it; {list} (401002)"
                    ),
                    format!(
                        "upload and verify the CA that issued it ({issuer}) or the group's \
                         certificate itself: dps-cli certificate prove --name <name> --ca-cert \
                         <ca.pem> --ca-key <ca.key.pem>"
                    ),
                );
            }
        }
    }
}

/// The verification the emulator runs, with rustls-webpki: the presented chain must lead to
/// the group's certificate, then on to a verified CA.
pub(super) fn path(out: &mut Out, inp: &Inputs, gc: &Cert) {
    let earlier_failed = out.failed();
    let fix = if earlier_failed {
        "fix the failures above".to_owned()
    } else {
        "check the chain's signature algorithms, key sizes, CA flags and path length constraints \
         (dps-cli certs inspect)"
            .to_owned()
    };
    let secs = u64::try_from(inp.now.unix_timestamp()).unwrap_or(0);
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let Some(leaf) = inp.presented.first() else {
        return;
    };
    let ee = match EndEntityCert::try_from(leaf) {
        Ok(e) => e,
        Err(e) => {
            out.fail(
                "path",
                format!("rustls-webpki cannot use the device certificate: {e:?}"),
                fix,
            );
            return;
        }
    };
    let presented_intermediates = &inp.presented[1..];
    let group_anchor = match webpki::anchor_from_trusted_cert(&gc.der) {
        Ok(a) => a,
        Err(e) => {
            out.fail(
                "path",
                format!(
                    "rustls-webpki cannot use the group's certificate {}: {e:?}",
                    gc.subject
                ),
                fix,
            );
            return;
        }
    };
    if let Err(e) = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        std::slice::from_ref(&group_anchor),
        presented_intermediates,
        now,
        KeyUsage::client_auth(),
        None,
        None,
    ) {
        out.fail(
            "path",
            format!(
                "rustls-webpki does not verify the chain up to the group's certificate {}: {e:?} (401002)",
                gc.subject
            ),
            fix,
        );
        return;
    }
    let Some(verified) = inp.verified.as_ref().filter(|v| !v.is_empty()) else {
        out.ok(
            "path",
            format!(
                "rustls-webpki verifies the chain up to the group's certificate {}",
                gc.subject
            ),
        );
        return;
    };
    let anchors: Vec<_> = verified
        .iter()
        .filter_map(|v| webpki::anchor_from_trusted_cert(&v.cert.der).ok())
        .collect();
    let mut intermediates: Vec<CertificateDer<'_>> = presented_intermediates.to_vec();
    if !intermediates.contains(&gc.der) {
        intermediates.push(gc.der.clone());
    }
    let must_contain = |p: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let in_path = p
            .intermediate_certificates()
            .any(|c| c.der().as_ref() == gc.der.as_ref());
        let anchor = p.anchor();
        let is_anchor = anchor.subject == group_anchor.subject
            && anchor.subject_public_key_info == group_anchor.subject_public_key_info;
        if in_path || is_anchor {
            Ok(())
        } else {
            Err(webpki::Error::UnknownIssuer)
        }
    };
    match ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        now,
        KeyUsage::client_auth(),
        None,
        Some(&must_contain),
    ) {
        Ok(_) => out.ok(
            "path",
            format!(
                "rustls-webpki verifies the chain through the group's certificate {} to a verified \
                 CA, as the service does",
                gc.subject
            ),
        ),
        Err(e) => out.fail(
            "path",
            format!(
                "rustls-webpki does not verify the chain through the group's certificate {} to a \
                 verified CA: {e:?} (401002)",
                gc.subject
            ),
            fix,
        ),
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
