//! The device certificate-chain rule of Azure IoT Hub DPS, in one place.
//!
//! The emulator's device API (HTTPS today, MQTT later) and `dps-cli doctor` call these
//! functions, so they cannot disagree. Every refusal is a [`ChainError`] that keeps the names
//! and times of the failing link; the emulator renders it as its 401002 message, doctor as a
//! finding with the command that fixes it.
//!
//! * [`Cert`]: a certificate parsed once.
//! * [`decide`] (with [`position`], [`nearest`], [`issuer_path`]): which enrollment group a
//!   chain belongs to — the nearest to the leaf decides; [`unverified_reference`] explains a
//!   group that would match once its referenced CA is verified.
//! * [`verify_group_chain`]: the chain rule for a group — what the device presents must reach
//!   a certificate verified by proof of possession through the group's certificate; a
//!   certificate held only by the group never fills a gap.
//! * [`check_identity`], [`check_individual`], [`check_validity`], [`check_client_auth`],
//!   [`check_key`]: the single-certificate rules.
//! * [`group_certificate`]: what an enrollment group's certificate promises before any device
//!   registers (a CA, verified or under a verified CA).
//!
//! ```
//! use dps_chain::{Cert, Trust, verify_group_chain, ChainError};
//! use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
//!
//! let spec = |cn, profile| CertSpec { common_name: cn, profile, algorithm: KeyAlgorithm::EcdsaP256, days: 30 };
//! let root = Credential::self_signed(&spec("Root", Profile::RootCa))?;
//! let intermediate = root.sign(&spec("Intermediate", Profile::IntermediateCa))?;
//! let leaf = intermediate.sign(&spec("device-1", Profile::Leaf))?;
//! let parse = |c: &Credential| Cert::parse(c.der()).expect("certificate");
//! let (root, intermediate, leaf) = (parse(&root), parse(&intermediate), parse(&leaf));
//! let trust = Trust { verified: std::slice::from_ref(&root), unverified: &[] };
//! let now = time::OffsetDateTime::now_utc();
//!
//! // The group is on the intermediate and only the root is verified: the leaf alone is refused.
//! let e = verify_group_chain(&[leaf.clone()], &intermediate, trust, now).unwrap_err();
//! assert!(matches!(e, ChainError::MissingIntermediate { .. }));
//! // With its intermediate, the device is accepted.
//! verify_group_chain(&[leaf, intermediate.clone()], &intermediate, trust, now)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cert;
mod enrolled;
mod error;
mod rule;
mod select;

pub use cert::{Cert, ParseError, directory_string};
pub use enrolled::{GroupCertificate, group_certificate};
pub use error::{ChainError, Role, rfc3339};
pub use rule::{
    Accepted, Trust, check_client_auth, check_end_entity, check_identity, check_individual,
    check_key, check_validity, no_enrollment_group, presented_role, verify_group_chain,
};
pub use select::{
    Candidate, Decision, GroupKey, decide, issuer_path, nearest, no_group, position, same_dn,
    unverified_reference,
};
