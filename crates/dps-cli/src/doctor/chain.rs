//! The chain the device sends: its order (each certificate issued, by name and signature, by
//! the next one, which must be a CA) and its completeness up to a root or the enrollment
//! group's certificate.

use super::cert::Cert;
use super::checks::{GroupCandidate, Inputs, Out};

pub(super) fn describe_chain(chain: &[Cert]) -> String {
    let names: Vec<&str> = chain.iter().map(|c| c.subject.as_str()).collect();
    match chain.len() {
        1 => format!("its certificate alone ({})", names[0]),
        n => format!("{n} certificates: {}", names.join(" <- ")),
    }
}

/// Each presented certificate must be issued (by name and signature) by the next one, which
/// must be a CA.
pub(super) fn order(out: &mut Out, chain: &[Cert]) {
    if chain.len() == 1 {
        out.ok(
            "chain-order",
            "the device sends no intermediates (nothing to order)".into(),
        );
        return;
    }
    // Misordered or extra certificates: the service's TLS stack (and the emulator's) builds the
    // path whatever the order, so this is a warning; but TLS 1.2 requires the order, and some
    // device TLS stacks send or check the list as it is.
    const WHY: &str = "the service builds the path in any order, but TLS 1.2 and some device TLS \
                       stacks need leaf first, each certificate followed by its issuer";
    let reorder = "order the chain file leaf first, each certificate followed by its issuer, a \
                   root (if sent at all) last (certGen layout: certs/<name>-full-chain.cert.pem \
                   is in that order)";
    let before = out.0.len();
    for (i, pair) in chain.windows(2).enumerate() {
        let (c, next) = (&pair[0], &pair[1]);
        if c.is_root() {
            out.warn(
                "chain-order",
                format!(
                    "the root {} is followed by {}; nothing should follow a root ({WHY})",
                    c.subject, next.subject
                ),
                Some(reorder.into()),
            );
        } else if !c.names_issuer(next) {
            let elsewhere = chain
                .iter()
                .enumerate()
                .find(|(j, o)| *j != i && c.names_issuer(o) && c.signed_by(o));
            match elsewhere {
                Some((j, o)) => out.warn(
                    "chain-order",
                    format!(
                        "{} is followed by {}, which did not issue it; its issuer {} is at position \
                         {} ({WHY})",
                        c.subject,
                        next.subject,
                        o.subject,
                        j + 1
                    ),
                    Some(reorder.into()),
                ),
                None => out.warn(
                    "chain-order",
                    format!(
                        "{} is followed by {}, which did not issue it (its issuer {} is not sent)",
                        c.subject, next.subject, c.issuer
                    ),
                    Some(format!(
                        "send {} right after it, and drop certificates of other chains",
                        c.issuer
                    )),
                ),
            }
        } else if !c.signed_by(next) {
            out.fail(
                "chain-order",
                format!(
                    "{} names {} as its issuer, but that certificate's key did not sign it (a \
                     re-created CA with the same name?) (401002)",
                    c.subject, next.subject
                ),
                "send the CA certificate that actually issued it, or re-issue the certificate \
                 from the current CA"
                    .into(),
            );
        } else if !next.is_ca {
            out.fail(
                "chain-order",
                format!(
                    "{} issued {} but is not a CA certificate (basicConstraints CA:TRUE missing) \
                     (401002)",
                    next.subject, c.subject
                ),
                "issue intermediates as CA certificates (dps-cli certs create-root-and-intermediate)"
                    .into(),
            );
        }
    }
    if out.0.len() == before {
        out.ok(
            "chain-order",
            "each certificate is issued by the next one (by name and signature)".into(),
        );
    }
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
