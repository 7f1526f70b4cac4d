//! Enrollments as code for Azure IoT Hub DPS: declare CA certificates, enrollment groups and
//! individual enrollments in YAML or JSON files kept in git, compare them with the live service
//! ([`plan()`]), apply the difference ([`apply::apply`]), and write an existing DPS out in the
//! same format ([`export::export`]).
//!
//! The files use the service's own JSON field names ([`model`]); where the service's JSON
//! holds certificate or key material, a file holds a reference instead (a certificate file or
//! thumbprint, `${VARIABLE}` or a file for a secret). The flow:
//!
//! 1. [`load::read_paths`] reads files and directories ([`LoadError`] gives file, line and
//!    column);
//! 2. [`resolve::resolve`] checks ids, reads secrets and certificates into a [`Desired`];
//! 3. [`plan()`] reads the live state ([`live::read`]) and compares ([`plan::compare`]);
//! 4. [`apply::apply`] sends the changes in bulk, every update guarded by the ETag the plan
//!    read.
//!
//! ```
//! let manifest = dps_as_code::load::parse(
//!     std::path::Path::new("dps.yaml"),
//!     "enrollmentGroups:\n  - enrollmentGroupId: sensors\n    attestation:\n      type: symmetricKey\n    provisioningStatus: enabled\n",
//! )
//! .expect("valid file");
//! assert_eq!(manifest.enrollment_groups[0].enrollment_group_id, "sensors");
//! ```

pub mod apply;
pub mod error;
pub mod export;
pub mod known;
pub mod live;
pub mod load;
pub mod model;
mod pace;
pub mod plan;
mod record;
pub mod resolve;
pub mod secret_ref;

pub use error::{LoadError, PlanError};
pub use plan::{Action, Change, Plan, PlanItem, Summary};
pub use resolve::{Desired, Kind};

use dps_service_client::{CertificateClient, ProvisioningServiceClient, QueryOptions};
use futures_util::StreamExt;
use serde_json::Value;

/// The JSON Schema of a file ([`model::Manifest`]), generated from the Rust types.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(model::Manifest)).unwrap_or(Value::Null)
}

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Delete what the files do not declare.
    pub prune: bool,
    /// Records per query page.
    pub page_size: u32,
    /// Requests in flight at once for the reads that follow the queries.
    pub concurrency: usize,
    /// At most this many of those reads per second (the real service's quota is per unit).
    pub rate: Option<f64>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            prune: false,
            page_size: live::DEFAULT_PAGE_SIZE,
            concurrency: 8,
            rate: None,
        }
    }
}

/// Reads the live state and compares it with `desired`.
///
/// Symmetric keys the files declare are compared with the service's; when a query answer
/// leaves them out, they are read with the attestation-mechanism call. A group the plan would
/// delete is checked for registrations, and gets a warning when it has some.
pub async fn plan(
    desired: &Desired,
    client: &ProvisioningServiceClient,
    certificates: Option<&CertificateClient>,
    options: &PlanOptions,
) -> Result<(Plan, live::Live), PlanError> {
    if !desired.certificates.is_empty() && certificates.is_none() {
        return Err(PlanError::NoCertificateApi);
    }
    if options.prune && desired.is_empty() {
        return Err(PlanError::NothingDeclared);
    }
    let mut live = live::read(client, certificates, options.page_size).await?;
    let reads = Reads::new(options);
    fill_keys(desired, client, &mut live, &reads).await?;
    let mut plan = plan::compare(desired, &live, options.prune);
    updates_keep_their_keys(client, &mut plan, &reads).await?;
    warn_registrations(client, &mut plan, &reads).await?;
    Ok((plan, live))
}

/// How the per-record reads of a plan run: so many at once, paced to a rate.
struct Reads {
    concurrency: usize,
    pacer: pace::Pacer,
}

impl Reads {
    fn new(options: &PlanOptions) -> Self {
        Self {
            concurrency: options.concurrency.max(1),
            pacer: pace::Pacer::new(options.rate),
        }
    }
}

/// Reads the keys of symmetric-key records an update would otherwise send without them (a
/// service that leaves keys out of query answers, as Azure's does, would generate new ones).
async fn updates_keep_their_keys(
    client: &ProvisioningServiceClient,
    plan: &mut Plan,
    reads: &Reads,
) -> Result<(), PlanError> {
    let wanted: Vec<(usize, Kind, String)> = plan
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| plan::missing_keys(i))
        .map(|(n, i)| (n, i.kind, i.id.clone()))
        .collect();
    let answers: Vec<_> = futures_util::stream::iter(wanted)
        .map(|(n, kind, id)| async move {
            reads.pacer.wait().await;
            (n, mechanism(client, kind, &id).await)
        })
        .buffer_unordered(reads.concurrency)
        .collect()
        .await;
    for (n, answer) in answers {
        let item = &mut plan.items[n];
        match answer {
            Ok(mechanism) => plan::fill_keys(item, &mechanism),
            // Deleted since the query: apply would fail on it as a conflict anyway.
            Err(e) if e.status() == Some(404) => {
                item.problem = Some("deleted on the service after the plan read it".into());
            }
            Err(source) => {
                return Err(PlanError::Service {
                    what: "symmetric keys",
                    source,
                });
            }
        }
        // Still without both keys (a service that hides them even there): never sent, or the
        // service would generate new ones.
        if item.problem.is_none() && plan::missing_keys(item) {
            item.problem = Some(
                "the service did not return this record's symmetric keys, and an update \
                 without them would make it generate new ones: declare both keys"
                    .into(),
            );
        }
    }
    plan.summary.problems = plan.items.iter().filter(|i| i.problem.is_some()).count();
    Ok(())
}

/// A record's attestation mechanism (with its keys), as JSON.
async fn mechanism(
    client: &ProvisioningServiceClient,
    kind: Kind,
    id: &str,
) -> dps_service_client::Result<Value> {
    let answer = match kind {
        Kind::Enrollment => client.get_enrollment_attestation_mechanism(id, None).await,
        _ => {
            client
                .get_enrollment_group_attestation_mechanism(id, None)
                .await
        }
    }?;
    Ok(serde_json::to_value(answer).unwrap_or(Value::Null))
}

/// Reads the keys of declared symmetric-key records whose query answer had none.
async fn fill_keys(
    desired: &Desired,
    client: &ProvisioningServiceClient,
    live: &mut live::Live,
    reads: &Reads,
) -> Result<(), PlanError> {
    let declares_keys: std::collections::HashSet<(Kind, String)> = desired
        .groups
        .iter()
        .chain(&desired.enrollments)
        .filter(|d| {
            d.view
                .get("attestation")
                .and_then(|a| a.get("symmetricKey"))
                .and_then(Value::as_object)
                .is_some_and(|k| !k.is_empty())
        })
        .map(|d| (d.kind, d.id.to_ascii_lowercase()))
        .collect();
    read_missing_keys(client, live, reads, |kind, id| {
        declares_keys.contains(&(kind, id.to_ascii_lowercase()))
    })
    .await
}

/// Reads the live state for `export`: [`live::read`], then the keys of every symmetric-key
/// record whose query answer left them out (so the export references them all).
pub async fn read_for_export(
    client: &ProvisioningServiceClient,
    certificates: Option<&CertificateClient>,
    options: &PlanOptions,
) -> Result<live::Live, PlanError> {
    let mut live = live::read(client, certificates, options.page_size).await?;
    read_missing_keys(client, &mut live, &Reads::new(options), |_, _| true).await?;
    Ok(live)
}

/// Reads with the attestation-mechanism call the keys of the symmetric-key records `wanted`
/// names whose query answer had none.
async fn read_missing_keys(
    client: &ProvisioningServiceClient,
    live: &mut live::Live,
    reads: &Reads,
    wanted: impl Fn(Kind, &str) -> bool,
) -> Result<(), PlanError> {
    let mut missing = Vec::new();
    for (kind, records) in [
        (Kind::EnrollmentGroup, &live.groups),
        (Kind::Enrollment, &live.enrollments),
    ] {
        for (index, r) in records.iter().enumerate() {
            let id = r[kind.id_field()].as_str().unwrap_or_default();
            let attestation = &r["attestation"];
            if attestation["type"] == "symmetricKey"
                && attestation["symmetricKey"]["primaryKey"].is_null()
                && wanted(kind, id)
            {
                missing.push((kind, index, id.to_owned()));
            }
        }
    }
    let answers: Vec<_> = futures_util::stream::iter(missing)
        .map(|(kind, index, id)| async move {
            reads.pacer.wait().await;
            (kind, index, mechanism(client, kind, &id).await)
        })
        .buffer_unordered(reads.concurrency)
        .collect()
        .await;
    for (kind, index, answer) in answers {
        let mechanism = match answer {
            Ok(m) => m,
            // Deleted since the query: the comparison then sees it without keys, and apply
            // reports the conflict.
            Err(e) if e.status() == Some(404) => continue,
            Err(source) => {
                return Err(PlanError::Service {
                    what: "symmetric keys",
                    source,
                });
            }
        };
        let records = match kind {
            Kind::Enrollment => &mut live.enrollments,
            _ => &mut live.groups,
        };
        if let Some(r) = records.get_mut(index) {
            r["attestation"] = mechanism;
        }
    }
    Ok(())
}

/// Adds a warning to every group deletion whose group has registrations.
async fn warn_registrations(
    client: &ProvisioningServiceClient,
    plan: &mut Plan,
    reads: &Reads,
) -> Result<(), PlanError> {
    let groups: Vec<(usize, String)> = plan
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == Kind::EnrollmentGroup && i.action == Action::Delete)
        .map(|(n, i)| (n, i.id.clone()))
        .collect();
    let answers: Vec<_> = futures_util::stream::iter(groups)
        .map(|(n, id)| async move {
            reads.pacer.wait().await;
            let page = client
                .query_registration_states_page(
                    &id,
                    None,
                    Some(QueryOptions::default().with_page_size(1)),
                )
                .await;
            (n, page)
        })
        .buffer_unordered(reads.concurrency)
        .collect()
        .await;
    for (n, page) in answers {
        let page = page.map_err(|source| PlanError::Service {
            what: "registrations of groups to delete",
            source,
        })?;
        if !page.items.is_empty() {
            plan.items[n].warnings.push(
                "the group has device registrations: its devices keep their hub identities, \
                 but can no longer provision through DPS"
                    .into(),
            );
        }
    }
    Ok(())
}
