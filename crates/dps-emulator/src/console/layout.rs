//! The page shell every console page shares (header, navigation, notices) and small helpers
//! for what pages repeat: the anti-CSRF field, redirects, error pages, times.

use super::guard::Ctx;
use super::session::NoticeKind;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The console's pages, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    /// The emulator at a glance.
    Overview,
    /// CA certificates and proof of possession.
    Certificates,
    /// Enrollment groups and individual enrollments.
    Enrollments,
    /// Registration records.
    Registrations,
    /// Live device attempts.
    Activity,
    /// A page outside the navigation (sign-in, errors).
    None,
}

/// Navigation entries, in order: the page, its link and its label.
const NAV: [(Nav, &str, &str); 5] = [
    (Nav::Overview, "/portal/", "Overview"),
    (Nav::Certificates, "/portal/certificates", "Certificates"),
    (
        Nav::Enrollments,
        "/portal/enrollments",
        "Manage enrollments",
    ),
    (
        Nav::Registrations,
        "/portal/registrations",
        "Registration records",
    ),
    (Nav::Activity, "/portal/activity", "Device activity"),
];

/// A whole HTML page with `status`.
pub(crate) fn page_with_status(
    ctx: &Ctx,
    status: StatusCode,
    nav: Nav,
    title: &str,
    body: Markup,
) -> Response {
    let scope = ctx
        .console
        .info()
        .map(|i| i.id_scope.clone())
        .unwrap_or_default();
    let notice = ctx.session.take_notice();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="csrf-token" content=(ctx.session.csrf);
                title { (title) " · DPS emulator console" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/portal/assets/console.css";
                script src="/portal/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/portal/" { "DPS emulator" }
                    @if !scope.is_empty() { span.scope title="ID scope" { "ID scope " code { (scope) } } }
                    @if !ctx.can_write() && ctx.session.right.is_some() {
                        span.badge.readonly { "read-only" }
                    }
                    @if ctx.session.by_key {
                        form.signout method="post" action="/portal/sign-out" {
                            (csrf_field(ctx))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                @if ctx.session.right.is_some() {
                    nav.tabs aria-label="Console pages" {
                        @for (page, link, label) in NAV {
                            @if page == nav {
                                a href=(link) aria-current="page" { (label) }
                            } @else {
                                a href=(link) { (label) }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    @if let Some(n) = notice {
                        @let class = if n.kind == NoticeKind::Done { "notice done" } else { "notice failed" };
                        p class=(class) role="status" { (n.text) }
                    }
                    (body)
                }
                footer { "dps-rs emulator console — for testing only; not the Azure portal." }
            }
        }
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A whole HTML page, 200.
pub(crate) fn page(ctx: &Ctx, nav: Nav, title: &str, body: Markup) -> Response {
    page_with_status(ctx, StatusCode::OK, nav, title, body)
}

/// A page that says what went wrong, with `status`.
pub(crate) fn error_page(ctx: &Ctx, status: StatusCode, title: &str, message: &str) -> Response {
    page_with_status(
        ctx,
        status,
        Nav::None,
        title,
        html! { p.notice.failed role="alert" { (message) } p { a href="/portal/" { "Back to the overview" } } },
    )
}

/// The page for an unknown console path.
pub(crate) async fn not_found(ctx: Ctx) -> Response {
    error_page(
        &ctx,
        StatusCode::NOT_FOUND,
        "Not found",
        "The console has no such page.",
    )
}

/// The hidden field every state-changing form carries.
pub(crate) fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.session.csrf); }
}

/// 303 See Other to `location` (after a form post).
pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// A path segment, percent-encoded for a link (ids may hold `:` or `.`; anything else
/// unusual is encoded too).
pub(crate) fn seg(id: &str) -> String {
    /// Everything but the unreserved characters of RFC 3986 (`-`, `.`, `_`, `~` stay).
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

/// A date the service keeps, as the console shows it: ISO 8601 UTC in whole seconds, like
/// dps-cli's tables; `-` when absent.
pub(crate) fn date(text: Option<&str>) -> String {
    text.map_or_else(
        || "-".to_owned(),
        dps_protocol::models::Timestamp::for_people,
    )
}

/// A labelled, hidden secret with Show and Copy buttons (shown by the script).
pub(crate) fn secret(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.secret {
            label for=(id) { (label) }
            input id=(id) type="password" readonly value=(value) autocomplete="off" spellcheck="false";
            button.secondary type="button" data-reveal=(id) aria-pressed="false" hidden { "Show" }
            button.secondary type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}
