//! Lints of the chain the device sends that the service does not refuse by themselves: its
//! order (the service builds the path whatever the order), and, when no enrollment group is
//! known, whether it stops short of a root. The verdict on the chain is `dps_chain`'s (see
//! `verdict`).

use super::checks::Out;
use super::render::{FixContext, send_missing};
use dps_chain::Cert;

pub(super) fn describe_chain(chain: &[Cert]) -> String {
    let names: Vec<&str> = chain.iter().map(Cert::subject).collect();
    match names.as_slice() {
        [one] => format!("its certificate alone ({one})"),
        _ => format!("{} certificates: {}", names.len(), names.join(" <- ")),
    }
}

/// Each presented certificate should be issued (by name and signature) by the next one.
pub(super) fn order(out: &mut Out, chain: &[Cert]) {
    if chain.len() == 1 {
        out.ok(
            "chain-order",
            "the device sends no intermediates (nothing to order)".into(),
        );
        return;
    }
    // The service (and the emulator) builds the path whatever the order, so these are
    // warnings; but TLS 1.2 requires the order, and some device TLS stacks send or check the
    // list as it is.
    const WHY: &str = "the service builds the path in any order, but TLS 1.2 and some device TLS \
                       stacks need leaf first, each certificate followed by its issuer";
    let reorder = "order the chain file leaf first, each certificate followed by its issuer, a \
                   root (if sent at all) last (certGen layout: certs/NAME-full-chain.cert.pem is \
                   in that order)";
    let refused = "(the service refuses the device when its path uses this link: 401002)";
    let before = out.0.len();
    for (i, pair) in chain.windows(2).enumerate() {
        let (c, next) = (&pair[0], &pair[1]);
        if c.is_root() {
            out.warn(
                "chain-order",
                format!(
                    "the root {} is followed by {}; nothing should follow a root ({WHY})",
                    c.subject(),
                    next.subject()
                ),
                Some(reorder.into()),
            );
        } else if !c.names_issuer(next) {
            let elsewhere = chain
                .iter()
                .enumerate()
                .find(|(j, o)| *j != i && c.issued_by(o));
            match elsewhere {
                Some((j, o)) => out.warn(
                    "chain-order",
                    format!(
                        "{} is followed by {}, which did not issue it; its issuer {} is at position \
                         {} ({WHY})",
                        c.subject(),
                        next.subject(),
                        o.subject(),
                        j + 1
                    ),
                    Some(reorder.into()),
                ),
                None => out.warn(
                    "chain-order",
                    format!(
                        "{} is followed by {}, which did not issue it (its issuer {} is not sent)",
                        c.subject(),
                        next.subject(),
                        c.issuer()
                    ),
                    Some(format!(
                        "send {} right after it, and drop certificates of other chains",
                        c.issuer()
                    )),
                ),
            }
        } else if !c.signed_by(next) {
            out.warn(
                "chain-order",
                format!(
                    "{} names {} as its issuer, but that certificate's key did not sign it (a \
                     re-created CA with the same name?) {refused}",
                    c.subject(),
                    next.subject()
                ),
                Some(
                    "send the CA certificate that actually issued it, or re-issue the certificate \
                     from the current CA"
                        .into(),
                ),
            );
        } else if !next.is_ca() {
            out.warn(
                "chain-order",
                format!(
                    "{} issued {} but is not a CA certificate (basicConstraints CA:TRUE missing) \
                     {refused}",
                    next.subject(),
                    c.subject()
                ),
                Some(
                    "issue intermediates as CA certificates (basicConstraints CA:TRUE, as certs \
                     create-root-and-intermediate makes them)"
                        .into(),
                ),
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

/// Without any enrollment group to check against: a chain that stops short of a root is
/// accepted only when the issuer of its last certificate is itself verified.
pub(super) fn no_group_lint(out: &mut Out, chain: &[Cert], ctx: &FixContext<'_>) {
    let path = dps_chain::issuer_path(chain);
    let Some(top) = path.last().map(|&i| &chain[i]) else {
        return;
    };
    if top.self_issued() {
        return;
    }
    out.warn(
        "chain",
        format!(
            "the chain ends at {}, issued by {}, which the device does not send: the service \
             accepts that only when {} is itself verified by proof of possession (the certificate \
             an enrollment group holds never completes the device's chain)",
            top.subject(),
            top.issuer(),
            top.issuer()
        ),
        Some(format!(
            "pass --group-cert or --group-id to check; otherwise {}",
            send_missing(top.issuer(), Some(top), ctx)
        )),
    );
}
