//! The Certificates page: every CA certificate (name, subject, SHA-1 and SHA-256 thumbprints,
//! expiry, Verified/Unverified), uploading one (PEM or DER), and, on a certificate's own page
//! ([`detail`]), proof of possession and delete.
//!
//! Every operation is the certificate API's own function ([`crate::certificates`]): the name
//! rule, the CA-certificate quota, parsing, the ETag checks and the proof-of-possession checks
//! are applied there, and their error message is what the visitor reads.

mod detail;

use super::Console;
use super::guard::{Ctx, Part, WriteMultipart};
use super::layout::{self, Nav};
use super::session::NoticeKind;
use crate::certificates;
use crate::error::ApiError;
use crate::store::Record;
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::Value;
use std::sync::Arc;

/// The list's page; the upload form posts here too.
const LIST: &str = "/portal/certificates";

/// The page of CA certificate `name`.
fn detail_url(name: &str) -> String {
    format!("{LIST}/{}", layout::seg(name))
}

/// The list, the upload, and each certificate's page and actions.
pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route(LIST, get(list).post(upload))
        .route(
            "/portal/certificates/{name}",
            get(|ctx: Ctx, Path(name): Path<String>| async move { detail::page(&ctx, &name) }),
        )
        .route(
            "/portal/certificates/{name}/verification-code",
            post(detail::generate_code),
        )
        .route("/portal/certificates/{name}/verify", post(detail::verify))
        .route(
            "/portal/certificates/{name}/delete",
            get(
                |ctx: Ctx, Path(name): Path<String>, RawQuery(q): RawQuery| async move {
                    detail::confirm_delete(&ctx, &name, q.as_deref())
                },
            )
            .post(detail::delete),
        )
}

/// A string field of a certificate record's body, `-` when absent.
fn text<'a>(rec: &'a Record, field: &str) -> &'a str {
    rec.body.get(field).and_then(Value::as_str).unwrap_or("-")
}

/// The Verified/Unverified badge of a CA certificate.
fn status_badge(rec: &Record) -> Markup {
    html! {
        @if certificates::is_verified(rec) {
            span.badge.ok { "Verified" }
        } @else {
            span.badge.bad { "Unverified" }
        }
    }
}

/// What the upload form had, to fill it again after a refusal (a browser cannot refill a file
/// input; the form asks for the file again).
#[derive(Debug, Default)]
struct UploadInputs {
    name: String,
    verified: bool,
}

/// Why an upload was refused: the status to answer with and the API's (or the form's) words.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    message: String,
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status(),
            message: e.message,
        }
    }
}

/// `GET /portal/certificates`.
async fn list(ctx: Ctx) -> Response {
    list_page(&ctx, &UploadInputs::default(), None)
}

/// `POST /portal/certificates`: the API's upload (no `If-Match`, so an existing name is
/// refused rather than replaced), then the list; on a refusal, the list again with the
/// reason above the form.
async fn upload(ctx: Ctx, form: WriteMultipart) -> Response {
    let inputs = UploadInputs {
        name: form.text("name"),
        verified: !form.text("verified").is_empty(),
    };
    let uploaded = form
        .0
        .get("certificate")
        .and_then(Part::certificate_text)
        .ok_or_else(|| Refused {
            status: StatusCode::BAD_REQUEST,
            message: "Choose the CA certificate file (PEM or CER) to upload.".to_owned(),
        })
        .and_then(|cert| {
            certificates::upload(&ctx.console.app, &inputs.name, &cert, inputs.verified, None)
                .map_err(Refused::from)
        });
    match uploaded {
        Ok((_, rec)) => {
            let next = if certificates::is_verified(&rec) {
                "marked verified on upload"
            } else {
                "Unverified: open it and generate a verification code to prove possession"
            };
            ctx.session.notify(
                NoticeKind::Done,
                format!("Uploaded CA certificate {:?} ({next}).", rec.id),
            );
            layout::see_other(LIST)
        }
        Err(refused) => list_page(&ctx, &inputs, Some(&refused)),
    }
}

/// The list with the upload form (filled with `inputs`, under `refused`'s reason).
fn list_page(ctx: &Ctx, inputs: &UploadInputs, refused: Option<&Refused>) -> Response {
    let status = refused.map_or(StatusCode::OK, |r| r.status);
    let all = match certificates::list(&ctx.console.app) {
        Ok(all) => all,
        Err(e) => return layout::error_page(ctx, e.status(), "Cannot read", &e.message),
    };
    let body = html! {
        p.muted {
            "CA certificates the service trusts for enrollment groups. A CA is used for device "
            "attestation only once it is verified: generate a verification code, sign a "
            "certificate with that code as its common name using the CA's key, and upload it."
        }
        @if ctx.can_write() {
            (upload_form(ctx, inputs, refused))
        }
        @if all.is_empty() {
            p.muted #no-certificates { "No CA certificates yet." }
        } @else {
            div.table-wrap { (table(ctx, &all)) }
        }
    };
    layout::page_with_status(ctx, status, Nav::Certificates, "Certificates", body)
}

/// The upload form. It comes first on the page: its inputs are the page's first `name` and
/// file inputs.
fn upload_form(ctx: &Ctx, inputs: &UploadInputs, refused: Option<&Refused>) -> Markup {
    html! {
        section.panel aria-labelledby="upload-heading" {
            h2 #upload-heading { "Add certificate" }
            @if let Some(r) = refused {
                p.notice.failed role="alert" #upload-error { (r.message) }
            }
            form.stack #upload method="post" action=(LIST) enctype="multipart/form-data" {
                (layout::csrf_field(ctx))
                label for="certificate-name" { "Certificate name" }
                input #certificate-name name="name" required autocomplete="off"
                    spellcheck="false" value=(inputs.name) aria-describedby="certificate-name-hint";
                small.muted #certificate-name-hint {
                    "1 to 64 letters, digits, '-', '_' or '.' (not dots only); checked by the certificate API."
                }
                label for="certificate-file" { "Certificate file (.pem or .cer)" }
                input #certificate-file type="file" name="certificate" required
                    accept=".pem,.cer,.crt,.der";
                @if refused.is_some() {
                    small.muted { "Choose the file again: a browser does not keep it." }
                }
                label.choice {
                    input type="checkbox" name="verified" value="on" checked[inputs.verified];
                    " Set certificate status to verified on upload (skips proof of possession)"
                }
                div.toolbar { button type="submit" { "Upload" } }
            }
        }
    }
}

/// The table of every CA certificate.
fn table(ctx: &Ctx, all: &[Record]) -> Markup {
    html! {
        table.responsive #certificates {
            thead {
                tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Subject" }
                    th scope="col" { "SHA-1 thumbprint" }
                    th scope="col" { "SHA-256 thumbprint" }
                    th scope="col" { "Expiry" }
                    th scope="col" { "Status" }
                    @if ctx.can_write() { th scope="col" { "Actions" } }
                }
            }
            tbody {
                @for rec in all {
                    @let sha256 = certificates::info(rec).map(|i| i.sha256_thumbprint).ok();
                    tr data-id=(rec.id) {
                        td data-label="Name" { a href=(detail_url(&rec.id)) { (rec.id) } }
                        td data-label="Subject" { (text(rec, "subject")) }
                        td data-label="SHA-1" { code { (text(rec, "thumbprint")) } }
                        td data-label="SHA-256" { code { (sha256.as_deref().unwrap_or("-")) } }
                        td data-label="Expiry" { (layout::date(rec.body.get("expiry").and_then(Value::as_str))) }
                        td data-label="Status" { (status_badge(rec)) }
                        @if ctx.can_write() {
                            td data-label="Actions" {
                                div.toolbar {
                                    @if !certificates::is_verified(rec) {
                                        (detail::generate_form(ctx, rec))
                                    }
                                    a.button.secondary href=(detail::delete_url(rec)) { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_the_name() {
        assert_eq!(detail_url("my.root-1"), "/portal/certificates/my.root-1");
        assert_eq!(detail_url("a/b"), "/portal/certificates/a%2Fb");
    }
}
