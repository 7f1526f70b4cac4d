//! What an enrollment group's certificate promises before any device registers: whether it
//! can sign device certificates at all, and whether it is, or sits under, a CA certificate the
//! DPS has verified. A group failing either refuses every device; `dps-cli` warns when such a
//! group is created. The chain walk is [`issuer_path`]'s, through [`nearest`], the one the
//! device rule uses to place a group on a device's chain.

use crate::cert::Cert;
use crate::select::{GroupKey, nearest};
use time::OffsetDateTime;

/// How an enrollment group's certificate stands on a DPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCertificate {
    /// Not a CA (basicConstraints CA false or absent): it cannot have signed any device's
    /// certificate, so no device chain passes through it.
    NotCa,
    /// A verified CA certificate of the DPS, within its validity.
    Verified,
    /// Issued, directly or through the DPS's other CA certificates, by a verified CA within
    /// its validity.
    UnderVerified {
        /// The subject of the verified CA it chains to.
        verified: String,
    },
    /// A CA that is neither verified nor issued by a verified CA of the DPS.
    Unverified,
}

/// Classifies `group`, an enrollment group's certificate, against the DPS's CA certificates:
/// `uploaded` (all of them, verified or not: they are the links a walk may take) and
/// `verified` (those verified by proof of possession).
pub fn group_certificate(
    group: &Cert,
    uploaded: &[Cert],
    verified: &[Cert],
    now: OffsetDateTime,
) -> GroupCertificate {
    if !group.is_ca() {
        return GroupCertificate::NotCa;
    }
    let valid: Vec<&Cert> = verified.iter().filter(|v| v.valid_at(now)).collect();
    if valid.iter().any(|v| v.same_ca(group)) {
        return GroupCertificate::Verified;
    }
    // The group first, then every CA certificate the DPS holds: the walk from the group up.
    let mut chain = vec![group.clone()];
    chain.extend(uploaded.iter().chain(verified).cloned());
    match nearest(&chain, valid.iter().map(|v| GroupKey::Cert(v))) {
        Some((i, _)) => GroupCertificate::UnderVerified {
            verified: valid[i].subject().to_owned(),
        },
        None => GroupCertificate::Unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};

    fn spec(cn: &str, profile: Profile) -> CertSpec<'_> {
        CertSpec {
            common_name: cn,
            profile,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        }
    }

    fn parse(c: &Credential) -> Cert {
        Cert::parse(c.der()).expect("certificate")
    }

    #[test]
    fn a_group_certificate_against_the_dps() {
        let root = Credential::self_signed(&spec("Root", Profile::RootCa)).expect("root");
        let inter = root
            .sign(&spec("Intermediate", Profile::IntermediateCa))
            .expect("intermediate");
        let low = inter
            .sign(&spec("Low", Profile::IntermediateCa))
            .expect("low");
        let leaf = inter.sign(&spec("dev1", Profile::Leaf)).expect("leaf");
        let (root, inter, low, leaf) = (parse(&root), parse(&inter), parse(&low), parse(&leaf));
        let now = time::OffsetDateTime::now_utc();
        let none: &[Cert] = &[];

        assert_eq!(
            group_certificate(&leaf, none, std::slice::from_ref(&root), now),
            GroupCertificate::NotCa
        );
        // Verified itself.
        assert_eq!(
            group_certificate(&root, none, std::slice::from_ref(&root), now),
            GroupCertificate::Verified
        );
        // Directly under the verified root.
        assert_eq!(
            group_certificate(&inter, none, std::slice::from_ref(&root), now),
            GroupCertificate::UnderVerified {
                verified: root.subject().to_owned()
            }
        );
        // Two levels down: only through the intermediate uploaded to the DPS.
        assert_eq!(
            group_certificate(&low, none, std::slice::from_ref(&root), now),
            GroupCertificate::Unverified
        );
        assert_eq!(
            group_certificate(
                &low,
                std::slice::from_ref(&inter),
                std::slice::from_ref(&root),
                now
            ),
            GroupCertificate::UnderVerified {
                verified: root.subject().to_owned()
            }
        );
        // Nothing verified, or the verified CA out of its validity.
        assert_eq!(
            group_certificate(&inter, std::slice::from_ref(&root), none, now),
            GroupCertificate::Unverified
        );
        let later = now + time::Duration::days(60);
        assert_eq!(
            group_certificate(&inter, none, std::slice::from_ref(&root), later),
            GroupCertificate::Unverified
        );
    }
}
