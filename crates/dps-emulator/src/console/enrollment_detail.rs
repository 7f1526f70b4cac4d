//! One enrollment group or individual enrollment: what `GET` shows (attestation with each
//! certificate's `info`, status, hubs and allocation, reprovisioning, capabilities, initial
//! twin, ETag, times), and Enable/Disable and Delete.
//!
//! Every write carries the ETag the page showed, so a change made meanwhile (by the CLI, an
//! SDK or another tab) is refused as the API refuses it (412) and said so, never overwritten.
//! Enable/Disable is the API's GET-modify-PUT ([`service::read`], then [`service::replace`]
//! with `If-Match`); Delete is its conditional DELETE ([`service::delete_enrollment`]).

use crate::console::enrollments::{self, Tab};
use crate::console::guard::{Ctx, EtagForm, EtagQuery};
use crate::console::layout::{self, Nav};
use crate::console::session::NoticeKind;
use crate::error::ApiError;
use crate::service::{self, Precondition};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

/// The Enable/Disable form: the status to set and the ETag the page showed.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct StatusForm {
    /// `enabled` or `disabled` (checked by the API's own validation).
    status: String,
    /// The ETag the page showed.
    #[serde(default)]
    etag: String,
}

/// What a failed read becomes: the 404 page for an unknown id, otherwise the API's error.
fn read_failed(ctx: &Ctx, tab: Tab, id: &str, e: &ApiError) -> Response {
    if e.status() == StatusCode::NOT_FOUND {
        not_found(ctx, tab, id)
    } else {
        layout::error_page(ctx, e.status(), "Cannot read", &e.message)
    }
}

/// The page for an id the store does not hold.
fn not_found(ctx: &Ctx, tab: Tab, id: &str) -> Response {
    let body = html! {
        p.notice.failed role="alert" { "There is no " (tab.noun()) " " code { (id) } "." }
        p { a href=(tab.list_url()) { "Back to " (tab.label()) } }
    };
    layout::page_with_status(
        ctx,
        StatusCode::NOT_FOUND,
        Nav::Enrollments,
        "Not found",
        body,
    )
}

/// `GET /portal/enrollments/{groups|individual}/{id}`.
pub(crate) fn page(ctx: &Ctx, tab: Tab, id: &str) -> Response {
    let record = match service::read(&ctx.console.app, tab.collection(), id) {
        Ok(r) => r,
        Err(e) => return read_failed(ctx, tab, id, &e),
    };
    let shown_id = enrollments::text(&record, &format!("/{}", tab.collection().id_field()));
    let shown_id = if shown_id == "-" { id } else { shown_id };
    let title = match tab {
        Tab::Groups => format!("Enrollment group {shown_id}"),
        Tab::Individual => format!("Individual enrollment {shown_id}"),
    };
    let body = html! {
        p { a href=(tab.list_url()) { "← " (tab.label()) } }
        (summary(ctx, tab, shown_id, &record))
        (attestation(ctx, tab, &record))
        (allocation(&record))
        section.panel aria-labelledby="twin-heading" {
            h2 #twin-heading { "Initial twin" }
            (json_block("initial-twin", record.get("initialTwin"), "None: devices start with the hub's empty twin."))
        }
        @if let Some(info) = record.get("optionalDeviceInformation") {
            section.panel aria-labelledby="device-info-heading" {
                h2 #device-info-heading { "Optional device information" }
                (json_block("device-information", Some(info), ""))
            }
        }
    };
    layout::page(ctx, Nav::Enrollments, &title, body)
}

/// Status, ETag, times and the actions.
fn summary(ctx: &Ctx, tab: Tab, id: &str, record: &Value) -> Markup {
    let etag = enrollments::text(record, "/etag");
    let enabled = enrollments::enabled(record);
    let date = |field: &str| layout::date(record.get(field).and_then(Value::as_str));
    html! {
        section.panel aria-labelledby="summary-heading" {
            h2 #summary-heading { "Summary" }
            dl.facts {
                dt { "Status" } dd #status { (enrollments::status_badge(record)) }
                dt { "Attestation" } dd { (enrollments::attestation_label(tab, record)) }
                @if tab == Tab::Individual {
                    dt { "Device id" } dd { (enrollments::text(record, "/deviceId")) }
                    dt { "Registration" } dd {
                        (enrollments::text(record, "/registrationState/status"))
                        @if let Some(hub) = record.pointer("/registrationState/assignedHub").and_then(Value::as_str) {
                            " to " code { (hub) }
                        }
                    }
                }
                dt { "IoT Edge device" } dd {
                    @if record.pointer("/capabilities/iotEdge").and_then(Value::as_bool) == Some(true) { "Yes" } @else { "No" }
                }
                dt { "ETag" } dd { code #etag { (etag) } }
                dt { "Created" } dd { (date("createdDateTimeUtc")) }
                dt { "Last updated" } dd { (date("lastUpdatedDateTimeUtc")) }
            }
            div.toolbar {
                a href=(tab.registrations_url(id)) { "Registration records" }
                @if ctx.can_write() {
                    form.inline method="post" action=(format!("{}/status", tab.detail_url(id))) {
                        (layout::csrf_field(ctx))
                        input type="hidden" name="etag" value=(etag);
                        @if enabled {
                            input type="hidden" name="status" value="disabled";
                            button.secondary type="submit" { "Disable" }
                        } @else {
                            input type="hidden" name="status" value="enabled";
                            button.secondary type="submit" { "Enable" }
                        }
                    }
                    a.button.danger href=(format!("{}/delete?etag={}", tab.detail_url(id), layout::seg(etag))) { "Delete" }
                }
            }
        }
    }
}

/// The attestation: certificates' `info`, CA references, hidden keys, TPM keys.
fn attestation(ctx: &Ctx, tab: Tab, record: &Value) -> Markup {
    let att = record.get("attestation").unwrap_or(&Value::Null);
    let sets = [
        ("clientCertificates", "Client certificate"),
        ("signingCertificates", "Signing certificate"),
    ];
    let slots = [("primary", "primary"), ("secondary", "secondary")];
    html! {
        section.panel aria-labelledby="attestation-heading" {
            h2 #attestation-heading { "Attestation: " (enrollments::attestation_label(tab, record)) }
            @match crate::records::attestation_type(record) {
                "x509" => {
                    @for (set, set_label) in sets {
                        @for (slot, slot_label) in slots {
                            @if let Some(info) = att.pointer(&format!("/x509/{set}/{slot}/info")) {
                                (certificate(&format!("{set_label} ({slot_label})"), info))
                            }
                        }
                    }
                    @for (slot, slot_label) in slots {
                        @if let Some(name) = att.pointer(&format!("/x509/caReferences/{slot}")).and_then(Value::as_str) {
                            (ca_reference(ctx, slot_label, name))
                        }
                    }
                }
                "symmetricKey" => {
                    p.muted { "The keys exist; they stay hidden until you show them." }
                    @for (field, label, input) in [("primaryKey", "Primary key", "primary-key"), ("secondaryKey", "Secondary key", "secondary-key")] {
                        @match att.pointer(&format!("/symmetricKey/{field}")).and_then(Value::as_str) {
                            Some(key) => (layout::secret(input, label, key)),
                            None => p { (label) ": " span.muted { "none" } },
                        }
                    }
                }
                "tpm" => {
                    dl.facts {
                        dt { "Endorsement key" } dd { code { (enrollments::text(att, "/tpm/endorsementKey")) } }
                        @if let Some(srk) = att.pointer("/tpm/storageRootKey").and_then(Value::as_str) {
                            dt { "Storage root key" } dd { code { (srk) } }
                        }
                    }
                }
                _ => { p.muted { "No attestation." } }
            }
        }
    }
}

/// One certificate's `info` block, as the service computed it when the certificate was sent.
fn certificate(heading: &str, info: &Value) -> Markup {
    let date = |field: &str| layout::date(info.get(field).and_then(Value::as_str));
    html! {
        h3 { (heading) }
        dl.facts.certificate {
            dt { "Subject" } dd { (enrollments::text(info, "/subjectName")) }
            dt { "Issuer" } dd { (enrollments::text(info, "/issuerName")) }
            dt { "SHA-1 thumbprint" } dd { code { (enrollments::text(info, "/sha1Thumbprint")) } }
            dt { "SHA-256 thumbprint" } dd { code { (enrollments::text(info, "/sha256Thumbprint")) } }
            dt { "Valid from" } dd { (date("notBeforeUtc")) }
            dt { "Valid until" } dd { (date("notAfterUtc")) }
            dt { "Serial number" } dd { code { (enrollments::text(info, "/serialNumber")) } }
        }
    }
}

/// A CA certificate the group names, with its upload and verification state.
fn ca_reference(ctx: &Ctx, slot: &str, name: &str) -> Markup {
    // A missing CA is the usual reason to look; a store failure is said as such.
    let ca = match crate::certificates::get(&ctx.console.app, name) {
        Ok(ca) => Ok(Some(ca)),
        Err(e) if e.code.status() == 404 => Ok(None),
        Err(e) => Err(e.message),
    };
    html! {
        h3 { "CA certificate (" (slot) ")" }
        dl.facts {
            dt { "Name" } dd { code { (name) } " · " a href="/portal/certificates" { "Certificates" } }
            @match &ca {
                Ok(Some(ca)) => {
                    dt { "Subject" } dd { (enrollments::text(&ca.body, "/subject")) }
                    dt { "Proof of possession" } dd {
                        @if crate::certificates::is_verified(ca) {
                            span.badge.ok { "Verified" }
                        } @else {
                            span.badge.bad { "Unverified" }
                        }
                    }
                }
                Ok(None) => {
                    dt { "Uploaded" } dd { span.badge.bad { "No" } " no CA certificate has this name" }
                }
                Err(message) => {
                    dt { "Uploaded" } dd.notice.failed { "Cannot read the CA certificate: " (message) }
                }
            }
        }
    }
}

/// The record's hubs, allocation and reprovisioning.
fn allocation(record: &Value) -> Markup {
    let reprovision = record.get("reprovisionPolicy");
    let flag = |field: &str| match reprovision
        .and_then(|r| r.get(field))
        .and_then(Value::as_bool)
    {
        Some(true) => "Yes",
        Some(false) => "No",
        None => "not set (service default)",
    };
    let webhook = record
        .pointer("/customAllocationDefinition/webhookUrl")
        .and_then(Value::as_str);
    html! {
        section.panel aria-labelledby="allocation-heading" {
            h2 #allocation-heading { "IoT hubs and allocation" }
            dl.facts {
                dt { "IoT hubs / allocation" } dd { (enrollments::hubs_and_allocation(record)) }
                @if let Some(url) = webhook {
                    dt { "Webhook" } dd { (layout::secret("webhook-url", "Webhook URL (may carry a function key)", url)) }
                    dt { "Webhook API version" } dd { (enrollments::text(record, "/customAllocationDefinition/apiVersion")) }
                }
                dt { "Reprovisioning: update hub assignment" } dd { (flag("updateHubAssignment")) }
                dt { "Reprovisioning: migrate device data" } dd { (flag("migrateDeviceData")) }
            }
        }
    }
}

/// A free-form JSON document, formatted, or `empty` when absent.
fn json_block(id: &str, value: Option<&Value>, empty: &str) -> Markup {
    let text = value.and_then(|v| serde_json::to_string_pretty(v).ok());
    html! {
        @match text {
            Some(text) => pre id=(id) { (text) },
            None => p.muted { (empty) },
        }
    }
}

/// The page for a write refused because the record changed since the page showing it was
/// loaded (412): nothing was changed; reload to see the current version.
fn conflict(ctx: &Ctx, tab: Tab, id: &str, e: &ApiError) -> Response {
    let body = html! {
        p.notice.failed role="alert" #conflict {
            "Nothing was changed: this " (tab.noun()) " changed since the page was loaded "
            "(someone else updated or deleted it, so its ETag no longer matches). "
        }
        p.muted { "The service said: " (e.message) }
        p { a.button href=(tab.detail_url(id)) { "Reload " (tab.noun()) } }
    };
    layout::page_with_status(
        ctx,
        e.status(),
        Nav::Enrollments,
        "Changed since the page was loaded",
        body,
    )
}

/// What a failed write becomes: the conflict page for 412; otherwise a notice with the API's
/// message, on the detail page (or the list, when the record is gone).
fn write_failed(ctx: &Ctx, tab: Tab, id: &str, e: &ApiError) -> Response {
    if e.status() == StatusCode::PRECONDITION_FAILED {
        return conflict(ctx, tab, id, e);
    }
    ctx.session.notify(NoticeKind::Failed, e.message.clone());
    if e.status() == StatusCode::NOT_FOUND {
        layout::see_other(&tab.list_url())
    } else {
        layout::see_other(&tab.detail_url(id))
    }
}

/// `POST .../{id}/status`: the record as the API's GET shows it, with `provisioningStatus`
/// set, sent back as its PUT with `If-Match` = the ETag the page showed.
pub(crate) fn set_status(ctx: &Ctx, tab: Tab, id: &str, form: StatusForm) -> Response {
    let app = &ctx.console.app;
    let written = service::read(app, tab.collection(), id).and_then(|mut record| {
        if let Some(obj) = record.as_object_mut() {
            obj.insert("provisioningStatus".into(), json!(form.status));
        }
        service::replace(
            app,
            tab.collection(),
            id,
            record,
            Precondition::Match(form.etag),
        )
    });
    match written {
        Ok(stored) => {
            let now = if enrollments::enabled(&stored) {
                "enabled"
            } else {
                "disabled"
            };
            ctx.session.notify(
                NoticeKind::Done,
                format!("The {} {id:?} is now {now}.", tab.noun()),
            );
            layout::see_other(&tab.detail_url(id))
        }
        Err(e) => write_failed(ctx, tab, id, &e),
    }
}

/// `GET .../{id}/delete?etag=`: what will be deleted, and the form that deletes it with the
/// ETag the detail page showed.
pub(crate) fn confirm_delete(ctx: &Ctx, tab: Tab, id: &str, query: Option<&str>) -> Response {
    let record = match service::read(&ctx.console.app, tab.collection(), id) {
        Ok(r) => r,
        Err(e) => return read_failed(ctx, tab, id, &e),
    };
    let current = enrollments::text(&record, "/etag");
    let q: EtagQuery = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let etag = q
        .etag
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| current.to_owned());
    let stale = etag != current;
    let body = html! {
        dl.facts {
            dt { "Id" } dd { code { (id) } }
            dt { "Attestation" } dd { (enrollments::attestation_label(tab, &record)) }
            dt { "Status" } dd { (enrollments::status_badge(&record)) }
            dt { "ETag" } dd { code { (etag) } }
        }
        @if !ctx.can_write() {
            p.notice.failed role="alert" {
                "This console is read-only: it was opened with the read-only policy. Sign in with the owner policy to delete."
            }
            p { a href=(tab.detail_url(id)) { "Back to the " (tab.noun()) } }
        } @else if stale {
            p.notice.failed role="alert" #conflict {
                "This " (tab.noun()) " changed since its page was loaded, so deleting it now would be refused. "
                a href=(tab.detail_url(id)) { "Reload it" } " and review it first."
            }
        } @else {
            p { "Delete the " (tab.noun()) " " code { (id) } "? This cannot be undone." }
            form.inline method="post" action=(format!("{}/delete", tab.detail_url(id))) {
                (layout::csrf_field(ctx))
                input type="hidden" name="etag" value=(etag);
                button.danger type="submit" { "Delete" }
                a href=(tab.detail_url(id)) { "Cancel" }
            }
        }
    };
    let title = format!("Delete {}?", tab.noun());
    layout::page(ctx, Nav::Enrollments, &title, body)
}

/// `POST .../{id}/delete`: the API's DELETE with `If-Match` = the ETag the page showed.
pub(crate) fn delete(ctx: &Ctx, tab: Tab, id: &str, form: EtagForm) -> Response {
    match service::delete_enrollment(&ctx.console.app, tab.collection(), id, Some(form.etag)) {
        Ok(()) => {
            ctx.session.notify(
                NoticeKind::Done,
                format!("Deleted the {} {id:?}.", tab.noun()),
            );
            layout::see_other(&tab.list_url())
        }
        Err(e) => write_failed(ctx, tab, id, &e),
    }
}
