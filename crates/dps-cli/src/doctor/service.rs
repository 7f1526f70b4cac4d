//! What the doctor reads from a DPS (or the emulator): the enrollment group(s), an individual
//! enrollment for the device, and the CA certificates with their verification state.

use super::checks::{GroupCandidate, GroupCert, Individual, Known, Note, Reference};
use super::{Check, Status};
use anyhow::Context;
use dps_chain::Cert;
use dps_protocol::models::{
    AttestationType, EnrollmentGroup, IndividualEnrollment, ProvisioningStatus, QuerySpecification,
    X509CertificateWithInfo,
};
use dps_service_client::{
    CertificateClient, CertificateClientOptions, ClientOptions, ErrorKind,
    ProvisioningServiceClient, RetryOptions,
};
use futures_util::TryStreamExt;
use rustls_pki_types::CertificateDer;
use std::time::Duration;

/// Where and how to reach the service.
pub(crate) struct Service {
    pub(crate) connection_string: String,
    pub(crate) trusted_ca_pem: Vec<Vec<u8>>,
    /// Trust only `trusted_ca_pem` (the emulator's CA).
    pub(crate) trust_only_custom_ca: bool,
    /// Whether the CA certificates can be listed with the connection string (the emulator
    /// serves them on its own host; Azure keeps them in Resource Manager).
    pub(crate) list_certificates: bool,
}

/// What the service said.
#[derive(Default)]
pub(crate) struct Fetched {
    pub(crate) groups: Vec<GroupCandidate>,
    pub(crate) verified: Option<Vec<Known>>,
    pub(crate) unverified: Vec<Known>,
    pub(crate) individual: Option<Individual>,
    pub(crate) notes: Vec<Note>,
    /// The ids of the groups read (of any attestation).
    pub(crate) group_ids: Vec<String>,
}

fn note(check: &str, status: Status, detail: String, fix: Option<String>) -> Note {
    Note::Done(Check {
        check: check.to_owned(),
        status,
        detail,
        fix,
    })
}

/// Which enrollment groups to read.
pub(crate) enum Groups<'a> {
    /// None (the group's certificate came from a file).
    None,
    /// This one.
    One(&'a str),
    /// Every group, as the service considers them all.
    All,
}

/// Reads the enrollment groups, the individual enrollment `registration_id` and the CA
/// certificates.
pub(crate) async fn fetch(
    service: &Service,
    which: Groups<'_>,
    registration_id: Option<&str>,
    known: &[Cert],
) -> anyhow::Result<Fetched> {
    let options = ClientOptions {
        trusted_ca_pem: service.trusted_ca_pem.clone(),
        trust_only_custom_ca: service.trust_only_custom_ca,
        retry: RetryOptions {
            initial_delay: Duration::from_millis(200),
            max_retries: 2,
            max_delay: Duration::from_secs(2),
        },
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    let client = ProvisioningServiceClient::from_connection_string(
        &service.connection_string,
        Some(options.clone()),
    )
    .context("--connection-string")?;
    let mut out = Fetched::default();

    // The CA certificates, with their certificates, when they can be listed.
    let mut ca_list: Vec<(String, bool, Cert)> = Vec::new();
    if service.list_certificates {
        let certs = CertificateClient::for_emulator(
            &service.connection_string,
            Some(CertificateClientOptions::from(options)),
        )?;
        match certs.list(None).await {
            Ok(list) => {
                let mut verified = Vec::new();
                for c in list {
                    let Some(cert) = c
                        .properties
                        .certificate
                        .as_deref()
                        .and_then(decode)
                        .and_then(|d| Cert::parse(&d).ok())
                    else {
                        continue;
                    };
                    let is_verified = c.properties.is_verified == Some(true);
                    let k = Known {
                        source: format!("certificate {:?} on the service", c.name),
                        name: Some(c.name.clone()),
                        cert: cert.clone(),
                    };
                    if is_verified {
                        verified.push(k);
                    } else {
                        out.unverified.push(k);
                    }
                    ca_list.push((c.name, is_verified, cert));
                }
                out.verified = Some(verified);
            }
            Err(e) if e.kind() == ErrorKind::Transport => {
                return Err(e).context("listing the CA certificates");
            }
            Err(e) => out.notes.push(note(
                "verified-ca",
                Status::Warn,
                format!("cannot list the CA certificates: {e}"),
                Some("pass --verified-ca for each verified CA certificate".into()),
            )),
        }
    }

    let mut pool: Vec<Cert> = known.to_vec();
    pool.extend(ca_list.iter().map(|(_, _, c)| c.clone()));

    if let Some(id) = registration_id.filter(|id| dps_protocol::check_registration_id(id).is_ok()) {
        match client.get_enrollment(id, None).await {
            Ok(e) => out.individual = Some(individual(&e)),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("reading the individual enrollment {id:?}"));
            }
        }
    }

    let group_id = match which {
        Groups::One(id) => Some(id),
        _ => None,
    };
    let groups: Vec<EnrollmentGroup> = match which {
        Groups::None => Vec::new(),
        Groups::One(id) => match client.get_enrollment_group(id, None).await {
            Ok(g) => vec![g],
            Err(e) if e.kind() == ErrorKind::NotFound => {
                out.notes.push(Note::MissingGroup(id.to_owned()));
                Vec::new()
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading the enrollment group {id:?}"));
            }
        },
        Groups::All => client
            .query_enrollment_groups(QuerySpecification::all(), None)
            .try_collect()
            .await
            .context("listing the enrollment groups")?,
    };
    for g in &groups {
        out.group_ids.push(g.enrollment_group_id.clone());
        if g.attestation.attestation_type != AttestationType::X509 {
            if group_id.is_some() {
                out.notes.push(Note::OtherAttestation {
                    id: g.enrollment_group_id.clone(),
                    attestation: g.attestation.attestation_type.to_string(),
                });
            }
            continue;
        }
        if group_id.is_some() {
            out.notes.push(note(
                "group-attestation",
                Status::Ok,
                format!(
                    "the enrollment group {:?} uses X.509 attestation",
                    g.enrollment_group_id
                ),
                None,
            ));
        }
        candidates(g, &pool, &ca_list, group_id.is_some(), &mut out);
    }
    Ok(out)
}

fn individual(e: &IndividualEnrollment) -> Individual {
    let mut thumbprints = Vec::new();
    let mut certificates = Vec::new();
    if let Some(cc) = e
        .attestation
        .x509
        .as_ref()
        .and_then(|x| x.client_certificates.as_ref())
    {
        for c in [&cc.primary, &cc.secondary].into_iter().flatten() {
            if let Some(i) = &c.info {
                thumbprints.push(i.sha256_thumbprint.clone());
            }
            if let Some(cert) = c
                .certificate
                .as_deref()
                .and_then(decode)
                .and_then(|d| Cert::parse(&d).ok())
            {
                thumbprints.push(cert.thumbprints().sha256.clone());
                certificates.push(cert);
            }
        }
    }
    Individual {
        registration_id: e.registration_id.clone(),
        attestation: e.attestation.attestation_type.to_string(),
        certificates,
        thumbprints,
        enabled: e.provisioning_status != Some(ProvisioningStatus::Disabled),
    }
}

/// The certificates of one X.509 group: signing certificates (resolved to the certificate
/// itself when it is known by thumbprint) and CA references (resolved through the CA list).
/// A reference that names no CA certificate matches no device: it is a finding only for the
/// group the user `asked` about (`--group-id`), never when every group is scanned.
fn candidates(
    g: &EnrollmentGroup,
    pool: &[Cert],
    ca_list: &[(String, bool, Cert)],
    asked: bool,
    out: &mut Fetched,
) {
    let id = &g.enrollment_group_id;
    let enabled = g.provisioning_status != Some(ProvisioningStatus::Disabled);
    let Some(x509) = &g.attestation.x509 else {
        return;
    };
    let candidate = |label: String, cert: GroupCert, reference: Option<Reference>| GroupCandidate {
        label: format!("enrollment group {id:?} ({label})"),
        group_id: Some(id.clone()),
        enabled,
        cert,
        reference,
    };
    if let Some(s) = &x509.signing_certificates {
        for (slot, c) in [("primary", &s.primary), ("secondary", &s.secondary)] {
            if let Some(cert) = c.as_ref().and_then(|c| group_cert(c, pool)) {
                out.groups
                    .push(candidate(format!("{slot} signing certificate"), cert, None));
            }
        }
    }
    if let Some(refs) = &x509.ca_references {
        for (slot, name) in [("primary", &refs.primary), ("secondary", &refs.secondary)] {
            let Some(name) = name else { continue };
            match ca_list
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            {
                // An unverified reference is still the group's certificate: the service
                // chooses the group by it and refuses the device while it is not verified.
                Some((n, verified, cert)) => out.groups.push(candidate(
                    format!("{slot} CA reference {name:?}"),
                    GroupCert::Known(Box::new(cert.clone())),
                    Some(Reference {
                        name: n.clone(),
                        verified: *verified,
                    }),
                )),
                None if !asked => {}
                None if ca_list.is_empty() => out.notes.push(note(
                    "ca-reference",
                    Status::Warn,
                    format!(
                        "the enrollment group {id:?} refers to the CA certificate {name:?}, which \
                         cannot be read here"
                    ),
                    Some(
                        "pass it with --group-cert instead of --group-id to check the chain".into(),
                    ),
                )),
                None => out.notes.push(Note::MissingReference {
                    group_id: id.clone(),
                    name: name.clone(),
                }),
            }
        }
    }
}

fn group_cert(c: &X509CertificateWithInfo, pool: &[Cert]) -> Option<GroupCert> {
    if let Some(cert) = c
        .certificate
        .as_deref()
        .and_then(decode)
        .and_then(|d| Cert::parse(&d).ok())
    {
        return Some(GroupCert::Known(Box::new(cert)));
    }
    let info = c.info.as_ref()?;
    if let Some(k) = pool.iter().find(|k| {
        k.thumbprints()
            .sha256
            .eq_ignore_ascii_case(&info.sha256_thumbprint)
    }) {
        return Some(GroupCert::Known(Box::new(k.clone())));
    }
    Some(GroupCert::Summary {
        subject: info.subject_name.clone(),
        sha256: info.sha256_thumbprint.clone(),
    })
}

/// A certificate field as the service carries it ([`dps_certgen::cert_from_field`]).
fn decode(text: &str) -> Option<CertificateDer<'static>> {
    dps_certgen::cert_from_field(text).ok()
}
