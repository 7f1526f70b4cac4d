//! What every console request passes before a page sees it, and the extractors that make a
//! state-changing request prove it came from the console's own form.
//!
//! - The `Host` header must be one of the emulator's names (no DNS rebinding).
//! - A visitor gets a session: acting with the owner policy on a loopback listener, otherwise
//!   signed out until [`super::session`]'s sign-in.
//! - A request that is not `GET` or `HEAD` needs an `Origin` equal to the console's own.
//! - [`TokenForm`], [`WriteForm`] and [`WriteMultipart`] check the session's anti-CSRF token;
//!   the `Write` ones also refuse a read-only session. No handler that changes state takes
//!   another extractor.
//! - Every response forbids framing, inline script, sniffing and caching.

// A refusal is the page that explains it, as axum's own rejections are responses.
#![allow(clippy::result_large_err)]

use super::Console;
use super::layout;
use super::session::{self, Session};
use crate::auth::Right;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The largest form or upload the console accepts.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The Content-Security-Policy of every console response: scripts and styles from the console
/// itself only (no inline script), nothing may frame it, forms post only to it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A console request's context: the console and the visitor's session.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The console.
    pub(crate) console: Arc<Console>,
    /// The visitor's session.
    pub(crate) session: Arc<Session>,
}

impl Ctx {
    /// Whether the visitor may change state.
    pub(crate) fn can_write(&self) -> bool {
        self.session.right == Some(Right::Write)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The middleware in front of every console route.
pub(crate) async fn guard(
    State(console): State<Arc<Console>>,
    mut req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    let mut response = match host {
        Some(host) if console.app.own_host(&host).is_some() => {
            let path = req.uri().path();
            if path.starts_with(super::PREFIX) && !path.starts_with("/portal/assets/") {
                admit(console, host, &mut req, next).await
            } else if path == "/" || path == "/portal" || path.starts_with("/portal/assets/") {
                // No session here: the cookie is scoped to the pages, so a session made for
                // these paths would overwrite the visitor's own (and assets need none).
                next.run(req).await
            } else {
                plain(
                    StatusCode::NOT_FOUND,
                    "Not found: the console's pages are under /portal/.".to_owned(),
                )
            }
        }
        _ => plain(
            StatusCode::MISDIRECTED_REQUEST,
            "This console answers only to the emulator's own names (localhost, 127.0.0.1, [::1] \
             and its --host-name values). Open it by one of those."
                .to_owned(),
        ),
    };
    let h = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn admit(console: Arc<Console>, host: String, req: &mut Request, next: Next) -> Response {
    let existing = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::from_cookie_header(v).and_then(|id| console.sessions.get(id)));
    let (session, fresh) = match existing {
        Some(s) => (s, false),
        None => {
            let right = console.open_on_loopback().then_some(Right::Write);
            (console.sessions.create(right, false), true)
        }
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let path = req.uri().path().to_owned();
    let ctx = Ctx {
        console,
        session: session.clone(),
    };
    let mut response = if !safe && !same_origin(req, &host) {
        tracing::info!(%path, "console refused a cross-origin request");
        layout::error_page(
            &ctx,
            StatusCode::FORBIDDEN,
            "Refused",
            "This request did not come from the console's own page (its Origin header is \
             missing or names another site), so nothing was changed.",
        )
    } else if session.right.is_none()
        && !(path == "/portal/sign-in" || path.starts_with("/portal/assets/"))
    {
        layout::see_other("/portal/sign-in")
    } else {
        req.extensions_mut().insert(ctx);
        next.run(std::mem::take(req)).await
    };
    if fresh && let Ok(v) = HeaderValue::from_str(&session::cookie(&session)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Whether the request's `Origin` is the console itself, as the browser addressed it.
fn same_origin(req: &Request, host: &str) -> bool {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    origin.is_some_and(|o| o.eq_ignore_ascii_case(&format!("https://{host}")))
}

/// Why a form was refused.
fn refuse(ctx: &Ctx, status: StatusCode, message: &str) -> Response {
    layout::error_page(ctx, status, "Refused", message)
}

async fn form_bytes(req: Request) -> Result<(Ctx, axum::body::Bytes), Response> {
    let (mut parts, body) = req.into_parts();
    let ctx = Ctx::from_request_parts(&mut parts, &()).await?;
    match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => Ok((ctx, b)),
        Err(_) => Err(refuse(
            &ctx,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is larger than the console accepts (1 MiB).",
        )),
    }
}

fn check_token(ctx: &Ctx, token: Option<&str>) -> Result<(), Response> {
    let expected = dps_protocol::auth::Secret::from(ctx.session.csrf.as_str());
    match token {
        Some(t) if dps_protocol::auth::Secret::from(t) == expected => Ok(()),
        _ => Err(refuse(
            ctx,
            StatusCode::FORBIDDEN,
            "This form's anti-forgery token is missing or out of date (the page may have been \
             open across an emulator restart). Reload the page and try again.",
        )),
    }
}

fn check_write(ctx: &Ctx) -> Result<(), Response> {
    if ctx.can_write() {
        Ok(())
    } else {
        Err(refuse(
            ctx,
            StatusCode::FORBIDDEN,
            "This console is read-only: it was opened with the read-only policy. Sign in with \
             the owner policy to change anything.",
        ))
    }
}

#[derive(serde::Deserialize)]
struct TokenOnly {
    csrf: Option<String>,
}

/// A URL-encoded form whose anti-CSRF token matched; any session may send it (sign-in).
#[derive(Debug)]
pub(crate) struct TokenForm<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<Console>> for TokenForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request<Body>, _: &Arc<Console>) -> Result<Self, Response> {
        let (ctx, bytes) = form_bytes(req).await?;
        let token: TokenOnly = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| refuse(&ctx, StatusCode::BAD_REQUEST, "The form could not be read."))?;
        check_token(&ctx, token.csrf.as_deref())?;
        serde_urlencoded::from_bytes(&bytes)
            .map(TokenForm)
            .map_err(|e| {
                refuse(
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    &format!("The form is incomplete: {e}."),
                )
            })
    }
}

/// A URL-encoded form that changes state: its token matched and the session may write.
#[derive(Debug)]
pub(crate) struct WriteForm<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<Console>> for WriteForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request<Body>, state: &Arc<Console>) -> Result<Self, Response> {
        let ctx = req.extensions().get::<Ctx>().cloned();
        if let Some(ctx) = &ctx {
            check_write(ctx)?;
        }
        TokenForm::<T>::from_request(req, state)
            .await
            .map(|TokenForm(t)| WriteForm(t))
    }
}

/// A form whose only field (besides the token) is the ETag the page showed, so a record that
/// changed since is not touched.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct EtagForm {
    /// The ETag the page showed.
    #[serde(default)]
    pub(crate) etag: String,
}

/// A confirmation page's query: the ETag the page that linked to it showed.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct EtagQuery {
    /// The ETag, when the link carried one.
    pub(crate) etag: Option<String>,
}

/// One part of a multipart form.
#[derive(Debug)]
pub(crate) struct Part {
    /// The content.
    pub(crate) bytes: axum::body::Bytes,
}

impl Part {
    /// An uploaded certificate file as the API's certificate fields take it: PEM (or base64)
    /// text as sent, binary DER (a `.cer`) as base64. `None` for an empty part (no file chosen).
    pub(crate) fn certificate_text(&self) -> Option<String> {
        use base64::Engine;
        match std::str::from_utf8(&self.bytes) {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(text.trim().to_owned()),
            Err(_) => Some(base64::engine::general_purpose::STANDARD.encode(&self.bytes)),
        }
    }
}

/// A multipart form (file uploads) that changes state: its token matched and the session may
/// write.
#[derive(Debug)]
pub(crate) struct WriteMultipart(pub(crate) std::collections::HashMap<String, Part>);

impl WriteMultipart {
    /// A text field, trimmed; empty when absent.
    pub(crate) fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .map(|p| String::from_utf8_lossy(&p.bytes).trim().to_owned())
            .unwrap_or_default()
    }
}

impl FromRequest<Arc<Console>> for WriteMultipart {
    type Rejection = Response;

    async fn from_request(req: Request<Body>, state: &Arc<Console>) -> Result<Self, Response> {
        if let Some(ctx) = req.extensions().get::<Ctx>() {
            check_write(ctx)?;
        }
        let unreadable = |ctx: &Ctx| {
            refuse(
                ctx,
                StatusCode::BAD_REQUEST,
                "The upload could not be read.",
            )
        };
        let (parts, body) = req.into_parts();
        let (ctx, bytes) = form_bytes(Request::from_parts(parts.clone(), body)).await?;
        let whole = Request::from_parts(parts, Body::from(bytes));
        let mut multipart = axum::extract::Multipart::from_request(whole, state)
            .await
            .map_err(|_| unreadable(&ctx))?;
        let mut fields = std::collections::HashMap::new();
        while let Some(field) = multipart.next_field().await.map_err(|_| unreadable(&ctx))? {
            let name = field.name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| unreadable(&ctx))?;
            fields.insert(name, Part { bytes });
        }
        let form = WriteMultipart(fields);
        check_token(&ctx, Some(form.text("csrf").as_str()))?;
        Ok(form)
    }
}

#[cfg(test)]
mod tests {
    use super::Part;

    fn part(bytes: &[u8]) -> Part {
        Part {
            bytes: axum::body::Bytes::copy_from_slice(bytes),
        }
    }

    #[test]
    fn a_der_file_becomes_base64_and_pem_text_is_kept() {
        assert_eq!(
            part(&[0x30, 0x82, 0xff]).certificate_text(),
            Some("MIL/".to_owned())
        );
        assert_eq!(
            part(b"\n-----BEGIN CERTIFICATE-----\n").certificate_text(),
            Some("-----BEGIN CERTIFICATE-----".to_owned())
        );
        assert_eq!(part(b" \n").certificate_text(), None);
    }
}
