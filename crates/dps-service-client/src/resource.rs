//! The operations individual enrollments and enrollment groups share, written once over the
//! [`Resource`] trait; `enrollments.rs` and `groups.rs` expose them under their public names.

use crate::client::{ConditionalOptions, ProvisioningServiceClient, id_path, if_match_header};
use crate::error::{Error, ErrorKind, Result};
use crate::query::{Page, QueryOptions};
use crate::retry::Idempotency;
use dps_protocol::errors::ErrorResponse;
use dps_protocol::models::{
    AttestationMechanism, BulkItemError, BulkMode, BulkOperationResult, MAX_BULK_ITEMS,
    QuerySpecification,
};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Operation names of one resource, for tracing and error messages.
pub(crate) struct Ops {
    pub(crate) get: &'static str,
    pub(crate) put: &'static str,
    pub(crate) delete: &'static str,
    pub(crate) attestation: &'static str,
    pub(crate) query: &'static str,
    pub(crate) bulk: &'static str,
}

/// An enrollment-like record of the service API.
pub(crate) trait Resource:
    Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
    /// Path collection (`enrollments`, `enrollmentGroups`).
    const COLLECTION: &'static str;
    const OPS: Ops;
    /// The bulk request body.
    type Bulk: Serialize + Send + Sync;
    /// The bulk response body.
    type BulkResult: DeserializeOwned + BulkOperationResult + Send;
    fn id(&self) -> &str;
    fn etag(&self) -> Option<&str>;
    fn clear_etag(&mut self);
    fn bulk(mode: BulkMode, items: Vec<Self>) -> Self::Bulk;
}

impl ProvisioningServiceClient {
    pub(crate) async fn get_resource<R: Resource>(&self, id: &str) -> Result<R> {
        let path = id_path(R::COLLECTION, id, "")?;
        self.call(R::OPS.get, Some(id), Method::GET, path, None::<&()>, vec![])
            .await
    }

    /// PUT with an explicit `If-Match` (or none).
    pub(crate) async fn put_resource<R: Resource>(
        &self,
        record: &R,
        if_match: Option<&str>,
    ) -> Result<R> {
        let path = id_path(R::COLLECTION, record.id(), "")?;
        self.call(
            R::OPS.put,
            Some(record.id()),
            Method::PUT,
            path,
            Some(record),
            if_match_header(if_match),
        )
        .await
    }

    /// Create only: a single-item bulk `create`, which the service refuses with
    /// [`ALREADY_EXISTS`](dps_protocol::codes::ALREADY_EXISTS) when the record exists (a PUT
    /// would silently replace it), then a GET for the stored record.
    pub(crate) async fn create_resource<R: Resource>(&self, record: &R) -> Result<R> {
        let mut fresh = record.clone();
        fresh.clear_etag();
        let id = record.id().to_owned();
        id_path(R::COLLECTION, &id, "")?;
        let body = R::bulk(BulkMode::Create, vec![fresh]);
        let path = format!("/{}", R::COLLECTION);
        let resp = self
            .raw(
                R::OPS.bulk,
                Some(&id),
                Method::POST,
                path,
                Some(&body),
                vec![],
                Idempotency::NotIdempotent,
            )
            .await?;
        let result: R::BulkResult = resp.json()?;
        if let Some(err) = result.errors().first() {
            let message = format!("{id}: {}", err.reason());
            let response = match err.code() {
                Some(code) => ErrorResponse::from_code(code, message),
                None => ErrorResponse::from_status(400, message),
            };
            return Err(Error::from_error_response(response));
        }
        if !result.is_successful() {
            return Err(Error::new(
                ErrorKind::Http,
                format!("{id}: the service reported a failed create without details"),
            ));
        }
        self.get_resource(&id).await
    }

    /// PUT that carries `If-Match`: the caller's value, else the record's own ETag.
    pub(crate) async fn update_resource<R: Resource>(
        &self,
        record: &R,
        options: Option<ConditionalOptions>,
    ) -> Result<R> {
        let explicit = options.and_then(|o| o.if_match);
        let if_match = explicit.as_deref().or(record.etag());
        self.put_resource(record, if_match).await
    }

    pub(crate) async fn delete_resource<R: Resource>(
        &self,
        id: &str,
        options: Option<ConditionalOptions>,
    ) -> Result<()> {
        let path = id_path(R::COLLECTION, id, "")?;
        let if_match = options.and_then(|o| o.if_match);
        self.raw(
            R::OPS.delete,
            Some(id),
            Method::DELETE,
            path,
            None::<&()>,
            if_match_header(if_match.as_deref()),
            Idempotency::Idempotent,
        )
        .await
        .map(|_| ())
    }

    pub(crate) async fn attestation_of<R: Resource>(
        &self,
        id: &str,
    ) -> Result<AttestationMechanism> {
        let path = id_path(R::COLLECTION, id, "/attestationmechanism")?;
        self.call(
            R::OPS.attestation,
            Some(id),
            Method::POST,
            path,
            None::<&()>,
            vec![],
        )
        .await
    }

    pub(crate) async fn query_page_of<R: Resource>(
        &self,
        query: &QuerySpecification,
        continuation: Option<&str>,
        options: &QueryOptions,
    ) -> Result<Page<R>> {
        let path = format!("/{}/query", R::COLLECTION);
        self.query_page(R::OPS.query, None, path, Some(query), continuation, options)
            .await
    }

    /// Runs a bulk operation over any number of records: chunks of the service's limit, sent
    /// concurrently, results merged in input order.
    pub(crate) async fn bulk_of<R: Resource>(
        &self,
        mode: BulkMode,
        records: Vec<R>,
    ) -> Result<R::BulkResult> {
        if records.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a bulk operation needs at least one record",
            ));
        }
        for r in &records {
            id_path(R::COLLECTION, r.id(), "")?;
        }
        const CONCURRENCY: usize = 8;
        let chunks: Vec<Vec<R>> = records.chunks(MAX_BULK_ITEMS).map(<[R]>::to_vec).collect();
        let mode = &mode;
        let results: Vec<R::BulkResult> = futures_util::stream::iter(chunks)
            .map(|chunk| async move {
                let body = R::bulk(mode.clone(), chunk);
                let path = format!("/{}", R::COLLECTION);
                self.raw(
                    R::OPS.bulk,
                    None,
                    Method::POST,
                    path,
                    Some(&body),
                    vec![],
                    Idempotency::NotIdempotent,
                )
                .await?
                .json::<R::BulkResult>()
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut results = results.into_iter();
        let mut total = results
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Deserialize, "no bulk result"))?;
        for r in results {
            total.merge(r);
        }
        Ok(total)
    }
}
