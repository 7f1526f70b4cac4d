//! The warnings of `enrollment-group create` and `update`: a group whose certificate is not a
//! CA, is a CA neither verified nor under a verified CA of the DPS, or expires within 7 days
//! refuses devices (or soon will), yet the service accepts it without a word. Each warning
//! names the command that fixes it. Warnings go to stderr and never fail the command; the
//! chain reasoning is `dps_chain::group_certificate`'s.

use crate::certgen_files::{self, path_word, read_first, upload_name};
use crate::context::{GlobalArgs, Target, shell_word};
use crate::doctor::cert::nearby;
use dps_chain::{Cert, GroupCertificate, group_certificate, rfc3339};
use dps_service_client::{CertificateClient, CertificateClientOptions};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// A certificate expiring within this many days gets a warning.
const EXPIRY_WARNING_DAYS: i64 = 7;

/// What the group's attestation flags named.
pub(crate) struct Attestation<'a> {
    /// `--cert` and `--secondary-cert`.
    pub(crate) files: Vec<&'a Path>,
    /// `--ca-reference` and `--secondary-ca-reference`.
    pub(crate) references: Vec<&'a str>,
}

/// The DPS's CA certificates: `(name, certificate, verified)`.
type CaList = Vec<(String, Cert, bool)>;

/// Prints the warnings (and notes) for the group `group_id` on stderr.
pub(crate) fn warn(
    group_id: &str,
    attestation: &Attestation<'_>,
    global: &GlobalArgs,
    target: &Target,
) {
    for line in warnings(
        group_id,
        attestation,
        global,
        target,
        OffsetDateTime::now_utc(),
    ) {
        match line.split_once(": ") {
            Some((kind, text)) => crate::output::eprint_note(&format!("{kind}: "), text),
            None => crate::output::eprint_note("", &line),
        }
    }
}

/// The `warning: ...` and `note: ...` lines for the group.
fn warnings(
    group_id: &str,
    attestation: &Attestation<'_>,
    global: &GlobalArgs,
    target: &Target,
    now: OffsetDateTime,
) -> Vec<String> {
    let certs: Vec<(&Path, Cert)> = attestation
        .files
        .iter()
        .filter_map(|f| Some((*f, read_first(f)?)))
        .collect();
    if certs.is_empty() && attestation.references.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let needs_list = certs.iter().any(|(_, c)| c.is_ca()) || !attestation.references.is_empty();
    let list = if needs_list {
        match ca_list(target) {
            Ok(list) => Some(list),
            Err(why) => {
                out.push(format!(
                    "note: not checked whether the group's CA is verified on the DPS: {why}"
                ));
                None
            }
        }
    } else {
        None
    };
    for (file, cert) in &certs {
        let about = format!(
            "the group's certificate {} ({})",
            file.display(),
            cert.subject()
        );
        if let Some(list) = &list {
            let uploaded: Vec<Cert> = list.iter().map(|(_, c, _)| c.clone()).collect();
            let verified: Vec<Cert> = list
                .iter()
                .filter(|(_, _, v)| *v)
                .map(|(_, c, _)| c.clone())
                .collect();
            if group_certificate(cert, &uploaded, &verified, now) == GroupCertificate::Unverified {
                out.push(unverified(&about, file, cert, list, global));
            }
        }
        if !cert.is_ca() {
            out.push(not_ca(&about, group_id, file, cert, global));
        }
        if cert.not_after() <= now + Duration::days(EXPIRY_WARNING_DAYS) {
            out.push(expiring(&about, group_id, file, cert, global, now));
        }
    }
    if let Some(list) = &list {
        for name in &attestation.references {
            let prove = global.hint_command(format_args!(
                "certificate prove --name {} --cert CA_CERT --key CA_KEY",
                shell_word(name)
            ));
            let placeholders = "where CA_CERT is the CA certificate's file and CA_KEY its \
                                private key";
            match list.iter().find(|(n, _, _)| n == name) {
                Some((_, cert, verified)) => {
                    if !verified {
                        out.push(format!(
                            "warning: the CA certificate {name:?} the group references is not \
                             verified: every device of the group is refused until it is. Prove \
                             possession of it with `{prove}`, {placeholders}"
                        ));
                    }
                    if cert.not_after() <= now + Duration::days(EXPIRY_WARNING_DAYS) {
                        let when = rfc3339(cert.not_after());
                        out.push(format!(
                            "warning: the CA certificate {name:?} the group references {}: its \
                             devices are refused from then on. Renew the CA, then replace it \
                             under that name with `{}` and `{prove}`, {placeholders} (the new \
                             ones)",
                            if cert.not_after() < now {
                                format!("expired on {when}")
                            } else {
                                format!("expires on {when}, within {EXPIRY_WARNING_DAYS} days")
                            },
                            global.hint_command(format_args!(
                                "certificate delete --name {}",
                                shell_word(name)
                            )),
                        ));
                    }
                }
                None => out.push(format!(
                    "warning: the DPS has no CA certificate {name:?}, which the group \
                     references: every device of the group is refused. `{}` shows the names; \
                     `{prove}` uploads and verifies it, {placeholders}",
                    global.hint_command("certificate list")
                )),
            }
        }
    }
    out.into_iter().map(|w| global.hint(w)).collect()
}

/// The CA certificates of the DPS, when its certificate API can be read with the connection
/// string (the emulator's; Azure keeps them in Resource Manager).
fn ca_list(target: &Target) -> Result<CaList, String> {
    let cs = target
        .connection_string
        .as_deref()
        .ok_or("no connection string")?;
    if target.emulator.is_none() && !crate::doctor::is_local(cs) {
        return Err(
            "a DPS in Azure lists its CA certificates through Azure Resource Manager \
                    (check with certificate list and --subscription, --resource-group, \
                    --dps-name)"
                .to_owned(),
        );
    }
    let client = CertificateClient::for_emulator(
        cs,
        Some(CertificateClientOptions::from(target.client_options())),
    )
    .map_err(|e| format!("cannot read its CA certificates: {e}"))?;
    let list = crate::runtime()
        .map_err(|e| e.to_string())?
        .block_on(client.list(None))
        .map_err(|e| format!("cannot list its CA certificates: {e}"))?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let der = dps_certgen::cert_from_field(c.properties.certificate.as_deref()?).ok()?;
            let cert = Cert::parse(&der).ok()?;
            Some((c.name, cert, c.properties.is_verified == Some(true)))
        })
        .collect())
}

/// (b): a CA neither verified nor under a verified CA of the DPS.
fn unverified(about: &str, file: &Path, cert: &Cert, list: &CaList, global: &GlobalArgs) -> String {
    // Proving it under the name it already has on the DPS, else a name from its file.
    let name = list
        .iter()
        .find(|(_, c, _)| c.same_ca(cert))
        .map_or_else(|| upload_name(file), |(n, _, _)| n.clone());
    let (key, unknown) = match certgen_files::key(file, cert) {
        Some(k) => (k, ""),
        None => (
            PathBuf::from("CA.key.pem"),
            " (CA.key.pem: the CA's private key)",
        ),
    };
    format!(
        "warning: {about} is a CA certificate that is neither verified on the DPS nor issued by \
         a verified one: every device of the group is refused until it is. Prove possession of \
         it: `{}`{unknown}",
        global.hint_command(format_args!(
            "certificate prove --name {} --cert {} --key {}",
            shell_word(&name),
            path_word(file),
            path_word(&key)
        ))
    )
}

/// (a): not a CA, e.g. a device certificate.
fn not_ca(about: &str, group_id: &str, file: &Path, cert: &Cert, global: &GlobalArgs) -> String {
    // The issuer's own file rather than a chain file that starts with it.
    let near = nearby(file);
    let alone_in = |f: &Path| near.iter().filter(|(g, _)| g == f).count() == 1;
    let issuer = near
        .iter()
        .filter(|(_, c)| c.is_ca() && cert.issued_by(c))
        .map(|(f, _)| f)
        .min_by_key(|f| !alone_in(f))
        .cloned();
    let instead = match issuer {
        Some(f) => format!(
            "Enroll the CA that issued it instead: `{}`",
            global.hint_command(format_args!(
                "enrollment-group update --group-id {} --cert {}",
                shell_word(group_id),
                path_word(&f)
            ))
        ),
        None => format!(
            "Enroll the CA that issued it ({}) instead, with enrollment-group update --group-id \
             {group_id} --cert and the CA's certificate",
            cert.issuer()
        ),
    };
    let alone = cert.common_name().map_or_else(String::new, |cn| {
        format!(
            "; for this one device, an individual enrollment: `{}`",
            global.hint_command(format_args!(
                "enrollment create --registration-id {} --cert {}",
                shell_word(cn),
                path_word(file)
            ))
        )
    });
    format!(
        "warning: {about} is not a CA certificate (basicConstraints CA is false or absent): no \
         device's chain passes through it, so the service refuses every device of the group. \
         {instead}{alone}"
    )
}

/// (c): expired, or expiring within [`EXPIRY_WARNING_DAYS`].
fn expiring(
    about: &str,
    group_id: &str,
    file: &Path,
    cert: &Cert,
    global: &GlobalArgs,
    now: OffsetDateTime,
) -> String {
    let when = rfc3339(cert.not_after());
    let state = if cert.not_after() < now {
        format!("expired on {when}")
    } else {
        format!("expires on {when}, within {EXPIRY_WARNING_DAYS} days")
    };
    let renew = match certgen_files::folder(file) {
        Some(out) => format!(
            " (in a certGen folder, `dps-cli certs create-root-and-intermediate --out {} \
             --force` renews the chain; prove the new root and re-issue the devices' \
             certificates then)",
            path_word(&out)
        ),
        None => String::new(),
    };
    format!(
        "warning: {about} {state}: devices are refused once it has expired. Renew it{renew}, \
         then `{}`",
        global.hint_command(format_args!(
            "enrollment-group update --group-id {} --cert {}",
            shell_word(group_id),
            path_word(file)
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dps_in_azure_is_not_asked_for_its_ca_certificates() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = dps_certgen::CertDir::new(tmp.path());
        dir.create_root_and_intermediate(&dps_certgen::ChainOptions {
            algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
            ..Default::default()
        })
        .expect("chain");
        let target = Target {
            connection_string: Some(
                "HostName=x.azure-devices-provisioning.net;SharedAccessKeyName=p;\
                 SharedAccessKey=a2V5"
                    .to_owned(),
            ),
            ..Target::default()
        };
        let file = dir.cert_path(dps_certgen::INTERMEDIATE_PREFIX);
        let named = Attestation {
            files: vec![&file],
            references: Vec::new(),
        };
        let lines = warnings(
            "g",
            &named,
            &GlobalArgs::default(),
            &target,
            OffsetDateTime::now_utc(),
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "note: not checked whether the group's CA is verified on the DPS: a DPS in Azure"
            ),
            "{lines:?}"
        );
    }
}
