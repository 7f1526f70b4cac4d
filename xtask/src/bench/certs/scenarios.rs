//! The certs scenarios: what each one times, with which key algorithm, and issue 7's targets.

use crate::bench::table::Target;

/// Key algorithm of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    Rsa4096,
    P256,
}

impl Algorithm {
    /// The `--algorithm` value of dps-cli.
    pub(super) fn cli_name(self) -> &'static str {
        match self {
            Self::Rsa4096 => "rsa-4096",
            Self::P256 => "ecdsa-p256",
        }
    }
}

/// What a scenario times.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// create_root_and_intermediate in an empty folder.
    Chain,
    /// `count` root-signed device certificates, with a chain made beforehand (not timed).
    Devices { count: usize, pfx: bool },
}

#[derive(Debug)]
pub(super) struct Scenario {
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) algorithm: Algorithm,
    pub(super) kind: Kind,
    /// Why there is no openssl reference, if there is none.
    pub(super) no_reference: Option<&'static str>,
    /// Issue 7's goal for it, if it has one.
    pub(super) target: Option<Target>,
}

pub(super) const DEVICE_NAME: &str = "bench-device";

pub(super) const CERTS: [Scenario; 5] = [
    Scenario {
        name: "chain-rsa4096",
        description: "root + intermediate CA and chain file, RSA-4096 (certGen.sh create_root_and_intermediate)",
        algorithm: Algorithm::Rsa4096,
        kind: Kind::Chain,
        no_reference: None,
        target: Some(Target::RatioAtLeast(1.0)),
    },
    Scenario {
        name: "devices20-rsa4096",
        description: "20 root-signed device certificates with keys and PFX, RSA-4096 (certGen.sh create_device_certificate x20)",
        algorithm: Algorithm::Rsa4096,
        kind: Kind::Devices {
            count: 20,
            pfx: true,
        },
        no_reference: None,
        target: Some(Target::RatioAtLeast(2.0)),
    },
    Scenario {
        name: "chain-p256",
        description: "root + intermediate CA and chain file, ECDSA P-256",
        algorithm: Algorithm::P256,
        kind: Kind::Chain,
        no_reference: None,
        target: None,
    },
    Scenario {
        name: "devices20-p256",
        description: "20 root-signed device certificates with keys and PFX, ECDSA P-256",
        algorithm: Algorithm::P256,
        kind: Kind::Devices {
            count: 20,
            pfx: true,
        },
        no_reference: None,
        target: None,
    },
    Scenario {
        name: "devices1000-p256-nopfx",
        description: "1,000 root-signed P-256 device certificates with keys and full-chain files, no PFX (issue target: under 1 s)",
        algorithm: Algorithm::P256,
        kind: Kind::Devices {
            count: 1000,
            pfx: false,
        },
        no_reference: Some(
            "dps-cli only: the issue's target is 1,000 P-256 device certificates in under 1 s",
        ),
        target: Some(Target::Below(1.0)),
    },
];
