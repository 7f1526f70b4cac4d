//! Individual enrollments.

use crate::client::{ConditionalOptions, ProvisioningServiceClient};
use crate::error::Result;
use crate::options::{BulkOptions, CreateOptions, GetOptions};
use crate::query::{Page, QueryOptions, QueryStream};
use crate::resource::{Ops, Resource};
use dps_protocol::models::{
    AttestationMechanism, BulkEnrollmentOperation, BulkEnrollmentOperationResult, BulkMode,
    IndividualEnrollment, QuerySpecification,
};

impl Resource for IndividualEnrollment {
    const COLLECTION: &'static str = "enrollments";
    const OPS: Ops = Ops {
        get: "IndividualEnrollment_Get",
        put: "IndividualEnrollment_CreateOrUpdate",
        delete: "IndividualEnrollment_Delete",
        attestation: "IndividualEnrollment_GetAttestationMechanism",
        query: "IndividualEnrollment_Query",
        bulk: "IndividualEnrollment_RunBulkOperation",
    };
    type Bulk = BulkEnrollmentOperation;
    type BulkResult = BulkEnrollmentOperationResult;
    fn id(&self) -> &str {
        &self.registration_id
    }
    fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }
    fn clear_etag(&mut self) {
        self.etag = None;
    }
    fn bulk(mode: BulkMode, items: Vec<Self>) -> Self::Bulk {
        BulkEnrollmentOperation::new(mode, items)
    }
}

impl ProvisioningServiceClient {
    /// Reads an individual enrollment (`GET /enrollments/{id}`).
    pub async fn get_enrollment(
        &self,
        registration_id: &str,
        options: Option<GetOptions>,
    ) -> Result<IndividualEnrollment> {
        let _ = options;
        self.get_resource(registration_id).await
    }

    /// Creates or replaces an enrollment (`PUT /enrollments/{id}`), sending `If-Match` only when
    /// `options.if_match` is set.
    pub async fn create_or_update_enrollment(
        &self,
        enrollment: &IndividualEnrollment,
        options: Option<ConditionalOptions>,
    ) -> Result<IndividualEnrollment> {
        let if_match = options.and_then(|o| o.if_match);
        self.put_resource(enrollment, if_match.as_deref()).await
    }

    /// Creates an enrollment that must not exist yet; an existing one gives a
    /// [`crate::ErrorKind::Conflict`] error
    /// ([`ALREADY_EXISTS`](dps_protocol::codes::ALREADY_EXISTS)) and is left untouched.
    pub async fn create_enrollment(
        &self,
        enrollment: &IndividualEnrollment,
        options: Option<CreateOptions>,
    ) -> Result<IndividualEnrollment> {
        let _ = options;
        self.create_resource(enrollment).await
    }

    /// Replaces an enrollment if it has not changed since it was read: `If-Match` is
    /// `options.if_match`, else the enrollment's own `etag`.
    pub async fn update_enrollment(
        &self,
        enrollment: &IndividualEnrollment,
        options: Option<ConditionalOptions>,
    ) -> Result<IndividualEnrollment> {
        self.update_resource(enrollment, options).await
    }

    /// Deletes an enrollment (`DELETE /enrollments/{id}`), conditionally with `If-Match`.
    pub async fn delete_enrollment(
        &self,
        registration_id: &str,
        options: Option<ConditionalOptions>,
    ) -> Result<()> {
        self.delete_resource::<IndividualEnrollment>(registration_id, options)
            .await
    }

    /// The enrollment's attestation with its keys (`POST .../attestationmechanism`).
    pub async fn get_enrollment_attestation_mechanism(
        &self,
        registration_id: &str,
        options: Option<GetOptions>,
    ) -> Result<AttestationMechanism> {
        let _ = options;
        self.attestation_of::<IndividualEnrollment>(registration_id)
            .await
    }

    /// Every enrollment matching `query`, following continuation tokens to the end.
    pub fn query_enrollments(
        &self,
        query: QuerySpecification,
        options: Option<QueryOptions>,
    ) -> QueryStream<IndividualEnrollment> {
        let client = self.clone();
        crate::query::stream(options.unwrap_or_default(), move |token, options| {
            let client = client.clone();
            let query = query.clone();
            async move {
                client
                    .query_page_of(&query, token.as_deref(), &options)
                    .await
            }
        })
    }

    /// One page of enrollments; pass the previous page's continuation token to get the next.
    pub async fn query_enrollments_page(
        &self,
        query: &QuerySpecification,
        continuation: Option<&str>,
        options: Option<QueryOptions>,
    ) -> Result<Page<IndividualEnrollment>> {
        self.query_page_of(query, continuation, &options.unwrap_or_default())
            .await
    }

    /// Runs a bulk operation (`POST /enrollments`) over any number of enrollments, in chunks of
    /// the service's limit of 10, sent concurrently; per-item errors come back in input order.
    pub async fn run_bulk_enrollment_operation(
        &self,
        mode: BulkMode,
        enrollments: Vec<IndividualEnrollment>,
        options: Option<BulkOptions>,
    ) -> Result<BulkEnrollmentOperationResult> {
        let _ = options;
        self.bulk_of(mode, enrollments).await
    }
}
