//! PKCS#12 (PFX) export, as `openssl pkcs12 -export` of OpenSSL 3 writes it: PBES2 with
//! PBKDF2-HMAC-SHA256 and AES-256-CBC for both bags, a SHA-256 MAC, 2048 iterations. OpenSSL 3
//! refuses the older RC2-40 format without `-legacy`, so this is the only format written.

use crate::credential::Credential;
use crate::error::{Error, Result};
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};

const ITERATIONS: u32 = 2048;

/// Encodes a certificate and its key as a PFX file. Like certGen.sh, the file holds the leaf
/// and its key only, with a `localKeyID` linking them; pass `chain` to append CA certificates.
pub fn to_pfx(cred: &Credential, chain: &[&Credential], password: &str) -> Result<Vec<u8>> {
    let pfx_err = |e: p12_keystore::error::Error| Error::Pfx(e.to_string());
    let key = PrivateKey::from_der(cred.key().serialized_der()).map_err(pfx_err)?;
    let mut certs = vec![Certificate::from_der(cred.der()).map_err(pfx_err)?];
    for ca in chain {
        certs.push(Certificate::from_der(ca.der()).map_err(pfx_err)?);
    }
    let local_key_id = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        cred.der().as_ref(),
    );
    let entry = PrivateKeyChain::new(local_key_id.as_ref(), key, certs);
    let mut store = KeyStore::new();
    store.add_entry("1", KeyStoreEntry::PrivateKeyChain(entry));
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(pfx_err)
}
