//! The verified-CA rule: the matching group's certificate must be a verified CA certificate of
//! the DPS, or chain to one.

use super::cert::Cert;
use super::checks::{GroupCandidate, GroupCert, Inputs, Out};

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
