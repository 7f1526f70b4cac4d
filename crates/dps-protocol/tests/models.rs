//! Golden-fixture tests of `dps_protocol::models`: every fixture deserializes, serializes back
//! to the same JSON, and is fully described by the model (nothing lands in `extra`); plus the
//! guarantees a read-modify-write client relies on.

use dps_protocol::models::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/", $name, ".json")))
    };
}

/// Deserializes `text` as `T`, serializes it back, and requires the same JSON value.
fn roundtrip<T: DeserializeOwned + Serialize>((name, text): (&str, &str)) -> T {
    let expected: Value = serde_json::from_str(text).expect("fixture is JSON");
    let model: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&model).expect("serializes");
    assert_eq!(back, expected, "{name} did not round-trip");
    let again: T = serde_json::from_value(back).expect("re-parses");
    assert_eq!(
        serde_json::to_value(&again).expect("serializes"),
        expected,
        "{name}"
    );
    model
}

/// Paths of non-empty `extra` maps: a fixture must be fully modelled, so a misspelt field
/// name cannot hide in `extra` and still round-trip.
trait Strict {
    fn unknown(&self, path: &str, out: &mut Vec<String>);
}

fn extra(map: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    out.extend(map.keys().map(|k| format!("{path}.{k}")));
}

impl<T: Strict> Strict for Option<T> {
    fn unknown(&self, path: &str, out: &mut Vec<String>) {
        if let Some(inner) = self {
            inner.unknown(path, out);
        }
    }
}

impl<T: Strict> Strict for Vec<T> {
    fn unknown(&self, path: &str, out: &mut Vec<String>) {
        for (i, item) in self.iter().enumerate() {
            item.unknown(&format!("{path}[{i}]"), out);
        }
    }
}

macro_rules! strict {
    ($ty:ty $(, $field:ident)*) => {
        impl Strict for $ty {
            fn unknown(&self, path: &str, out: &mut Vec<String>) {
                extra(&self.extra, path, out);
                $( self.$field.unknown(&format!("{path}.{}", stringify!($field)), out); )*
            }
        }
    };
}

macro_rules! strict_leaf {
    ($($ty:ty),+) => {
        $(impl Strict for $ty {
            fn unknown(&self, _: &str, _: &mut Vec<String>) {}
        })+
    };
}

strict!(
    IndividualEnrollment,
    registration_state,
    attestation,
    capabilities,
    initial_twin,
    reprovision_policy,
    custom_allocation_definition
);
strict!(
    EnrollmentGroup,
    attestation,
    capabilities,
    initial_twin,
    reprovision_policy,
    custom_allocation_definition
);
strict!(AttestationMechanism, tpm, x509, symmetric_key);
strict!(TpmAttestation);
strict!(SymmetricKeyAttestation);
strict!(
    X509Attestation,
    client_certificates,
    signing_certificates,
    ca_references
);
strict!(X509Certificates, primary, secondary);
strict!(X509CertificateWithInfo, info);
strict!(X509CertificateInfo);
strict!(X509CAReferences);
strict!(InitialTwin, properties);
strict!(InitialTwinProperties);
strict!(ReprovisionPolicy);
strict!(DeviceCapabilities);
strict!(CustomAllocationDefinition);
strict!(DeviceRegistrationState);
strict!(BulkEnrollmentOperationResult);
strict!(BulkEnrollmentGroupOperationResult);
strict!(ProvisioningServiceErrorDetails);
strict!(DeviceRegistration, tpm);
strict!(RegistrationOperationStatus, registration_state);
strict!(DeviceRegistrationResult, x509, symmetric_key, tpm);
strict!(
    X509RegistrationResult,
    certificate_info,
    signing_certificate_info
);
strict!(SymmetricKeyRegistrationResult);
strict!(TpmRegistrationResult);
strict!(CertificateResponse, properties);
strict!(CertificateProperties);
strict!(VerificationCodeResponse, properties);
strict!(VerificationCodeProperties);
strict!(ArmErrorDetail, details);
strict_leaf!(
    TwinCollection,
    QuerySpecification,
    CertificateBodyDescription,
    CertificateCreateOrUpdateRequest,
    VerificationCodeRequest
);

impl Strict for BulkEnrollmentOperation {
    fn unknown(&self, path: &str, out: &mut Vec<String>) {
        self.enrollments
            .unknown(&format!("{path}.enrollments"), out);
    }
}

impl Strict for BulkEnrollmentGroupOperation {
    fn unknown(&self, path: &str, out: &mut Vec<String>) {
        self.enrollment_groups
            .unknown(&format!("{path}.enrollmentGroups"), out);
    }
}

impl Strict for CertificateListDescription {
    fn unknown(&self, path: &str, out: &mut Vec<String>) {
        self.value.unknown(&format!("{path}.value"), out);
    }
}

impl Strict for ArmErrorResponse {
    fn unknown(&self, path: &str, out: &mut Vec<String>) {
        self.error.unknown(&format!("{path}.error"), out);
    }
}

/// Round-trips a fixture and requires that nothing in it is unmodelled.
fn golden<T: DeserializeOwned + Serialize + Strict>(fixture: (&str, &str)) -> T {
    let model: T = roundtrip(fixture);
    let mut unknown = Vec::new();
    model.unknown("$", &mut unknown);
    assert!(
        unknown.is_empty(),
        "{}: unmodelled fields {unknown:?}",
        fixture.0
    );
    model
}

#[test]
fn enrollment_fixtures_round_trip() {
    let e: IndividualEnrollment = golden(fixture!("individual_enrollment_x509"));
    let info = e
        .attestation
        .x509
        .as_ref()
        .and_then(|x| x.client_certificates.as_ref());
    let info = info
        .and_then(|c| c.primary.as_ref())
        .and_then(|p| p.info.as_ref())
        .expect("info");
    assert_eq!(
        info.sha1_thumbprint,
        "C3EEF9C072567C97A68768C5DBD7B518CF59898F"
    );
    assert_eq!(e.attestation.attestation_type, AttestationType::X509);
    assert_eq!(e.allocation_policy, Some(AllocationPolicy::Hashed));

    let e: IndividualEnrollment = golden(fixture!("individual_enrollment_symmetric_key_get"));
    let state = e.registration_state.expect("registrationState on GET");
    assert_eq!(state.status, RegistrationStatus::Unassigned);
    let e: IndividualEnrollment = golden(fixture!("individual_enrollment_tpm"));
    assert_eq!(e.credential_policy_name.as_deref(), Some("default"));
    assert_eq!(e.provisioning_status, Some(ProvisioningStatus::Disabled));
    assert_eq!(e.allocation_policy, Some(AllocationPolicy::Custom));
    let e: IndividualEnrollment = golden(fixture!("individual_enrollment_x509_request"));
    let cert = e.attestation.x509.and_then(|x| x.client_certificates);
    let cert = cert
        .and_then(|c| c.primary)
        .and_then(|p| p.certificate)
        .expect("certificate");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"));

    let g: EnrollmentGroup = golden(fixture!("enrollment_group_x509_signing"));
    assert_eq!(g.enrollment_group_id, "contoso-x509-devices");
    golden::<EnrollmentGroup>(fixture!("enrollment_group_x509_signing_request"));
    let g: EnrollmentGroup = golden(fixture!("enrollment_group_ca_references"));
    assert_eq!(g.allocation_policy, Some(AllocationPolicy::GeoLatency));
    let g: EnrollmentGroup = golden(fixture!("enrollment_group_symmetric_key"));
    assert_eq!(g.allocation_policy, Some(AllocationPolicy::Static));

    assert_eq!(
        golden::<Vec<IndividualEnrollment>>(fixture!("individual_enrollment_query")).len(),
        2
    );
    assert_eq!(
        golden::<Vec<EnrollmentGroup>>(fixture!("enrollment_group_query")).len(),
        2
    );
}

#[test]
fn attestation_and_settings_fixtures_round_trip() {
    let a: AttestationMechanism = golden(fixture!("attestation_mechanism_symmetric_key"));
    assert_eq!(
        a.symmetric_key.and_then(|k| k.primary_key).map(|k| k.len()),
        Some(88)
    );
    let a: AttestationMechanism = golden(fixture!("attestation_mechanism_tpm"));
    assert_eq!(a.attestation_type, AttestationType::Tpm);
    golden::<AttestationMechanism>(fixture!("attestation_mechanism_x509"));
    let info: X509CertificateInfo = golden(fixture!("x509_certificate_info"));
    assert_eq!(info.version, 3);
    let twin: TwinCollection = golden(fixture!("twin_collection"));
    assert_eq!((twin.version(), twin.count()), (Some(4), Some(3)));
    golden::<InitialTwin>(fixture!("initial_twin"));
    let policy: ReprovisionPolicy = golden(fixture!("reprovision_policy"));
    assert!(!policy.update_hub_assignment && policy.migrate_device_data);
    assert!(golden::<DeviceCapabilities>(fixture!("device_capabilities")).iot_edge);
    golden::<CustomAllocationDefinition>(fixture!("custom_allocation_definition"));
    assert_eq!(
        golden::<QuerySpecification>(fixture!("query_specification")),
        QuerySpecification::all()
    );
}

#[test]
fn registration_fixtures_round_trip() {
    let s: DeviceRegistrationState = golden(fixture!("device_registration_state"));
    assert_eq!(s.status, RegistrationStatus::Assigned);
    assert_eq!(s.substatus, Some(Substatus::InitialAssignment));
    assert_eq!(
        s.etag.as_deref(),
        Some("IjA0MDBlNGYxLTAwMDAtMDgwMC0wMDAwLTY0NjgwMWY3MDAwMCI=")
    );
    let s: DeviceRegistrationState = golden(fixture!("device_registration_state_failed"));
    assert_eq!(
        (s.status, s.error_code),
        (RegistrationStatus::Failed, Some(400209))
    );
    let s: DeviceRegistrationState = golden(fixture!("device_registration_state_migrated_payload"));
    assert_eq!(
        s.payload
            .as_ref()
            .and_then(|p| p["settings"]["interval"].as_i64()),
        Some(60)
    );
    assert_eq!(
        golden::<Vec<DeviceRegistrationState>>(fixture!("device_registration_state_query")).len(),
        2
    );
}

#[test]
fn bulk_and_error_fixtures_round_trip() {
    let op: BulkEnrollmentOperation = golden(fixture!("bulk_enrollment_operation"));
    assert_eq!((op.mode, op.enrollments.len()), (BulkMode::Create, 2));
    golden::<BulkEnrollmentOperation>(fixture!("bulk_enrollment_operation_delete"));
    let op: BulkEnrollmentGroupOperation = golden(fixture!("bulk_enrollment_group_operation"));
    assert_eq!(op.mode, BulkMode::UpdateIfMatchETag);
    let r: BulkEnrollmentOperationResult =
        golden(fixture!("bulk_enrollment_operation_result_success"));
    assert!(r.is_successful && r.errors.is_empty());
    let r: BulkEnrollmentOperationResult =
        golden(fixture!("bulk_enrollment_operation_result_conflict"));
    assert_eq!(r.errors[0].error_code, 409201);
    let r: BulkEnrollmentGroupOperationResult =
        golden(fixture!("bulk_enrollment_group_operation_result"));
    assert_eq!(r.errors[0].enrollment_group_id, "sensors-symkey");

    let e: ErrorDetails = golden(fixture!("error_401002"));
    assert_eq!((e.error_code, e.http_status()), (401002, Some(401)));
    assert_eq!(
        e.to_string(),
        "DPS error 401002: Invalid certificate (tracking id f40da7ba-6f4b-4b1c-9d4e-2d8c1c5a7e31)"
    );
    let e: ErrorDetails = golden(fixture!("error_404201"));
    assert_eq!(e.info.as_ref().map(Map::len), Some(1));
}

#[test]
fn device_api_fixtures_round_trip() {
    golden::<DeviceRegistration>(fixture!("device_registration_request"));
    let r: DeviceRegistration = golden(fixture!("device_registration_request_payload"));
    assert!(r.payload.is_some());
    let r: DeviceRegistration = golden(fixture!("device_registration_request_tpm"));
    assert!(r.tpm.and_then(|t| t.storage_root_key).is_some());

    let s: RegistrationOperationStatus =
        golden(fixture!("registration_operation_status_assigning"));
    assert!(!s.status.is_final() && s.registration_state.is_none());
    golden::<RegistrationOperationStatus>(fixture!(
        "registration_operation_status_assigning_state"
    ));
    let s: RegistrationOperationStatus =
        golden(fixture!("registration_operation_status_assigned_x509"));
    let x509 = s
        .registration_state
        .and_then(|r| r.x509)
        .expect("x509 result");
    assert_eq!(
        x509.enrollment_group_id.as_deref(),
        Some("contoso-x509-devices")
    );
    assert_eq!(x509.certificate_info.subject_name, "CN=device-4dfe3739");
    let s: RegistrationOperationStatus = golden(fixture!(
        "registration_operation_status_assigned_symmetric_key"
    ));
    let state = s.registration_state.expect("state");
    assert_eq!(state.generation_id.as_deref(), Some("638685311234567890"));
    assert_eq!(state.substatus, Some(Substatus::DeviceDataMigrated));
    let s: RegistrationOperationStatus = golden(fixture!("registration_operation_status_failed"));
    assert!(s.status.is_final());
    let s: RegistrationOperationStatus = golden(fixture!("registration_operation_status_disabled"));
    assert!(s.registration_state.and_then(|r| r.tpm).is_some());
}

#[test]
fn certificate_fixtures_round_trip() {
    let c: CertificateResponse = golden(fixture!("certificate_response"));
    assert_eq!(c.resource_type, CERTIFICATE_RESOURCE_TYPE);
    assert_eq!(c.properties.is_verified, Some(false));
    let l: CertificateListDescription = golden(fixture!("certificate_list"));
    assert_eq!(l.value.len(), 2);
    let v: VerificationCodeResponse = golden(fixture!("verification_code_response"));
    assert!(v.properties.verification_code.is_some());
    golden::<CertificateCreateOrUpdateRequest>(fixture!("certificate_create_or_update_request"));
    golden::<CertificateBodyDescription>(fixture!("certificate_body_description"));
    golden::<VerificationCodeRequest>(fixture!("verification_code_request"));
    let e: ArmErrorResponse = golden(fixture!("arm_error"));
    assert_eq!(e.error.code, "PreconditionFailed");
    assert_eq!(e.error.target.as_deref(), Some("contoso-root"));

    // Both PUT shapes are accepted.
    let (_, wrapped) = fixture!("certificate_create_or_update_request");
    let (_, flat) = fixture!("certificate_body_description");
    let wrapped: CertificateUpload = serde_json::from_str(wrapped).expect("wrapped");
    let flat: CertificateUpload = serde_json::from_str(flat).expect("flat");
    assert!(matches!(wrapped, CertificateUpload::Wrapped(_)));
    assert_eq!(flat.into_body().is_verified, Some(true));
}

#[test]
fn unknown_fields_survive_read_modify_write() {
    let (_, text) = fixture!("individual_enrollment_x509");
    let mut body: Value = serde_json::from_str(text).expect("json");
    body["futureTopLevel"] = json!({"nested": [1, 2, 3]});
    body["attestation"]["futureAttestationField"] = json!("kept");
    body["attestation"]["x509"]["futureX509Field"] = json!(true);
    body["attestation"]["x509"]["clientCertificates"]["primary"]["info"]["extensions"] =
        json!(["2.5.29.19"]);
    body["initialTwin"]["properties"]["reported"] = json!({"a": 1});
    body["reprovisionPolicy"]["futurePolicy"] = json!(null);

    let mut e: IndividualEnrollment = serde_json::from_value(body.clone()).expect("parses");
    assert!(e.extra.contains_key("futureTopLevel"));
    assert_eq!(e.attestation.extra["futureAttestationField"], "kept");
    // The modification a client makes; everything else must come back unchanged.
    e.provisioning_status = Some(ProvisioningStatus::Disabled);
    body["provisioningStatus"] = json!("disabled");
    assert_eq!(serde_json::to_value(&e).expect("serializes"), body);

    let (_, text) = fixture!("device_registration_state");
    let mut body: Value = serde_json::from_str(text).expect("json");
    body["lastReprovisionedDateTimeUtc"] = json!("2026-12-01T00:00:00.0000000Z");
    let s: DeviceRegistrationState = serde_json::from_value(body.clone()).expect("parses");
    assert_eq!(serde_json::to_value(&s).expect("serializes"), body);

    let (_, text) = fixture!("enrollment_group_symmetric_key");
    let mut body: Value = serde_json::from_str(text).expect("json");
    body["deviceUpdateConfig"] = json!({"enabled": false});
    let g: EnrollmentGroup = serde_json::from_value(body.clone()).expect("parses");
    assert_eq!(serde_json::to_value(&g).expect("serializes"), body);
}

#[test]
fn unknown_enum_values_survive() {
    let body = json!({
        "registrationId": "dev-1",
        "attestation": {"type": "dice", "dice": {"uds": "AAAA"}},
        "provisioningStatus": "paused",
        "allocationPolicy": "Hashed",
        "registrationState": {"registrationId": "dev-1", "status": "quarantined", "substatus": "moved"},
    });
    let e: IndividualEnrollment = serde_json::from_value(body.clone()).expect("parses");
    assert_eq!(
        e.attestation.attestation_type,
        AttestationType::Other("dice".into())
    );
    assert!(!e.attestation.attestation_type.is_known());
    assert_eq!(
        e.provisioning_status,
        Some(ProvisioningStatus::Other("paused".into()))
    );
    // Matching is exact: the ARM PascalCase spelling is kept as is, not normalised.
    assert_eq!(
        e.allocation_policy.as_ref().map(AllocationPolicy::as_str),
        Some("Hashed")
    );
    let state = e.registration_state.as_ref().expect("state");
    assert_eq!(
        state.status,
        RegistrationStatus::Other("quarantined".into())
    );
    assert!(state.status.is_final(), "unknown statuses stop polling");
    assert_eq!(state.substatus, Some(Substatus::Other("moved".into())));
    assert_eq!(serde_json::to_value(&e).expect("serializes"), body);

    let op: BulkEnrollmentOperation =
        serde_json::from_value(json!({"mode": "upsert", "enrollments": []})).expect("parses");
    assert_eq!(op.mode.to_string(), "upsert");
    assert_eq!(
        "updateIfMatchETag".parse::<BulkMode>(),
        Ok(BulkMode::UpdateIfMatchETag)
    );
    assert_eq!(BulkMode::from(String::from("delete")), BulkMode::Delete);
}

#[test]
fn nulls_are_omitted_on_output() {
    let body = json!({
        "enrollmentGroupId": "g1",
        "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": null, "secondaryKey": null}, "x509": null},
        "provisioningStatus": null,
        "iotHubHostName": null,
        "initialTwin": {"tags": null, "properties": {"desired": null}},
        "etag": null,
    });
    let g: EnrollmentGroup = serde_json::from_value(body).expect("parses");
    assert_eq!(
        serde_json::to_value(&g).expect("serializes"),
        json!({
            "enrollmentGroupId": "g1",
            "attestation": {"type": "symmetricKey", "symmetricKey": {}},
            "initialTwin": {"properties": {}},
        })
    );
    let built =
        serde_json::to_string(&IndividualEnrollment::x509_client("d", "PEM")).expect("json");
    assert!(!built.contains("null"), "{built}");
    let result = DeviceRegistrationResult::new("d", RegistrationStatus::Assigning);
    assert_eq!(
        serde_json::to_value(&result).expect("json"),
        json!({"registrationId": "d", "status": "assigning"})
    );
}

#[test]
fn error_code_alias_and_display() {
    let e: ErrorDetails = serde_json::from_value(
        json!({"code": 404201, "message": "Enrollment not found.", "trackingId": "t-1"}),
    )
    .expect("parses");
    assert_eq!(e.error_code, 404201);
    assert_eq!(e.http_status(), Some(404));
    assert_eq!(
        e.to_string(),
        "DPS error 404201: Enrollment not found. (tracking id t-1)"
    );
    let out = serde_json::to_value(&e).expect("json");
    assert_eq!(out["errorCode"], 404201);
    assert!(out.get("code").is_none());

    let fresh = ErrorDetails::new(412001, "Precondition failed.");
    assert_eq!(fresh.to_string(), "DPS error 412001: Precondition failed.");
    let stamp = fresh.timestamp_utc.expect("stamped");
    assert_eq!(stamp.as_str().len(), "2019-03-15T19:43:02.7904455Z".len());
    assert!(stamp.to_datetime().is_some());
}

#[test]
fn exact_wire_field_names() {
    let group = EnrollmentGroup::x509_signing("g", "CA-PEM", Some("CA2-PEM".into()));
    assert_eq!(
        serde_json::to_value(&group).expect("json"),
        json!({
            "enrollmentGroupId": "g",
            "attestation": {"type": "x509", "x509": {"signingCertificates": {
                "primary": {"certificate": "CA-PEM"}, "secondary": {"certificate": "CA2-PEM"}}}},
        })
    );
    let mut e = IndividualEnrollment::symmetric_key("dev-1", None);
    e.iot_hub_host_name = Some("hub.azure-devices.net".into());
    e.reprovision_policy = Some(ReprovisionPolicy::default());
    e.capabilities = Some(DeviceCapabilities::default());
    e.initial_twin = Some(InitialTwin::empty());
    e.credential_policy_name = Some("p".into());
    assert_eq!(
        serde_json::to_value(&e).expect("json"),
        json!({
            "registrationId": "dev-1",
            "attestation": {"type": "symmetricKey", "symmetricKey": {}},
            "capabilities": {"iotEdge": false},
            "iotHubHostName": "hub.azure-devices.net",
            "initialTwin": {"tags": {}, "properties": {"desired": {}}},
            "reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": true},
            "credentialPolicyName": "p",
        })
    );
    let text = [
        serde_json::to_string(&group),
        serde_json::to_string(&e),
        serde_json::to_string(&IndividualEnrollment::x509_client("d", "PEM")),
        serde_json::to_string(&EnrollmentGroup::x509_ca_references("g", "root", None)),
        serde_json::to_string(&IndividualEnrollment::tpm("t", "EK")),
        serde_json::to_string(&BulkEnrollmentOperation::new(
            BulkMode::UpdateIfMatchETag,
            vec![],
        )),
        serde_json::to_string(&BulkEnrollmentGroupOperation::new(BulkMode::Create, vec![])),
        serde_json::to_string(&BulkEnrollmentOperationResult::default()),
        serde_json::to_string(&QuerySpecification::all()),
    ]
    .map(|s| s.expect("json"))
    .concat();
    for name in [
        "\"signingCertificates\"",
        "\"updateIfMatchETag\"",
        "\"iotHubHostName\"",
        "\"clientCertificates\"",
        "\"caReferences\"",
        "\"endorsementKey\"",
        "\"symmetricKey\"",
        "\"enrollmentGroups\"",
        "\"enrollments\"",
        "\"isSuccessful\"",
        "\"errors\":[]",
        "\"query\":\"SELECT *\"",
        "\"credentialPolicyName\"",
        "\"updateHubAssignment\"",
    ] {
        assert!(text.contains(name), "missing {name} in {text}");
    }
    assert!(!text.contains("\"x-ms"), "headers are not body fields");
    assert!(!text.contains('_'), "no snake_case field names: {text}");
}

#[test]
fn timestamps_are_byte_faithful() {
    let (_, text) = fixture!("device_registration_state");
    let s: DeviceRegistrationState = serde_json::from_str(text).expect("parses");
    let created = s.created_date_time_utc.as_ref().expect("created");
    assert_eq!(created, "2026-11-30T02:44:19.6101224Z");
    let at = created.to_datetime().expect("RFC 3339");
    assert_eq!(at.nanosecond(), 610_122_400);
    assert_eq!(Timestamp::from_datetime(at), *created);
    // Non-standard precision is kept as sent, not re-formatted.
    let odd = json!({"registrationId": "r", "status": "assigned", "createdDateTimeUtc": "2025-10-01T17:41:56.534Z"});
    let s: DeviceRegistrationState = serde_json::from_value(odd.clone()).expect("parses");
    assert_eq!(serde_json::to_value(&s).expect("json"), odd);
}
