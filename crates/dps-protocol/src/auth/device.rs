//! Device SAS helpers: the device resource and group-derived device keys.

use super::Secret;
use super::sas::{SasError, decode_key};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The `skn` that devices put in their SAS tokens.
pub const DEVICE_KEY_NAME: &str = "registration";

/// The resource (`sr`, before encoding) of a device SAS token:
/// `{idScope}/registrations/{registrationId}`, with no host and no leading `/`.
///
/// ```
/// assert_eq!(
///     dps_protocol::auth::device_resource("0ne00000001", "device-01"),
///     "0ne00000001/registrations/device-01"
/// );
/// ```
pub fn device_resource(id_scope: &str, registration_id: &str) -> String {
    format!("{id_scope}/registrations/{registration_id}")
}

/// The device key that an enrollment group's base64 key gives a device:
/// `base64(HMAC-SHA256(key = base64decode(group_key), msg = UTF8(registration_id)))`.
///
/// Fails only when `group_key` is not base64.
pub fn derive_device_key(group_key: &Secret, registration_id: &str) -> Result<Secret, SasError> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &decode_key(group_key)?);
    let tag = hmac::sign(&key, registration_id.as_bytes());
    Ok(Secret::from(BASE64.encode(tag.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SasToken;

    /// base64 of the bytes 0..64.
    const GROUP_KEY: &str =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

    #[test]
    fn derived_key_matches_python() {
        // python3: base64.b64encode(hmac.new(base64.b64decode(GROUP_KEY), b"device-01",
        //          hashlib.sha256).digest())
        let key = derive_device_key(&Secret::from(GROUP_KEY), "device-01").expect("derive");
        assert_eq!(key.expose(), "4mnWPt8Zt2l+dGRNpd2grurMijx75QG0Gw4rgHMHFgA=");
        let key = derive_device_key(&Secret::from(GROUP_KEY), "Device-01").expect("derive");
        assert_eq!(key.expose(), "pZOXooiZPI65HPo3uswvw8m+ZjNJjvOs8RkzQRiDNQA=");
    }

    #[test]
    fn invalid_group_key() {
        let err = derive_device_key(&Secret::from("not base64!"), "d").expect_err("bad key");
        assert_eq!(err, SasError::InvalidKey);
    }

    #[test]
    fn device_token_matches_python() {
        // python3: sr = quote(resource, safe=''); sig = b64(hmac(derived key, sr + "\n" + se))
        let key = derive_device_key(&Secret::from(GROUP_KEY), "device-01").expect("derive");
        let resource = device_resource("0ne00000001", "device-01");
        let token = SasToken::generate(&resource, &key, Some(DEVICE_KEY_NAME), 1_700_000_000)
            .expect("sign");
        assert_eq!(
            token,
            "SharedAccessSignature sr=0ne00000001%2Fregistrations%2Fdevice-01\
             &sig=yrev5LXK3iEiNNYIa8QfpG4KTXcXWh6Xheos6wUTwHo%3D&se=1700000000&skn=registration"
        );
        let parsed = SasToken::parse(&token).expect("parse");
        assert_eq!(parsed.policy_name(), Some(DEVICE_KEY_NAME));
        parsed
            .verify(&[&key], &resource, 1_700_000_000, 0)
            .expect("verify");
        let other = derive_device_key(&Secret::from(GROUP_KEY), "device-02").expect("derive");
        assert_eq!(
            parsed.verify(&[&other], &resource, 1_700_000_000, 0),
            Err(SasError::SignatureMismatch)
        );
    }
}
