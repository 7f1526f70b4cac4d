//! [`Engine::register`] and the polls: hub assignment, the registration state the service
//! keeps, and the operation a device polls until it ends.

use super::{Attested, Engine, Identity, Memory};
use crate::activity::Outcome;
use crate::allocation::{allocate, reprovision};
use crate::error::{ApiError, ApiResult, codes, new_uuid};
use crate::records::{self, new_etag};
use crate::store::{Kind, Record};
use dps_protocol::models::DeviceRegistrationState;
use dps_protocol::models::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Operations stay addressable this long.
const OPERATION_LIFETIME_SECS: i64 = 3600;

/// What a device learns about its registration operation.
#[derive(Debug, Clone)]
pub(crate) enum OperationStatus {
    /// Still assigning: poll again after the engine's retry interval.
    Assigning {
        /// The operation to poll.
        operation_id: String,
        /// Present on polls (`{"registrationId", "status": "assigning"}`), absent in the
        /// answer to the registration request itself.
        registration_state: Option<Value>,
    },
    /// Done: assigned, failed or disabled, with the registration state.
    Done {
        /// The operation.
        operation_id: String,
        /// The final status text.
        status: Value,
        /// The registration result.
        registration_state: Value,
    },
}

impl OperationStatus {
    /// The status every transport answers with, and the seconds the device is told to wait
    /// before it polls again: 202 and the configured retry interval while assigning, 200 and
    /// none once done.
    pub(crate) fn status_and_retry_after(
        &self,
        config: &crate::config::EmulatorConfig,
    ) -> (u16, Option<u64>) {
        match self {
            Self::Assigning { .. } => (202, Some(config.retry_after_secs)),
            Self::Done { .. } => (200, None),
        }
    }

    /// The wire body (`RegistrationOperationStatus`).
    pub(crate) fn body(&self) -> Value {
        match self {
            Self::Assigning {
                operation_id,
                registration_state: None,
            } => json!({"operationId": operation_id, "status": "assigning"}),
            Self::Assigning {
                operation_id,
                registration_state: Some(state),
            } => {
                json!({"operationId": operation_id, "status": "assigning", "registrationState": state})
            }
            Self::Done {
                operation_id,
                status,
                registration_state,
            } => {
                json!({"operationId": operation_id, "status": status, "registrationState": registration_state})
            }
        }
    }
}

/// A device operation as the store keeps it (internal, never sent as is).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredOperation {
    /// The registration result the last poll returns.
    result: Value,
    /// Polls still answered "assigning".
    polls_left: u64,
    /// Creation time, Unix seconds.
    created: i64,
}

/// What the engine remembers of a device beside its registration state: the first hub it was
/// assigned, which the reprovisioning policy needs and the service never shows. It belongs to
/// one registration record, named by that record's creation time, so a deleted and recreated
/// registration starts a new history.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceHistory {
    /// The first hub of the registration.
    initial_hub: Option<String>,
    /// `createdDateTimeUtc` of the registration record it belongs to.
    registration_created: Option<Timestamp>,
}

impl Engine<'_> {
    /// Registers an authenticated device: assigns a hub (or records why not), stores the
    /// registration state, and starts the operation the device polls. What came of it is
    /// recorded in the activity log here, whatever transport asked.
    pub(crate) async fn register(
        &self,
        who: &Identity,
        payload: Option<Value>,
    ) -> ApiResult<OperationStatus> {
        let result = self.settle(who, payload).await;
        let outcome = match &result {
            Ok((_, outcome)) => outcome.clone(),
            Err(e) => Outcome::failed(e.code, &e.message),
        };
        self.app.activity.record(
            self.app.config.clock.now(),
            self.via,
            &who.registration_id,
            outcome,
        );
        result.map(|(status, _)| status)
    }

    /// [`Self::register`] without the activity log: the operation, and what came of it.
    async fn settle(
        &self,
        who: &Identity,
        payload: Option<Value>,
    ) -> ApiResult<(OperationStatus, Outcome)> {
        let app = self.app;
        let id = who.registration_id.as_str();
        let now = app.config.clock.now();
        let previous = app.store.get(Kind::Registration, id)?;
        let prev_state: Option<DeviceRegistrationState> = previous
            .as_ref()
            .and_then(|p| serde_json::from_value(p.body.clone()).ok());
        let created = prev_state
            .as_ref()
            .and_then(|p| p.created_date_time_utc.clone());
        // The history of this very registration record; a record written before the history
        // existed kept the first hub inside the state, as `_initialHub`.
        let stored: Option<DeviceHistory> = match &previous {
            None => None,
            Some(_) => app
                .store
                .get(Kind::DeviceHistory, id)?
                .and_then(|h| serde_json::from_value::<DeviceHistory>(h.body).ok())
                .filter(|h| h.registration_created.is_some() && h.registration_created == created),
        };
        let history_is_stored = stored.is_some();
        let initial_hub: Option<String> = stored.and_then(|h| h.initial_hub).or_else(|| {
            previous
                .as_ref()
                .and_then(|p| p.body.get("_initialHub"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let (mut state, outcome) = match self
            .assign(who, payload, prev_state.as_ref(), initial_hub.as_deref())
            .await
        {
            Ok(assigned) => assigned,
            Err(e) => {
                // A failed attempt keeps where the device was, so the next success is reported
                // against its real history.
                let mut failed = json!({"registrationId": id, "status": "failed", "errorCode": e.code, "errorMessage": e.message});
                if let Some(p) = &prev_state {
                    if let Some(hub) = &p.assigned_hub {
                        failed["assignedHub"] = json!(hub);
                    }
                    if let Some(device) = &p.device_id {
                        failed["deviceId"] = json!(device);
                    }
                }
                (failed, Outcome::failed(e.code, &e.message))
            }
        };
        log_outcome(id, &state);
        let stamp = Timestamp::from_datetime(now).into_string();
        let created = created.unwrap_or_else(|| Timestamp::from_datetime(now));
        state["createdDateTimeUtc"] = json!(created);
        state["lastUpdatedDateTimeUtc"] = json!(stamp);
        let etag = new_etag();
        state["etag"] = json!(etag);
        app.store.put(
            Kind::Registration,
            &Record {
                id: id.to_owned(),
                parent: who.enrollment.group_id().map(str::to_owned),
                etag,
                body: state.clone(),
            },
        )?;
        // Remember the first hub of this registration once: the legacy one, or this one.
        let first_hub = initial_hub.or_else(|| {
            state
                .get("assignedHub")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        if !history_is_stored && first_hub.is_some() {
            let history = DeviceHistory {
                initial_hub: first_hub,
                registration_created: Some(created),
            };
            app.store.put(
                Kind::DeviceHistory,
                &Record {
                    id: id.to_owned(),
                    parent: None,
                    etag: String::new(),
                    body: serde_json::to_value(&history).map_err(internal)?,
                },
            )?;
        }
        let mut result = records::present(&state);
        let group_id = who.enrollment.group_id();
        match &who.attested {
            Attested::X509 {
                leaf_info,
                signing_info,
            } => {
                result["x509"] = json!({
                    "certificateInfo": leaf_info,
                    "enrollmentGroupId": group_id,
                    "signingCertificateInfo": signing_info,
                });
            }
            Attested::SymmetricKey => {
                result["symmetricKey"] = json!({"enrollmentGroupId": group_id});
            }
        }
        let result = records::present(&result);
        // Earlier operations of this device are superseded: drop them so the store stays
        // bounded (unread, so one that cannot be read back goes too).
        app.store.delete_children(Kind::Operation, id)?;
        let operation_id = format!("4.{}.{}", &new_uuid()[..8], new_uuid());
        let op = StoredOperation {
            result,
            polls_left: u64::from(app.config.pending_polls),
            created: now.unix_timestamp(),
        };
        app.store.put(
            Kind::Operation,
            &Record {
                id: operation_id.clone(),
                parent: Some(id.to_owned()),
                etag: String::new(),
                body: serde_json::to_value(&op).map_err(internal)?,
            },
        )?;
        Ok((
            OperationStatus::Assigning {
                operation_id,
                registration_state: None,
            },
            outcome,
        ))
    }

    /// The status of `operation_id`, started by `who`'s registration. Each poll while
    /// "assigning" counts down; operations of other devices or older than an hour are unknown.
    pub(crate) fn operation_status(
        &self,
        who: &Identity,
        operation_id: &str,
    ) -> ApiResult<OperationStatus> {
        let app = self.app;
        let id = who.registration_id.as_str();
        let not_found = || {
            ApiError::new(
                codes::NOT_FOUND,
                format!("operation {operation_id:?} of {id:?} not found"),
            )
        };
        let mut rec = app
            .store
            .get(Kind::Operation, operation_id)?
            .ok_or_else(not_found)?;
        let mut op: StoredOperation =
            serde_json::from_value(rec.body.clone()).map_err(|_| not_found())?;
        if rec.parent.as_deref() != Some(&id.to_lowercase())
            || app.config.clock.now().unix_timestamp() - op.created > OPERATION_LIFETIME_SECS
        {
            return Err(not_found());
        }
        if op.polls_left > 0 {
            op.polls_left -= 1;
            rec.body = serde_json::to_value(&op).map_err(internal)?;
            app.store.put(Kind::Operation, &rec)?;
            return Ok(OperationStatus::Assigning {
                operation_id: operation_id.to_owned(),
                registration_state: Some(json!({"registrationId": id, "status": "assigning"})),
            });
        }
        let status = op.result.get("status").cloned().unwrap_or(json!("failed"));
        Ok(OperationStatus::Done {
            operation_id: operation_id.to_owned(),
            status,
            registration_state: op.result,
        })
    }

    /// The registration state of `who`, as the device's status lookup returns it.
    pub(crate) fn registration_status(&self, who: &Identity) -> ApiResult<Value> {
        let id = who.registration_id.as_str();
        let rec = self.app.store.get(Kind::Registration, id)?.ok_or_else(|| {
            ApiError::new(
                codes::REGISTRATION_NOT_FOUND,
                format!("Registration {id:?} not found"),
            )
        })?;
        Ok(records::present(&rec.body))
    }

    /// Decides the hub and builds the registration state (without timestamps and etag), and
    /// what came of it for the activity log.
    async fn assign(
        &self,
        who: &Identity,
        payload: Option<Value>,
        previous: Option<&DeviceRegistrationState>,
        initial_hub: Option<&str>,
    ) -> ApiResult<(Value, Outcome)> {
        let id = who.registration_id.as_str();
        let e = &who.enrollment;
        let device_id = e.device_id().unwrap_or(id);
        if e.disabled() {
            let which = e.group_id().map_or_else(
                || format!("the enrollment {id:?}"),
                |g| format!("the enrollment group {g:?}"),
            );
            let message = format!("{which} is disabled");
            let state = json!({
                "registrationId": id,
                "status": "disabled",
                "errorCode": codes::UNAUTHORIZED,
                "errorMessage": message,
            });
            let code = codes::UNAUTHORIZED;
            return Ok((state, Outcome::Disabled { code, message }));
        }
        let x509 = match &who.attested {
            Attested::X509 { leaf_info, .. } => Some(
                json!({"subjectName": leaf_info["subjectName"], "sha1Thumbprint": leaf_info["sha1Thumbprint"]}),
            ),
            Attested::SymmetricKey => None,
        };
        let context = json!({
            "registrationId": id,
            "currentIotHubHostName": previous.and_then(|p| p.assigned_hub.clone()),
            "currentDeviceId": previous.and_then(|p| p.device_id.clone()),
            "x509": x509,
            "symmetricKey": matches!(who.attested, Attested::SymmetricKey).then(|| json!({})),
            "payload": payload,
        });
        let a = allocate(
            e.allocation(),
            e.webhook_document(),
            &self.app.config.iot_hubs,
            id,
            context,
        )
        .await?;
        let (hub, substatus) = reprovision(previous, initial_hub, &e.reprovision_policy(), &a.hub);
        let mut state = json!({
            "registrationId": id,
            "assignedHub": hub,
            "deviceId": device_id,
            "status": "assigned",
            "substatus": substatus.as_str(),
        });
        if let Some(p) = a.payload {
            state["payload"] = p;
        }
        Ok((state, Outcome::Assigned { hub }))
    }
}

impl Memory<'_> {
    /// Forgets what the engine remembered of a device whose registration record was deleted,
    /// and its registration operations.
    pub(crate) fn forget(&self, registration_id: &str) -> ApiResult<()> {
        self.app
            .store
            .delete(Kind::DeviceHistory, registration_id)?;
        self.app
            .store
            .delete_children(Kind::Operation, registration_id)?;
        Ok(())
    }
}

/// Logs a registration that did not assign a hub: a disabled enrollment with its reason, a
/// failed allocation with its code only (its message may quote a webhook URL, whose query can
/// hold a function key).
fn log_outcome(id: &str, state: &Value) {
    let code = state.get("errorCode").map(Value::to_string);
    let reason = state.get("errorMessage").and_then(Value::as_str);
    match state.get("status").and_then(Value::as_str) {
        Some("disabled") => tracing::info!(registration_id = id, code, reason, "device refused"),
        Some("failed") => tracing::info!(
            registration_id = id,
            code,
            "device not assigned: the allocation failed (the registration state has the message)"
        ),
        _ => {}
    }
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::new(codes::INTERNAL, format!("emulator state: {e}"))
}
