//! Reading the live state: every enrollment group, enrollment and (when a certificate API is
//! given) CA certificate, the three lists read at once, each page after page.

use crate::error::PlanError;
use dps_service_client::models::QuerySpecification;
use dps_service_client::{CertificateClient, ProvisioningServiceClient, QueryOptions};
use futures_util::TryStreamExt;
use serde_json::Value;

/// The service's records as JSON, exactly as read (fields this version does not model
/// included, so an update sends them back).
#[derive(Clone, Default)]
pub struct Live {
    /// Enrollment groups.
    pub groups: Vec<Value>,
    /// Individual enrollments.
    pub enrollments: Vec<Value>,
    /// CA certificates; `None` when no certificate API was given (they are then left alone).
    pub certificates: Option<Vec<Value>>,
}

impl std::fmt::Debug for Live {
    // The records may hold keys and webhook URLs: only their counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("groups", &self.groups.len())
            .field("enrollments", &self.enrollments.len())
            .field("certificates", &self.certificates.as_ref().map(Vec::len))
            .finish()
    }
}

/// Records per query page.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// Reads the live state: the three lists concurrently, following continuation tokens.
pub async fn read(
    client: &ProvisioningServiceClient,
    certificates: Option<&CertificateClient>,
    page_size: u32,
) -> Result<Live, PlanError> {
    let options = || Some(QueryOptions::default().with_page_size(page_size));
    let groups = async {
        client
            .query_enrollment_groups(QuerySpecification::all(), options())
            .map_ok(|g| serde_json::to_value(g).unwrap_or(Value::Null))
            .try_collect::<Vec<Value>>()
            .await
            .map_err(|source| PlanError::Service {
                what: "enrollment groups",
                source,
            })
    };
    let enrollments = async {
        client
            .query_enrollments(QuerySpecification::all(), options())
            .map_ok(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .try_collect::<Vec<Value>>()
            .await
            .map_err(|source| PlanError::Service {
                what: "enrollments",
                source,
            })
    };
    let certs = async {
        match certificates {
            None => Ok(None),
            Some(c) => c
                .list(None)
                .await
                .map(|list| {
                    Some(
                        list.iter()
                            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
                            .collect(),
                    )
                })
                .map_err(|source| PlanError::Service {
                    what: "CA certificates",
                    source,
                }),
        }
    };
    let (groups, enrollments, certificates) =
        futures_util::future::try_join3(groups, enrollments, certs).await?;
    Ok(Live {
        groups,
        enrollments,
        certificates,
    })
}
