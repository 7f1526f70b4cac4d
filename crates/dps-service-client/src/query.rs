//! Queries: one page at a time, or an async stream that follows `x-ms-continuation` to the
//! end, so no list is ever silently capped.

use crate::client::ProvisioningServiceClient;
use crate::error::Result;
use crate::retry::Idempotency;
use futures_util::Stream;
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Optional parameters of queries.
///
/// ```
/// use dps_service_client::QueryOptions;
/// assert_eq!(QueryOptions::default().with_page_size(100).page_size, Some(100));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryOptions {
    /// Items per page, sent as `x-ms-max-item-count`; the service's own default when `None`.
    pub page_size: Option<u32>,
}

impl QueryOptions {
    /// These options with `page_size` items per page.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }
}

/// One page of query results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token for the next page; `None` on the last page.
    pub continuation_token: Option<String>,
    /// The service's `x-ms-item-type` (`Enrollment`, `EnrollmentGroup`, `DeviceRegistration`).
    pub item_type: Option<String>,
}

/// An async stream of query results that fetches pages as it is polled.
pub type QueryStream<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

impl ProvisioningServiceClient {
    pub(crate) async fn query_page<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        id: Option<&str>,
        path: String,
        body: Option<&impl Serialize>,
        continuation: Option<&str>,
        options: &QueryOptions,
    ) -> Result<Page<T>> {
        let mut headers: Vec<(HeaderName, String)> = Vec::new();
        if let Some(size) = options.page_size {
            headers.push((
                HeaderName::from_static("x-ms-max-item-count"),
                size.to_string(),
            ));
        }
        if let Some(token) = continuation {
            headers.push((
                HeaderName::from_static("x-ms-continuation"),
                token.to_owned(),
            ));
        }
        let resp = self
            .raw(
                operation,
                id,
                Method::POST,
                path,
                body,
                headers,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(Page {
            items: resp.json()?,
            continuation_token: resp
                .header("x-ms-continuation")
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            item_type: resp.header("x-ms-item-type").map(str::to_owned),
        })
    }
}

/// Builds a stream from a page fetcher: fetch, yield the items, repeat while there is a
/// continuation token.
pub(crate) fn stream<T, F, Fut>(options: QueryOptions, fetch: F) -> QueryStream<T>
where
    T: Send + 'static,
    F: Fn(Option<String>, QueryOptions) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    struct State<F> {
        fetch: F,
        options: QueryOptions,
        next: Option<Option<String>>,
    }
    let pages = futures_util::stream::try_unfold(
        State {
            fetch,
            options,
            next: Some(None),
        },
        |mut st| async move {
            let Some(token) = st.next.take() else {
                return Ok(None);
            };
            let page = (st.fetch)(token, st.options.clone()).await?;
            st.next = page.continuation_token.map(Some);
            Ok(Some((page.items, st)))
        },
    );
    use futures_util::TryStreamExt;
    Box::pin(
        pages
            .map_ok(|items| futures_util::stream::iter(items.into_iter().map(Ok)))
            .try_flatten(),
    )
}
