//! The Manage enrollments page: the **Enrollment Groups** and **Individual Enrollments** tabs,
//! searched by id prefix and paged on the server, and the routes of the detail pages
//! ([`enrollment_detail`]).
//!
//! A page is one key-range read of the store ([`crate::store::Store::list_prefix`]): the
//! lower-cased ids starting with the prefix, after the previous page's last id, 50 at a time,
//! so the first page costs the same with 100,000 enrollments as with ten. The total comes from
//! the store's cached count, never a `COUNT(*)` per page.

use super::Console;
use super::guard::{Ctx, WriteForm};
use super::layout::{self, Nav};
use crate::records::{self, Collection};
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;
use std::sync::Arc;

use super::enrollment_detail;

/// Rows per page.
const PAGE: usize = 50;

/// The page's two tabs, one per collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    /// Enrollment groups.
    Groups,
    /// Individual enrollments.
    Individual,
}

impl Tab {
    /// The service collection the tab shows.
    pub(crate) fn collection(self) -> Collection {
        match self {
            Tab::Groups => Collection::Groups,
            Tab::Individual => Collection::Enrollments,
        }
    }

    /// The tab's name in URLs (`tab=` and the detail paths).
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Tab::Groups => "groups",
            Tab::Individual => "individual",
        }
    }

    /// The tab's label, as the portal names it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Tab::Groups => "Enrollment Groups",
            Tab::Individual => "Individual Enrollments",
        }
    }

    /// What one record is called in sentences.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Tab::Groups => "enrollment group",
            Tab::Individual => "individual enrollment",
        }
    }

    /// The list of this tab.
    pub(crate) fn list_url(self) -> String {
        format!("/portal/enrollments?tab={}", self.slug())
    }

    /// The detail page of record `id`.
    pub(crate) fn detail_url(self, id: &str) -> String {
        format!("/portal/enrollments/{}/{}", self.slug(), layout::seg(id))
    }

    /// The registration records page of record `id`.
    pub(crate) fn registrations_url(self, id: &str) -> String {
        let by = match self {
            Tab::Groups => "group",
            Tab::Individual => "enrollment",
        };
        format!("/portal/registrations?{by}={}", layout::seg(id))
    }
}

/// The list's query string; anything missing or unreadable takes its default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ListQuery {
    tab: Option<String>,
    prefix: Option<String>,
    after: Option<String>,
}

/// The routes of the list, the detail pages and their actions.
pub(crate) fn routes() -> Router<Arc<Console>> {
    let mut router = Router::new().route("/portal/enrollments", get(list));
    for tab in [Tab::Groups, Tab::Individual] {
        let base = format!("/portal/enrollments/{}/{{id}}", tab.slug());
        router = router
            .route(
                &base,
                get(move |ctx: Ctx, Path(id): Path<String>| async move {
                    enrollment_detail::page(&ctx, tab, &id)
                }),
            )
            .route(
                &format!("{base}/status"),
                axum::routing::post(
                    move |ctx: Ctx,
                          Path(id): Path<String>,
                          WriteForm(form): WriteForm<enrollment_detail::StatusForm>| async move {
                        enrollment_detail::set_status(&ctx, tab, &id, form)
                    },
                ),
            )
            .route(
                &format!("{base}/delete"),
                get(
                    move |ctx: Ctx, Path(id): Path<String>, RawQuery(q): RawQuery| async move {
                        enrollment_detail::confirm_delete(&ctx, tab, &id, q.as_deref())
                    },
                )
                .post(
                    move |ctx: Ctx,
                          Path(id): Path<String>,
                          WriteForm(form): WriteForm<crate::console::guard::EtagForm>| async move {
                        enrollment_detail::delete(&ctx, tab, &id, form)
                    },
                ),
            );
    }
    router
}

/// `GET /portal/enrollments?tab=groups|individual&prefix=&after=`.
async fn list(ctx: Ctx, RawQuery(query): RawQuery) -> Response {
    let q: ListQuery = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let tab = match q.tab.as_deref() {
        Some("individual") => Tab::Individual,
        _ => Tab::Groups,
    };
    let prefix = q.prefix.as_deref().map(str::trim).unwrap_or_default();
    let after = q.after.as_deref().filter(|a| !a.is_empty());
    let store = &ctx.console.app.store;
    let kind = tab.collection().kind();
    let (mut rows, total) = match store
        .list_prefix(kind, prefix, after, PAGE + 1)
        .and_then(|rows| Ok((rows, store.count(kind)?)))
    {
        Ok(x) => x,
        Err(e) => {
            return layout::error_page(
                &ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot list enrollments",
                &e.to_string(),
            );
        }
    };
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let shown: Vec<(String, Value)> = rows
        .iter()
        .map(|r| (r.id.clone(), records::present(&r.body)))
        .collect();
    let query_of = |after: Option<&str>| {
        let mut url = tab.list_url();
        if !prefix.is_empty() {
            url.push_str(&format!("&prefix={}", layout::seg(prefix)));
        }
        if let Some(a) = after {
            url.push_str(&format!("&after={}", layout::seg(a)));
        }
        url
    };
    let next = more
        .then(|| shown.last().map(|(id, _)| query_of(Some(id))))
        .flatten();
    let body = html! {
        nav.subtabs aria-label="Enrollment kinds" {
            @for t in [Tab::Groups, Tab::Individual] {
                @if t == tab {
                    a href=(t.list_url()) aria-current="page" { (t.label()) }
                } @else {
                    a href=(t.list_url()) { (t.label()) }
                }
            }
        }
        div.toolbar {
            form.inline method="get" action="/portal/enrollments" role="search" {
                input type="hidden" name="tab" value=(tab.slug());
                label for="prefix" { "Id starts with" }
                input #prefix type="search" name="prefix" value=(prefix) autocomplete="off"
                    spellcheck="false" autocapitalize="none";
                button type="submit" { "Search" }
                @if !prefix.is_empty() { a href=(tab.list_url()) { "Clear search" } }
            }
            @if ctx.can_write() {
                a.button.secondary href="/portal/enrollments/new-group" { "New enrollment group" }
            }
        }
        p.muted #list-summary {
            (total) " " (tab.noun()) "s in all"
            @if !prefix.is_empty() { " · ids starting with " code { (prefix) } }
            @if let (Some((first, _)), Some((last, _))) = (shown.first(), shown.last()) {
                " · this page: " (shown.len()) ", " code { (first) } " to " code { (last) }
            }
        }
        @if shown.is_empty() {
            p #list-empty {
                @if after.is_some() { "No more " (tab.noun()) "s." }
                @else if prefix.is_empty() { "No " (tab.noun()) "s yet." }
                @else { "No " (tab.noun()) " id starts with " code { (prefix) } "." }
            }
        } @else {
            div.table-wrap { (table(tab, &shown)) }
        }
        nav.pager aria-label="Pages" {
            @if after.is_some() { a href=(query_of(None)) { "First page" } }
            @if let Some(next) = next { a href=(next) rel="next" { "Next page" } }
        }
    };
    layout::page(&ctx, Nav::Enrollments, "Manage enrollments", body)
}

/// The table of one tab's page.
fn table(tab: Tab, rows: &[(String, Value)]) -> Markup {
    let id_label = match tab {
        Tab::Groups => "Group id",
        Tab::Individual => "Registration id",
    };
    html! {
        // The table's id is the tab's slug: `groups` or `individual`.
        table.responsive id=(tab.slug()) {
            thead { tr {
                th scope="col" { (id_label) }
                @if tab == Tab::Individual { th scope="col" { "Device id" } }
                th scope="col" { "Attestation" }
                th scope="col" { "Status" }
                @if tab == Tab::Groups { th scope="col" { "IoT hubs / allocation" } }
                th scope="col" { "Last updated" }
                th scope="col" { span.muted { "Devices" } }
            } }
            tbody {
                @for (id, body) in rows {
                    tr data-id=(id) {
                        td data-label=(id_label) { a href=(tab.detail_url(id)) { (id) } }
                        @if tab == Tab::Individual {
                            td data-label="Device id" { (text(body, "/deviceId")) }
                        }
                        td data-label="Attestation" { (attestation_label(tab, body)) }
                        td data-label="Status" { (status_badge(body)) }
                        @if tab == Tab::Groups {
                            td data-label="IoT hubs / allocation" { (hubs_and_allocation(body)) }
                        }
                        td data-label="Last updated" {
                            (layout::date(body.get("lastUpdatedDateTimeUtc").and_then(Value::as_str)))
                        }
                        td data-label="Devices" {
                            a href=(tab.registrations_url(id)) { "Registration records" }
                        }
                    }
                }
            }
        }
    }
}

/// The string at `pointer` in `body`, or `-`.
pub(crate) fn text<'a>(body: &'a Value, pointer: &str) -> &'a str {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("-")
}

/// Whether the record lets devices provision (`provisioningStatus`, stored as `enabled` when
/// a client sent none).
pub(crate) fn enabled(body: &Value) -> bool {
    body.get("provisioningStatus").and_then(Value::as_str) != Some("disabled")
}

/// The Enabled/Disabled badge.
pub(crate) fn status_badge(body: &Value) -> Markup {
    html! {
        @if enabled(body) { span.badge.ok { "Enabled" } } @else { span.badge.bad { "Disabled" } }
    }
}

/// How the record's devices prove who they are, in words.
pub(crate) fn attestation_label(tab: Tab, body: &Value) -> &'static str {
    let has = |p: &str| body.pointer(p).is_some_and(|v| !v.is_null());
    match records::attestation_type(body) {
        "symmetricKey" => "Symmetric key",
        "tpm" => "TPM",
        "x509" if tab == Tab::Groups && has("/attestation/x509/caReferences") => {
            "X.509 (CA certificate)"
        }
        "x509" if tab == Tab::Groups => "X.509 (intermediate certificate)",
        "x509" => "X.509 (client certificate)",
        _ => "-",
    }
}

/// The hubs a record names (or the linked hubs, when it names none) and its allocation policy.
pub(crate) fn hubs_and_allocation(body: &Value) -> Markup {
    let hubs: Vec<&str> = body
        .get("iotHubs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let legacy = body.get("iotHubHostName").and_then(Value::as_str);
    let policy = body.get("allocationPolicy").and_then(Value::as_str);
    html! {
        @if !hubs.is_empty() {
            @for (i, hub) in hubs.iter().enumerate() {
                @if i > 0 { ", " }
                code { (hub) }
            }
        } @else if let Some(hub) = legacy {
            code { (hub) }
        } @else {
            span.muted { "linked hubs" }
        }
        " · "
        @match policy {
            Some(p) => (p),
            None => span.muted { "default allocation" },
        }
    }
}
