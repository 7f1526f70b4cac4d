//! One table of X.509 chains, each row with its hand-written verdict, checked twice against
//! the same emulator: through the device API over HTTPS (the device client's outcome, DPS
//! error code and the refusal's message) and through `dps-cli doctor --emulator` (the named
//! finding, the only failing one, and its fix; for an assigned device, the same group). The
//! emulator and doctor both decide with `dps_chain`; this table holds them to the service's
//! rule, row by row.
//!
//! Certificates are made here with rcgen (ECDSA P-256), expired ones with a validity window in
//! the past, so neither side needs a clock.

mod common;
#[path = "chain_table/setup.rs"]
mod setup;

use setup::Setup;

const ROOT_CN: &str = "Table Root CA";
const INTERMEDIATE_CN: &str = "Table Intermediate CA";
const DEVICE: &str = "device-1";

/// A CA of the row's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ca {
    Root,
    Intermediate,
}

/// The device certificate of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    /// Issued by the intermediate, valid now, clientAuth.
    Good,
    /// Issued by the intermediate, expired yesterday.
    Expired,
    /// Issued by the intermediate, extendedKeyUsage serverAuth only.
    ServerAuthOnly,
    /// Self-signed (not a CA), CN = the registration id.
    SelfSigned,
    /// Issued by a rogue intermediate: a CA named like the intermediate, with its own key,
    /// signed by a rogue root named like the root (its own key too).
    Rogue,
}

/// What the device sends after its leaf, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Intermediate,
    Root,
    /// The rogue intermediate (see [`Leaf::Rogue`]).
    RogueIntermediate,
    /// A stale copy of the intermediate: same name, signed by the root, but another key (the
    /// one before a re-key), so it did not sign the leaf.
    StaleIntermediate,
}

/// How the row's chain is made.
#[derive(Debug, Clone, Copy)]
struct Pki {
    leaf: Leaf,
    intermediate_expired: bool,
    root_expired: bool,
}

const GOOD: Pki = Pki {
    leaf: Leaf::Good,
    intermediate_expired: false,
    root_expired: false,
};

/// The outcome of the device API.
#[derive(Debug, Clone, Copy)]
enum Https {
    /// Status assigned, through this enrollment group.
    Assigned(&'static str),
    /// HTTP 401 with DPS error code 401002, the emulator's message containing every needle
    /// (text characteristic of the refusal's `ChainError` variant).
    Refused(&'static [&'static str]),
    /// The registration ends with status `disabled`, its error message naming this
    /// enrollment group.
    Disabled(&'static str),
    /// The TLS handshake itself fails: no HTTP status at all.
    Tls,
}

/// Doctor's finding for the row.
#[derive(Debug, Clone, Copy)]
struct Finding {
    /// Exit code of `dps-cli doctor`.
    exit: i32,
    /// The check that names the verdict.
    check: &'static str,
    /// Its status.
    status: &'static str,
    /// Text its detail contains.
    detail: &'static [&'static str],
    /// Text its fix contains (`fix` must be null when empty and the status is ok).
    fix: &'static [&'static str],
}

struct Row {
    name: &'static str,
    pki: Pki,
    /// Enrollment groups: id, the CA its certificate is, enabled.
    groups: &'static [(&'static str, Ca, bool)],
    /// CA certificates verified by proof of possession.
    verified: &'static [Ca],
    /// CA certificates uploaded but not verified.
    uploaded: &'static [Ca],
    /// What the device sends after its leaf.
    sends: &'static [Sent],
    /// The device presents another key than its certificate's.
    wrong_key: bool,
    /// The registration id, when it is not the CN.
    registration_id: Option<&'static str>,
    https: Https,
    doctor: Finding,
}

const ON_INTERMEDIATE: &[(&str, Ca, bool)] = &[("group-int", Ca::Intermediate, true)];
const ROOT_VERIFIED: &[Ca] = &[Ca::Root];
const FULL: &[Sent] = &[Sent::Intermediate, Sent::Root];
const WITH_INTERMEDIATE: &[Sent] = &[Sent::Intermediate];

/// A row with the defaults of the good case, changed by `f`.
fn row(name: &'static str, https: Https, doctor: Finding, f: impl FnOnce(&mut Row)) -> Row {
    let mut r = Row {
        name,
        pki: GOOD,
        groups: ON_INTERMEDIATE,
        verified: ROOT_VERIFIED,
        uploaded: &[],
        sends: FULL,
        wrong_key: false,
        registration_id: None,
        https,
        doctor,
    };
    f(&mut r);
    r
}

fn ok(check: &'static str, detail: &'static [&'static str]) -> Finding {
    Finding {
        exit: 0,
        check,
        status: "ok",
        detail,
        fix: &[],
    }
}

fn fail(
    check: &'static str,
    detail: &'static [&'static str],
    fix: &'static [&'static str],
) -> Finding {
    Finding {
        exit: 1,
        check,
        status: "fail",
        detail,
        fix,
    }
}

/// The emulator's 401002 message for a missing intermediate (`MissingIntermediate`).
const MISSING_INTERMEDIATE: &str = "without its issuer CN=Table Intermediate CA";
/// No enrollment group applies (`NoEnrollmentGroup`).
const NO_GROUP: &str = "no enrollment group whose certificate is on the device's chain";

fn table() -> Vec<Row> {
    use Https::{Assigned, Disabled, Refused, Tls};
    vec![
        row(
            "good full chain",
            Assigned("group-int"),
            ok("chain", &["reaches the verified CA CN=Table Root CA"]),
            |_| {},
        ),
        row(
            "leaf only, group on the intermediate, root verified",
            Refused(&[MISSING_INTERMEDIATE]),
            fail(
                "chain",
                &[MISSING_INTERMEDIATE],
                &[
                    "send CN=Table Intermediate CA with the device certificate",
                    "--chain ",
                    "intermediate.pem",
                ],
            ),
            |r| r.sends = &[],
        ),
        row(
            "leaf only, group on the intermediate, intermediate verified",
            Assigned("group-int"),
            ok(
                "chain",
                &["reaches the verified CA CN=Table Intermediate CA"],
            ),
            |r| {
                r.sends = &[];
                r.verified = &[Ca::Intermediate];
            },
        ),
        row(
            "missing intermediate: leaf only, group on the root",
            Refused(&[
                NO_GROUP,
                "the last one was issued by CN=Table Intermediate CA, which the device did not send",
            ]),
            fail(
                "enrollment",
                &["the last one was issued by CN=Table Intermediate CA"],
                &["send CN=Table Intermediate CA with the device certificate"],
            ),
            |r| {
                r.sends = &[];
                r.groups = &[("group-root", Ca::Root, true)];
            },
        ),
        row(
            "wrong order: leaf, root, intermediate",
            Assigned("group-int"),
            Finding {
                exit: 0,
                check: "chain-order",
                status: "warn",
                detail: &["its issuer CN=Table Intermediate CA is at position 3"],
                fix: &["leaf first"],
            },
            |r| r.sends = &[Sent::Root, Sent::Intermediate],
        ),
        row(
            "expired leaf",
            Refused(&["the device certificate CN=device-1 expired on"]),
            fail(
                "validity",
                &["the device certificate CN=device-1 expired on"],
                &["create-device-certificate-from-intermediate device-1"],
            ),
            |r| r.pki.leaf = Leaf::Expired,
        ),
        row(
            "expired intermediate",
            Refused(&["the intermediate certificate CN=Table Intermediate CA expired on"]),
            fail(
                "validity",
                &["the intermediate certificate CN=Table Intermediate CA expired on"],
                &["renew the CA CN=Table Intermediate CA"],
            ),
            |r| {
                r.pki.intermediate_expired = true;
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        row(
            "unverified CA: the root uploaded, not verified",
            Refused(&[
                "CN=Table Intermediate CA is not a verified CA certificate",
                "the uploaded CA certificate \"root\" on this chain is not verified",
            ]),
            fail(
                "verified-ca",
                &["the uploaded CA certificate \"root\" on this chain is not verified"],
                &["certificate prove --name root --cert"],
            ),
            |r| {
                r.verified = &[];
                r.uploaded = &[Ca::Root];
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        row(
            "expired verified CA",
            Refused(&["the verified CA certificate CN=Table Root CA expired on"]),
            fail(
                "verified-ca",
                &["the verified CA certificate CN=Table Root CA expired on"],
                &["renew the CA CN=Table Root CA", "(certificate prove)"],
            ),
            |r| {
                r.pki.root_expired = true;
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        row(
            "wrong EKU: serverAuth only",
            Refused(&["CN=device-1 does not allow TLS client authentication"]),
            fail(
                "leaf-eku",
                &["does not allow TLS client authentication"],
                &["extendedKeyUsage clientAuth"],
            ),
            |r| r.pki.leaf = Leaf::ServerAuthOnly,
        ),
        row(
            "CN mismatch: registration id is not the CN",
            Refused(&[
                "(\"other-device\") is not the device certificate's common name (\"device-1\")",
            ]),
            fail(
                "registration-id",
                &["\"other-device\"", "\"device-1\""],
                &["register as \"device-1\""],
            ),
            |r| r.registration_id = Some("other-device"),
        ),
        row(
            "key mismatch",
            Tls,
            fail(
                "key",
                &["the private key does not belong to the device certificate CN=device-1"],
                &["pass the key generated with this certificate"],
            ),
            |r| r.wrong_key = true,
        ),
        row(
            "self-signed rogue with CN = the id",
            Refused(&[
                "no enrollment group whose certificate is on the device's chain (CN=device-1);",
            ]),
            fail(
                "enrollment",
                &["no enrollment group whose certificate is on the device's chain (CN=device-1)"],
                &[
                    "enroll it individually",
                    "enrollment create --registration-id device-1 --cert",
                ],
            ),
            |r| {
                r.pki.leaf = Leaf::SelfSigned;
                r.sends = &[];
            },
        ),
        row(
            "a group on the root, the device sending its intermediate",
            Assigned("group-root"),
            ok("enrollment", &["\"group-root\""]),
            |r| {
                r.groups = &[("group-root", Ca::Root, true)];
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        row(
            "a group on the intermediate, the device sending its intermediate",
            Assigned("group-int"),
            ok("enrollment", &["\"group-int\""]),
            |r| r.sends = WITH_INTERMEDIATE,
        ),
        // Group order does not decide: group-root comes first, group-int is nearer the leaf.
        // (DPS allows no two groups on the same certificate, so a true tie cannot be made.)
        row(
            "two matching groups: the intermediate's wins",
            Assigned("group-int"),
            ok("enrollment", &["\"group-int\""]),
            |r| {
                r.groups = &[
                    ("group-root", Ca::Root, true),
                    ("group-int", Ca::Intermediate, true),
                ];
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        row(
            "a disabled nearer group: the root's group does not take the device",
            Disabled("group-int"),
            fail(
                "group-status",
                &["the enrollment group \"group-int\" is disabled"],
                &["--group-id group-int --provisioning-status enabled"],
            ),
            |r| {
                r.groups = &[
                    ("group-root", Ca::Root, true),
                    ("group-int", Ca::Intermediate, false),
                ];
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        // The intermediate is a trust anchor too, but the path must reach the root's group:
        // the service takes the path through the intermediate up to the root.
        row(
            "root and intermediate verified, group on the root, leaf + intermediate",
            Assigned("group-root"),
            ok(
                "chain",
                &[
                    "reaches the verified CA CN=Table Root CA through the group's certificate CN=Table Root CA",
                ],
            ),
            |r| {
                r.groups = &[("group-root", Ca::Root, true)];
                r.verified = &[Ca::Root, Ca::Intermediate];
                r.sends = WITH_INTERMEDIATE;
            },
        ),
        row(
            "a certificate sent twice: leaf, intermediate, intermediate",
            Assigned("group-int"),
            ok(
                "chain",
                &[
                    "reaches the verified CA CN=Table Root CA through the group's certificate CN=Table Intermediate CA",
                ],
            ),
            |r| r.sends = &[Sent::Intermediate, Sent::Intermediate],
        ),
        // The service searches every path: the stale copy (same name, old key) is a dead end,
        // the current intermediate after it completes the chain.
        row(
            "a stale copy: leaf, old intermediate (same name, other key), intermediate",
            Assigned("group-int"),
            ok(
                "chain",
                &[
                    "reaches the verified CA CN=Table Root CA through the group's certificate CN=Table Intermediate CA",
                ],
            ),
            |r| r.sends = &[Sent::StaleIntermediate, Sent::Intermediate],
        ),
        rogue_intermediate(),
    ]
}

/// A rogue intermediate: named like the real one, its own key, signed by a rogue root named
/// like the real root; the leaf is its. The group is on the real root, which is verified: the
/// rogue intermediate names the root as its issuer, but the verified root's key did not sign it
/// (no group applies, and the refusal says why: `dps_chain::no_group`).
fn rogue_intermediate() -> Row {
    const NOT_SIGNED: &str = "CN=Table Intermediate CA names CN=Table Root CA as its issuer, but \
                              that certificate's key did not sign it";
    row(
        "a rogue intermediate named like the real one, group on the verified root",
        Https::Refused(&[NOT_SIGNED]),
        fail(
            "chain",
            &[NOT_SIGNED],
            &["send the CA certificate that actually issued CN=Table Intermediate CA"],
        ),
        |r| {
            r.pki.leaf = Leaf::Rogue;
            r.groups = &[("group-root", Ca::Root, true)];
            r.sends = &[Sent::RogueIntermediate];
        },
    )
}

/// Runs each row through both sides; the mismatches, one line each.
fn check_rows(rows: Vec<Row>) {
    let mut mismatches = Vec::new();
    for r in rows {
        let setup = Setup::new(&r);
        if let Err(m) = setup.check_https(&r) {
            mismatches.push(format!("{} [https]: {m}", r.name));
        }
        if let Err(m) = setup.check_doctor(&r) {
            mismatches.push(format!("{} [doctor]: {m}", r.name));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn the_emulator_and_doctor_agree_with_the_table() {
    check_rows(table());
}
