//! The Overview page: the emulator at a glance — ID scope, endpoints, linked hubs, allocation
//! defaults, counts, and the connection strings (hidden until revealed, one-click copy).

use super::guard::Ctx;
use super::layout::{self, Nav};
use crate::auth::Right;
use crate::store::Kind;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

/// `GET /portal/`.
pub(crate) async fn page(ctx: Ctx) -> Response {
    let Some(info) = ctx.console.info() else {
        return layout::error_page(
            &ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "Starting",
            "The emulator is still starting; reload in a moment.",
        );
    };
    let store = &ctx.console.app.store;
    let counts = [
        (
            Kind::Group,
            "Enrollment groups",
            "/portal/enrollments?tab=groups",
        ),
        (
            Kind::Enrollment,
            "Individual enrollments",
            "/portal/enrollments?tab=individual",
        ),
        (
            Kind::Registration,
            "Registration records",
            "/portal/registrations",
        ),
        (Kind::Certificate, "CA certificates", "/portal/certificates"),
    ]
    .map(|(kind, label, link)| (store.count(kind).ok(), label, link));
    let websocket = format!("wss://localhost:{}/$iothub/websocket", ctx.console.app.port);
    let body = html! {
        section.counts aria-label="Counts" {
            @for (n, label, link) in &counts {
                a.count href=(link) {
                    b { @match n { Some(n) => (n), None => "?" } }
                    (label)
                }
            }
        }
        div.grid {
            section.panel {
                h2 { "Endpoints" }
                dl.facts {
                    dt { "ID scope" } dd { code #id-scope { (info.id_scope) } }
                    dt { "Service API" } dd { code { (info.service_endpoint) } }
                    dt { "Devices (HTTPS)" } dd { code { (info.device_endpoint) } }
                    dt { "Devices (MQTT)" } dd {
                        @match &info.mqtt_endpoint {
                            Some(m) => code { (m) },
                            None => span.muted { "off (--mqtt-listen)" },
                        }
                    }
                    dt { "Devices (MQTT over WebSocket)" } dd { code { (websocket) } }
                    dt { "TLS CA to trust" } dd { code { (info.ca_certificate_path.display()) } }
                }
            }
            section.panel {
                h2 { "Linked IoT hubs and allocation" }
                ul {
                    @for hub in &info.iot_hubs { li { code { (hub) } } }
                }
                p.muted {
                    "An enrollment without an allocation policy is allocated "
                    b { "evenly weighted (hashed)" }
                    " over its own hubs, or these linked hubs when it names none; "
                    "geoLatency behaves like hashed here. Reprovisioning defaults to "
                    "re-provisioning and migrating data."
                }
            }
        }
        section.panel {
            h2 { "Connection strings" }
            p.muted { "Shared access policies. Keys are hidden until you reveal them." }
            @if ctx.session.right == Some(Right::Write) {
                (layout::secret("cs-owner", "provisioningserviceowner (all rights)", &info.service_connection_string))
            }
            (layout::secret("cs-read", "enrollmentread (read only)", &info.read_only_connection_string))
        }
    };
    layout::page(&ctx, Nav::Overview, "Overview", body)
}
