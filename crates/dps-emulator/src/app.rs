//! Request routing and the shared state every handler sees.
//!
//! Routing is hand-written instead of axum's router because DPS's paths need what axum does not
//! do: literal segments matched ignoring case (Node sends `/enrollmentgroups/...`), trailing
//! slashes tolerated, and ids percent-decoded but never case-folded.

use crate::auth::{self, Policies, Right};
use crate::config::EmulatorConfig;
use crate::error::{ApiError, ApiResult, codes};
use crate::store::Store;
use crate::throttle::Throttle;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// The state of one emulator instance.
#[derive(Debug)]
pub(crate) struct App {
    /// How it was configured.
    pub(crate) config: EmulatorConfig,
    /// Its records.
    pub(crate) store: Store,
    /// Shared access policies.
    pub(crate) policies: Policies,
    /// The port it listens on.
    pub(crate) port: u16,
    /// Quota accounting.
    pub(crate) throttle: Throttle,
    /// Open MQTT device connections.
    pub(crate) mqtt: crate::mqtt::Connections,
    /// The web console's port, if it is on: the main listener sends `/portal/` there.
    pub(crate) console_port: Option<u16>,
    /// The latest device attempts, for the console's Device activity page.
    pub(crate) activity: crate::activity::Activity,
}

/// What the TLS layer learned about the connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnInfo {
    /// The client's certificate chain, leaf first, if it sent one.
    pub(crate) peer_certificates: Option<Arc<Vec<CertificateDer<'static>>>>,
}

/// One request, parsed.
#[derive(Debug)]
pub(crate) struct Req {
    /// HTTP method.
    pub(crate) method: Method,
    /// Raw (still percent-encoded) path, for SAS audiences.
    pub(crate) raw_path: String,
    /// Path segments, percent-decoded, trailing empty segment dropped.
    pub(crate) segments: Vec<String>,
    /// Request headers.
    pub(crate) headers: HeaderMap,
    /// Request body.
    pub(crate) body: Bytes,
    /// TLS peer certificates.
    pub(crate) conn: ConnInfo,
    /// The host the client addressed: the `Host` header, or the HTTP/2 `:authority`.
    pub(crate) authority: Option<String>,
}

impl Req {
    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `If-Match` with one pair of quotes stripped.
    pub(crate) fn if_match(&self) -> Option<String> {
        self.header("if-match").map(|v| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v)
                .to_owned()
        })
    }

    /// The JSON body, or a 400 that says what is wrong with it.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> ApiResult<T> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request(
                "the request body is empty; a JSON document is required",
            ));
        }
        dps_protocol::json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }

    /// Whether literal segment `i` equals `lit`, ignoring case.
    pub(crate) fn lit(&self, i: usize, lit: &str) -> bool {
        self.segments
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case(lit))
    }
}

impl App {
    /// The names this emulator answers to: loopback's and the configured host names.
    pub(crate) fn own_names(&self) -> impl Iterator<Item = &str> {
        ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .chain(self.config.host_names.iter().map(String::as_str))
    }

    /// The host part of `authority` (a `Host` header: `name`, `name:port`, `[v6]:port`) when
    /// it is one of [`Self::own_names`], compared without case and without IPv6 brackets; the
    /// one check behind SAS audiences, the console's DNS-rebinding guard and its redirect.
    pub(crate) fn own_host<'a>(&self, authority: &'a str) -> Option<&'a str> {
        let host = match authority.rsplit_once(':') {
            Some((h, port))
                if !h.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && (h.starts_with('[') || !h.contains(':')) =>
            {
                h
            }
            _ => authority,
        };
        let bare = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_owned();
        let wanted = bare(host);
        self.own_names()
            .any(|n| bare(n).eq_ignore_ascii_case(&wanted))
            .then_some(host)
    }

    /// Checks the SAS of a service or certificate API call.
    pub(crate) fn authorize(&self, req: &Req, right: Right) -> ApiResult<()> {
        // The names this emulator answers to: its own names with its port, plus the name the
        // client used (Host, or the HTTP/2 authority) when that is one of its names on any port,
        // so a forwarded port works but another host's token does not.
        let mut hosts = Vec::new();
        if let Some(used) = req.authority.as_deref()
            && self.own_host(used).is_some()
        {
            hosts.push(used.to_owned());
        }
        hosts.extend(self.own_names().map(|n| format!("{n}:{}", self.port)));
        let path = percent_encoding::percent_decode_str(&req.raw_path)
            .decode_utf8_lossy()
            .into_owned();
        auth::check(
            &self.policies,
            req.header("authorization"),
            &hosts,
            &path,
            self.config.clock.unix(),
            right,
        )
    }
}

/// The one handler: answers the request ([`handle`]) and logs it at info level, the one
/// place requests are logged.
///
/// The line names the method, the path (never the query string, and no header: the
/// `Authorization` SAS stays out), the status, the time taken and, for the device API, the
/// registration id, so a user sees what their device or SDK sent.
pub(crate) async fn dispatch(
    state: State<Arc<App>>,
    conn: Option<axum::Extension<ConnInfo>>,
    request: Request<Body>,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = if let Some(to) = console_redirect(&state, &request) {
        to
    } else if crate::mqtt::websocket::is_upgrade_request(&request) {
        let (mut parts, _) = request.into_parts();
        if let Some(axum::Extension(info)) = conn {
            parts.extensions.insert(info);
        }
        crate::mqtt::websocket::upgrade(state.0, parts).await
    } else {
        handle(state, conn, request).await
    };
    if tracing::enabled!(tracing::Level::INFO) {
        let segments = path_segments(&path);
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            duration_ms = %format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            registration_id = device_registration_id(&segments),
            "request"
        );
    }
    response
}

/// A browser that opens the console on the device listener (`/portal/...`) is sent to the
/// console's own listener, whose handshake asks no client certificate. No DPS path starts
/// with `portal`, so the API is unaffected; with the console off the path stays a 404.
fn console_redirect(app: &App, request: &Request<Body>) -> Option<Response> {
    let port = app.console_port?;
    let path = request.uri().path();
    let rest = path.strip_prefix("/portal")?;
    if !(rest.is_empty() || rest.starts_with('/')) || request.method() != Method::GET {
        return None;
    }
    // The name the browser used, when it is one of the emulator's, so it stays on this host.
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .and_then(|h| app.own_host(h))
        .unwrap_or("localhost");
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let location = format!("https://{host}:{port}/portal{rest}{query}");
    Some(
        (
            axum::http::StatusCode::TEMPORARY_REDIRECT,
            [(axum::http::header::LOCATION, location)],
        )
            .into_response(),
    )
}

/// The percent-decoded segments of a request path, without the trailing empty one(s).
fn path_segments(raw_path: &str) -> Vec<String> {
    let mut segments: Vec<String> = raw_path
        .split('/')
        .skip(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    while segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    segments
}

/// Whether the path is the device API's (`/{idScope}/registrations/{id}/...`): the service
/// API's own collections never start a device path.
fn is_device_path(segments: &[String]) -> bool {
    let lit = |i: usize, lit: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(lit));
    segments.len() >= 3
        && lit(1, "registrations")
        && ![
            "enrollments",
            "enrollmentGroups",
            "registrations",
            "subscriptions",
        ]
        .iter()
        .any(|c| lit(0, c))
}

/// The registration id of a device API request, from its path.
fn device_registration_id(segments: &[String]) -> Option<&str> {
    is_device_path(segments).then(|| segments[2].as_str())
}

/// Parses the request, applies faults and quotas, and routes it.
async fn handle(
    State(app): State<Arc<App>>,
    conn: Option<axum::Extension<ConnInfo>>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let max_body = app.config.limits.max_body_bytes;
    if let Err(e) = check_framing(&parts, max_body) {
        return e.into_response();
    }
    let body = match read_body(body, max_body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_content_type(&parts.headers, &body) {
        return e.into_response();
    }
    let raw_path = parts.uri.path().to_owned();
    let segments = path_segments(&raw_path);
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    let d = |s: &str| {
                        percent_encoding::percent_decode_str(s)
                            .decode_utf8_lossy()
                            .into_owned()
                    };
                    (d(k), d(v))
                })
                .collect()
        })
        .unwrap_or_default();
    let api_version = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.clone());
    let authority = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()));
    let req = Req {
        method: parts.method,
        raw_path,
        segments,
        headers: parts.headers,
        body,
        conn: conn.map(|c| c.0).unwrap_or_default(),
        authority,
    };
    let is_arm = req.lit(0, "subscriptions");
    let result = match api_version {
        None => Err(ApiError::new(
            codes::BAD_API_VERSION,
            "the api-version query parameter is required",
        )),
        Some(v) if !is_arm && !api_version_supported(&v) => Err(ApiError::new(
            codes::BAD_API_VERSION,
            format!(
                "api-version {v:?} is not supported; use one from 2017-08-31 to 2026-04-01 \
                 (a calendar date, YYYY-MM-DD, optionally with -preview)"
            ),
        )),
        Some(_) => route(&app, &req).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn route(app: &Arc<App>, req: &Req) -> ApiResult<Response> {
    if is_device_path(&req.segments) {
        admit(app, Admission::Device).await?;
        return crate::device::handle(app, req).await;
    }
    admit(app, Admission::Service).await?;
    if req.lit(0, "subscriptions") {
        return crate::certificates::handle(app, req);
    }
    crate::service::handle(app, req)
}

/// The `--fail-rate` fault, drawn for one request.
fn injected_fault(app: &App) -> ApiResult<()> {
    if app.config.faults.error_rate > 0.0 && random_unit() < app.config.faults.error_rate {
        let status = app.config.faults.status.clamp(400, 599);
        let mut e = ApiError::new(
            codes::ErrorCode::from_parts(status, 1),
            format!("injected fault (HTTP {status})"),
        );
        if status == 503 || status == 429 {
            e.retry_after = Some(1);
        }
        return Err(e);
    }
    Ok(())
}

/// Which quota a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A device request (register, poll, status), over any transport.
    Device,
    /// A service, certificate or ARM request.
    Service,
}

/// Admits one request, whatever carried it (HTTPS, MQTT, MQTT over WebSocket): the
/// `--latency-ms` delay, the `--fail-rate` fault, then the per-minute quota of its kind.
pub(crate) async fn admit(app: &App, kind: Admission) -> ApiResult<()> {
    if !app.config.faults.latency.is_zero() {
        tokio::time::sleep(app.config.faults.latency).await;
    }
    injected_fault(app)?;
    let clock = app.config.clock.as_ref();
    match kind {
        Admission::Device => app.throttle.registration(clock),
        Admission::Service => app.throttle.service(clock),
    }
}

/// A number in [0, 1) from the system's randomness.
pub(crate) fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// A 200 JSON response with DPS's content type.
pub(crate) fn json_response(
    status: axum::http::StatusCode,
    value: &impl serde::Serialize,
) -> ApiResult<Response> {
    let body =
        serde_json::to_vec(value).map_err(|e| ApiError::new(codes::INTERNAL, e.to_string()))?;
    Ok((
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// 405 for a known path with the wrong method.
pub(crate) fn method_not_allowed(req: &Req) -> ApiError {
    ApiError::new(
        codes::METHOD_NOT_ALLOWED,
        format!("{} is not allowed on {}", req.method, req.raw_path),
    )
}

/// 404 for an unknown path.
pub(crate) fn unknown_path(req: &Req) -> ApiError {
    ApiError::new(
        codes::NOT_FOUND,
        format!("no such operation: {} {}", req.method, req.raw_path),
    )
}

mod rules;
pub(crate) use rules::api_version_supported;
use rules::{check_content_type, check_framing, read_body};

#[cfg(test)]
mod log_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_ids_come_from_device_paths_only() {
        let id = |path: &str| device_registration_id(&path_segments(path)).map(str::to_owned);
        assert_eq!(
            id("/0ne00000000/registrations/dev%201/register/").as_deref(),
            Some("dev 1")
        );
        assert_eq!(
            id("/0ne00000000/registrations/dev1/operations/4.a.b").as_deref(),
            Some("dev1")
        );
        assert_eq!(
            id("/0ne00000000/registrations/dev1").as_deref(),
            Some("dev1")
        );
        for service in [
            "/registrations/dev1",
            "/enrollments/dev1",
            "/enrollmentGroups/g/registrations/x",
            "/subscriptions/s/registrations/x",
            "/0ne00000000/registrations",
        ] {
            assert_eq!(id(service), None, "{service}");
        }
    }
}
