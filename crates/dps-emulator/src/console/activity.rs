//! The Device activity page: the latest device attempts the registration engine judged (time,
//! transport, registration id, outcome, and for a refusal the engine's exact reason: which
//! certificate or key, which rule), newest first, and a live feed of new ones as server-sent
//! events while the page is open.
//!
//! The console only shows what the engine recorded ([`crate::activity`]); it decides nothing.
//! The page works without script (a reload shows the latest); the script prepends each event's
//! row, built from its JSON with `textContent`. A feed resumes after `Last-Event-ID` (or
//! `?after=`, the newest attempt the page showed) from the kept attempts; a feed that falls
//! behind skips ahead; at most [`activity::MAX_SUBSCRIBERS`] feeds are open at once.

use super::Console;
use super::guard::Ctx;
use super::layout::{self, Nav};
use crate::activity::{self, Entry, Next};
use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dps_protocol::models::Timestamp;
use maud::{Markup, html};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The page's path.
const PATH: &str = "/portal/activity";
/// The live feed's path.
const EVENTS: &str = "/portal/activity/events";
/// How often an idle feed sends a comment, so proxies and browsers keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a browser waits before it reconnects a dropped feed.
const RECONNECT: Duration = Duration::from_secs(3);

/// The page and its live feed.
pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route(PATH, get(page))
        .route(EVENTS, get(events))
}

/// One attempt as the page shows it and the feed sends it (the event's JSON data).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    /// The attempt's place in the log (the event id).
    seq: u64,
    /// ISO 8601 UTC, whole seconds.
    time: String,
    /// `HTTPS`, `MQTT` or `MQTT over WebSocket`.
    transport: &'static str,
    /// As the device spelled it.
    registration_id: &'a str,
    /// `Assigned`, `Disabled`, `Failed` or `Refused`.
    outcome: &'static str,
    /// Whether the device got a hub (the badge's colour).
    ok: bool,
    /// The DPS error code the device was given, unless assigned.
    code: Option<String>,
    /// The hub, or the reason.
    detail: &'a str,
}

impl<'a> Row<'a> {
    fn of(e: &'a Entry) -> Self {
        Row {
            seq: e.seq,
            time: Timestamp::from_datetime_seconds(e.time).into_string(),
            transport: e.transport.label(),
            registration_id: &e.registration_id,
            outcome: e.outcome.label(),
            ok: e.outcome.ok(),
            code: e.outcome.code().map(|c| c.to_string()),
            detail: e.outcome.detail(),
        }
    }
}

/// `GET /portal/activity`: the kept attempts, newest first.
async fn page(ctx: Ctx) -> Response {
    let entries = ctx.console.app.activity.latest();
    let newest = entries.first().map_or(0, |e| e.seq);
    let body = html! {
        p.muted {
            "The latest " (activity::CAPACITY) " registration attempts since the emulator started, newest first, "
            "over every transport. A refusal shows the rule that refused the device and the certificate or key "
            "it concerned — the reason the device itself was given. Status polls are not listed."
        }
        p.live-status #activity-live role="status" hidden { "Live" }
        p.muted #activity-empty hidden[!entries.is_empty()] {
            "No device has tried to register yet. Attempts appear here as they happen."
        }
        div.table-wrap {
            table.responsive #activity data-after=(newest) data-capacity=(activity::CAPACITY) data-events=(EVENTS) {
                thead {
                    tr {
                        th scope="col" { "Time (UTC)" }
                        th scope="col" { "Transport" }
                        th scope="col" { "Registration ID" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Code" }
                        th scope="col" { "Hub or reason" }
                    }
                }
                tbody {
                    @for e in &entries { (row(&Row::of(e))) }
                }
            }
        }
    };
    layout::page(&ctx, Nav::Activity, "Device activity", body)
}

/// One `<tr data-seq data-id>`; console.js builds the same from an event.
fn row(r: &Row<'_>) -> Markup {
    html! {
        tr data-seq=(r.seq) data-id=(r.registration_id) {
            td.nowrap data-label="Time (UTC)" { time datetime=(r.time) { (r.time) } }
            td.nowrap data-label="Transport" { (r.transport) }
            td.rid data-label="Registration ID" { code { (r.registration_id) } }
            td.nowrap data-label="Outcome" {
                span class=(if r.ok { "badge ok" } else { "badge bad" }) { (r.outcome) }
            }
            td.nowrap data-label="Code" { (r.code.as_deref().unwrap_or("-")) }
            td.reason data-label="Hub or reason" { (r.detail) }
        }
    }
}

/// The feed's query: the newest attempt the page already shows.
#[derive(Debug, Default, serde::Deserialize)]
struct After {
    after: Option<String>,
}

/// Where a feed resumes: `Last-Event-ID` (a reconnecting browser), else `?after=`; neither
/// (or something that is no number) means live from now.
fn resume_point(headers: &HeaderMap, query: Option<&str>) -> Option<u64> {
    let number = |v: &str| v.trim().parse::<u64>().ok();
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(number)
        .or_else(|| {
            serde_urlencoded::from_str::<After>(query.unwrap_or_default())
                .ok()
                .and_then(|a| a.after)
                .as_deref()
                .and_then(number)
        })
}

/// `GET /portal/activity/events`: `text/event-stream`, one event per attempt (id: its
/// sequence number; data: its [`Row`] as JSON), keep-alive comments while idle.
async fn events(ctx: Ctx, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let after = resume_point(&headers, query.as_deref());
    let Some(feed) = ctx.console.app.activity.subscribe(after) else {
        let mut response = layout::error_page(
            &ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many live feeds",
            &format!(
                "{} Device activity pages are already open live; close one, or reload this page \
                 to see the latest attempts without live updates.",
                activity::MAX_SUBSCRIBERS
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    };
    let first = Event::default().retry(RECONNECT).comment("device activity");
    // The feed ends, at its next attempt, once its session is gone (signed out, expired).
    let session = (ctx.console.clone(), ctx.session.id.clone());
    let stream = futures_util::stream::unfold((feed, Some(first)), move |(mut feed, first)| {
        let session = session.clone();
        async move {
            if let Some(first) = first {
                return Some((Ok::<_, Infallible>(first), (feed, None)));
            }
            let next = feed.next().await?;
            if !session.0.sessions.is_live(&session.1) {
                return None;
            }
            let event = match next {
                Next::Entry(e) => to_event(&e),
                Next::Skipped(n) => {
                    Event::default().comment(format!("{n} attempts skipped: this feed fell behind"))
                }
            };
            Some((Ok(event), (feed, None)))
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}

/// An attempt as an event: `id:` its sequence number, `data:` its row as JSON.
fn to_event(e: &Entry) -> Event {
    let event = Event::default().id(e.seq.to_string());
    match serde_json::to_string(&Row::of(e)) {
        Ok(json) => event.data(json),
        // A row of strings and numbers always serialises; were it not to, the feed says so.
        Err(err) => {
            let why = err.to_string().replace(['\n', '\r'], " ");
            event.comment(format!("attempt {} not shown: {why}", e.seq))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_resumes_from_last_event_id_then_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(resume_point(&headers, None), None);
        assert_eq!(resume_point(&headers, Some("after=7")), Some(7));
        assert_eq!(resume_point(&headers, Some("after=x")), None);
        headers.insert("last-event-id", HeaderValue::from_static(" 12 "));
        assert_eq!(resume_point(&headers, Some("after=7")), Some(12));
        headers.insert("last-event-id", HeaderValue::from_static("nope"));
        assert_eq!(resume_point(&headers, Some("after=7")), Some(7));
    }
}
