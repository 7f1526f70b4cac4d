//! The verification the emulator runs with rustls-webpki: the presented chain up to the
//! matching group's certificate, then on to a verified CA.

use super::cert::Cert;
use super::checks::{Inputs, Out};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

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
