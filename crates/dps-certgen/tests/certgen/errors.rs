//! Bad input: each case gives its specific error and leaves the folder exactly as it was.

use crate::common::{PW, batch, chain_opts, leaf_opts, names, p256_chain, refused, tempdir, tree};
use dps_certgen::{
    CHAIN_PREFIX, CertDir, ChainOptions, EDGE_PREFIX, Error, INTERMEDIATE_PREFIX, KeyAlgorithm,
    LeafOptions, Outcome, ROOT_PREFIX, Result, Signer, VERIFICATION_PREFIX,
};
use dps_protocol::{IdError, IdKind, IdWarning};

#[test]
fn invalid_names_are_refused() {
    let (tmp, dir) = p256_chain();
    let cn = IdKind::CommonName;
    let id = |s: &str| s.to_owned();
    let long = "a".repeat(65);
    let cases = [
        (
            "bad/name",
            IdError::InvalidCharacter {
                kind: cn,
                id: id("bad/name"),
                ch: '/',
                position: 4,
            },
        ),
        (
            "dev name",
            IdError::InvalidCharacter {
                kind: cn,
                id: id("dev name"),
                ch: ' ',
                position: 4,
            },
        ),
        ("", IdError::Empty { kind: cn }),
        (
            &long,
            IdError::TooLong {
                kind: cn,
                id: long.clone(),
                len: 65,
                max: 64,
            },
        ),
        (
            "-dev",
            IdError::BadFirst {
                kind: cn,
                id: id("-dev"),
                ch: '-',
            },
        ),
        (
            "dev.",
            IdError::BadLast {
                kind: cn,
                id: id("dev."),
                ch: '.',
            },
        ),
    ];
    for (name, want) in cases {
        // Alone, and after a valid name: a batch is all or nothing.
        for list in [vec![name], vec!["good-1", name]] {
            match refused(tmp.path(), || batch(&dir, &list)) {
                Error::InvalidName(e) => assert_eq!(e, want, "{name:?}"),
                other => panic!("{name:?}: {other:?}"),
            }
        }
    }
    // 64 characters is the limit for a device; an edge name gets ".ca", so 62 is too long.
    batch(&dir, &[&"a".repeat(64)]).expect("64 characters are fine");
    let opts = leaf_opts(Signer::Intermediate);
    let err = refused(tmp.path(), || {
        dir.create_edge_device_certificate(&"e".repeat(62), &opts)
    });
    assert!(
        matches!(err, Error::InvalidName(IdError::TooLong { len: 65, .. })),
        "{err:?}"
    );
    let err = refused(tmp.path(), || {
        dir.create_edge_device_certificate("bad/edge", &opts)
    });
    assert!(
        matches!(err, Error::InvalidName(IdError::InvalidCharacter { .. })),
        "{err:?}"
    );
}

#[test]
fn verification_codes_are_taken_exactly_as_given() {
    let (tmp, dir) = p256_chain();
    let opts = leaf_opts(Signer::Root);
    // No registration-id rule and no case advice: the README's placeholder, upper case, and
    // characters a registration id may not hold are all codes as DPS might give them.
    for code in [
        "1A2B3C...",
        "1F6BE7CF",
        "1f6be7cf",
        "a code/with spaces",
        &"C".repeat(64),
    ] {
        let out = dir
            .create_verification_certificate(code, &opts)
            .unwrap_or_else(|e| panic!("{code:?}: {e}"));
        assert!(out.warnings.is_empty(), "{code:?}: {:?}", out.warnings);
        assert_eq!(out.issued[0].common_name, code);
    }
    // What no common name can hold is refused, in words.
    for (code, words) in [
        ("", "it is empty"),
        (&"C".repeat(65) as &str, "65 characters long"),
        ("AB\nCD", "control character at position 3"),
    ] {
        let err = refused(tmp.path(), || {
            dir.create_verification_certificate(code, &opts)
        });
        assert!(
            matches!(err, Error::InvalidVerificationCode { .. }),
            "{code:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(words), "{text}");
        assert!(
            text.contains("use the code exactly as DPS gave it"),
            "{text}"
        );
        assert!(!text.contains("registration id"), "{text}");
    }
}

#[test]
fn upper_case_names_succeed_with_a_warning() {
    let (_tmp, dir) = p256_chain();
    let out = batch(&dir, &["MyDevice"]).expect("upper case is legal");
    assert_eq!(
        out.warnings,
        [IdWarning::UpperCase {
            id: "MyDevice".to_owned()
        }]
    );
    assert!(dir.cert_path("MyDevice").is_file());
    let out = batch(&dir, &["lower-only"]).expect("lower case");
    assert!(out.warnings.is_empty());
}

#[test]
fn duplicate_names_in_a_batch_are_refused() {
    let (tmp, dir) = p256_chain();
    let err = refused(tmp.path(), || batch(&dir, &["dev-a", "dev-b", "dev-a"]));
    assert!(
        matches!(&err, Error::DuplicateName { name } if name == "dev-a"),
        "{err:?}"
    );
    // DPS compares registration ids case-insensitively.
    let err = refused(tmp.path(), || batch(&dir, &["Dev-A", "dev-a"]));
    assert!(
        matches!(&err, Error::DuplicateName { name } if name == "dev-a"),
        "{err:?}"
    );
}

#[test]
fn names_of_the_chain_files_are_reserved() {
    let (tmp, dir) = p256_chain();
    let upper = ROOT_PREFIX.to_ascii_uppercase();
    for name in [
        ROOT_PREFIX,
        INTERMEDIATE_PREFIX,
        CHAIN_PREFIX,
        VERIFICATION_PREFIX,
        EDGE_PREFIX,
        &upper,
    ] {
        let err = refused(tmp.path(), || batch(&dir, &["ok-dev", name]));
        assert!(
            matches!(&err, Error::ReservedName { name: n } if n == name),
            "{err:?}"
        );
    }
}

#[test]
fn validity_must_be_1_to_36500_days() {
    let tmp = tempdir();
    let fresh = CertDir::new(tmp.path());
    for days in [0, 36_501] {
        let opts = ChainOptions {
            days,
            ..chain_opts(KeyAlgorithm::EcdsaP256)
        };
        let err = refused(tmp.path(), || fresh.create_root_and_intermediate(&opts));
        assert!(
            matches!(err, Error::InvalidValidity(d) if d == days),
            "{err:?}"
        );
    }
    assert!(tree(tmp.path()).is_empty());
    let (tmp, dir) = p256_chain();
    let opts = LeafOptions {
        days: 0,
        password: Some(PW.to_owned()),
        ..leaf_opts(Signer::Root)
    };
    let ops: [&dyn Fn() -> Result<Outcome>; 3] = [
        &|| dir.create_device_certificates(&names(&["dev"]), &opts, &|_, _| {}),
        &|| dir.create_verification_certificate("c0de", &opts),
        &|| dir.create_edge_device_certificate("edge", &opts),
    ];
    for op in ops {
        let err = refused(tmp.path(), op);
        assert!(matches!(err, Error::InvalidValidity(0)), "{err:?}");
    }
}

#[test]
fn ca_common_names_are_checked() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    for bad in [String::new(), "R".repeat(65), "tab\there".to_owned()] {
        let opts = ChainOptions {
            root_cn: bad.clone(),
            ..chain_opts(KeyAlgorithm::EcdsaP256)
        };
        let err = refused(tmp.path(), || dir.create_root_and_intermediate(&opts));
        assert!(matches!(err, Error::InvalidName(_)), "{bad:?}: {err:?}");
        let opts = ChainOptions {
            intermediate_cn: bad,
            ..chain_opts(KeyAlgorithm::EcdsaP256)
        };
        let err = refused(tmp.path(), || dir.create_root_and_intermediate(&opts));
        assert!(matches!(err, Error::InvalidName(_)), "{err:?}");
    }
    assert!(tree(tmp.path()).is_empty());
}
