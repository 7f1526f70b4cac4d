//! Each `ChainError` variant as a finding: its check name, its status, its detail (the error's
//! message) and the command or file its fix names.

use super::*;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile};
use time::OffsetDateTime;

struct Pki {
    dir: tempfile::TempDir,
    root: Cert,
    intermediate: Cert,
    leaf: Cert,
    intermediate_file: PathBuf,
}

fn pki() -> Pki {
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
        .sign(&spec("dev-1", Profile::Leaf))
        .expect("leaf");
    let dir = tempfile::tempdir().expect("tempdir");
    let intermediate_file = dir.path().join("intermediate.pem");
    std::fs::write(&intermediate_file, intermediate.cert_pem()).expect("write");
    let parse = |c: &Credential| Cert::parse(c.der()).expect("parse");
    Pki {
        root: parse(&root),
        intermediate: parse(&intermediate),
        leaf: parse(&leaf),
        dir,
        intermediate_file,
    }
}

impl Pki {
    fn cert_path(&self) -> PathBuf {
        self.dir.path().join("dev-1.cert.pem")
    }
}

/// A context without a service: no group ids, no DPS names, the default global options.
fn context<'a>(
    global: &'a GlobalArgs,
    cert_path: &'a Path,
    files: &'a [(PathBuf, Cert)],
    presented: &'a [Cert],
    groups: &'a [GroupCandidate],
) -> FixContext<'a> {
    FixContext {
        global,
        cert_path,
        device_name: Some("dev-1"),
        registration_id: None,
        files,
        presented,
        groups,
        group_id: None,
        group_ids: &[],
        verified: &[],
        unverified: &[],
        now: now(),
    }
}

/// Renders `e` with the leaf sent alone and the intermediate's file known (and `more` files).
fn finding_with(p: &Pki, e: &ChainError, more: &[(PathBuf, Cert)]) -> Check {
    let cert_path = p.cert_path();
    let mut files = vec![(p.intermediate_file.clone(), p.intermediate.clone())];
    files.extend(more.iter().cloned());
    let presented = vec![p.leaf.clone()];
    let global = GlobalArgs::default();
    render(e, &context(&global, &cert_path, &files, &presented, &[]))
}

/// Renders `e` with the leaf sent alone and the intermediate's file known.
fn finding(p: &Pki, e: &ChainError) -> Check {
    finding_with(p, e, &[])
}

/// Asserts the check name, a failure, the detail being the error's message, and every needle
/// in the fix.
fn assert_finding(p: &Pki, e: &ChainError, check: &str, fix_needles: &[&str]) {
    let c = finding(p, e);
    assert_eq!(c.check, check, "{e:?}");
    assert_eq!(c.status, Status::Fail, "{e:?}");
    assert_eq!(c.detail, e.to_string());
    let fix = c.fix.expect("a fix");
    for n in fix_needles {
        assert!(fix.contains(n), "{n:?} not in the fix of {check}: {fix}");
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn missing_intermediate_names_the_certificate_and_its_file() {
    let p = pki();
    let e = ChainError::MissingIntermediate {
        last: "CN=dev-1".into(),
        missing: "CN=Intermediate".into(),
        verified: "CN=Root".into(),
    };
    let file = p.intermediate_file.display().to_string();
    assert_finding(
        &p,
        &e,
        "chain",
        &[
            &format!(
                "send CN=Intermediate with the device certificate, leaf first: add --chain {file}; "
            ),
            &format!(
                "or verify CN=Intermediate itself by proof of possession: `dps-cli certificate prove --name intermediate --cert {file} --key CA_KEY`, where CA_KEY is its private key file"
            ),
        ],
    );
    // With the certGen full chain beside --cert (holding the intermediate), that file is named.
    let full = p.dir.path().join("dev-1-full-chain.cert.pem");
    let more = [
        (full.clone(), p.leaf.clone()),
        (full.clone(), p.intermediate.clone()),
    ];
    let c = finding_with(&p, &e, &more);
    assert!(
        c.fix.as_deref().is_some_and(|f| f.contains(&format!(
            "use {} (certGen layout), or add --chain {file}",
            full.display()
        ))),
        "{c:?}"
    );
}

#[test]
fn not_verified_names_the_proof_of_possession() {
    let p = pki();
    let upload = ChainError::NotVerified {
        group: "CN=Intermediate".into(),
        top: "CN=Intermediate".into(),
        verified_exist: false,
        unverified_upload: Some("root".into()),
    };
    assert_finding(
        &p,
        &upload,
        "verified-ca",
        &["dps-cli certificate prove --name root --cert"],
    );
    let none = ChainError::NotVerified {
        group: "CN=Intermediate".into(),
        top: "CN=Root".into(),
        verified_exist: true,
        unverified_upload: None,
    };
    // The root is nowhere: its file and key are placeholders, said in words.
    assert_finding(
        &p,
        &none,
        "verified-ca",
        &[
            "(the chain ends at CN=Root)",
            "`dps-cli certificate prove --name ca --cert CA_CERT --key CA_KEY`, where CA_CERT is \
             the certificate file of the root CA of the chain (the issuer of CN=Root) and CA_KEY \
             is the CA's private key file",
        ],
    );
    let reference = ChainError::UnverifiedReference {
        group_id: "g".into(),
        name: "root".into(),
        subject: "CN=Root".into(),
    };
    assert_finding(
        &p,
        &reference,
        "verified-ca",
        &["`dps-cli certificate prove --name root --cert CA_CERT --key CA_KEY`, where"],
    );
    let expired = ChainError::VerifiedCaExpired {
        subject: "CN=Root".into(),
        not_after: now(),
    };
    assert_finding(
        &p,
        &expired,
        "verified-ca",
        &[
            "renew the CA CN=Root with the tool that made it",
            "(certificate prove)",
        ],
    );
}

#[test]
fn enrollment_refusals() {
    let p = pki();
    let unsent = dps_chain::no_enrollment_group(std::slice::from_ref(&p.leaf), "dev-1");
    assert!(matches!(
        unsent,
        ChainError::NoEnrollmentGroup {
            unsent_issuer: Some(_),
            ..
        }
    ));
    let file = p.intermediate_file.display().to_string();
    assert_finding(
        &p,
        &unsent,
        "enrollment",
        &[
            "send CN=Intermediate with the device certificate",
            &format!("--chain {file}"),
            "dps-cli enrollment-group create",
        ],
    );
    let complete = ChainError::NoEnrollmentGroup {
        registration_id: "dev-1".into(),
        sent: vec![
            "CN=dev-1".into(),
            "CN=Intermediate".into(),
            "CN=Root".into(),
        ],
        unsent_issuer: None,
    };
    assert_finding(
        &p,
        &complete,
        "enrollment",
        &[
            "enroll a CA of the device's chain (CN=Intermediate, CN=Root)",
            "dps-cli enrollment-group create",
        ],
    );
    let other = ChainError::NotEnrolledCertificate {
        registration_id: "dev-1".into(),
        sha256: "AB".into(),
    };
    assert_finding(
        &p,
        &other,
        "enrollment",
        &["dps-cli enrollment update --registration-id dev-1"],
    );
}

#[test]
fn device_certificate_refusals() {
    let p = pki();
    let t = now();
    for (e, check, fix) in [
        (
            ChainError::CommonNameMismatch {
                registration_id: "other".into(),
                common_name: Some("dev-1".into()),
            },
            "registration-id",
            "register as \"dev-1\"",
        ),
        (
            ChainError::CommonNameMismatch {
                registration_id: "other".into(),
                common_name: None,
            },
            "registration-id",
            "create-device-certificate-from-intermediate other",
        ),
        (
            ChainError::Expired {
                role: Role::Device,
                subject: "CN=dev-1".into(),
                not_after: t,
                now: t,
            },
            "validity",
            "re-issue it: `dps-cli certs create-device-certificate-from-intermediate dev-1 --out \
             CERTGEN_DIR`, where CERTGEN_DIR is the certGen folder",
        ),
        (
            ChainError::Expired {
                role: Role::Intermediate(1),
                subject: "CN=Intermediate".into(),
                not_after: t,
                now: t,
            },
            "validity",
            "renew the CA CN=Intermediate with the tool that made it",
        ),
        (
            ChainError::NotYetValid {
                role: Role::Device,
                subject: "CN=dev-1".into(),
                not_before: t,
                now: t,
            },
            "validity",
            "wait until then",
        ),
        (
            ChainError::LeafIsCa {
                subject: "CN=dev-1".into(),
            },
            "leaf-not-ca",
            "register with a device (end-entity) certificate",
        ),
        (
            ChainError::LeafNotClientAuth {
                subject: "CN=dev-1".into(),
            },
            "leaf-eku",
            "extendedKeyUsage clientAuth",
        ),
        (
            ChainError::KeyMismatch {
                subject: "CN=dev-1".into(),
            },
            "key",
            "private/NAME.key.pem for certs/NAME.cert.pem",
        ),
        (ChainError::NoCertificate, "leaf", "--cert"),
    ] {
        assert_finding(&p, &e, check, &[fix]);
    }
    let bad = Cert::parse(b"not DER").expect_err("unparseable");
    assert_finding(
        &p,
        &ChainError::Unparseable {
            position: 0,
            source: bad.clone(),
        },
        "leaf",
        &["a valid X.509 certificate"],
    );
    assert_finding(
        &p,
        &ChainError::Unparseable {
            position: 1,
            source: bad,
        },
        "chain",
        &["remove it"],
    );
}

#[test]
fn chain_link_refusals() {
    let p = pki();
    assert_finding(
        &p,
        &ChainError::NotSignedBy {
            subject: "CN=dev-1".into(),
            issuer: "CN=Intermediate".into(),
        },
        "chain",
        &["send the CA certificate that actually issued CN=dev-1"],
    );
    assert_finding(
        &p,
        &ChainError::IssuerNotCa {
            subject: "CN=dev-1".into(),
            issuer: "CN=other".into(),
        },
        "chain",
        &["re-issue CN=other as a CA certificate (basicConstraints CA:TRUE"],
    );
    assert_finding(
        &p,
        &ChainError::GroupNotOnPath {
            group: "CN=Intermediate".into(),
            verified: "CN=Root".into(),
        },
        "chain",
        &["send the group's certificate CN=Intermediate"],
    );
    assert_finding(
        &p,
        &ChainError::Rejected {
            group: "CN=Intermediate".into(),
            reason: webpki::Error::UnknownIssuer,
        },
        "chain",
        &["dps-cli certs inspect"],
    );
}

#[test]
fn the_rule_and_the_rendering_agree_on_a_missing_intermediate() {
    // The very call the emulator makes: the leaf alone, the group on the intermediate, the
    // root verified.
    let p = pki();
    let trust = dps_chain::Trust {
        verified: std::slice::from_ref(&p.root),
        unverified: &[],
    };
    let e =
        dps_chain::verify_group_chain(std::slice::from_ref(&p.leaf), &p.intermediate, trust, now())
            .expect_err("refused");
    let c = finding(&p, &e);
    assert_eq!((c.check.as_str(), c.status), ("chain", Status::Fail));
    assert!(
        c.detail.contains("without its issuer CN=Intermediate"),
        "{c:?}"
    );
}

#[test]
fn a_stale_group_certificate_names_the_group_and_the_new_file() {
    use super::super::checks::{GroupCandidate, GroupCert};
    // The same names, re-generated: the group holds the old intermediate.
    let (old, new) = (pki(), pki());
    let group = GroupCandidate {
        label: "enrollment group \"g1\" (primary signing certificate)".into(),
        group_id: Some("g1".into()),
        enabled: true,
        cert: GroupCert::Known(Box::new(old.intermediate.clone())),
        reference: None,
    };
    let presented = vec![new.leaf.clone(), new.intermediate.clone()];
    let e = dps_chain::no_group(
        &presented,
        &[dps_chain::Candidate {
            group: 0,
            key: group.cert.key(),
        }],
        "dev-1",
    );
    let cert_path = new.cert_path();
    let files = vec![(new.intermediate_file.clone(), new.intermediate.clone())];
    let groups = [group];
    let global = GlobalArgs::default();
    let ctx = context(&global, &cert_path, &files, &presented, &groups);
    let c = render(&e, &ctx);
    assert_eq!((c.check.as_str(), c.status), ("enrollment", Status::Fail));
    assert!(c.detail.contains("same subject, different key"), "{c:?}");
    let fix = c.fix.expect("a fix");
    let file = new.intermediate_file.display().to_string();
    assert!(
        fix.contains(&format!(
            "dps-cli enrollment-group update --group-id g1 --cert {file}"
        )),
        "{fix}"
    );
    // The verified root re-created: the fix verifies the new one.
    let e = ChainError::VerifiedCaReplaced {
        subject: "CN=Root".into(),
        verified_sha256: old.root.thumbprints().sha256.clone(),
        presented_sha256: new.intermediate.thumbprints().sha256.clone(),
    };
    let c = render(&e, &ctx);
    assert_eq!(c.check, "verified-ca");
    assert!(
        c.fix
            .as_deref()
            .is_some_and(|f| f.contains("certificate prove") && f.contains(&file)),
        "{c:?}"
    );
}
