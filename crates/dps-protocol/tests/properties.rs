//! Property tests of what `dps-protocol` parses from outside input: connection strings, SAS
//! tokens (service and device), registration ids and every JSON model. Each property runs
//! 256 generated cases; the coverage-guided fuzz targets (`fuzz/`, `cargo xtask fuzz`) check
//! the same properties far longer.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dps_protocol::auth::{
    ConnectionString, DEVICE_KEY_NAME, SasError, SasToken, Secret, derive_device_key,
    device_resource,
};
use dps_protocol::models::*;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;

const CASES: u32 = 256;
const NOW: u64 = 1_704_067_200;
const EXPIRY: u64 = 4_102_444_800;

/// Text made of the pieces a parser looks for, so generated input gets past the first check.
fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(pieces).prop_map(str::to_owned),
            1 => any::<String>(),
            1 => "[ -~]{0,12}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn base64_key() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 1..64).prop_map(|b| BASE64.encode(b))
}

/// A field name in any ASCII case.
fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// A connection string written in any field order, case and spacing parses to the value
    /// its parts make, and its canonical form parses back to it.
    #[test]
    fn connection_strings_round_trip(
        host in "[A-Za-z0-9_.-]{1,40}",
        port in proptest::option::of(1u16..),
        name in "[A-Za-z0-9_.@-]{1,30}",
        key in base64_key(),
        names in (any_case("HostName"), any_case("SharedAccessKeyName"), any_case("SharedAccessKey")),
        order in Just([0usize, 1, 2]).prop_shuffle(),
        pad in "[ \t]{0,2}",
        trailing in any::<bool>(),
    ) {
        prop_assume!(!host.to_ascii_lowercase().contains(".azure-devices."));
        let host = match port { Some(p) => format!("{host}:{p}"), None => host };
        let fields = [(&names.0, &host), (&names.1, &name), (&names.2, &key)];
        let mut text = order
            .iter()
            .map(|&i| format!("{pad}{}{pad}={pad}{}{pad}", fields[i].0, fields[i].1))
            .collect::<Vec<_>>()
            .join(";");
        if trailing {
            text.push(';');
        }
        let parsed: ConnectionString = text.parse().expect("a well-formed string parses");
        let built = ConnectionString::new(&host, &name, Secret::from(key.as_str())).expect("valid parts");
        prop_assert_eq!(&parsed, &built);
        prop_assert_eq!(parsed.to_string().parse::<ConnectionString>().expect("canonical"), built);
        prop_assert!(!parsed.redacted().contains(&key) || host.contains(&key) || name.contains(&key));
    }

    /// Parsing any text answers without panicking.
    #[test]
    fn connection_string_parsing_never_panics(text in soup(&[
        "HostName=", "SharedAccessKeyName=", "SharedAccessKey=", "SharedAccessSignature=",
        "DeviceId=", "ModuleId=", ";", "=", ":", ":0", ":65536", ".azure-devices.net", " ",
        "SharedAccessSignature sr=a&sig=YQ==&se=1", "QUJD", "provisioningserviceowner",
    ])) {
        if let Ok(cs) = text.parse::<ConnectionString>() {
            prop_assert_eq!(cs.to_string().parse::<ConnectionString>().ok(), Some(cs));
        }
    }

    /// A service token signed for a resource parses back to it and verifies for it (and for
    /// paths under it); another key or an expiry in the past is refused.
    #[test]
    fn service_tokens_generate_parse_verify(
        host in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,12}){0,3}(:[0-9]{1,5})?",
        path in "(/[A-Za-z0-9._~-]{1,10}){0,3}",
        name in proptest::option::of("[A-Za-z0-9_.@-]{1,30}"),
        key in base64_key(),
        other in base64_key(),
    ) {
        let key = Secret::from(key);
        let token = SasToken::generate(&host, &key, name.as_deref(), EXPIRY).expect("signs");
        let parsed = SasToken::parse(&token).expect("parses");
        prop_assert_eq!(parsed.resource(), host.as_str());
        prop_assert_eq!(parsed.policy_name(), name.as_deref());
        prop_assert_eq!(parsed.expiry(), EXPIRY);
        let audience = format!("{host}{path}");
        prop_assert!(parsed.verify(&[&key], &audience, NOW, 0).is_ok());
        if other != key.expose() {
            prop_assert_eq!(
                parsed.verify(&[&Secret::from(other)], &audience, NOW, 0),
                Err(SasError::SignatureMismatch)
            );
        }
        let late = parsed.verify(&[&key], &audience, EXPIRY + 301, 300);
        prop_assert!(matches!(late, Err(SasError::Expired { .. })), "{:?}", late);
    }

    /// A device key derived from a group key signs a token that verifies for its device and
    /// for no other id.
    #[test]
    fn device_tokens_verify_for_their_device_only(
        scope in "0ne[0-9A-F]{8}",
        id in "[a-z0-9][a-z0-9.:_-]{0,40}[a-z0-9-]",
        group_key in base64_key(),
    ) {
        let device_key = derive_device_key(&Secret::from(group_key), &id).expect("derives");
        let resource = device_resource(&scope, &id);
        let token = SasToken::generate(&resource, &device_key, Some(DEVICE_KEY_NAME), EXPIRY)
            .expect("signs");
        let token = SasToken::parse(&token).expect("parses");
        prop_assert!(token.verify(&[&device_key], &resource, NOW, 0).is_ok());
        let register = format!("/{scope}/registrations/{id}/register?api-version=2021-06-01");
        prop_assert!(token.verify(&[&device_key], &register, NOW, 0).is_ok());
        let other = device_resource(&scope, &format!("{id}0"));
        let refused = matches!(
            token.verify(&[&device_key], &other, NOW, 0),
            Err(SasError::AudienceMismatch { .. })
        );
        prop_assert!(refused);
    }

    /// Parsing and verifying any token text answers without panicking.
    #[test]
    fn sas_parsing_never_panics(text in soup(&[
        "SharedAccessSignature ", "sr=", "sig=", "se=", "skn=", "&", "=", "%", "%2F", "%E2%82%AC",
        "%ZZ", "YQ==", "4102444800", "18446744073709551616", "registration", "https://", "/",
    ])) {
        if let Ok(token) = SasToken::parse(&text) {
            let key = Secret::from("YQ==");
            let _ = token.verify(&[&key], "localhost/enrollments", NOW, 300);
            let _ = token.verify(&[], "", u64::MAX, u64::MAX);
            let shown = format!("{:?}", token);
            prop_assert!(shown.contains("<redacted>"));
        }
    }

    /// The registration-id rule agrees with a model of it, for ids near the rule and any text.
    #[test]
    fn registration_ids_follow_the_rule(id in prop_oneof![
        "[A-Za-z0-9._:-]{0,140}",
        "[a-z0-9][a-z0-9._:-]{0,130}[a-z0-9-]",
        "[a-zA-Z0-9._:/ #$é-]{0,70}",
        any::<String>(),
    ]) {
        let model = |max: usize| {
            let chars: Vec<char> = id.chars().collect();
            let inner = |c: &char| c.is_ascii_alphanumeric() || ".-_:".contains(*c);
            !chars.is_empty()
                && chars.len() <= max
                && chars.iter().all(inner)
                && chars[0].is_ascii_alphanumeric()
                && chars.last().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '-')
        };
        prop_assert_eq!(dps_protocol::check_registration_id(&id).is_ok(), model(128));
        prop_assert_eq!(dps_protocol::check_common_name(&id).is_ok(), model(64));
    }

    /// Every JSON model reads any JSON value without panicking, and what it accepts
    /// round-trips: serialized, read back equal, and serialized to the same text.
    #[test]
    fn every_json_model_round_trips(value in json_value()) {
        let text = serde_json::to_string(&value).expect("a JSON value serializes");
        every_model(text.as_bytes());
    }
}

/// Keys of the models, so generated objects often match one.
const KEYS: &[&str] = &[
    "registrationId",
    "deviceId",
    "enrollmentGroupId",
    "attestation",
    "type",
    "symmetricKey",
    "x509",
    "tpm",
    "primaryKey",
    "secondaryKey",
    "endorsementKey",
    "storageRootKey",
    "signingCertificates",
    "clientCertificates",
    "caReferences",
    "primary",
    "secondary",
    "certificate",
    "info",
    "provisioningStatus",
    "allocationPolicy",
    "iotHubs",
    "iotHubHostName",
    "initialTwin",
    "tags",
    "properties",
    "desired",
    "reprovisionPolicy",
    "updateHubAssignment",
    "migrateDeviceData",
    "capabilities",
    "iotEdge",
    "etag",
    "createdDateTimeUtc",
    "lastUpdatedDateTimeUtc",
    "mode",
    "enrollments",
    "enrollmentGroups",
    "query",
    "payload",
    "status",
    "substatus",
    "errorCode",
    "errorMessage",
    "trackingId",
    "message",
    "timestampUtc",
    "operationId",
    "registrationState",
    "assignedHub",
    "isVerified",
    "name",
    "id",
    "error",
    "code",
    "value",
    "isSuccessful",
    "errors",
    "customAllocationDefinition",
    "webhookUrl",
    "apiVersion",
    "version",
    "subject",
    "issuer",
    "thumbprint",
    "notBeforeUtc",
    "notAfterUtc",
    "serialNumber",
    "sha1Thumbprint",
    "sha256Thumbprint",
    "verificationCode",
    "port",
    "pid",
];
/// String values of the models' enums and formats.
const WORDS: &[&str] = &[
    "symmetricKey",
    "x509",
    "tpm",
    "enabled",
    "disabled",
    "hashed",
    "geoLatency",
    "static",
    "custom",
    "assigned",
    "assigning",
    "failed",
    "unassigned",
    "initialAssignment",
    "deviceDataMigrated",
    "deviceDataReset",
    "reprovisionedToInitialAssignment",
    "create",
    "update",
    "updateIfMatchETag",
    "delete",
    "2024-01-01T00:00:00.1234567Z",
    "*",
    "",
];

/// Any JSON value, with object keys and strings often drawn from the models'.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (prop_oneof![3 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => "[a-z]{1,6}"], inner),
                0..8,
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) {
    let Ok(first) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let name = std::any::type_name::<T>();
    let text = serde_json::to_vec(&first).unwrap_or_else(|e| panic!("{name}: {e}"));
    let second: T = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(first, second, "{name} changed in a round trip");
    let again = serde_json::to_vec(&second).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        text, again,
        "{name} serializes differently after a round trip"
    );
}

fn every_model(data: &[u8]) {
    macro_rules! each {
        ($($ty:ty),* $(,)?) => { $( round_trip::<$ty>(data); )* };
    }
    each!(
        AttestationMechanism,
        AttestationType,
        TpmAttestation,
        SymmetricKeyAttestation,
        X509Attestation,
        X509Certificates,
        X509CertificateWithInfo,
        X509CertificateInfo,
        X509CAReferences,
        IndividualEnrollment,
        EnrollmentGroup,
        ReprovisionPolicy,
        DeviceCapabilities,
        CustomAllocationDefinition,
        AllocationPolicy,
        ProvisioningStatus,
        InitialTwin,
        InitialTwinProperties,
        TwinCollection,
        DeviceRegistrationState,
        RegistrationStatus,
        Substatus,
        BulkEnrollmentOperation,
        BulkEnrollmentGroupOperation,
        BulkEnrollmentOperationResult,
        BulkEnrollmentOperationError,
        BulkEnrollmentGroupOperationResult,
        BulkEnrollmentGroupOperationError,
        BulkMode,
        QuerySpecification,
        ProvisioningServiceErrorDetails,
        DeviceRegistration,
        RegistrationOperationStatus,
        DeviceRegistrationResult,
        X509RegistrationResult,
        SymmetricKeyRegistrationResult,
        TpmRegistrationResult,
        CertificateResponse,
        CertificateProperties,
        CertificateListDescription,
        VerificationCodeResponse,
        VerificationCodeProperties,
        CertificateBodyDescription,
        CertificateCreateOrUpdateRequest,
        CertificateUpload,
        VerificationCodeRequest,
        ArmErrorResponse,
        ArmErrorDetail,
        Timestamp,
        dps_protocol::EmulatorInfo,
    );
}
