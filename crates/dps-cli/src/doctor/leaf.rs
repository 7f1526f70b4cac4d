//! Checks of the device certificate itself: the CN rule and the registration id, the CA flag,
//! the extended key usage, and whether the private key belongs to it. The verdicts are
//! `dps_chain`'s ([`check_identity`], [`check_end_entity`], [`check_client_auth`],
//! [`check_key`]); the CN syntax is `dps_protocol`'s id rule.

use super::checks::{Inputs, Out};
use super::render::FixContext;
use dps_chain::{Cert, check_client_auth, check_end_entity, check_identity, check_key};

/// CN rule and registration id.
pub(super) fn identity(out: &mut Out, inp: &Inputs, leaf: &Cert, ctx: &FixContext<'_>) {
    let Some(cn) = leaf.common_name() else {
        out.fail(
            "common-name",
            format!(
                "the device certificate {} has no common name; DPS uses the CN as the registration id",
                leaf.subject()
            ),
            format!(
                "issue a certificate whose CN is the registration id: {}",
                ctx.reissue_device()
            ),
        );
        return;
    };
    match dps_protocol::check_common_name(cn) {
        Err(e) => out.fail(
            "common-name",
            format!("{e} (400004/401002 at registration)"),
            format!(
                "re-issue the device certificate with a valid CN, e.g. {}",
                ctx.reissue(&sanitize(cn))
            ),
        ),
        Ok(w) if !w.is_empty() => out.warn(
            "common-name",
            w.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Some(format!(
                "prefer a lower-case CN such as {:?} for new devices",
                cn.to_ascii_lowercase()
            )),
        ),
        Ok(_) => out.ok(
            "common-name",
            format!("CN {cn:?} is a valid registration id"),
        ),
    }
    let Some(id) = &inp.registration_id else {
        return;
    };
    if let Err(e) = dps_protocol::check_registration_id(id) {
        out.fail(
            "registration-id",
            e.to_string(),
            format!("register as the certificate's CN {cn:?}"),
        );
        return;
    }
    match check_identity(leaf, id) {
        Ok(()) => out.ok("registration-id", format!("{id:?} is the certificate's CN")),
        Err(e) => out.refusal(&e, ctx),
    }
}

/// A CN suggestion that follows the rule.
pub(super) fn sanitize(cn: &str) -> String {
    let mapped: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
    let s: String = trimmed.chars().take(64).collect();
    if s.is_empty() { "my-device".into() } else { s }
}

/// CA flag, extended key usage, key match.
pub(super) fn usage(out: &mut Out, inp: &Inputs, leaf: &Cert, ctx: &FixContext<'_>) {
    match check_end_entity(leaf) {
        Ok(()) => out.ok(
            "leaf-not-ca",
            "the device certificate is not a CA certificate".into(),
        ),
        // The service's group chain rule refuses a CA certificate as the device's own; an
        // individual enrollment names the very certificate and does not.
        Err(_) if inp.individual.is_some() => out.warn(
            "leaf-not-ca",
            "the device certificate is a CA certificate (basicConstraints CA:TRUE); its \
             individual enrollment accepts it, but no enrollment group would"
                .into(),
            Some(
                "issue device certificates without CA:TRUE (end-entity certificates, as certs \
                 create-device-certificate makes them)"
                    .into(),
            ),
        ),
        Err(e) => out.refusal(&e, ctx),
    }
    match check_client_auth(leaf) {
        Ok(()) if leaf.client_auth().is_some() => out.ok(
            "leaf-eku",
            "extendedKeyUsage allows TLS client authentication".into(),
        ),
        Ok(()) => out.ok(
            "leaf-eku",
            "no extendedKeyUsage restriction: TLS client authentication is allowed".into(),
        ),
        Err(e) => out.refusal(&e, ctx),
    }
    match &inp.key {
        None => {}
        Some((path, Err(e))) => out.fail(
            "key",
            format!("the key {} cannot be read: {e}", path.display()),
            "pass the device's private key with --key (PEM, or the .pfx given as --cert), with \
             --password if it is encrypted"
                .into(),
        ),
        Some((path, Ok(k))) => match check_key(leaf, &k.public_key) {
            Ok(()) => out.ok(
                "key",
                format!("{} is the device certificate's private key", path.display()),
            ),
            Err(e) => out.refusal(&e, ctx),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_follow_the_rule() {
        for cn in ["my device!", "Device One", "-x-", "ü", "a/b/c"] {
            let s = sanitize(cn);
            assert!(dps_protocol::check_common_name(&s).is_ok(), "{cn} -> {s}");
        }
        assert_eq!(sanitize("My Device"), "my-device");
    }
}
