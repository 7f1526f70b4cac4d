//! Why the emulator could not start: [`EmulatorError`], one variant per cause, each keeping
//! its facts.

use crate::store;
use crate::tls::{self, PermittedName, regenerate_command};
use crate::{CaCertificateError, EMULATOR_JSON, LocalCaProblem, LockHolder};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A file or folder could not be read or written.
    #[error("{}: {}", .0.display(), .1)]
    Io(PathBuf, #[source] std::io::Error),
    /// A listening address could not be bound (busy, or not this machine's).
    #[error(
        "cannot listen on {addr} ({flag}): {source}; pass another address with {flag} \
         (port 0 picks a free one){}",
        if *flag == "--listen" { String::new() } else { format!(", or {flag} off") }
    )]
    Bind {
        /// The flag that chose the address: `--listen`, `--mqtt-listen` or `--console-listen`.
        flag: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The local CA or the server certificate could not be made, or the stored CA key not
    /// loaded.
    #[error("TLS setup failed: {what}: {source}")]
    TlsCertificate {
        /// What was being made or loaded (`CA key`, `server certificate`, ...).
        what: &'static str,
        /// Why.
        #[source]
        source: rcgen::Error,
    },
    /// The local CA could not be written into the data folder.
    #[error("TLS setup failed: {0}")]
    TlsFiles(#[source] dps_certgen::Error),
    /// The stored local CA certificate is not valid PEM.
    #[error("TLS setup failed: emulator CA PEM: {0}")]
    TlsCaPem(#[source] rustls::pki_types::pem::Error),
    /// rustls refused the server configuration.
    #[error("TLS setup failed: {0}")]
    TlsConfig(#[source] rustls::Error),
    /// `emulator.json` could not be serialized.
    #[error("cannot write {EMULATOR_JSON}: {0}")]
    InfoJson(#[source] serde_json::Error),
    /// `emulator.json` could not be written.
    #[error("cannot write {EMULATOR_JSON}: {0}")]
    InfoFile(#[source] dps_certgen::Error),
    /// The database could not be opened, or was refused as damaged, empty or missing.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Another emulator runs on the data folder (it holds `emulator.lock`).
    #[error(
        "the data folder {} is in use by another emulator ({holder}); stop that one, or start \
         this one with another --data-dir",
        dir.display()
    )]
    DataDirInUse {
        /// The data folder.
        dir: PathBuf,
        /// What the lock file says of the emulator that holds it.
        holder: LockHolder,
    },
    /// A `--ca-certificate` could not be registered.
    #[error("CA certificate {name:?}: {source}")]
    CaCertificate {
        /// The name it was to be registered under.
        name: String,
        /// The file it was read from.
        path: PathBuf,
        /// Why it was refused.
        #[source]
        source: CaCertificateError,
    },
    /// The system random generator failed while making fresh policy keys (`--generate-keys`).
    #[error("cannot generate the policy keys: the random generator failed")]
    KeyGeneration(#[source] aws_lc_rs::error::Unspecified),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A configured host name lies outside the name constraints of the local CA kept in the
    /// data folder, so the CA cannot vouch for it: the CA must be regenerated (and trusted
    /// again) with every host name.
    #[error(
        "host name {host_name:?} is outside the name constraints of the emulator's local CA {} \
         (it may vouch only for {}); regenerate the CA for every host name and trust the new \
         one: `{}`, then start the emulator again",
        ca_path.display(),
        tls::join_names(allowed),
        regenerate_command(data_dir, host_names)
    )]
    HostNameOutsideLocalCa {
        /// The host name the CA does not cover.
        host_name: String,
        /// The CA certificate's file.
        ca_path: PathBuf,
        /// The names the CA may vouch for (its permitted subtrees).
        allowed: Vec<PermittedName>,
        /// The data folder.
        data_dir: PathBuf,
        /// Every configured host name, for the command that regenerates the CA.
        host_names: Vec<String>,
    },
    /// A `--host-name` that is neither a DNS name nor an IP address.
    #[error(
        "--host-name {host_name:?} is neither a DNS name (letters, digits, `-` and `_` in \
         dot-separated labels) nor an IP address"
    )]
    InvalidHostName {
        /// The name as given.
        host_name: String,
    },
    /// The local CA certificate in the data folder could not be read.
    #[error("the emulator's local CA {} cannot be read: {source}", path.display())]
    LocalCaUnreadable {
        /// The certificate's file.
        path: PathBuf,
        /// Why.
        #[source]
        source: LocalCaProblem,
    },
}
