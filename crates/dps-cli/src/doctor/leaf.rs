//! Checks of the device certificate itself: the CN rule and the registration id, the CA flag,
//! the extended key usage, and whether the private key belongs to it.

use super::cert::Cert;
use super::checks::{Inputs, Out};

/// CN rule and registration id.
pub(super) fn identity(out: &mut Out, inp: &Inputs, leaf: &Cert) {
    let Some(cn) = &leaf.common_name else {
        out.fail(
            "common-name",
            format!(
                "the device certificate {} has no common name; DPS uses the CN as the registration id",
                leaf.subject
            ),
            "issue a certificate whose CN is the registration id: dps-cli certs \
             create-device-certificate-from-intermediate <registration-id>"
                .into(),
        );
        return;
    };
    match dps_protocol::check_common_name(cn) {
        Err(e) => out.fail(
            "common-name",
            format!("{e} (400004/401002 at registration)"),
            format!(
                "re-issue the device certificate with a valid CN, e.g. dps-cli certs \
                 create-device-certificate-from-intermediate {}",
                sanitize(cn)
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
    } else if !id.eq_ignore_ascii_case(cn) {
        out.fail(
            "registration-id",
            format!(
                "the device would register as {id:?}, but its certificate's CN is {cn:?}; DPS refuses \
                 a registration id that is not the CN (401002)"
            ),
            format!(
                "register as {cn:?} (dps-cli device register uses the CN when --registration-id is \
                 omitted), or issue a certificate with CN {id:?}"
            ),
        );
    } else {
        out.ok("registration-id", format!("{id:?} is the certificate's CN"));
    }
}

/// A CN suggestion that follows the rule.
fn sanitize(cn: &str) -> String {
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
pub(super) fn usage(out: &mut Out, inp: &Inputs, leaf: &Cert) {
    let reissue = format!(
        "issue a device certificate (not a CA): dps-cli certs create-device-certificate-from-intermediate {}",
        leaf.common_name
            .as_deref()
            .map_or_else(|| "<registration-id>".to_owned(), sanitize)
    );
    if leaf.is_ca {
        out.fail(
            "leaf-not-ca",
            format!(
                "the device certificate {} is a CA certificate (basicConstraints CA:TRUE); the service \
                 refuses a CA certificate as a device certificate",
                leaf.subject
            ),
            reissue.clone(),
        );
    } else {
        out.ok(
            "leaf-not-ca",
            "the device certificate is not a CA certificate".into(),
        );
    }
    match leaf.client_auth {
        Some(false) => out.fail(
            "leaf-eku",
            format!(
                "the device certificate {} does not allow TLS client authentication (its \
                 extendedKeyUsage lacks clientAuth)",
                leaf.subject
            ),
            format!("re-issue it with extendedKeyUsage clientAuth; {reissue}"),
        ),
        Some(true) => out.ok(
            "leaf-eku",
            "extendedKeyUsage allows TLS client authentication".into(),
        ),
        None => out.ok(
            "leaf-eku",
            "no extendedKeyUsage restriction: TLS client authentication is allowed".into(),
        ),
    }
    match &inp.key {
        None => {}
        Some((path, Err(e))) => out.fail(
            "key",
            format!("the key {} cannot be read: {e}", path.display()),
            "pass the device's private key (PEM), with --key-password if it is encrypted".into(),
        ),
        Some((path, Ok(k))) if k.public_key != leaf.public_key => out.fail(
            "key",
            format!(
                "the key {} does not belong to the device certificate {}: the TLS handshake would fail",
                path.display(),
                leaf.subject
            ),
            format!(
                "pass the key generated with this certificate (certGen layout: private/{}.key.pem)",
                leaf.common_name.as_deref().unwrap_or("<name>")
            ),
        ),
        Some((path, Ok(_))) => out.ok(
            "key",
            format!("{} is the device certificate's private key", path.display()),
        ),
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
