//! SHA-1 and SHA-256 certificate thumbprints, formatted the way DPS and the Azure portal show
//! them: upper-case hexadecimal without separators.
//!
//! DPS shows SHA-1 in some places (CA certificates) and SHA-256 in others (enrollment
//! certificate info), and users routinely compare the wrong one; so this crate always computes
//! both.

use aws_lc_rs::digest;
use std::fmt;

/// Both thumbprints of one DER-encoded certificate.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Thumbprints {
    /// SHA-1 over the DER encoding, 40 upper-case hex characters.
    pub sha1: String,
    /// SHA-256 over the DER encoding, 64 upper-case hex characters.
    pub sha256: String,
}

impl Thumbprints {
    /// Computes both thumbprints of a DER-encoded certificate.
    ///
    /// ```
    /// let t = dps_protocol::Thumbprints::of_der(b"");
    /// assert_eq!(t.sha1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709");
    /// ```
    pub fn of_der(der: &[u8]) -> Self {
        Self {
            sha1: upper_hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
            sha256: upper_hex(digest::digest(&digest::SHA256, der).as_ref()),
        }
    }
}

impl fmt::Debug for Thumbprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprints(sha1={}, sha256={})", self.sha1, self.sha256)
    }
}

/// Formats bytes as upper-case hexadecimal without separators, as DPS prints thumbprints and
/// serial numbers.
pub fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let t = Thumbprints::of_der(b"abc");
        assert_eq!(t.sha1, "A9993E364706816ABA3E25717850C26C9CD0D89D");
        assert_eq!(
            t.sha256,
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn hex_is_upper_and_padded() {
        assert_eq!(upper_hex(&[0x00, 0x0a, 0xff]), "000AFF");
    }
}
