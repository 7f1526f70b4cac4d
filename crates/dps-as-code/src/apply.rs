//! Applying a plan: bulk operations of up to ten records, several in flight, paced by an
//! optional request rate (the service client itself honours `Retry-After` on 429 and 503);
//! every update and delete carries the ETag the plan read, so a record changed since is
//! reported, never overwritten.

use crate::pace::Pacer;
use crate::plan::{Action, Payload, Plan, PlanItem};
use crate::resolve::{Kind, Possession};
use dps_protocol::codes::{self, ErrorCode};
use dps_service_client::models::{BulkMode, MAX_BULK_ITEMS};
use dps_service_client::{CertificateClient, CertificateUploadOptions, ProvisioningServiceClient};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// At most this many requests per second (the real service's quota is per unit), or none.
    pub rate: Option<f64>,
    /// Called with (records done, records in all) as requests complete.
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

impl Default for ApplyOptions {
    /// 8 requests in flight, no rate limit, no progress.
    fn default() -> Self {
        Self {
            concurrency: 8,
            rate: None,
            progress: None,
        }
    }
}

/// Signs the verification certificate for a proof of possession: given the CA certificate
/// (as uploaded), its key and the service's code, a certificate with CN = code signed by
/// the CA's key. The caller supplies it, so the key handling lives in one place.
pub trait Signer: Send + Sync {
    /// The verification certificate (PEM or DER), or why it could not be made.
    fn sign(&self, ca_certificate: &str, key: &Possession, code: &str) -> Result<Vec<u8>, String>;
}

/// The outcome of one record.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// What kind of record.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// What was attempted.
    pub action: Action,
    /// Whether it was applied.
    pub ok: bool,
    /// Whether it failed because the record changed on the service after the plan read it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
    /// The service's six-digit error code, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What applying did, one outcome per planned change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// One per created, updated or deleted record, in plan order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// How many failed.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.ok).count()
    }
}

struct Run<'a> {
    client: &'a ProvisioningServiceClient,
    certificates: Option<&'a CertificateClient>,
    signer: Option<&'a dyn Signer>,
    options: &'a ApplyOptions,
    pacer: Pacer,
    done: AtomicUsize,
    total: usize,
}

impl Run<'_> {
    fn advance(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(p) = &self.options.progress {
            p(done, self.total);
        }
    }
}

/// Applies every change of `plan`: CA certificates first (groups may name them), then groups
/// and enrollments, then deletions of enrollments and groups, then of certificates. Items with
/// a [`PlanItem::problem`] are reported failed without a request.
pub async fn apply(
    plan: &Plan,
    client: &ProvisioningServiceClient,
    certificates: Option<&CertificateClient>,
    signer: Option<&dyn Signer>,
    options: &ApplyOptions,
) -> Report {
    let changes: Vec<&PlanItem> = plan
        .items
        .iter()
        .filter(|i| matches!(i.action, Action::Create | Action::Update | Action::Delete))
        .collect();
    let run = Run {
        client,
        certificates,
        signer,
        options,
        pacer: Pacer::new(options.rate),
        done: AtomicUsize::new(0),
        total: changes.len(),
    };
    let mut outcomes: HashMap<(Kind, String), Outcome> = HashMap::new();
    let (blocked, ready): (Vec<&PlanItem>, Vec<&PlanItem>) =
        changes.iter().partition(|i| i.problem.is_some());
    for item in blocked {
        outcomes.insert(
            key(item),
            failed(item, None, item.problem.clone().unwrap_or_default()),
        );
        run.advance(1);
    }
    let is = |kind: Kind, delete: bool| {
        move |i: &&&PlanItem| i.kind == kind && (i.action == Action::Delete) == delete
    };
    let certs_up: Vec<&PlanItem> = ready
        .iter()
        .filter(is(Kind::Certificate, false))
        .copied()
        .collect();
    for o in run.certificates_up(&certs_up).await {
        outcomes.insert((o.kind, o.id.clone()), o);
    }
    let mut batches = Vec::new();
    for kind in [Kind::EnrollmentGroup, Kind::Enrollment] {
        for (action, mode) in [
            (Action::Create, BulkMode::Create),
            (Action::Update, BulkMode::UpdateIfMatchETag),
        ] {
            let items: Vec<&PlanItem> = ready
                .iter()
                .filter(|i| i.kind == kind && i.action == action)
                .copied()
                .collect();
            batches.extend(
                items
                    .chunks(MAX_BULK_ITEMS)
                    .map(|c| (kind, mode.clone(), c.to_vec())),
            );
        }
    }
    for o in run.bulk(batches).await {
        outcomes.insert((o.kind, o.id.clone()), o);
    }
    let mut batches = Vec::new();
    for kind in [Kind::Enrollment, Kind::EnrollmentGroup] {
        let items: Vec<&PlanItem> = ready.iter().filter(is(kind, true)).copied().collect();
        batches.extend(
            items
                .chunks(MAX_BULK_ITEMS)
                .map(|c| (kind, BulkMode::Delete, c.to_vec())),
        );
    }
    for o in run.bulk(batches).await {
        outcomes.insert((o.kind, o.id.clone()), o);
    }
    let certs_down: Vec<&PlanItem> = ready
        .iter()
        .filter(is(Kind::Certificate, true))
        .copied()
        .collect();
    for o in run.certificates_down(&certs_down).await {
        outcomes.insert((o.kind, o.id.clone()), o);
    }
    Report {
        outcomes: changes
            .iter()
            .filter_map(|i| outcomes.remove(&key(i)))
            .collect(),
    }
}

fn key(item: &PlanItem) -> (Kind, String) {
    (item.kind, item.id.clone())
}

fn succeeded(item: &PlanItem) -> Outcome {
    Outcome {
        kind: item.kind,
        id: item.id.clone(),
        action: item.action,
        ok: true,
        conflict: false,
        error_code: None,
        error: None,
    }
}

fn failed(item: &PlanItem, code: Option<i64>, error: String) -> Outcome {
    let status = code
        .and_then(|c| u32::try_from(c).ok())
        .map(|c| ErrorCode::new(c).status());
    // The record changed on the service after the plan read it: its ETag no longer matches,
    // or it was created (a create finds it) or deleted (an update or delete misses it) since.
    let why = match (status, item.action) {
        (Some(412), _) => Some("ETag mismatch"),
        (Some(409), Action::Create) => Some("created since"),
        (Some(404), Action::Update | Action::Delete) => Some("deleted since"),
        _ => None,
    };
    let conflict = why.is_some();
    let error = match why {
        Some(why) => format!(
            "changed on the service after the plan read it ({why}), so it was not overwritten: run plan again ({error})"
        ),
        None => error,
    };
    Outcome {
        kind: item.kind,
        id: item.id.clone(),
        action: item.action,
        ok: false,
        conflict,
        error_code: code,
        error: Some(error),
    }
}

fn service_failed(item: &PlanItem, e: &dps_service_client::Error) -> Outcome {
    let code = e.error_code().or_else(|| {
        (e.status() == Some(412)).then_some(i64::from(codes::PRECONDITION_FAILED.get()))
    });
    failed(item, code, e.to_string())
}

impl Run<'_> {
    /// Bulk requests, `concurrency` at a time; one outcome per record.
    async fn bulk(&self, batches: Vec<(Kind, BulkMode, Vec<&PlanItem>)>) -> Vec<Outcome> {
        futures_util::stream::iter(batches)
            .map(|(kind, mode, items)| async move {
                self.pacer.wait().await;
                let errors = self.send_bulk(kind, mode, &items).await;
                let out: Vec<Outcome> = match errors {
                    Ok(errors) => items
                        .iter()
                        .map(|i| match errors.get(&i.id.to_ascii_lowercase()) {
                            Some((code, status)) => failed(i, Some(*code), status.clone()),
                            None => succeeded(i),
                        })
                        .collect(),
                    Err(e) => items.iter().map(|i| service_failed(i, &e)).collect(),
                };
                self.advance(items.len());
                out
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .flat_map(futures_util::stream::iter)
            .collect()
            .await
    }

    /// One bulk request; the per-record errors by lower-case id.
    async fn send_bulk(
        &self,
        kind: Kind,
        mode: BulkMode,
        items: &[&PlanItem],
    ) -> dps_service_client::Result<HashMap<String, (i64, String)>> {
        let records = items.iter().map(|i| record_of(i));
        let by_id =
            |id: String, code: i64, status: String| (id.to_ascii_lowercase(), (code, status));
        Ok(match kind {
            Kind::Enrollment => self
                .client
                .run_bulk_enrollment_operation(mode, parse_all(records)?, None)
                .await?
                .errors
                .into_iter()
                .map(|e| by_id(e.registration_id, e.error_code, e.error_status))
                .collect(),
            _ => self
                .client
                .run_bulk_enrollment_group_operation(mode, parse_all(records)?, None)
                .await?
                .errors
                .into_iter()
                .map(|e| by_id(e.enrollment_group_id, e.error_code, e.error_status))
                .collect(),
        })
    }

    async fn certificates_up(&self, items: &[&PlanItem]) -> Vec<Outcome> {
        let futures = items.iter().map(|item| async move {
            let out = match self.certificate_up(item).await {
                Ok(()) => succeeded(item),
                Err(o) => o,
            };
            self.advance(1);
            out
        });
        futures_util::stream::iter(futures)
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await
    }

    async fn certificate_up(&self, item: &PlanItem) -> Result<(), Outcome> {
        let Some(certs) = self.certificates else {
            return Err(failed(item, None, "no certificate API was given".into()));
        };
        let Payload::Certificate {
            upload,
            is_verified,
            prove,
        } = &item.payload
        else {
            return Ok(());
        };
        if let Some(pem) = upload {
            self.pacer.wait().await;
            let mut options = CertificateUploadOptions::default();
            if let Some(v) = is_verified {
                options = options.with_is_verified(*v);
            }
            if let Some(etag) = &item.etag {
                options = options.with_if_match(etag.clone());
            }
            certs
                .create_or_update(&item.id, pem.as_bytes(), Some(options))
                .await
                .map_err(|e| service_failed(item, &e))?;
        } else if let Some(v) = is_verified {
            // Only the flag changes: the certificate is sent again as it is.
            return Err(failed(
                item,
                None,
                format!("setting isVerified: {v} needs the certificate's `file:`"),
            ));
        }
        if let Some((pem, key)) = prove {
            let Some(signer) = self.signer else {
                return Err(failed(
                    item,
                    None,
                    "no signer for proof of possession".into(),
                ));
            };
            self.pacer.wait().await;
            certs
                .prove_possession(
                    &item.id,
                    pem.as_bytes(),
                    |code| signer.sign(pem, key, code),
                    None,
                )
                .await
                .map_err(|e| failed(item, None, format!("proof of possession: {e}")))?;
        }
        Ok(())
    }

    async fn certificates_down(&self, items: &[&PlanItem]) -> Vec<Outcome> {
        let futures = items.iter().map(|item| async move {
            let out = match (self.certificates, &item.etag) {
                (Some(certs), Some(etag)) => {
                    self.pacer.wait().await;
                    match certs.delete(&item.id, etag, None).await {
                        Ok(()) => succeeded(item),
                        Err(e) => service_failed(item, &e),
                    }
                }
                _ => failed(item, None, "no certificate API or etag".into()),
            };
            self.advance(1);
            out
        });
        futures_util::stream::iter(futures)
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await
    }
}

/// The planned records as the service's models (enrollments or groups).
fn parse_all<T: serde::de::DeserializeOwned>(
    records: impl Iterator<Item = Map<String, Value>>,
) -> dps_service_client::Result<Vec<T>> {
    records
        .map(|r| serde_json::from_value(Value::Object(r)))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            dps_service_client::Error::new(
                dps_service_client::ErrorKind::InvalidInput,
                e.to_string(),
            )
        })
}

/// The record a bulk item sends: the planned record (a delete's is the record as read).
fn record_of(item: &PlanItem) -> Map<String, Value> {
    match &item.payload {
        Payload::Record(r) => r.clone(),
        _ => Map::new(),
    }
}
