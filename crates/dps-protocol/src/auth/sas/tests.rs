//! Tests of [`SasToken`]. Every token below was produced in python3 with `hmac`, `hashlib`,
//! `base64` and `urllib.parse`, imitating each official client's formatting (see
//! client-wire-facts.md, "SAS token: formats differ"); `se` is always 1700000000.

use super::*;

const SE: u64 = 1_700_000_000;
/// Service keys: base64 of bytes 100..132 and 200..232.
const PRIMARY: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";
const SECONDARY: &str = "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc=";
/// Derived from base64(bytes 0..64) for "device-01" (see device.rs).
const DEVICE_KEY: &str = "4mnWPt8Zt2l+dGRNpd2grurMijx75QG0Gw4rgHMHFgA=";
const DPS_HOST: &str = "mydps.azure-devices-provisioning.net";
const LOCAL: &str = "localhost:8443/enrollmentGroups/group-1";

fn keys() -> (Secret, Secret) {
    (Secret::from(PRIMARY), Secret::from(SECONDARY))
}

fn accept(token: &str, key: &str, audience: &str) -> SasToken {
    let parsed = SasToken::parse(token).expect("parse");
    parsed
        .verify(&[&Secret::from(key)], audience, SE, DEFAULT_SKEW_SECS)
        .expect("verify");
    parsed
}

#[test]
fn generate_service_token_matches_python() {
    let token = SasToken::generate(DPS_HOST, &keys().0, Some("provisioningserviceowner"), SE)
        .expect("sign");
    assert_eq!(
        token,
        "SharedAccessSignature sr=mydps.azure-devices-provisioning.net\
         &sig=3XGoBpU8zs%2F7bx5bdhDa5AV0WaK5nfbAcOlMYP2RfNk%3D&se=1700000000\
         &skn=provisioningserviceowner"
    );
    let no_skn = SasToken::generate(DPS_HOST, &keys().0, None, SE).expect("sign");
    assert!(no_skn.ends_with("&se=1700000000"));
    let parsed = accept(&no_skn, PRIMARY, &format!("{DPS_HOST}/enrollments/x"));
    assert_eq!(parsed.policy_name(), None);
    assert_eq!(
        SasToken::generate(DPS_HOST, &Secret::from("%%%"), None, SE),
        Err(SasError::InvalidKey)
    );
}

#[test]
fn generate_encodes_port_like_quote_plus() {
    let token = SasToken::generate("localhost:8443", &keys().0, None, SE).expect("sign");
    // Same sr and sig as the old Python client's token below.
    assert!(token.starts_with(
        "SharedAccessSignature sr=localhost%3A8443&sig=Bh0d4pBIudLs4RlgcDBXujAO43MZIg%2FwWJ2S%2FxdeLak%3D&"
    ));
    assert_eq!(encode("a b+c/~é"), "a%20b%2Bc%2F~%C3%A9");
}

#[test]
fn node_raw_sr_and_skn_before_se() {
    let t = "SharedAccessSignature sr=localhost:8443&sig=Vlbe1AClRBSotxn6ec21i0jh4rEmGR%2B6VhS%2FTqP1kh8%3D\
             &skn=provisioningserviceowner&se=1700000000";
    let parsed = accept(t, PRIMARY, LOCAL);
    assert_eq!(parsed.raw_resource(), "localhost:8443");
    assert_eq!(parsed.resource(), "localhost:8443");
    assert_eq!(parsed.policy_name(), Some("provisioningserviceowner"));
    assert_eq!(parsed.expiry(), SE);
}

#[test]
fn old_python_quote_plus_sr_and_raw_slash_in_sig() {
    let t = "SharedAccessSignature sr=localhost%3A8443&sig=Bh0d4pBIudLs4RlgcDBXujAO43MZIg/wWJ2S/xdeLak%3D\
             &se=1700000000&skn=provisioningserviceowner";
    let parsed = accept(t, PRIMARY, LOCAL);
    assert_eq!(parsed.raw_resource(), "localhost%3A8443");
    assert_eq!(parsed.resource(), "localhost:8443");
}

#[test]
fn new_python_and_cli_urlencode() {
    let t = "SharedAccessSignature sr=localhost%3A8443&sig=Bh0d4pBIudLs4RlgcDBXujAO43MZIg%2FwWJ2S%2FxdeLak%3D\
             &se=1700000000&skn=provisioningserviceowner";
    accept(t, PRIMARY, LOCAL);
    // Given an endpoint with a scheme, the preview SDK signs it as is.
    let t = "SharedAccessSignature sr=https%3A%2F%2Flocalhost%3A8443\
             &sig=JCv3Yr5P%2F1gmaRnIK6GPNloZFb8fTWoVofNFVho3X4E%3D&se=1700000000&skn=provisioningserviceowner";
    accept(t, PRIMARY, LOCAL);
}

#[test]
fn csharp_url_encode_and_secondary_key() {
    let t = "SharedAccessSignature sr=localhost%3A8443&sig=EjYkTwh9R%2Bah0Dw%2FYBz3jZl%2Fa7dSv0Gw16OF7YHwmz8%3D\
             &se=1700000000&skn=provisioningserviceowner";
    let parsed = SasToken::parse(t).expect("parse");
    let (primary, secondary) = keys();
    parsed
        .verify(&[&primary, &secondary], LOCAL, SE, 0)
        .expect("secondary key");
    assert!(!parsed.signature_matches(&primary));
    assert!(parsed.signature_matches(&secondary));
    assert_eq!(
        parsed.verify(&[&primary], LOCAL, SE, 0),
        Err(SasError::SignatureMismatch)
    );
    // C# device client: WebUtility.UrlEncode of the device resource.
    let t = "SharedAccessSignature sr=0ne00000001%2Fregistrations%2Fdevice-01\
             &sig=yrev5LXK3iEiNNYIa8QfpG4KTXcXWh6Xheos6wUTwHo%3D&se=1700000000&skn=registration";
    accept(
        t,
        DEVICE_KEY,
        "0ne00000001/registrations/device-01/register",
    );
}

#[test]
fn rust_aziot_lower_cased_audience() {
    let t = "SharedAccessSignature sr=0ne000a1b2c%2Fregistrations%2Fdevice-01\
             &sig=%2BP%2BUwy1lDiGvGAPHMrSeGE1oklPNdnfgXuwXrFXG9VM%3D&se=1700000000&skn=registration";
    // Key derived for "Device-01", the registration id as enrolled.
    accept(
        t,
        "pZOXooiZPI65HPo3uswvw8m+ZjNJjvOs8RkzQRiDNQA=",
        "0ne000A1B2C/registrations/Device-01",
    );
}

#[test]
fn lower_case_hex_and_sr_without_port() {
    let t = "SharedAccessSignature sr=localhost%3a8443&sig=3kD3hh%2fdd5EKlK1yatRUHcFz%2by2cg3oqwSDnVrk08j0%3d\
             &se=1700000000";
    accept(t, PRIMARY, LOCAL);
    let t = "SharedAccessSignature sr=localhost&sig=HIc%2F5EujpIPC4TvDriYgDVzFuXGbTr0YfdWVdv3O4TI%3D\
             &se=1700000000&skn=provisioningserviceowner";
    accept(t, PRIMARY, LOCAL);
    let parsed = SasToken::parse(t).expect("parse");
    // An sr without port covers only the audience's own host.
    assert!(matches!(
        parsed.verify(&[&keys().0], "otherhost:8443/x", SE, 0),
        Err(SasError::AudienceMismatch { .. })
    ));
}

#[test]
fn expiry_and_skew() {
    let token = SasToken::generate(DPS_HOST, &keys().0, None, SE).expect("sign");
    let parsed = SasToken::parse(&token).expect("parse");
    let k = keys().0;
    assert!(parsed.verify(&[&k], DPS_HOST, SE + 300, 300).is_ok());
    assert_eq!(
        parsed.verify(&[&k], DPS_HOST, SE + 301, 300),
        Err(SasError::Expired {
            expiry: SE,
            now: SE + 301,
            skew_secs: 300
        })
    );
    assert!(parsed.verify(&[&k], DPS_HOST, SE, u64::MAX).is_ok());
}

#[test]
fn invalid_keys_are_skipped() {
    let token = SasToken::generate(DPS_HOST, &keys().1, None, SE).expect("sign");
    let parsed = SasToken::parse(&token).expect("parse");
    let bad = Secret::from("***");
    assert!(parsed.verify(&[&bad, &keys().1], DPS_HOST, SE, 0).is_ok());
    assert_eq!(
        parsed.verify(&[&bad], DPS_HOST, SE, 0),
        Err(SasError::InvalidKey)
    );
    assert_eq!(
        parsed.verify(&[], DPS_HOST, SE, 0),
        Err(SasError::SignatureMismatch)
    );
}

#[test]
fn parse_errors() {
    let cases = [
        ("", SasError::NotSharedAccessSignature),
        (
            "Bearer sr=a&sig=AA%3D%3D&se=1",
            SasError::NotSharedAccessSignature,
        ),
        ("SharedAccessSignature", SasError::NotSharedAccessSignature),
        (
            "SharedAccessSignature sig=AA%3D%3D&se=1",
            SasError::MissingField("sr"),
        ),
        (
            "SharedAccessSignature sr=a&se=1",
            SasError::MissingField("sig"),
        ),
        (
            "SharedAccessSignature sr=a&sig=AA%3D%3D",
            SasError::MissingField("se"),
        ),
        (
            "SharedAccessSignature sr=a&sig=AA%3D%3D&se=",
            SasError::EmptyField("se"),
        ),
        (
            "SharedAccessSignature sr=a&sr=b&sig=AA%3D%3D&se=1",
            SasError::DuplicateField("sr"),
        ),
        (
            "SharedAccessSignature sr=a&sig=AA%3D%3D&se=12x",
            SasError::InvalidExpiry,
        ),
        (
            "SharedAccessSignature sr=a&sig=AA%3D%3D&se=%2B1",
            SasError::InvalidExpiry,
        ),
        (
            "SharedAccessSignature sr=a&sig=AA%3D%3D&se=99999999999999999999",
            SasError::InvalidExpiry,
        ),
        (
            "SharedAccessSignature sr=a&sig=A+%3D%3D&se=1",
            SasError::MalformedSignature,
        ),
        (
            "SharedAccessSignature sr=%FF&sig=AA%3D%3D&se=1",
            SasError::InvalidEncoding("sr"),
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(SasToken::parse(token).err(), Some(expected), "{token}");
    }
}

#[test]
fn parse_is_lenient_where_clients_differ() {
    // Unknown fields, empty segments, field-name case, extra spaces, scheme case.
    let t =
        "  sharedaccesssignature   SE=1700000000&&x=1&SIG=AA%3D%3D&sr=a%20b+c&skn=my%20policy& ";
    let parsed: SasToken = t.parse().expect("parse");
    assert_eq!(parsed.resource(), "a b+c");
    assert_eq!(parsed.raw_resource(), "a%20b+c");
    assert_eq!(parsed.policy_name(), Some("my policy"));
    assert_eq!(parsed.expiry(), SE);
}

#[test]
fn debug_and_errors_hide_the_signature() {
    let token = SasToken::generate(DPS_HOST, &keys().0, Some("p"), SE).expect("sign");
    let parsed = SasToken::parse(&token).expect("parse");
    let debug = format!("{parsed:?}");
    assert!(
        debug.contains("<redacted>") && !debug.contains("3XGoBpU8zs"),
        "{debug}"
    );
    let err = parsed
        .verify(&[&keys().0], "other", SE, 0)
        .expect_err("audience");
    assert_eq!(
        err.to_string(),
        "SAS token is for `mydps.azure-devices-provisioning.net`, not for `other`"
    );
}

#[test]
fn unix_now_is_recent() {
    assert!(unix_now() > SE);
}
