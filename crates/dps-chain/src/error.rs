//! [`ChainError`]: why DPS refuses a device's X.509 credentials, with the facts of the failing
//! link. The emulator renders it as its 401002 message; `dps-cli doctor` renders the same value
//! with the command that fixes it.

use crate::cert::ParseError;
use std::fmt;
use time::OffsetDateTime;

/// Which certificate a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The device's own (leaf) certificate.
    Device,
    /// The n-th certificate the device sent after its leaf (1 = the first).
    Intermediate(usize),
    /// The enrollment group's certificate.
    GroupCertificate,
    /// A CA certificate verified by proof of possession.
    VerifiedCa,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Device => "device certificate",
            Role::Intermediate(_) => "intermediate certificate",
            Role::GroupCertificate => "enrolled group certificate",
            Role::VerifiedCa => "verified CA certificate",
        })
    }
}

/// A refusal of the device chain rule. Every variant keeps the names and times involved, so a
/// front end can explain it without parsing text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The device presented no certificate.
    #[error("the device sent no client certificate")]
    NoCertificate,
    /// A presented certificate is not parseable.
    #[error("certificate {} of the chain the device sent cannot be parsed: {source}", .position + 1)]
    Unparseable {
        /// 0 = the leaf.
        position: usize,
        /// What the parser said.
        #[source]
        source: ParseError,
    },
    /// The registration id is not the leaf's common name.
    #[error(
        "the registration id in the path ({registration_id:?}) is not the device certificate's common name ({:?})",
        common_name.as_deref().unwrap_or_default()
    )]
    CommonNameMismatch {
        /// The id the device registers with.
        registration_id: String,
        /// The leaf's common name, if it has one.
        common_name: Option<String>,
    },
    /// A certificate's validity has not started.
    #[error("the {role} {subject} is not valid before {}", rfc3339(*not_before))]
    NotYetValid {
        /// Which certificate.
        role: Role,
        /// Its subject.
        subject: String,
        /// Start of its validity.
        not_before: OffsetDateTime,
        /// The time of the check.
        now: OffsetDateTime,
    },
    /// A certificate has expired.
    #[error("the {role} {subject} expired on {}", rfc3339(*not_after))]
    Expired {
        /// Which certificate.
        role: Role,
        /// Its subject.
        subject: String,
        /// End of its validity.
        not_after: OffsetDateTime,
        /// The time of the check.
        now: OffsetDateTime,
    },
    /// The leaf is a CA certificate; DPS needs an end-entity certificate.
    #[error(
        "the device certificate {subject} is a CA certificate (basicConstraints CA:TRUE), not a device certificate"
    )]
    LeafIsCa {
        /// The leaf's subject.
        subject: String,
    },
    /// The leaf's extendedKeyUsage does not allow TLS client authentication.
    #[error(
        "the device certificate {subject} does not allow TLS client authentication (extendedKeyUsage clientAuth)"
    )]
    LeafNotClientAuth {
        /// The leaf's subject.
        subject: String,
    },
    /// The private key does not belong to the device certificate (the TLS handshake fails).
    #[error("the private key does not belong to the device certificate {subject}")]
    KeyMismatch {
        /// The leaf's subject.
        subject: String,
    },
    /// An individually enrolled device presented another certificate than the enrolled one.
    #[error(
        "the device certificate (SHA-256 {sha256}) is not the certificate of the individual enrollment {registration_id:?}"
    )]
    NotEnrolledCertificate {
        /// The enrollment's registration id.
        registration_id: String,
        /// The presented leaf's SHA-256 thumbprint.
        sha256: String,
    },
    /// No enrollment group's certificate is on the device's chain.
    #[error(
        "no individual enrollment {registration_id:?} and no enrollment group whose certificate is on the device's chain ({}{}); \
         enroll the intermediate or root CA that issued it, and make the device send every intermediate",
        sent.join(" <- "),
        unsent_issuer.as_ref().map(|i| format!("; the last one was issued by {i}, which the device did not send")).unwrap_or_default()
    )]
    NoEnrollmentGroup {
        /// The registration id.
        registration_id: String,
        /// Subjects of what the device sent, along its issuer path.
        sent: Vec<String>,
        /// The issuer of the last one, when it is not self-issued.
        unsent_issuer: Option<String>,
    },
    /// A certificate names an issuer whose key did not sign it (a re-created CA, or a rogue
    /// certificate with a borrowed name).
    #[error(
        "{subject} names {issuer} as its issuer, but that certificate's key did not sign it \
         (a CA re-created with the same name, or a certificate from another chain)"
    )]
    NotSignedBy {
        /// The certificate whose signature fails.
        subject: String,
        /// The issuer it names.
        issuer: String,
    },
    /// A certificate's issuer is not a CA certificate.
    #[error(
        "{issuer} issued {subject} but is not a CA certificate (basicConstraints CA:TRUE missing)"
    )]
    IssuerNotCa {
        /// The issued certificate.
        subject: String,
        /// The non-CA issuer.
        issuer: String,
    },
    /// The device left out a certificate between what it sent and a verified CA. A certificate
    /// stored only in the enrollment group never fills that gap.
    #[error(
        "the device sent {last} without its issuer {missing}: a device must send every certificate from its own \
         up to one verified by proof of possession ({verified}); the certificate stored in the enrollment group \
         does not complete the device's chain"
    )]
    MissingIntermediate {
        /// The last certificate of the presented path.
        last: String,
        /// The certificate the device must add.
        missing: String,
        /// The verified CA the missing certificate leads to.
        verified: String,
    },
    /// Nothing on the device's chain is, or is issued by, a verified CA.
    #[error("{}", not_verified_message(group, top, *verified_exist, unverified_upload.as_deref()))]
    NotVerified {
        /// The group's certificate.
        group: String,
        /// The last certificate the chain reaches.
        top: String,
        /// Whether any verified CA exists at all.
        verified_exist: bool,
        /// An uploaded but unverified CA certificate on the chain, by its DPS name.
        unverified_upload: Option<String>,
    },
    /// The enrollment group names an uploaded CA certificate (`caReferences`) that is on the
    /// device's chain but not verified.
    #[error(
        "the enrollment group {group_id:?} references the CA certificate {name:?} ({subject}), which is on the \
         device's chain but not verified: complete proof of possession for it"
    )]
    UnverifiedReference {
        /// The group.
        group_id: String,
        /// The DPS name of the CA certificate.
        name: String,
        /// Its subject.
        subject: String,
    },
    /// The chain reaches a verified CA whose own validity has ended.
    #[error("the verified CA certificate {subject} expired on {}; renew it and verify the new one", rfc3339(*not_after))]
    VerifiedCaExpired {
        /// The verified CA's subject.
        subject: String,
        /// End of its validity.
        not_after: OffsetDateTime,
    },
    /// The chain reaches a verified CA, but not through the group's certificate.
    #[error(
        "the device's chain reaches the verified CA {verified} without passing through the group's certificate {group}"
    )]
    GroupNotOnPath {
        /// The group's certificate.
        group: String,
        /// The verified CA reached.
        verified: String,
    },
    /// rustls-webpki refused the path the structural checks accepted (an algorithm, a key
    /// size, a path length or name constraint).
    #[error("the chain through the group's certificate {group} does not verify: {source:?}")]
    Rejected {
        /// The group's certificate.
        group: String,
        /// rustls-webpki's reason.
        #[source]
        source: webpki::Error,
    },
}

fn not_verified_message(
    group: &str,
    top: &str,
    verified_exist: bool,
    unverified_upload: Option<&str>,
) -> String {
    let upload = unverified_upload
        .map(|n| format!("; the uploaded CA certificate {n:?} on this chain is not verified"))
        .unwrap_or_default();
    if verified_exist {
        format!(
            "the group's certificate {group} is not a verified CA certificate and does not chain to one (the chain \
             ends at {top}){upload}: upload and verify it, or the CA that issued it"
        )
    } else {
        format!(
            "the group's certificate {group} is not a verified CA certificate and no verified CA exists{upload}: \
             upload the root (or intermediate) CA and complete proof of possession"
        )
    }
}

/// RFC 3339 text of a time.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
