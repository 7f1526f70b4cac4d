//! Serde models of the DPS service API (api-version 2021-10-01), the device registration API
//! and the CA-certificate (ARM) API.
//!
//! JSON names are camelCase exactly as on the wire. Design rules, chosen so that a client can
//! read a record and write it back without losing anything:
//!
//! * Optional fields are `Option` and omitted when `None` (the service omits nulls too).
//! * Records carry `extra`: every field this version does not model is kept there and written
//!   back verbatim.
//! * Status-like enums never fail on an unknown value: it is kept as `Other(String)` and
//!   serialized unchanged. [`WireEnum`] (`is_known`, `KNOWN`) lets a strict writer, the
//!   emulator, refuse such values in one place.
//! * Timestamps are [`Timestamp`]s, the exact text the service sent (seven fractional digits),
//!   with helpers to convert to and from [`time::OffsetDateTime`].
//!
//! | area | types |
//! |---|---|
//! | enrollments | [`IndividualEnrollment`], [`EnrollmentGroup`] |
//! | attestation | [`AttestationMechanism`], [`TpmAttestation`], [`SymmetricKeyAttestation`], [`X509Attestation`] and friends |
//! | settings | [`ReprovisionPolicy`], [`DeviceCapabilities`], [`CustomAllocationDefinition`], [`AllocationPolicy`], [`ProvisioningStatus`], [`InitialTwin`], [`TwinCollection`] |
//! | registrations | [`DeviceRegistrationState`], [`RegistrationStatus`], [`Substatus`] |
//! | bulk and query | [`BulkEnrollmentOperation`], [`BulkEnrollmentGroupOperation`], their results, [`QuerySpecification`] |
//! | errors | [`ProvisioningServiceErrorDetails`] ([`ErrorDetails`]), [`ArmErrorResponse`] |
//! | device API | [`DeviceRegistration`], [`RegistrationOperationStatus`], [`DeviceRegistrationResult`] |
//! | CA certificates (ARM) | [`CertificateResponse`], [`CertificateListDescription`], [`VerificationCodeResponse`], [`CertificateCreateOrUpdateRequest`], [`VerificationCodeRequest`] |

mod wire_enum;

pub mod attestation;
pub mod bulk;
pub mod certificate;
pub mod device;
pub mod enrollment;
pub mod error;
pub mod policy;
pub mod query;
pub mod registration;
pub mod timestamp;
pub mod twin;
pub mod x509;

pub use attestation::{
    AttestationMechanism, AttestationType, SymmetricKeyAttestation, TpmAttestation,
};
pub use bulk::{
    BulkEnrollmentGroupOperation, BulkEnrollmentGroupOperationError,
    BulkEnrollmentGroupOperationResult, BulkEnrollmentOperation, BulkEnrollmentOperationError,
    BulkEnrollmentOperationResult, BulkItemError, BulkMode, BulkOperationResult, MAX_BULK_ITEMS,
};
pub use certificate::{
    ArmErrorDetail, ArmErrorResponse, CERTIFICATE_RESOURCE_TYPE, CertificateBodyDescription,
    CertificateCreateOrUpdateRequest, CertificateListDescription, CertificateProperties,
    CertificateResponse, CertificateUpload, VerificationCodeProperties, VerificationCodeRequest,
    VerificationCodeResponse,
};
pub use device::{
    DeviceRegistration, DeviceRegistrationResult, RegistrationOperationStatus,
    SymmetricKeyRegistrationResult, TpmRegistrationResult, X509RegistrationResult,
};
pub use enrollment::{EnrollmentGroup, IndividualEnrollment};
pub use error::{ErrorDetails, ProvisioningServiceErrorDetails};
pub use policy::{
    AllocationPolicy, CustomAllocationDefinition, DeviceCapabilities, ProvisioningStatus,
    ReprovisionPolicy,
};
pub use query::QuerySpecification;
pub use registration::{DeviceRegistrationState, RegistrationStatus, Substatus};
pub use timestamp::Timestamp;
pub use twin::{InitialTwin, InitialTwinProperties, TwinCollection};
pub use wire_enum::WireEnum;
pub use x509::{
    X509Attestation, X509CAReferences, X509CertificateInfo, X509CertificateWithInfo,
    X509Certificates,
};
