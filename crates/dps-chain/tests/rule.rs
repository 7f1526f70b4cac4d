//! The chain rule on a table of chains, each with its hand-written verdict. The same rule is
//! checked end to end (HTTPS device API and doctor) in crates/dps-cli/tests/chain_table.rs.

use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_chain::{
    Candidate, Cert, ChainError, Decision, GroupKey, Role, Trust, decide, nearest,
    verify_group_chain,
};
use time::{Duration, OffsetDateTime};

struct Pki {
    root: Cert,
    intermediate: Cert,
    leaf: Cert,
    /// A root with the real root's name and another key.
    impostor_root: Cert,
    /// A leaf issued straight by the root.
    root_leaf: Cert,
}

fn spec(cn: &str, profile: Profile, days: u32) -> CertSpec<'_> {
    CertSpec {
        common_name: cn,
        profile,
        algorithm: KeyAlgorithm::EcdsaP256,
        days,
    }
}

fn parse(c: &Credential) -> Cert {
    Cert::parse(c.der()).expect("certificate")
}

/// Root (`root_days`), intermediate (90 days), leaf (`leaf_days`).
fn pki(root_days: u32, leaf_days: u32) -> Pki {
    let root = Credential::self_signed(&spec("Root", Profile::RootCa, root_days)).expect("root");
    let intermediate = root
        .sign(&spec("Intermediate", Profile::IntermediateCa, 90))
        .expect("intermediate");
    let leaf = intermediate
        .sign(&spec("device-1", Profile::Leaf, leaf_days))
        .expect("leaf");
    let root_leaf = root
        .sign(&spec("device-2", Profile::Leaf, 30))
        .expect("leaf");
    let impostor = Credential::self_signed(&spec("Root", Profile::RootCa, 30)).expect("root");
    Pki {
        root: parse(&root),
        intermediate: parse(&intermediate),
        leaf: parse(&leaf),
        impostor_root: parse(&impostor),
        root_leaf: parse(&root_leaf),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn verify(
    presented: &[&Cert],
    group: &Cert,
    verified: &[&Cert],
    at: OffsetDateTime,
) -> Result<(), ChainError> {
    let presented: Vec<Cert> = presented.iter().map(|c| (*c).clone()).collect();
    let verified: Vec<Cert> = verified.iter().map(|c| (*c).clone()).collect();
    let trust = Trust {
        verified: &verified,
        unverified: &[],
    };
    verify_group_chain(&presented, group, trust, at).map(|_| ())
}

#[test]
fn accepted_chains() {
    let p = pki(30, 30);
    // Full chain, group on the intermediate, root verified.
    verify(
        &[&p.leaf, &p.intermediate],
        &p.intermediate,
        &[&p.root],
        now(),
    )
    .expect("full chain");
    // The same chain with the root sent too.
    verify(
        &[&p.leaf, &p.intermediate, &p.root],
        &p.intermediate,
        &[&p.root],
        now(),
    )
    .expect("root sent");
    // Wrong order: the service builds the path whatever the order.
    verify(
        &[&p.leaf, &p.root, &p.intermediate],
        &p.intermediate,
        &[&p.root],
        now(),
    )
    .expect("any order");
    // Group on the root.
    verify(&[&p.leaf, &p.intermediate], &p.root, &[&p.root], now()).expect("group on root");
    // The group's certificate is itself the verified CA: the leaf alone is enough.
    verify(&[&p.leaf], &p.intermediate, &[&p.intermediate], now()).expect("verified group cert");
    verify(&[&p.root_leaf], &p.root, &[&p.root], now()).expect("leaf of the root");
}

#[test]
fn every_path_is_searched() {
    let p = pki(30, 30);
    // Root and intermediate both verified, group on the root: the path through the root counts
    // even though the intermediate is itself a verified anchor.
    verify(
        &[&p.leaf, &p.intermediate],
        &p.root,
        &[&p.intermediate, &p.root],
        now(),
    )
    .expect("group on the root, both verified");
    // A certificate sent twice.
    verify(
        &[&p.leaf, &p.intermediate, &p.intermediate],
        &p.intermediate,
        &[&p.root],
        now(),
    )
    .expect("sent twice");
    // A stale copy of the intermediate (same name, another key) before the real one.
    let other_root = Credential::self_signed(&spec("Root", Profile::RootCa, 30)).expect("root");
    let stale = parse(
        &other_root
            .sign(&spec("Intermediate", Profile::IntermediateCa, 30))
            .expect("stale"),
    );
    verify(
        &[&p.leaf, &stale, &p.intermediate],
        &p.intermediate,
        &[&p.root],
        now(),
    )
    .expect("stale copy first");
    // Only the stale copy: the leaf names it as its issuer, but it did not sign the leaf.
    assert!(matches!(
        verify(&[&p.leaf, &stale], &p.root, &[&p.root], now()),
        Err(ChainError::NotSignedBy { .. })
    ));
}

#[test]
fn a_group_certificate_never_fills_a_gap() {
    let p = pki(30, 30);
    let e = verify(&[&p.leaf], &p.intermediate, &[&p.root], now()).expect_err("leaf only");
    match e {
        ChainError::MissingIntermediate {
            last,
            missing,
            verified,
        } => {
            assert_eq!(last, "CN=device-1");
            assert_eq!(missing, "CN=Intermediate");
            assert_eq!(verified, "CN=Root");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn refusals_keep_their_facts() {
    let p = pki(30, 30);
    let later = now() + Duration::days(45);
    match verify(
        &[&p.leaf, &p.intermediate],
        &p.intermediate,
        &[&p.root],
        later,
    ) {
        Err(ChainError::Expired {
            role: Role::Device,
            subject,
            not_after,
            now: at,
        }) => {
            assert_eq!(subject, "CN=device-1");
            assert_eq!((not_after, at), (p.leaf.not_after(), later));
        }
        other => panic!("unexpected {other:?}"),
    }
    let earlier = now() - Duration::days(2);
    assert!(matches!(
        verify(
            &[&p.leaf, &p.intermediate],
            &p.intermediate,
            &[&p.root],
            earlier
        ),
        Err(ChainError::NotYetValid {
            role: Role::Device,
            ..
        })
    ));
    // Nothing verified, then only another chain's root verified.
    assert!(matches!(
        verify(&[&p.leaf, &p.intermediate], &p.intermediate, &[], now()),
        Err(ChainError::NotVerified {
            verified_exist: false,
            ..
        })
    ));
    let other =
        parse(&Credential::self_signed(&spec("Other Root", Profile::RootCa, 30)).expect("root"));
    assert!(matches!(
        verify(
            &[&p.leaf, &p.intermediate],
            &p.intermediate,
            &[&other],
            now()
        ),
        Err(ChainError::NotVerified {
            verified_exist: true,
            ..
        })
    ));
    // A verified CA with the root's name but another key: the signature names the impostor.
    assert!(matches!(
        verify(
            &[&p.leaf, &p.intermediate],
            &p.intermediate,
            &[&p.impostor_root],
            now()
        ),
        Err(ChainError::NotSignedBy { .. })
    ));
    // Verified intermediate, group on the root: the path to the verified CA skips the group.
    assert!(matches!(
        verify(
            &[&p.leaf, &p.intermediate],
            &p.root,
            &[&p.intermediate],
            now()
        ),
        Err(ChainError::GroupNotOnPath { .. })
    ));
    // A CA certificate as the device's own.
    assert!(matches!(
        verify(&[&p.intermediate], &p.root, &[&p.root], now()),
        Err(ChainError::LeafIsCa { .. })
    ));
}

#[test]
fn an_expired_verified_ca_is_named() {
    let p = pki(1, 90);
    let later = now() + Duration::days(10);
    match verify(
        &[&p.leaf, &p.intermediate],
        &p.intermediate,
        &[&p.root],
        later,
    ) {
        Err(ChainError::VerifiedCaExpired { subject, not_after }) => {
            assert_eq!(
                (subject.as_str(), not_after),
                ("CN=Root", p.root.not_after())
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_nearest_group_decides() {
    let p = pki(30, 30);
    let chain = [p.leaf.clone(), p.intermediate.clone()];
    let groups = [GroupKey::Cert(&p.root), GroupKey::Cert(&p.intermediate)];
    assert_eq!(nearest(&chain, groups), Some((1, 1)));
    // The root issued the last certificate sent: position 2.
    assert_eq!(nearest(&chain, [GroupKey::Cert(&p.root)]), Some((0, 2)));
    // A leaf alone does not reach a group on the root.
    assert_eq!(
        nearest(std::slice::from_ref(&p.leaf), [GroupKey::Cert(&p.root)]),
        None
    );
    // A summary matches by thumbprint or by the issuer's name.
    let sha = p.intermediate.thumbprints().sha256.to_lowercase();
    let summary = GroupKey::Summary {
        subject: "CN = Intermediate",
        sha256: &sha,
    };
    assert_eq!(nearest(&chain, [summary]), Some((0, 1)));
    assert_eq!(
        nearest(std::slice::from_ref(&p.leaf), [summary]),
        Some((0, 1))
    );
    // A self-signed rogue with the device's name matches nothing.
    let rogue = Credential::self_signed(&spec("device-1", Profile::RootCa, 30)).expect("rogue");
    assert_eq!(nearest(&[parse(&rogue)], groups), None);
    // Ties go to the first given; a group's two certificates at one position both count.
    let candidates = [
        Candidate {
            group: 7,
            key: GroupKey::Cert(&p.intermediate),
        },
        Candidate {
            group: 3,
            key: GroupKey::Cert(&p.root),
        },
        Candidate {
            group: 7,
            key: GroupKey::Cert(&p.intermediate),
        },
        Candidate {
            group: 9,
            key: GroupKey::Cert(&p.intermediate),
        },
    ];
    assert_eq!(
        decide(&chain, &candidates),
        Some(Decision {
            group: 7,
            position: 1,
            candidates: vec![0, 2],
        })
    );
    assert_eq!(
        decide(std::slice::from_ref(&p.leaf), &candidates[1..2]),
        None
    );
    let e = dps_chain::no_enrollment_group(std::slice::from_ref(&p.leaf), "device-1");
    assert!(
        e.to_string()
            .contains("the last one was issued by CN=Intermediate, which the device did not send"),
        "{e}"
    );
}
