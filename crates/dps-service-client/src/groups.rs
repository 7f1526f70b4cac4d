//! Enrollment groups.

use crate::client::{ConditionalOptions, ProvisioningServiceClient};
use crate::error::Result;
use crate::options::{BulkOptions, CreateOptions, GetOptions};
use crate::query::{Page, QueryOptions, QueryStream};
use crate::resource::{Ops, Resource};
use dps_protocol::models::{
    AttestationMechanism, BulkEnrollmentGroupOperation, BulkEnrollmentGroupOperationResult,
    BulkMode, EnrollmentGroup, QuerySpecification,
};

impl Resource for EnrollmentGroup {
    const COLLECTION: &'static str = "enrollmentGroups";
    const OPS: Ops = Ops {
        get: "EnrollmentGroup_Get",
        put: "EnrollmentGroup_CreateOrUpdate",
        delete: "EnrollmentGroup_Delete",
        attestation: "EnrollmentGroup_GetAttestationMechanism",
        query: "EnrollmentGroup_Query",
        bulk: "EnrollmentGroup_RunBulkOperation",
    };
    type Bulk = BulkEnrollmentGroupOperation;
    type BulkResult = BulkEnrollmentGroupOperationResult;
    fn id(&self) -> &str {
        &self.enrollment_group_id
    }
    fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }
    fn clear_etag(&mut self) {
        self.etag = None;
    }
    fn bulk(mode: BulkMode, items: Vec<Self>) -> Self::Bulk {
        BulkEnrollmentGroupOperation::new(mode, items)
    }
}

impl ProvisioningServiceClient {
    /// Reads an enrollment group (`GET /enrollmentGroups/{id}`).
    pub async fn get_enrollment_group(
        &self,
        group_id: &str,
        options: Option<GetOptions>,
    ) -> Result<EnrollmentGroup> {
        let _ = options;
        self.get_resource(group_id).await
    }

    /// Creates or replaces an enrollment group (`PUT /enrollmentGroups/{id}`), sending `If-Match` only when
    /// `options.if_match` is set.
    pub async fn create_or_update_enrollment_group(
        &self,
        group: &EnrollmentGroup,
        options: Option<ConditionalOptions>,
    ) -> Result<EnrollmentGroup> {
        let if_match = options.and_then(|o| o.if_match);
        self.put_resource(group, if_match.as_deref()).await
    }

    /// Creates an enrollment group that must not exist yet; an existing one gives a
    /// [`crate::ErrorKind::Conflict`] error
    /// ([`ALREADY_EXISTS`](dps_protocol::codes::ALREADY_EXISTS)) and is left untouched.
    pub async fn create_enrollment_group(
        &self,
        group: &EnrollmentGroup,
        options: Option<CreateOptions>,
    ) -> Result<EnrollmentGroup> {
        let _ = options;
        self.create_resource(group).await
    }

    /// Replaces an enrollment group if it has not changed since it was read: `If-Match` is
    /// `options.if_match`, else the group's own `etag`.
    pub async fn update_enrollment_group(
        &self,
        group: &EnrollmentGroup,
        options: Option<ConditionalOptions>,
    ) -> Result<EnrollmentGroup> {
        self.update_resource(group, options).await
    }

    /// Deletes an enrollment group (`DELETE /enrollmentGroups/{id}`), conditionally with `If-Match`.
    pub async fn delete_enrollment_group(
        &self,
        group_id: &str,
        options: Option<ConditionalOptions>,
    ) -> Result<()> {
        self.delete_resource::<EnrollmentGroup>(group_id, options)
            .await
    }

    /// The group's attestation with its keys (`POST .../attestationmechanism`).
    pub async fn get_enrollment_group_attestation_mechanism(
        &self,
        group_id: &str,
        options: Option<GetOptions>,
    ) -> Result<AttestationMechanism> {
        let _ = options;
        self.attestation_of::<EnrollmentGroup>(group_id).await
    }

    /// Every enrollment group matching `query`, following continuation tokens to the end.
    pub fn query_enrollment_groups(
        &self,
        query: QuerySpecification,
        options: Option<QueryOptions>,
    ) -> QueryStream<EnrollmentGroup> {
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

    /// One page of enrollment groups; pass the previous page's continuation token to get the next.
    pub async fn query_enrollment_groups_page(
        &self,
        query: &QuerySpecification,
        continuation: Option<&str>,
        options: Option<QueryOptions>,
    ) -> Result<Page<EnrollmentGroup>> {
        self.query_page_of(query, continuation, &options.unwrap_or_default())
            .await
    }

    /// Runs a bulk operation (`POST /enrollmentGroups`) over any number of groups, in chunks of
    /// the service's limit of 10, sent concurrently; per-group errors come back in input order.
    pub async fn run_bulk_enrollment_group_operation(
        &self,
        mode: BulkMode,
        groups: Vec<EnrollmentGroup>,
        options: Option<BulkOptions>,
    ) -> Result<BulkEnrollmentGroupOperationResult> {
        let _ = options;
        self.bulk_of(mode, groups).await
    }
}
