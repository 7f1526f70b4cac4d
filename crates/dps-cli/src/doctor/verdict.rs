//! The chain verdict for the group the service applies: [`dps_chain::verify_group_chain`], with
//! the verified CAs doctor knows (--verified-ca, or the service's) as the only trust, exactly
//! as the emulator's device API calls it.

use super::checks::{GroupCandidate, GroupCert, Inputs, Out};
use super::render::FixContext;
use dps_chain::{Cert, ChainError, Role, Trust, check_validity, verify_group_chain};

pub(super) fn verdict(
    out: &mut Out,
    inp: &Inputs,
    chain: &[Cert],
    groups: &[GroupCandidate],
    ctx: &FixContext<'_>,
) {
    let Some(group) = pick(inp, chain, groups) else {
        return;
    };
    if let Some(r) = group.reference.as_ref().filter(|r| !r.verified) {
        let e = ChainError::UnverifiedReference {
            group_id: group.group_id.clone().unwrap_or_default(),
            name: r.name.clone(),
            subject: group.cert.subject().to_owned(),
        };
        out.refusal(&e, ctx);
        return;
    }
    let gc = match &group.cert {
        GroupCert::Known(c) => c.as_ref(),
        GroupCert::Summary { subject, sha256 } => {
            out.warn(
                "chain",
                format!(
                    "not checked: the service reports the group's certificate {subject} (SHA-256 \
                     {sha256}) only by its subject and thumbprint, and it is not among the \
                     certificates the device sends, the CA certificates or the files beside --cert"
                ),
                Some(
                    "pass the group's certificate with --group-cert (or keep it beside --cert) to \
                     check the chain"
                        .into(),
                ),
            );
            return;
        }
    };
    let unverified: Vec<(String, Cert)> = inp
        .unverified
        .iter()
        .map(|k| {
            (
                k.name.clone().unwrap_or_else(|| k.source.clone()),
                k.cert.clone(),
            )
        })
        .collect();
    let Some(verified) = &inp.verified else {
        unknown_verified(out, inp, chain, gc, &unverified, ctx);
        return;
    };
    let certs: Vec<Cert> = verified.iter().map(|k| k.cert.clone()).collect();
    let trust = Trust {
        verified: &certs,
        unverified: &unverified,
    };
    match verify_group_chain(chain, gc, trust, inp.now) {
        Ok(accepted) => {
            let ca = &accepted.verified_ca;
            out.ok(
                "chain",
                format!(
                    "the chain the device sends reaches the verified CA {} through the group's \
                     certificate {}, as the service requires",
                    ca.subject(),
                    gc.subject()
                ),
            );
            let source = verified
                .iter()
                .find(|k| k.cert == *ca)
                .map_or("", |k| k.source.as_str());
            out.ok(
                "verified-ca",
                format!(
                    "{} is verified by proof of possession ({source})",
                    ca.subject()
                ),
            );
        }
        Err(e) => out.refusal(&e, ctx),
    }
}

/// Nothing is known about the verified CAs: the rule runs as if the group's certificate were
/// the verified CA (the most the service could accept), and says what that assumes.
fn unknown_verified(
    out: &mut Out,
    inp: &Inputs,
    chain: &[Cert],
    gc: &Cert,
    unverified: &[(String, Cert)],
    ctx: &FixContext<'_>,
) {
    if let Err(e) = check_validity(gc, Role::GroupCertificate, inp.now) {
        out.refusal(&e, ctx);
        return;
    }
    let trust = Trust {
        verified: std::slice::from_ref(gc),
        unverified,
    };
    if let Err(e) = verify_group_chain(chain, gc, trust, inp.now) {
        out.refusal(&e, ctx);
        return;
    }
    out.ok(
        "chain",
        format!(
            "the chain the device sends reaches the group's certificate {}",
            gc.subject()
        ),
    );
    let sent = chain.iter().skip(1).any(|c| c.same_ca(gc));
    let assumption = if sent {
        String::new()
    } else {
        format!(
            "; the device does not send the group's certificate {0}, so the service accepts it \
             only if {0} itself is verified (a certificate held by the group never completes the \
             device's chain)",
            gc.subject()
        )
    };
    out.warn(
        "verified-ca",
        format!(
            "not checked: nothing is known about the DPS's verified CA certificates{assumption}"
        ),
        Some(
            "pass --verified-ca for each verified CA certificate, or --emulator / \
             --connection-string to read them from the service"
                .into(),
        ),
    );
}

/// Which of the decided group's certificates to report on: the first that admits the device
/// (during a rollover either may, as in the emulator), else the first.
fn pick<'g>(
    inp: &Inputs,
    chain: &[Cert],
    groups: &'g [GroupCandidate],
) -> Option<&'g GroupCandidate> {
    if let Some(verified) = &inp.verified {
        let certs: Vec<Cert> = verified.iter().map(|k| k.cert.clone()).collect();
        let trust = Trust {
            verified: &certs,
            unverified: &[],
        };
        let admits = |g: &GroupCandidate| match &g.cert {
            GroupCert::Known(c) => verify_group_chain(chain, c, trust, inp.now).is_ok(),
            GroupCert::Summary { .. } => false,
        };
        if let Some(g) = groups.iter().find(|g| admits(g)) {
            return Some(g);
        }
    }
    groups.first()
}
