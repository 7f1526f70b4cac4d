//! Test X.509 certificate chains for the Azure IoT Hub Device Provisioning Service: everything
//! the Azure IoT C SDK's `certGen.sh` does, faster and without its failure modes.
//!
//! * [`CertDir`] is certGen.sh's working folder and its five operations
//!   (`create_root_and_intermediate`, `create_verification_certificate`,
//!   `create_device_certificate`, `create_device_certificate_from_intermediate`,
//!   `create_edge_device_certificate`), with the same file names and X.509 profiles.
//! * On top: ECDSA keys ([`KeyAlgorithm`]), any validity, CA common names, unencrypted keys,
//!   verification certificates signed by the intermediate, parallel device batches, leaf-first
//!   full-chain files, atomic writes and 0600 key files.
//! * [`Credential`] is the lower-level building block: a certificate with its key, made or
//!   loaded from PEM (PKCS#8 plain or encrypted, PKCS#1, SEC1).
//!
//! ```no_run
//! use dps_certgen::{CertDir, ChainOptions, KeyAlgorithm, LeafOptions, Signer};
//!
//! let dir = CertDir::new("certs");
//! dir.create_root_and_intermediate(&ChainOptions {
//!     algorithm: KeyAlgorithm::EcdsaP256,
//!     ..ChainOptions::default()
//! })?;
//! let names = vec!["device-01".to_owned(), "device-02".to_owned()];
//! let done = dir.create_device_certificates(
//!     &names,
//!     &LeafOptions { algorithm: KeyAlgorithm::EcdsaP256, signer: Signer::Intermediate, ..LeafOptions::default() },
//!     &|_, _| {},
//! )?;
//! println!("{}", done.issued[0].thumbprints.sha256);
//! # Ok::<(), dps_certgen::Error>(())
//! ```
//!
//! These certificates are for tests only: see [`NOT_FOR_PRODUCTION`].

mod credential;
mod error;
mod fsx;
mod inspect;
mod key;
mod layout;
mod pfx;
mod profile;

pub use credential::{
    CertSpec, Credential, cert_from_field, certs_from_bytes, pem_cert, read_certs,
};
pub use error::{CodeProblem, Error, Result};
pub use fsx::{FileSet, Mode};
pub use inspect::{CertSummary, inspect_file, summarize};
pub use key::{KeyAlgorithm, key_from_pem, key_to_pem, load_key};
pub use layout::{
    CHAIN_PREFIX, CertDir, ChainOptions, DEFAULT_PASSWORD, DEVICE_PREFIX, EDGE_PREFIX,
    INTERMEDIATE_CN, INTERMEDIATE_PREFIX, Issued, LeafOptions, NOT_FOR_PRODUCTION, Outcome,
    ROOT_CN, ROOT_PREFIX, Signer, VERIFICATION_PREFIX,
};
pub use pfx::to_pfx;
pub use profile::{DEFAULT_VALIDITY_DAYS, NS_COMMENT, Profile, subject_key_id};
