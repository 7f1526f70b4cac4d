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
    /// The leaf's common name is longer than X.520's `ub-common-name` (64 characters), so it
    /// cannot name a registration: DPS refuses such a certificate.
    #[error(
        "the device certificate's common name {common_name:?} is {len} characters long, more than the {max} an X.509 common \
         name may have (X.520 ub-common-name), so it cannot be a registration id; issue the device a certificate \
         whose common name is its registration id of at most {max} characters"
    )]
    CommonNameTooLong {
        /// The leaf's common name.
        common_name: String,
        /// Its length in characters.
        len: usize,
        /// The limit, [`dps_protocol::id::MAX_COMMON_NAME_LEN`].
        max: usize,
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
    /// The leaf is a CA certificate; DPS needs an end-entity certificate. An IoT Edge device
    /// CA certificate is the usual case: it signs the Edge runtime's certificates and is not
    /// the device's identity.
    #[error(
        "the device certificate {subject} is a CA certificate (basicConstraints CA:TRUE), such as an IoT Edge \
         device CA certificate: a device authenticates with an end-entity (non-CA) certificate, and DPS refuses \
         a CA certificate in its place"
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
    /// An enrollment group's certificate and a certificate of the device's chain have the
    /// same subject but different keys: the CA was re-created under the same name and the
    /// group still holds the old certificate (or the device's chain is from another CA that
    /// borrowed the name). No group applies to the device.
    #[error(
        "the enrollment group's certificate and the device's chain both have {subject}: same subject, different \
         key (SHA-256 thumbprint {enrolled_sha256} in the group vs {presented_sha256} on the device's chain): \
         the group holds the old certificate of a CA re-created with the same name; update the group with the \
         new certificate (if the CA was not re-created, the device's chain comes from another CA)"
    )]
    StaleGroupCertificate {
        /// The subject both certificates have.
        subject: String,
        /// SHA-256 thumbprint of the group's certificate.
        enrolled_sha256: String,
        /// SHA-256 thumbprint of the certificate on the device's chain.
        presented_sha256: String,
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
    /// The device's chain ends at a root with the subject of a verified CA but another key:
    /// the CA was re-created under the same name and only the old certificate is verified.
    #[error(
        "the device's chain ends at {subject}, and a verified CA certificate has that subject but a different key \
         (SHA-256 thumbprint {verified_sha256} verified vs {presented_sha256} on the device's chain): the DPS \
         verified the old certificate of a CA re-created with the same name; upload and verify the new one (if the CA \
         was not re-created, the verified one is another CA's)"
    )]
    VerifiedCaReplaced {
        /// The subject both certificates have.
        subject: String,
        /// SHA-256 thumbprint of the verified certificate.
        verified_sha256: String,
        /// SHA-256 thumbprint of the root the device's chain ends at.
        presented_sha256: String,
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
    /// size, a path length or name constraint). The message words `reason` (rustls-webpki's
    /// own text is its `Debug`); `reason` is not a `source`, so no error chain prints it raw.
    #[error(
        "the chain through the group's certificate {group} does not verify: {}",
        webpki_words(reason)
    )]
    Rejected {
        /// The group's certificate.
        group: String,
        /// rustls-webpki's reason.
        reason: webpki::Error,
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

/// A time as every message of dps-rs writes it: ISO 8601 (RFC 3339) in UTC, whole seconds,
/// e.g. `2027-01-03T04:56:53Z` (the service's own format for certificate validity,
/// [`Timestamp::from_datetime_seconds`](dps_protocol::models::Timestamp::from_datetime_seconds)).
pub fn rfc3339(t: OffsetDateTime) -> String {
    dps_protocol::models::Timestamp::from_datetime_seconds(t).into_string()
}

/// rustls-webpki's reason in words (its `Display` is its `Debug`: `CertExpired { time:
/// UnixTime(...) .. }`). The chain rule maps validity errors to [`ChainError::Expired`] and
/// [`ChainError::NotYetValid`] before it gets here; the rest are rare and named by kind.
pub(crate) fn webpki_words(e: &webpki::Error) -> String {
    use webpki::Error as E;
    let at = |t: &rustls_pki_types::UnixTime| {
        i64::try_from(t.as_secs())
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map_or_else(|| "an unknown time".to_owned(), rfc3339)
    };
    match e {
        E::CertExpired { not_after, time } => format!(
            "a certificate on the path expired on {} (checked at {})",
            at(not_after),
            at(time)
        ),
        E::CertNotValidYet { not_before, time } => format!(
            "a certificate on the path is not valid before {} (checked at {})",
            at(not_before),
            at(time)
        ),
        E::CaUsedAsEndEntity => {
            "the device certificate is a CA certificate (basicConstraints CA:TRUE); a device \
             authenticates with an end-entity certificate"
                .into()
        }
        E::EndEntityUsedAsCa => {
            "a certificate that issued another one is not a CA certificate (basicConstraints \
             CA:TRUE missing)"
                .into()
        }
        E::UnknownIssuer => "no certificate on the path issued the last one sent".into(),
        E::InvalidSignatureForPublicKey => {
            "a signature on the path does not match its issuer's key".into()
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::SignatureAlgorithmMismatch => {
            "a certificate on the path is signed with an algorithm or key type DPS does not \
             accept (use RSA 2048+ or ECDSA P-256/P-384 with SHA-256 or stronger)"
                .into()
        }
        E::PathLenConstraintViolated => {
            "the path is longer than a CA's pathLenConstraint allows".into()
        }
        E::NameConstraintViolation => "a name on the path breaks a CA's name constraints".into(),
        E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            "a certificate on the path does not allow TLS client authentication \
             (extendedKeyUsage clientAuth)"
                .into()
        }
        E::UnsupportedCriticalExtension => {
            "a certificate on the path has a critical extension that is not supported".into()
        }
        E::MaximumPathDepthExceeded
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumSignatureChecksExceeded
        | E::MaximumNameConstraintComparisonsExceeded => {
            "the path is too long or too complex to verify (too many certificates)".into()
        }
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::MalformedExtensions
        | E::ExtensionValueInvalid
        | E::InvalidCertValidity
        | E::InvalidSerialNumber
        | E::UnsupportedCertVersion => {
            "a certificate on the path is malformed (its DER encoding or a field is invalid)".into()
        }
        _ => "a certificate on the path breaks a rule of X.509 path validation".into(),
    }
}
