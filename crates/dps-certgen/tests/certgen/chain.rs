//! The CA chain as a signer: refusing to replace it, and each way it can be unusable
//! (missing pieces, passwords, a leaf or a foreign key in the CA's place).

use crate::common::{
    PW, batch, cert, certs, chain_opts, chain_tree, device, leaf_opts, names, p256_chain, read,
    refused, snapshot, tempdir, tree, webpki_verify, webpki_verify_full_chain,
};
use dps_certgen::{
    CertDir, ChainOptions, Error, INTERMEDIATE_PREFIX, KeyAlgorithm, LeafOptions, Outcome,
    ROOT_PREFIX, Result, Signer,
};
use std::path::PathBuf;

#[test]
fn an_existing_chain_is_kept_without_force() {
    let (tmp, dir) = p256_chain();
    device(&dir, "dev", Signer::Intermediate);
    let before = snapshot(tmp.path());
    let err = dir
        .create_root_and_intermediate(&chain_opts(KeyAlgorithm::EcdsaP256))
        .expect_err("refused");
    assert!(
        matches!(&err, Error::ChainExists { dir: d } if d == tmp.path()),
        "{err:?}"
    );
    // The library names the folder; the advice (dps-cli's --force) is the command line's.
    let text = err.to_string();
    assert!(text.contains(&tmp.path().display().to_string()), "{text}");
    assert!(!text.contains("--"), "{text}");
    assert_eq!(snapshot(tmp.path()), before, "byte-identical");
    // The root key alone is enough to count as a chain.
    std::fs::remove_file(dir.cert_path(ROOT_PREFIX)).expect("rm root cert");
    let before = snapshot(tmp.path());
    let err = dir
        .create_root_and_intermediate(&chain_opts(KeyAlgorithm::EcdsaP256))
        .expect_err("refused");
    assert!(matches!(err, Error::ChainExists { .. }), "{err:?}");
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn force_replaces_the_chain() {
    let (tmp, dir) = p256_chain();
    device(&dir, "dev", Signer::Intermediate);
    let before = snapshot(tmp.path());
    dir.create_root_and_intermediate(&ChainOptions {
        force: true,
        password: Some(PW.to_owned()),
        ..chain_opts(KeyAlgorithm::EcdsaP256)
    })
    .expect("forced");
    let after = snapshot(tmp.path());
    let mut chain_files = chain_tree();
    chain_files.retain(|f| !f.ends_with('/'));
    for f in &chain_files {
        assert_ne!(
            after[&PathBuf::from(f)],
            before[&PathBuf::from(f)],
            "{f} replaced"
        );
    }
    // The device files stay, but no longer chain to the new root.
    let full = certs(&dir.full_chain_path("dev"));
    assert_eq!(
        read(&dir.cert_path("dev")),
        before[&PathBuf::from("certs/dev.cert.pem")].0
    );
    let root = cert(&dir.cert_path(ROOT_PREFIX));
    let inter = cert(&dir.cert_path(INTERMEDIATE_PREFIX));
    assert!(webpki_verify(&full[0], &[&inter], &root).is_err());
    device(&dir, "dev2", Signer::Intermediate);
    webpki_verify_full_chain(&dir.full_chain_path("dev2"));
}

#[test]
fn a_missing_chain_is_reported() {
    let tmp = tempdir();
    let dir = CertDir::new(tmp.path());
    for signer in [Signer::Root, Signer::Intermediate] {
        let prefix = if signer == Signer::Root {
            ROOT_PREFIX
        } else {
            INTERMEDIATE_PREFIX
        };
        let opts = leaf_opts(signer);
        let ops: [&dyn Fn() -> Result<Outcome>; 2] = [
            &|| dir.create_device_certificates(&names(&["dev"]), &opts, &|_, _| {}),
            &|| dir.create_verification_certificate("c0de", &opts),
        ];
        for op in ops {
            let err = refused(tmp.path(), op);
            let Error::MissingFile { path, hint } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(*path, dir.cert_path(prefix));
            assert!(
                hint.as_deref()
                    .is_some_and(|h| h.contains("create_root_and_intermediate"))
            );
        }
    }
    let opts = leaf_opts(Signer::Intermediate);
    let err = refused(tmp.path(), || {
        dir.create_edge_device_certificate("edge", &opts)
    });
    assert!(matches!(err, Error::MissingFile { .. }), "{err:?}");
    assert!(tree(tmp.path()).is_empty(), "no folder was created");

    // A chain with one file missing: the key, then the root certificate behind an intermediate.
    let (tmp, dir) = p256_chain();
    std::fs::remove_file(dir.key_path(INTERMEDIATE_PREFIX)).expect("rm key");
    let err = refused(tmp.path(), || batch(&dir, &["dev"]));
    assert!(
        matches!(&err, Error::MissingFile { path, .. } if *path == dir.key_path(INTERMEDIATE_PREFIX)),
        "{err:?}"
    );
    let (tmp, dir) = p256_chain();
    std::fs::remove_file(dir.cert_path(ROOT_PREFIX)).expect("rm root cert");
    let err = refused(tmp.path(), || batch(&dir, &["dev"]));
    assert!(
        matches!(&err, Error::MissingFile { path, .. } if *path == dir.cert_path(ROOT_PREFIX)),
        "{err:?}"
    );
}

#[test]
fn ca_passwords_are_checked() {
    let (tmp, dir) = p256_chain();
    for signer in [Signer::Root, Signer::Intermediate] {
        let key = dir.key_path(if signer == Signer::Root {
            ROOT_PREFIX
        } else {
            INTERMEDIATE_PREFIX
        });
        let wrong = LeafOptions {
            password: Some("4321".to_owned()),
            ..leaf_opts(signer)
        };
        let err = refused(tmp.path(), || {
            dir.create_device_certificates(&names(&["dev"]), &wrong, &|_, _| {})
        });
        assert!(
            matches!(&err, Error::WrongPassword { path } if *path == key),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("4321"),
            "no password in messages: {err}"
        );
        let none = LeafOptions {
            password: None,
            ..leaf_opts(signer)
        };
        let err = refused(tmp.path(), || {
            dir.create_verification_certificate("c0de", &none)
        });
        assert!(
            matches!(&err, Error::PasswordRequired { path } if *path == key),
            "{err:?}"
        );
    }
}

#[test]
fn a_leaf_cannot_sign() {
    let (tmp, dir) = p256_chain();
    batch(&dir, &["dev"]).expect("device");
    // Plant the device's certificate and (plain) key under the root's names.
    std::fs::copy(dir.cert_path("dev"), dir.cert_path(ROOT_PREFIX)).expect("cp cert");
    std::fs::copy(dir.key_path("dev"), dir.key_path(ROOT_PREFIX)).expect("cp key");
    let opts = leaf_opts(Signer::Root);
    let err = refused(tmp.path(), || {
        dir.create_device_certificates(&names(&["x"]), &opts, &|_, _| {})
    });
    assert!(
        matches!(&err, Error::NotACa { path } if *path == dir.cert_path(ROOT_PREFIX)),
        "{err:?}"
    );
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let (tmp, dir) = p256_chain();
    // Both keys use password 1234, so only the mismatch can fail.
    std::fs::copy(dir.key_path(INTERMEDIATE_PREFIX), dir.key_path(ROOT_PREFIX)).expect("cp key");
    let opts = leaf_opts(Signer::Root);
    let err = refused(tmp.path(), || {
        dir.create_verification_certificate("c0de", &opts)
    });
    let Error::KeyMismatch { cert: c, key } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (c, key),
        (&dir.cert_path(ROOT_PREFIX), &dir.key_path(ROOT_PREFIX))
    );
}
