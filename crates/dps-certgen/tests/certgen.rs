//! Integration tests of dps-certgen, in one binary to keep link time down.
//!
//! * `checks`: the profile checker shared by the tests.
//! * `profiles`: the X.509 profiles of certGen.sh's OpenSSL configuration, field by field.
//! * `layout`: the files each operation writes.
//! * `chain`: the CA chain as a signer: replacement, missing files, passwords, wrong keys.
//! * `verify`: independent verification with rustls-webpki and the `openssl` binary.
//! * `load`: signing with existing CAs in every supported key format.
//! * `errors`: bad names and validity give the specific error and leave the folder untouched.
//! * `inspect`: certificate summaries and thumbprints.
//!
//! Tests use ECDSA P-256 unless RSA itself is under test; the RSA tests share one RSA-4096
//! chain ([`common::rsa_chain`]). Tests that need `openssl` skip (with a message) without it.

#[path = "certgen/chain.rs"]
mod chain;
#[path = "certgen/checks.rs"]
mod checks;
#[path = "certgen/common.rs"]
mod common;
#[path = "certgen/errors.rs"]
mod errors;
#[path = "certgen/inspect.rs"]
mod inspect;
#[path = "certgen/layout.rs"]
mod layout;
#[path = "certgen/load.rs"]
mod load;
#[path = "certgen/profiles.rs"]
mod profiles;
#[path = "certgen/verify.rs"]
mod verify;
