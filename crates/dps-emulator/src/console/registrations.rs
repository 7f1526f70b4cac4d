//! The Registration records page: what each device's last registration left behind (device
//! id, status, assigned hub, the error when it failed), for one enrollment group
//! (`?group=`), one individual enrollment (`?enrollment=`) or every device, and Delete with a
//! confirmation.
//!
//! Records are read and deleted through the service API's own functions
//! ([`service::list_page`] as `POST /registrations/{groupId}/query` pages,
//! [`service::registration`] and [`service::delete_registration`] as `GET` and `DELETE
//! /registrations/{id}`), so the ETag check and what the engine forgets on delete are the API's.

use super::Console;
use super::guard::{Ctx, WriteForm};
use super::layout::{self, Nav};
use super::session::NoticeKind;
use crate::error::codes;
use crate::records;
use crate::service;
use crate::store::{Kind, Record};
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;
use std::sync::Arc;

/// Records shown per page.
const PAGE_SIZE: usize = 50;
/// The page's path.
const PATH: &str = "/portal/registrations";

/// The page and its Delete.
pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new().route(PATH, get(page)).route(
        "/portal/registrations/{id}/delete",
        get(confirm).post(delete),
    )
}

/// Which records the page shows: the query string of every link and redirect back to it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct Scope {
    /// An enrollment group's id: its devices' records.
    group: Option<String>,
    /// An individual enrollment's registration id: its device's record.
    enrollment: Option<String>,
    /// Paging: the records after this registration id.
    after: Option<String>,
}

impl Scope {
    /// The scope a query string names; empty values count as absent.
    fn parse(query: Option<&str>) -> Self {
        let scope: Scope =
            serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
        let keep = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Scope {
            group: keep(scope.group),
            enrollment: keep(scope.enrollment),
            after: keep(scope.after),
        }
    }

    /// The page's URL for this scope, from its first page.
    fn url(&self) -> String {
        self.url_after(None)
    }

    /// The page's URL for this scope after registration id `after`.
    fn url_after(&self, after: Option<&str>) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("group", self.group.as_deref()),
            ("enrollment", self.enrollment.as_deref()),
            ("after", after),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        match serde_urlencoded::to_string(&pairs) {
            Ok(q) if !q.is_empty() => format!("{PATH}?{q}"),
            _ => PATH.to_owned(),
        }
    }
}

/// `GET /portal/registrations[?group=|?enrollment=][&after=]`.
async fn page(ctx: Ctx, RawQuery(query): RawQuery) -> Response {
    let scope = Scope::parse(query.as_deref());
    let app = &ctx.console.app;
    let listed = match (&scope.group, &scope.enrollment) {
        (Some(group), _) => service::list_page(
            app,
            Kind::Registration,
            Some(group),
            scope.after.as_deref(),
            PAGE_SIZE,
        ),
        (None, Some(id)) => match service::registration(app, id) {
            Ok(rec) => Ok((vec![rec], false)),
            Err(e) if e.code == codes::REGISTRATION_NOT_FOUND => Ok((Vec::new(), false)),
            Err(e) => Err(e),
        },
        (None, None) => service::list_page(
            app,
            Kind::Registration,
            None,
            scope.after.as_deref(),
            PAGE_SIZE,
        ),
    };
    let (rows, more) = match listed {
        Ok(listed) => listed,
        Err(e) => {
            return layout::error_page(&ctx, e.status(), "Registration records", &e.message);
        }
    };
    let (title, intro) = match (&scope.group, &scope.enrollment) {
        (Some(group), _) => (
            format!("Registration records of group {group}"),
            group_intro(&ctx, group),
        ),
        (None, Some(id)) => (
            format!("Registration record of enrollment {id}"),
            html! {
                p { a href=(format!("/portal/enrollments/individual/{}", layout::seg(id))) {
                    "← Individual enrollment " (id)
                } }
            },
        ),
        (None, None) => ("Registration records".to_owned(), pick_form()),
    };
    let next = more
        .then(|| rows.last().map(|r| scope.url_after(Some(&r.id))))
        .flatten();
    let empty = match (&scope.group, &scope.enrollment) {
        (None, Some(_)) => {
            "The device of this enrollment has not registered yet (or its record was deleted)."
        }
        (Some(_), _) if scope.after.is_none() => {
            "No device of this group has registered yet (or their records were deleted)."
        }
        (None, None) if scope.after.is_none() => "No device has registered yet.",
        _ => "No more records.",
    };
    let body = html! {
        (intro)
        @if scope.group.is_none() && scope.enrollment.is_none() {
            h2 { "Every device" }
            p.muted { "By registration id, " (PAGE_SIZE) " per page." }
        }
        (table(&ctx, &scope, &rows))
        @if rows.is_empty() { p.muted { (empty) } }
        @if scope.after.is_some() || next.is_some() {
            nav.toolbar aria-label="Pages" {
                @if scope.after.is_some() { a href=(scope.url()) { "First page" } }
                @if let Some(next) = &next { a href=(next) { "Next page" } }
            }
        }
    };
    layout::page(&ctx, Nav::Registrations, &title, body)
}

/// The link back to the group, and a word when the group itself is gone (deleting a group
/// leaves its devices' records, as the service does).
fn group_intro(ctx: &Ctx, group: &str) -> Markup {
    let exists = ctx
        .console
        .app
        .store
        .get(Kind::Group, group)
        .map(|g| g.is_some())
        .unwrap_or(true);
    html! {
        p { a href=(format!("/portal/enrollments/groups/{}", layout::seg(group))) {
            "← Enrollment group " (group)
        } }
        @if !exists {
            p.notice.warn {
                "No enrollment group has this id (any more): these are the records its devices \
                 left, which deleting a group keeps."
            }
        }
    }
}

/// The short form that picks a group or an enrollment.
fn pick_form() -> Markup {
    html! {
        div.grid {
            form.inline method="get" action=(PATH) {
                label for="pick-group" { "Enrollment group id" }
                input #pick-group name="group" required autocomplete="off" spellcheck="false";
                button type="submit" { "Show" }
            }
            form.inline method="get" action=(PATH) {
                label for="pick-enrollment" { "Individual enrollment (registration id)" }
                input #pick-enrollment name="enrollment" required autocomplete="off" spellcheck="false";
                button type="submit" { "Show" }
            }
        }
    }
}

/// A string field of a record as clients see it.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// The records table (`#registrations`, one `tr[data-id]` per record).
fn table(ctx: &Ctx, scope: &Scope, rows: &[Record]) -> Markup {
    let whose = scope.group.is_none();
    html! {
        div.table-wrap {
            table.responsive #registrations {
                thead { tr {
                    th scope="col" { "Registration ID" }
                    th scope="col" { "Device ID" }
                    th scope="col" { "Status" }
                    th scope="col" { "Substatus" }
                    th scope="col" { "Assigned hub" }
                    th scope="col" { "Last update" }
                    th scope="col" { "Error" }
                    @if whose { th scope="col" { "Enrollment" } }
                    @if ctx.can_write() { th scope="col" { span.muted { "Actions" } } }
                } }
                tbody {
                    @for rec in rows {
                        @let v = records::present(&rec.body);
                        @let status = field(&v, "status").unwrap_or("-");
                        tr data-id=(rec.id) {
                            td data-label="Registration ID" { code { (rec.id) } }
                            td data-label="Device ID" { (field(&v, "deviceId").unwrap_or("-")) }
                            td data-label="Status" { span class=(status_class(status)) { (status) } }
                            td data-label="Substatus" { (field(&v, "substatus").unwrap_or("-")) }
                            td data-label="Assigned hub" { (field(&v, "assignedHub").unwrap_or("-")) }
                            td data-label="Last update" {
                                (layout::date(field(&v, "lastUpdatedDateTimeUtc")))
                            }
                            td data-label="Error" {
                                @if let Some(error_code) = v.get("errorCode").filter(|c| !c.is_null()) {
                                    code { (error_code) } " "
                                }
                                (field(&v, "errorMessage").unwrap_or(""))
                            }
                            @if whose {
                                td data-label="Enrollment" {
                                    @match &rec.parent {
                                        Some(g) => {
                                            a href=(Scope { group: Some(g.clone()), ..Scope::default() }.url()) {
                                                "group " (g)
                                            }
                                        }
                                        None => {
                                            a href=(Scope { enrollment: Some(rec.id.clone()), ..Scope::default() }.url()) {
                                                "individual"
                                            }
                                        }
                                    }
                                }
                            }
                            @if ctx.can_write() {
                                td data-label="Actions" {
                                    a.button.secondary href=(delete_url(&rec.id, scope)) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The badge class of a registration status.
fn status_class(status: &str) -> &'static str {
    match status {
        "assigned" => "badge ok",
        "failed" | "disabled" => "badge bad",
        _ => "badge",
    }
}

/// The confirmation page of deleting `id`, returning to `scope`'s list.
fn delete_url(id: &str, scope: &Scope) -> String {
    let list = scope.url();
    let query = list.strip_prefix(PATH).unwrap_or_default();
    format!("{PATH}/{}/delete{query}", layout::seg(id))
}

/// `GET /portal/registrations/{id}/delete`: what will be deleted, and the form that does it.
async fn confirm(ctx: Ctx, Path(id): Path<String>, RawQuery(query): RawQuery) -> Response {
    let scope = Scope::parse(query.as_deref());
    let rec = match service::registration(&ctx.console.app, &id) {
        Ok(rec) => rec,
        Err(e) => {
            return layout::error_page(&ctx, e.status(), "Delete registration record", &e.message);
        }
    };
    let v = records::present(&rec.body);
    let body = html! {
        dl.facts {
            dt { "Registration ID" } dd { code { (rec.id) } }
            dt { "Device ID" } dd { (field(&v, "deviceId").unwrap_or("-")) }
            dt { "Status" } dd { (field(&v, "status").unwrap_or("-")) }
            dt { "Assigned hub" } dd { (field(&v, "assignedHub").unwrap_or("-")) }
            dt { "Last update" } dd { (layout::date(field(&v, "lastUpdatedDateTimeUtc"))) }
            dt { "ETag" } dd { code { (rec.etag) } }
        }
        p {
            "Deleting the record makes the service forget this device's registration (the \
             device itself and its IoT hub identity are not touched); its next registration \
             starts afresh."
        }
        @if ctx.can_write() {
            form.inline method="post" action=(format!("{PATH}/{}/delete", layout::seg(&rec.id))) {
                (layout::csrf_field(&ctx))
                input type="hidden" name="etag" value=(rec.etag);
                input type="hidden" name="confirm" value="yes";
                @if let Some(g) = &scope.group { input type="hidden" name="group" value=(g); }
                @if let Some(e) = &scope.enrollment { input type="hidden" name="enrollment" value=(e); }
                button.danger type="submit" { "Delete" }
                a href=(scope.url()) { "Cancel" }
            }
        } @else {
            p.notice.warn {
                "This console is read-only: it was opened with the read-only policy. Sign in \
                 with the owner policy to delete records."
            }
        }
    };
    layout::page(
        &ctx,
        Nav::Registrations,
        &format!("Delete registration record {}?", rec.id),
        body,
    )
}

/// The Delete form's fields.
#[derive(Debug, serde::Deserialize)]
struct DeleteForm {
    /// The ETag the confirmation page showed: a record changed since is not deleted.
    #[serde(default)]
    etag: String,
    /// `yes` from the confirmation page.
    #[serde(default)]
    confirm: String,
    /// The list to return to.
    group: Option<String>,
    /// The list to return to.
    enrollment: Option<String>,
}

/// `POST /portal/registrations/{id}/delete`: deletes through the API's own function, with
/// the confirmed ETag.
async fn delete(
    ctx: Ctx,
    Path(id): Path<String>,
    WriteForm(form): WriteForm<DeleteForm>,
) -> Response {
    let scope = Scope {
        group: form.group.filter(|s| !s.is_empty()),
        enrollment: form.enrollment.filter(|s| !s.is_empty()),
        after: None,
    };
    if form.confirm != "yes" {
        ctx.session.notify(
            NoticeKind::Failed,
            "Nothing was deleted: confirm the deletion on its confirmation page.",
        );
        return layout::see_other(&delete_url(&id, &scope));
    }
    let etag = Some(form.etag);
    match service::delete_registration(&ctx.console.app, &id, etag) {
        Ok(()) => {
            ctx.session.notify(
                NoticeKind::Done,
                format!("Registration record {id:?} deleted."),
            );
        }
        Err(e) if e.status() == StatusCode::PRECONDITION_FAILED => {
            ctx.session.notify(
                NoticeKind::Failed,
                format!(
                    "Not deleted: the record changed since its confirmation page was shown \
                     (ETag conflict: {}). Review it and delete again.",
                    e.message
                ),
            );
        }
        Err(e) => {
            ctx.session
                .notify(NoticeKind::Failed, format!("Not deleted: {}", e.message));
        }
    }
    layout::see_other(&scope.url())
}
