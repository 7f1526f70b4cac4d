//! Console sessions: who a visitor acts as, their anti-CSRF token and a one-shot notice, and
//! the sign-in that turns a policy key into a session (keys travel in a POST body only, never a
//! URL, and are not kept).

use super::guard::{Ctx, TokenForm};
use super::layout::{self, Nav};
use super::{Console, PREFIX};
use crate::auth::Right;
use crate::config::{OWNER_POLICY, READ_POLICY};
use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "dps_console";
/// Sessions kept at most; the least recently seen goes first.
const MAX_SESSIONS: usize = 1024;
/// A session unused this long is forgotten.
const IDLE_LIMIT: Duration = Duration::from_secs(12 * 3600);

/// Whether a notice reports success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// It worked.
    Done,
    /// It did not.
    Failed,
}

/// A message shown once, on the next page the visitor sees (after a redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// Success or failure.
    pub(crate) kind: NoticeKind,
    /// The text (escaped when shown).
    pub(crate) text: String,
}

/// One visitor.
#[derive(Debug)]
pub(crate) struct Session {
    /// The cookie value.
    pub(crate) id: String,
    /// The token every state-changing form carries.
    pub(crate) csrf: String,
    /// What the visitor may do; `None` until signed in.
    pub(crate) right: Option<Right>,
    /// Signed in with a policy key (rather than trusted as a loopback visitor).
    pub(crate) by_key: bool,
    notice: Mutex<Option<Notice>>,
    last_seen: Mutex<Instant>,
}

impl Session {
    /// Keeps `notice` for the next page.
    pub(crate) fn notify(&self, kind: NoticeKind, text: impl Into<String>) {
        if let Ok(mut n) = self.notice.lock() {
            *n = Some(Notice {
                kind,
                text: text.into(),
            });
        }
    }

    /// The pending notice, if any, now consumed.
    pub(crate) fn take_notice(&self) -> Option<Notice> {
        self.notice.lock().ok().and_then(|mut n| n.take())
    }
}

/// Every live session, bounded in number and idle time. Sessions signed in with a key live in
/// their own pool, so visitors without one (anyone who can reach the listener) can never
/// evict them by opening new sessions.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    signed_in: Pool,
    anonymous: Pool,
}

/// One bounded pool of sessions.
#[derive(Debug, Default)]
struct Pool {
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl Pool {
    fn get(&self, id: &str) -> Option<Arc<Session>> {
        let map = self.map.lock().ok()?;
        let session = map.get(id)?.clone();
        let mut seen = session.last_seen.lock().ok()?;
        if seen.elapsed() > IDLE_LIMIT {
            return None;
        }
        *seen = Instant::now();
        drop(seen);
        Some(session)
    }

    fn insert(&self, session: Arc<Session>) {
        let mut map = match self.map.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.retain(|_, s| s.last_seen.lock().is_ok_and(|t| t.elapsed() <= IDLE_LIMIT));
        if map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .filter_map(|(k, s)| s.last_seen.lock().ok().map(|t| (*t, k.clone())))
                .min()
                .map(|(_, k)| k);
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(session.id.clone(), session);
    }

    fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

impl Sessions {
    /// The session with cookie value `id`, if it is live.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.signed_in.get(id).or_else(|| self.anonymous.get(id))
    }

    /// A new session acting with `right` (`None`: must sign in first); `by_key` when a policy
    /// key signed it in.
    pub(crate) fn create(&self, right: Option<Right>, by_key: bool) -> Arc<Session> {
        let session = Arc::new(Session {
            id: random_token(),
            csrf: random_token(),
            right,
            by_key,
            notice: Mutex::new(None),
            last_seen: Mutex::new(Instant::now()),
        });
        let pool = if by_key {
            &self.signed_in
        } else {
            &self.anonymous
        };
        pool.insert(session.clone());
        session
    }

    /// Forgets a session (sign-out).
    pub(crate) fn remove(&self, id: &str) {
        self.signed_in.remove(id);
        self.anonymous.remove(id);
    }

    /// Whether the session is still live (a live feed ends when it is not).
    pub(crate) fn is_live(&self, id: &str) -> bool {
        self.get(id).is_some()
    }
}

/// 32 random bytes as hex.
fn random_token() -> String {
    let mut b = [0u8; 32];
    // aws-lc's generator does not fail on supported platforms; a zero token would still be
    // unguessable only if it did not, so a failure makes every token differ by the clock.
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        b[..16].copy_from_slice(&nanos.to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The `Set-Cookie` value for `session`: never sent over plain HTTP, never read by script, never
/// sent with another site's form posts. `Lax` rather than `Strict`: a link from another site
/// then arrives with the cookie instead of making (and storing) a fresh session, which would
/// sign the visitor out; GETs change nothing, and posts need the token and Origin anyway.
pub(crate) fn cookie(session: &Session) -> String {
    format!(
        "{COOKIE}={}; Path={PREFIX}; Secure; HttpOnly; SameSite=Lax",
        session.id
    )
}

/// The session id in a `Cookie` header, if any.
pub(crate) fn from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// Sign-in and sign-out.
pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/portal/sign-in", get(sign_in_page).post(sign_in))
        .route("/portal/sign-out", post(sign_out))
}

async fn sign_in_page(ctx: Ctx) -> Response {
    sign_in_form(&ctx, None)
}

fn sign_in_form(ctx: &Ctx, error: Option<&str>) -> Response {
    let body = html! {
        p { "This emulator listens beyond loopback, so its console needs a shared access policy key. "
            "The read-only policy gives a read-only console." }
        @if let Some(e) = error { p.notice.failed role="alert" { (e) } }
        form.stack method="post" action="/portal/sign-in" {
            (layout::csrf_field(ctx))
            label for="policy" { "Policy" }
            select #policy name="policy" {
                option value=(OWNER_POLICY) { (OWNER_POLICY) }
                option value=(READ_POLICY) { (READ_POLICY) }
            }
            label for="key" { "Key" }
            input #key type="password" name="key" autocomplete="off" required;
            button type="submit" { "Sign in" }
        }
    };
    layout::page(ctx, Nav::None, "Sign in", body)
}

/// The sign-in form's fields.
#[derive(serde::Deserialize)]
pub(crate) struct SignIn {
    policy: String,
    key: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

async fn sign_in(ctx: Ctx, TokenForm(form): TokenForm<SignIn>) -> Response {
    let Some(right) = ctx.console.app.policies.sign_in(&form.policy, &form.key) else {
        tracing::info!(policy = %form.policy, "console sign-in refused");
        return sign_in_form(&ctx, Some("That policy name and key do not match."));
    };
    ctx.console.sessions.remove(&ctx.session.id);
    let session = ctx.console.sessions.create(Some(right), true);
    let mut response = layout::see_other(PREFIX);
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie(&session)) {
        response
            .headers_mut()
            .insert(axum::http::header::SET_COOKIE, v);
    }
    response
}

async fn sign_out(ctx: Ctx, TokenForm(_): TokenForm<serde::de::IgnoredAny>) -> Response {
    ctx.console.sessions.remove(&ctx.session.id);
    layout::see_other("/portal/sign-in")
}
