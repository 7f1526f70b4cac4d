//! Async client of the Azure IoT Hub Device Provisioning Service (DPS) service API.
//!
//! [`ProvisioningServiceClient`] covers every operation of the service API at api-version
//! 2021-10-01: enrollment groups and individual enrollments (get, create, create-or-update,
//! update with `If-Match`, delete, attestation mechanism, query, bulk) and device registration
//! states (get, delete, query by group).
//!
//! What it does that the official SDKs do not all do:
//! * every query is a stream that follows `x-ms-continuation` to the end (no silent cap);
//! * bulk operations take any number of records and send them in chunks of 10, concurrently,
//!   with per-item results in input order;
//! * retries with exponential backoff and jitter, honouring `Retry-After`, on 408/429/5xx and
//!   connection errors (bulk POSTs only when the service provably did nothing);
//! * SAS tokens from a connection string are renewed before they expire;
//! * `If-Match` is sent only when the caller has an ETag, and `*` only on explicit request;
//! * one [`Error`] type with a coarse [`ErrorKind`] and the service's `errorCode` (compare it
//!   with the constants of [`codes`]), `trackingId` and message; keys never appear in errors,
//!   logs or `Debug` output;
//! * every operation takes its optional parameters last, as `Option<XxxOptions>`
//!   (`#[non_exhaustive]`, `Default`), so options can grow without breaking callers.
//!
//! Operations emit `tracing` spans named `dps.request` (operation, id, status, attempts).
//!
//! ```no_run
//! use dps_service_client::{ProvisioningServiceClient, QueryOptions};
//! use dps_protocol::models::QuerySpecification;
//! use futures_util::TryStreamExt;
//!
//! # async fn demo() -> dps_service_client::Result<()> {
//! let client = ProvisioningServiceClient::from_connection_string(
//!     &std::env::var("DPS_CONNECTION_STRING").unwrap_or_default(),
//!     None,
//! )?;
//! let pem = std::fs::read("certs/certs/azure-iot-test-only.intermediate.cert.pem").unwrap_or_default();
//! client.create_x509_enrollment_group("my-group", &pem, None, None).await?;
//! let groups: Vec<_> = client
//!     .query_enrollment_groups(QuerySpecification::all(), Some(QueryOptions::default().with_page_size(100)))
//!     .try_collect()
//!     .await?;
//! println!("{} groups", groups.len());
//! # Ok(()) }
//! ```

mod certificates;
mod client;
mod credential;
mod enrollments;
mod error;
mod groups;
mod options;
mod pipeline;
mod query;
mod registrations;
mod resource;
pub mod retry;
mod x509;

pub use certificates::{
    AZURE_RESOURCE_MANAGER, CERTIFICATE_API_VERSION, CertificateClient, CertificateClientOptions,
    CertificateUploadOptions, DeleteCertificateOptions, ListCertificatesOptions,
    ProvePossessionError, ProvePossessionOptions, VerificationCodeOptions,
    VerifyCertificateOptions,
};
pub use client::{ConditionalOptions, ProvisioningServiceClient};
pub use credential::Credential;
pub use dps_protocol::codes;
pub use dps_protocol::models;
pub use error::{Error, ErrorKind, Result};
pub use options::{
    BulkOptions, ClientOptions, CreateOptions, DEFAULT_API_VERSION, GetOptions,
    X509EnrollmentGroupOptions,
};
pub use query::{Page, QueryOptions, QueryStream};
pub use retry::RetryOptions;
pub use x509::{certificate_for_upload, uploaded_der};
