//! Property tests of `Cert::parse`, the one place certificate input is checked, and of the
//! chain rule behind it: no input panics; an accepted DER is exactly the input (trailing
//! bytes are refused); and a device certificate with any byte changed is never accepted by
//! the chain rule, however it still parses.

use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use dps_chain::{Cert, ParseError, Trust, verify_group_chain};
use proptest::prelude::*;
use std::sync::OnceLock;
use time::OffsetDateTime;

/// Root (verified), intermediate (the group's certificate) and leaf, made once.
fn pki() -> &'static [Cert; 3] {
    static PKI: OnceLock<[Cert; 3]> = OnceLock::new();
    PKI.get_or_init(|| {
        let spec = |cn, profile| CertSpec {
            common_name: cn,
            profile,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        };
        let root = Credential::self_signed(&spec("Root", Profile::RootCa)).expect("root");
        let intermediate = root
            .sign(&spec("Intermediate", Profile::IntermediateCa))
            .expect("intermediate");
        let leaf = intermediate
            .sign(&spec("device-1", Profile::Leaf))
            .expect("leaf");
        let parse = |c: &Credential| Cert::parse(c.der()).expect("certificate");
        [parse(&root), parse(&intermediate), parse(&leaf)]
    })
}

/// The rule: `leaf` presented with the intermediate, the group on the intermediate, the root
/// verified.
fn accepted(leaf: &Cert) -> bool {
    let [root, intermediate, _] = pki();
    let trust = Trust {
        verified: std::slice::from_ref(root),
        unverified: &[],
    };
    let presented = [leaf.clone(), intermediate.clone()];
    verify_group_chain(&presented, intermediate, trust, OffsetDateTime::now_utc()).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(c) = Cert::parse(&bytes) {
            prop_assert_eq!(c.der().as_ref(), bytes.as_slice());
        }
    }

    #[test]
    fn trailing_bytes_are_refused(which in 0usize..3, junk in prop::collection::vec(any::<u8>(), 1..32)) {
        let mut der = pki()[which].der().to_vec();
        let length = der.len();
        der.extend_from_slice(&junk);
        let refused = matches!(
            Cert::parse(&der),
            Err(ParseError::TrailingBytes { certificate, trailing }) if certificate == length && trailing == junk.len()
        );
        prop_assert!(refused);
    }

    #[test]
    fn a_changed_device_certificate_is_never_accepted(
        changes in prop::collection::vec((any::<usize>(), 1u8..), 1..4),
    ) {
        let original = pki()[2].der().to_vec();
        prop_assert!(accepted(&pki()[2]), "the unchanged chain is accepted");
        let mut der = original.clone();
        for (at, flip) in changes {
            let i = at % der.len();
            der[i] ^= flip;
        }
        prop_assume!(der != original);
        if let Ok(leaf) = Cert::parse(&der) {
            prop_assert!(!accepted(&leaf), "a changed device certificate is accepted");
        }
    }
}
