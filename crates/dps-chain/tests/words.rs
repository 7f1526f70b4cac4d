//! The refusals a user reads: each names the problem and its fix in words, with ISO 8601 UTC
//! times and no `Debug` text of a library (`UnixTime(`, `Tag(`, `CaUsedAsEndEntity`, `{ `).

use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_chain::{
    Candidate, Cert, ChainError, GroupKey, Role, Trust, no_group, rfc3339, verify_group_chain,
};
use time::OffsetDateTime;

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

/// Root, intermediate and leaf; made twice, they have the same names and other keys (a chain
/// re-generated with certGen).
struct Chain {
    root: Cert,
    intermediate: Cert,
    leaf: Cert,
}

fn chain() -> Chain {
    let root = Credential::self_signed(&spec("Root", Profile::RootCa)).expect("root");
    let intermediate = root
        .sign(&spec("Intermediate", Profile::IntermediateCa))
        .expect("intermediate");
    let leaf = intermediate
        .sign(&spec("device-1", Profile::Leaf))
        .expect("leaf");
    Chain {
        root: parse(&root),
        intermediate: parse(&intermediate),
        leaf: parse(&leaf),
    }
}

/// No artefact of a `Debug` rendering.
fn assert_words(text: &str) {
    for artefact in ["{ ", "UnixTime", "Tag(", "CaUsedAsEndEntity", "Some("] {
        assert!(!text.contains(artefact), "{artefact:?} in: {text}");
    }
}

#[test]
fn a_regenerated_chain_names_the_stale_group_certificate() {
    let (old, new) = (chain(), chain());
    let presented = [new.leaf.clone(), new.intermediate.clone()];
    for group in [&old.intermediate, &old.root] {
        let full = [new.leaf.clone(), new.intermediate.clone(), new.root.clone()];
        let candidates = [Candidate {
            group: 0,
            key: GroupKey::Cert(group),
        }];
        let e = no_group(&full, &candidates, "device-1");
        let ChainError::StaleGroupCertificate {
            subject,
            enrolled_sha256,
            presented_sha256,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(subject, group.subject());
        assert_eq!(enrolled_sha256, &group.thumbprints().sha256);
        assert_ne!(enrolled_sha256, presented_sha256);
        let text = e.to_string();
        for needle in [
            "same subject, different key",
            enrolled_sha256.as_str(),
            presented_sha256.as_str(),
            "the group holds the old certificate",
            "update the group with the new certificate",
        ] {
            assert!(text.contains(needle), "{needle:?} not in: {text}");
        }
        assert_words(&text);
    }
    // The service's summary of the group's certificate (subject and thumbprint) says as much.
    let sha256 = old.intermediate.thumbprints().sha256.to_ascii_lowercase();
    let candidates = [Candidate {
        group: 0,
        key: GroupKey::Summary {
            subject: "CN = Intermediate",
            sha256: &sha256,
        },
    }];
    assert!(matches!(
        no_group(&presented, &candidates, "device-1"),
        ChainError::StaleGroupCertificate { .. }
    ));
    // A chain of unrelated names stays "no enrollment group".
    let other = Credential::self_signed(&spec("Other", Profile::RootCa)).expect("other");
    let other = parse(&other);
    let candidates = [Candidate {
        group: 0,
        key: GroupKey::Cert(&other),
    }];
    assert!(matches!(
        no_group(&presented, &candidates, "device-1"),
        ChainError::NoEnrollmentGroup { .. }
    ));
}

#[test]
fn a_regenerated_root_names_the_stale_verified_ca() {
    let (old, new) = (chain(), chain());
    let verified = [old.root.clone()];
    let trust = Trust {
        verified: &verified,
        unverified: &[],
    };
    let presented = [new.leaf.clone(), new.intermediate.clone(), new.root.clone()];
    let e = verify_group_chain(
        &presented,
        &new.intermediate,
        trust,
        OffsetDateTime::now_utc(),
    )
    .expect_err("the old root is verified, not the new one");
    assert!(matches!(e, ChainError::VerifiedCaReplaced { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("different key"), "{text}");
    assert!(text.contains(&old.root.thumbprints().sha256), "{text}");
    assert!(text.contains("upload and verify the new one"), "{text}");
    assert_words(&text);
}

#[test]
fn times_are_iso_8601_utc_in_whole_seconds() {
    let t = OffsetDateTime::from_unix_timestamp(1_798_952_213).expect("time")
        + time::Duration::milliseconds(250);
    assert_eq!(rfc3339(t), "2027-01-03T04:56:53Z");
    let e = ChainError::Expired {
        role: Role::Intermediate(1),
        subject: "CN=Intermediate".into(),
        not_after: t,
        now: t,
    };
    assert_eq!(
        e.to_string(),
        "the intermediate certificate CN=Intermediate expired on 2027-01-03T04:56:53Z"
    );
}

#[test]
fn a_ca_certificate_as_the_device_certificate_is_explained() {
    let c = chain();
    let edge = Credential::self_signed(&spec("edge1.ca", Profile::IntermediateCa)).expect("edge");
    let e = dps_chain::check_end_entity(&parse(&edge)).expect_err("a CA");
    let text = e.to_string();
    for needle in ["is a CA certificate", "IoT Edge", "end-entity"] {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
    assert_words(&text);
    dps_chain::check_end_entity(&c.leaf).expect("a device certificate");
}

#[test]
fn unparseable_certificates_are_described_in_words() {
    let pfx_like = [0x30, 0x03, 0x02, 0x01, 0x03];
    let e = Cert::parse(&pfx_like).expect_err("not a certificate");
    let text = ChainError::Unparseable {
        position: 0,
        source: e,
    }
    .to_string();
    assert!(text.contains("not an X.509 certificate"), "{text}");
    assert_words(&text);
}
