//! SAS tokens: creation ([`SasToken::generate`]), parsing and verification.
//!
//! Encoding decisions:
//! * **Generate**: `sr`, `sig` and `skn` are percent-encoded with upper-case hex, leaving only the
//!   RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) as they are. For every host name and
//!   device resource this gives the same text as Python's `quote_plus` and C#'s
//!   `WebUtility.UrlEncode` (`/` becomes `%2F`, `:` becomes `%3A`). The HMAC covers `sr` exactly as
//!   written in the token. Field order is `sr, sig, se, skn`.
//! * **Parse**: split on `&` first, then each field at its first `=`; the order is free. `sr` is
//!   kept raw (for the HMAC) and decoded (for the audience check). Decoding turns `%XX` into bytes
//!   and nothing else: `+` stays `+` (a base64 signature may contain a raw `+` or `/`).

use super::Secret;
use super::audience::covers;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::fmt;
use std::str::FromStr;

/// The scheme word that starts every SAS token (and `Authorization` header value).
pub const SAS_PREFIX: &str = "SharedAccessSignature";
/// The clock skew that the real service allows past `se`: 5 minutes.
pub const DEFAULT_SKEW_SECS: u64 = 300;

/// Everything except the RFC 3986 unreserved characters.
const ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a SAS token could not be made, parsed or accepted. No message contains a key or a
/// signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SasError {
    /// The value does not start with `SharedAccessSignature` and a space.
    #[error("not a SAS token: expected `SharedAccessSignature sr=...&sig=...&se=...`")]
    NotSharedAccessSignature,
    /// A required field (`sr`, `sig` or `se`) is absent.
    #[error("SAS token has no `{0}` field")]
    MissingField(&'static str),
    /// A known field is present with an empty value.
    #[error("SAS token field `{0}` is empty")]
    EmptyField(&'static str),
    /// A known field appears twice.
    #[error("SAS token field `{0}` appears more than once")]
    DuplicateField(&'static str),
    /// A field does not decode to UTF-8.
    #[error("SAS token field `{0}` is not percent-encoded UTF-8")]
    InvalidEncoding(&'static str),
    /// `se` is not a whole number of seconds since 1970.
    #[error("SAS token field `se` is not a number of seconds since 1970")]
    InvalidExpiry,
    /// `sig` is not standard base64 once URL-decoded.
    #[error("SAS token field `sig` is not base64")]
    MalformedSignature,
    /// A signing key is not standard base64.
    #[error("the shared access key is not valid base64")]
    InvalidKey,
    /// The token expired (`se + skew < now`).
    #[error("SAS token expired at {expiry} (now {now}, allowed skew {skew_secs} s)")]
    Expired {
        /// The token's `se`.
        expiry: u64,
        /// The time of the check, unix seconds.
        now: u64,
        /// The allowed clock skew.
        skew_secs: u64,
    },
    /// No key produces the token's signature.
    #[error("SAS token signature does not match any key")]
    SignatureMismatch,
    /// The token was made for another resource.
    #[error("SAS token is for `{resource}`, not for `{audience}`")]
    AudienceMismatch {
        /// The token's decoded `sr`.
        resource: String,
        /// The resource the request targets.
        audience: String,
    },
}

/// A parsed SAS token (`SharedAccessSignature sr=...&sig=...&se=...&skn=...`).
///
/// [`Debug`] redacts the signature.
#[derive(Clone)]
pub struct SasToken {
    resource_raw: String,
    resource: String,
    signature: Vec<u8>,
    expiry_raw: String,
    expiry: u64,
    key_name: Option<String>,
}

impl SasToken {
    /// Creates a token for `resource`, signed with the base64 `key`, valid until `expiry`
    /// (unix seconds); `skn` is omitted when `key_name` is `None` (or empty).
    ///
    /// The result is the whole `Authorization` header value, and a credential.
    ///
    /// ```
    /// use dps_protocol::auth::{SasToken, Secret};
    /// let key = Secret::from("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=");
    /// let token = SasToken::generate("localhost:8443", &key, Some("provisioningserviceowner"), 1700000000)?;
    /// assert!(token.starts_with("SharedAccessSignature sr=localhost%3A8443&sig="));
    /// assert!(token.ends_with("&se=1700000000&skn=provisioningserviceowner"));
    /// SasToken::parse(&token)?.verify(&[&key], "localhost:8443/enrollments/x", 1700000000, 0)?;
    /// # Ok::<(), dps_protocol::auth::SasError>(())
    /// ```
    pub fn generate(
        resource: &str,
        key: &Secret,
        key_name: Option<&str>,
        expiry: u64,
    ) -> Result<String, SasError> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &decode_key(key)?);
        let sr = encode(resource);
        let sig = hmac::sign(&key, format!("{sr}\n{expiry}").as_bytes());
        let mut token = format!(
            "{SAS_PREFIX} sr={sr}&sig={}&se={expiry}",
            encode(&BASE64.encode(sig.as_ref()))
        );
        if let Some(name) = key_name.filter(|n| !n.is_empty()) {
            token.push_str("&skn=");
            token.push_str(&encode(name));
        }
        Ok(token)
    }

    /// Parses a token (an `Authorization` header value). Fields may come in any order; unknown
    /// fields and empty `&&` segments are ignored; `skn` is optional.
    pub fn parse(value: &str) -> Result<Self, SasError> {
        let (scheme, fields) = value
            .trim()
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or(SasError::NotSharedAccessSignature)?;
        if !scheme.eq_ignore_ascii_case(SAS_PREFIX) {
            return Err(SasError::NotSharedAccessSignature);
        }
        let [mut sr, mut sig, mut se, mut skn] = [None::<&str>; 4];
        for field in fields.trim().split('&') {
            let (name, raw) = field.split_once('=').unwrap_or((field, ""));
            let (slot, name) = match name.trim() {
                n if n.eq_ignore_ascii_case("sr") => (&mut sr, "sr"),
                n if n.eq_ignore_ascii_case("sig") => (&mut sig, "sig"),
                n if n.eq_ignore_ascii_case("se") => (&mut se, "se"),
                n if n.eq_ignore_ascii_case("skn") => (&mut skn, "skn"),
                _ => continue,
            };
            let raw = raw.trim();
            if raw.is_empty() {
                return Err(SasError::EmptyField(name));
            }
            if slot.replace(raw).is_some() {
                return Err(SasError::DuplicateField(name));
            }
        }
        let resource_raw = sr.ok_or(SasError::MissingField("sr"))?;
        let signature = decode_field(sig.ok_or(SasError::MissingField("sig"))?, "sig")?;
        let expiry_raw = se.ok_or(SasError::MissingField("se"))?;
        let expiry = decode_field(expiry_raw, "se")?;
        if !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SasError::InvalidExpiry);
        }
        Ok(Self {
            resource_raw: resource_raw.to_owned(),
            resource: decode_field(resource_raw, "sr")?,
            signature: BASE64
                .decode(signature)
                .map_err(|_| SasError::MalformedSignature)?,
            expiry_raw: expiry_raw.to_owned(),
            expiry: expiry.parse().map_err(|_| SasError::InvalidExpiry)?,
            key_name: skn.map(|n| decode_field(n, "skn")).transpose()?,
        })
    }

    /// Accepts the token if it has not expired (`se + skew_secs >= now`), was signed by one of
    /// `keys` (base64, tried in turn, compared in constant time) and covers `audience`.
    ///
    /// `audience` is what the request targets, percent-decoded (a leading scheme or `/` is
    /// ignored): `host[:port]/path` for the service API, and [`device_resource`](super::device_resource) (or the request path) for
    /// the device API. It is covered when it starts with the decoded `sr`, ignoring ASCII case,
    /// a leading `https://` or `http://` and trailing `/` in `sr`, and the match ends at a `/`,
    /// a `?` or the end (so `.../dev` does not cover `.../dev2`). When the audience host has a
    /// `:port`, an `sr` without the port is accepted too. Checks run in this order: expiry,
    /// signature, audience; the first failure is returned. Invalid keys are skipped, and
    /// [`SasError::InvalidKey`] is returned only when no key is usable.
    pub fn verify(
        &self,
        keys: &[&Secret],
        audience: &str,
        now: u64,
        skew_secs: u64,
    ) -> Result<(), SasError> {
        if self.expiry.saturating_add(skew_secs) < now {
            return Err(SasError::Expired {
                expiry: self.expiry,
                now,
                skew_secs,
            });
        }
        let mut usable = keys.is_empty();
        let mut matched = false;
        for key in keys {
            if let Ok(key) = decode_key(key) {
                usable = true;
                if self.signed_with(&key) {
                    matched = true;
                    break;
                }
            }
        }
        if !usable {
            return Err(SasError::InvalidKey);
        }
        if !matched {
            return Err(SasError::SignatureMismatch);
        }
        if !covers(&self.resource, audience) {
            return Err(SasError::AudienceMismatch {
                resource: self.resource.clone(),
                audience: audience.to_owned(),
            });
        }
        Ok(())
    }

    /// Whether `key` (base64) produced the signature; `false` for a key that is not base64.
    pub fn signature_matches(&self, key: &Secret) -> bool {
        decode_key(key).is_ok_and(|key| self.signed_with(&key))
    }

    fn signed_with(&self, key: &[u8]) -> bool {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        let msg = format!("{}\n{}", self.resource_raw, self.expiry_raw);
        hmac::verify(&key, msg.as_bytes(), &self.signature).is_ok()
    }

    /// The decoded `sr`: the resource (host name, or `{idScope}/registrations/{id}`).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// `sr` exactly as written in the token: the text that the signature covers.
    pub fn raw_resource(&self) -> &str {
        &self.resource_raw
    }

    /// `se`: the expiry, unix seconds.
    pub fn expiry(&self) -> u64 {
        self.expiry
    }

    /// `skn`, decoded: the policy name (service) or `registration` (device), if present.
    pub fn policy_name(&self) -> Option<&str> {
        self.key_name.as_deref()
    }
}

impl FromStr for SasToken {
    type Err = SasError;

    fn from_str(s: &str) -> Result<Self, SasError> {
        Self::parse(s)
    }
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasToken")
            .field("sr", &self.resource_raw)
            .field("sig", &super::secret::REDACTED)
            .field("se", &self.expiry)
            .field("skn", &self.key_name)
            .finish()
    }
}

/// The current time in unix seconds, for `expiry` and `now` arguments.
pub fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// Percent-encodes everything except RFC 3986 unreserved characters, with upper-case hex.
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE_SET).to_string()
}

/// Decodes a base64 key.
pub(crate) fn decode_key(key: &Secret) -> Result<Vec<u8>, SasError> {
    BASE64
        .decode(key.expose().trim())
        .map_err(|_| SasError::InvalidKey)
}

/// Decodes `%XX` sequences only (`+` stays `+`).
fn decode_field(raw: &str, name: &'static str) -> Result<String, SasError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| SasError::InvalidEncoding(name))
}

#[cfg(test)]
mod tests;
