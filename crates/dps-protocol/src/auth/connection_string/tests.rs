//! Tests of [`ConnectionString`].

use super::*;

const KEY: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";
const HOST: &str = "mydps.azure-devices-provisioning.net";

fn parse(s: &str) -> Result<ConnectionString, ConnectionStringError> {
    s.parse()
}

fn canonical() -> String {
    format!("HostName={HOST};SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={KEY}")
}

#[test]
fn parses_the_portal_form() {
    let cs = parse(&canonical()).expect("parse");
    assert_eq!(cs.host_name(), HOST);
    assert_eq!(cs.key_name(), Some(DEFAULT_POLICY_NAME));
    assert_eq!(cs.shared_access_key().map(Secret::expose), Some(KEY));
    assert_eq!(cs.to_string(), canonical());
    assert_eq!(parse(&cs.to_string()), Ok(cs));
}

#[test]
fn tolerates_case_whitespace_order_unknown_fields_and_trailing_semicolon() {
    let s = format!(
        " sharedaccesskey = {KEY} ;; HOSTNAME=localhost:8443 ; Extra=1;\
         sharedAccessKeyName=provisioningserviceowner;"
    );
    let cs = parse(&s).expect("parse");
    assert_eq!(cs.host_name(), "localhost:8443");
    assert_eq!(
        cs.to_string(),
        format!(
            "HostName=localhost:8443;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={KEY}"
        )
    );
}

#[test]
fn splits_at_the_first_equals() {
    let cs = parse("HostName=h;SharedAccessKeyName=p;SharedAccessKey=AAAAAA==").expect("parse");
    assert_eq!(cs.shared_access_key().map(Secret::expose), Some("AAAAAA=="));
}

#[test]
fn accepts_a_shared_access_signature() {
    let token =
        SasToken::generate(HOST, &Secret::from(KEY), Some("p"), 1_700_000_000).expect("sign");
    let cs = parse(&format!("HostName={HOST};SharedAccessSignature={token}")).expect("parse");
    assert_eq!(cs.key_name(), None);
    assert_eq!(cs.shared_access_key(), None);
    assert_eq!(cs.sas_token(0).expect("verbatim"), token);
    assert_eq!(
        cs.redacted(),
        format!("HostName={HOST};SharedAccessSignature=<redacted>")
    );
    assert_eq!(parse(&cs.to_string()), Ok(cs));
}

#[test]
fn signs_tokens_for_the_host() {
    let cs = parse(&canonical()).expect("parse");
    let token = cs.sas_token(1_700_000_000).expect("sign");
    assert_eq!(
        token,
        "SharedAccessSignature sr=mydps.azure-devices-provisioning.net\
         &sig=3XGoBpU8zs%2F7bx5bdhDa5AV0WaK5nfbAcOlMYP2RfNk%3D&se=1700000000\
         &skn=provisioningserviceowner"
    );
}

#[test]
fn new_validates() {
    let cs = ConnectionString::new("localhost:8443", "p", Secret::from(KEY)).expect("new");
    assert_eq!(
        cs.redacted(),
        "HostName=localhost:8443;SharedAccessKeyName=p;SharedAccessKey=<redacted>"
    );
    assert_eq!(
        ConnectionString::new("bad host", "p", Secret::from(KEY)),
        Err(ConnectionStringError::InvalidHostName)
    );
}

#[test]
fn errors() {
    use ConnectionStringError as E;
    let sas = "SharedAccessSignature sr=h&sig=AA%3D%3D&se=1";
    let cases = [
        (
            "HostName=h;SharedAccessKeyName=p;justtext".to_owned(),
            E::MalformedSegment(3),
        ),
        (
            format!("HostName=;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::EmptyValue("HostName"),
        ),
        (
            "HostName=h;SharedAccessKeyName=p;SharedAccessKey=".to_owned(),
            E::EmptyValue("SharedAccessKey"),
        ),
        (
            format!("HostName=h;hostname=h;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::DuplicateKey("HostName"),
        ),
        (
            format!("SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::MissingHostName,
        ),
        (
            format!("HostName=h;SharedAccessKey={KEY}"),
            E::MissingKeyName,
        ),
        ("HostName=h;SharedAccessKeyName=p".to_owned(), E::MissingKey),
        ("".to_owned(), E::MissingHostName),
        (
            format!(
                "HostName=h;SharedAccessKeyName=p;SharedAccessKey={KEY};SharedAccessSignature={sas}"
            ),
            E::ConflictingCredentials,
        ),
        (
            format!("HostName=https://h;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::InvalidHostName,
        ),
        (
            format!("HostName=h:0;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::InvalidHostName,
        ),
        (
            format!("HostName=h:65536;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::InvalidHostName,
        ),
        (
            format!("HostName=h:+1;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::InvalidHostName,
        ),
        (
            format!("HostName=h:;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::InvalidHostName,
        ),
        (
            format!("HostName=h:1:2;SharedAccessKeyName=p;SharedAccessKey={KEY}"),
            E::InvalidHostName,
        ),
        (
            format!("HostName=h;SharedAccessKeyName=a b;SharedAccessKey={KEY}"),
            E::InvalidKeyName,
        ),
        (
            "HostName=h;SharedAccessKeyName=p;SharedAccessKey=not*base64".to_owned(),
            E::InvalidKey,
        ),
        (
            "HostName=h;SharedAccessSignature=sr=h&sig=AA%3D%3D&se=1".to_owned(),
            E::InvalidSharedAccessSignature(SasError::NotSharedAccessSignature),
        ),
    ];
    for (s, expected) in cases {
        assert_eq!(parse(&s).err(), Some(expected), "{s}");
    }
}

#[test]
fn iot_hub_connection_strings_are_named_as_such() {
    use ConnectionStringError as E;
    let cases = [
        (
            format!("HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey={KEY}"),
            IotHubKind::Device,
        ),
        (
            format!(
                "HostName=hub.azure-devices.net;DeviceId=dev1;ModuleId=m;SharedAccessKey={KEY}"
            ),
            IotHubKind::Module,
        ),
        (
            format!(
                "hostname=hub.azure-devices.net;deviceid=dev1;SharedAccessKey={KEY};GatewayHostName=edge"
            ),
            IotHubKind::Device,
        ),
        (
            format!(
                "HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"
            ),
            IotHubKind::SharedAccessPolicy,
        ),
        (
            format!(
                "HostName=Hub.Azure-Devices.CN:443;SharedAccessKeyName=service;SharedAccessKey={KEY}"
            ),
            IotHubKind::SharedAccessPolicy,
        ),
    ];
    for (s, kind) in cases {
        let err = parse(&s).expect_err("an IoT Hub string");
        assert_eq!(err, E::IotHub { kind }, "{s}");
        let text = err.to_string();
        assert!(
            text.contains("IoT Hub connection string") && text.contains("Shared access policies"),
            "{text}"
        );
        assert!(!text.contains(KEY) && !text.contains("dev1"), "{text}");
    }
    assert_eq!(
        ConnectionString::new("hub.azure-devices.net", "iothubowner", Secret::from(KEY)),
        Err(E::IotHub {
            kind: IotHubKind::SharedAccessPolicy
        })
    );
    // A DPS's own host is not a hub's.
    parse(&canonical()).expect("a DPS string");
}

#[test]
fn messages_and_debug_never_show_secrets() {
    // A missing `;` puts the key inside another value; the error must still not show it.
    let secret = "c2VjcmV0LWtleS12YWx1ZQ==";
    let inputs = [
        format!("HostName=h SharedAccessKey={secret};SharedAccessKeyName=p"),
        format!("HostName=h;SharedAccessKeyName=p{secret};SharedAccessKey={secret}"),
        format!("HostName=h;SharedAccessKeyName=p;SharedAccessKey={secret}*"),
        format!("HostName=h;SharedAccessKeyName=p;{secret}"),
        format!("HostName=h;SharedAccessSignature=SharedAccessSignature sr=h&sig={secret}"),
        format!("HostName=h;SharedAccessSignature={secret}"),
    ];
    for input in inputs {
        let err = parse(&input).expect_err("invalid");
        let text = format!("{err} {err:?} {:?}", std::error::Error::source(&err));
        assert!(!text.contains("c2VjcmV0"), "{text}");
    }
    let cs = parse(&format!(
        "HostName=h;SharedAccessKeyName=p;SharedAccessKey={secret}"
    ))
    .expect("parse");
    let debug = format!("{cs:?}");
    assert!(
        !debug.contains("c2VjcmV0") && debug.contains("<redacted>"),
        "{debug}"
    );
    assert!(!cs.redacted().contains("c2VjcmV0"));
    assert!(cs.to_string().contains(secret));
}
