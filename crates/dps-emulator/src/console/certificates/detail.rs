//! One CA certificate: what the service knows of it (subject, issuer, thumbprints, validity,
//! Verified/Unverified, ETag), proof of possession as the portal does it (**Generate
//! verification code**, the commands that make the verification certificate, upload it to
//! **Verify**), and Delete with a confirmation.
//!
//! Every write carries the ETag the page showed and goes through the certificate API's own
//! function ([`certificates::generate_code`], [`certificates::verify`],
//! [`certificates::delete`]), so a change made meanwhile is refused as the API refuses it (412)
//! and said so, and a failed proof of possession reads as the API words it.

use super::{LIST, detail_url, status_badge, text};
use crate::certificates::{self, PendingCode};
use crate::console::guard::{Ctx, WriteForm, WriteMultipart};
use crate::console::guard::{EtagForm, EtagQuery, Part};
use crate::console::layout::{self, Nav};
use crate::console::session::NoticeKind;
use crate::error::ApiError;
use crate::store::Record;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use dps_protocol::models::{Timestamp, X509CertificateInfo};
use maud::{Markup, html};
use serde_json::Value;

/// The confirmation page of deleting `rec`, carrying the ETag shown with it.
pub(super) fn delete_url(rec: &Record) -> String {
    format!(
        "{}/delete?etag={}",
        detail_url(&rec.id),
        layout::seg(&rec.etag)
    )
}

/// The **Generate verification code** button for `rec`, with its ETag.
pub(super) fn generate_form(ctx: &Ctx, rec: &Record) -> Markup {
    html! {
        form.inline method="post" action=(format!("{}/verification-code", detail_url(&rec.id))) {
            (layout::csrf_field(ctx))
            input type="hidden" name="etag" value=(rec.etag);
            button.secondary type="submit" { "Generate verification code" }
        }
    }
}

/// What a failed read becomes: a 404 page naming the certificate, otherwise the API's error.
fn read_failed(ctx: &Ctx, name: &str, e: &ApiError) -> Response {
    if e.status() != StatusCode::NOT_FOUND {
        return layout::error_page(ctx, e.status(), "Cannot read", &e.message);
    }
    let body = html! {
        p.notice.failed role="alert" { "There is no CA certificate named " code { (name) } "." }
        p { a href=(LIST) { "Back to the certificates" } }
    };
    layout::page_with_status(
        ctx,
        StatusCode::NOT_FOUND,
        Nav::Certificates,
        "Not found",
        body,
    )
}

/// `GET /portal/certificates/{name}`.
pub(super) fn page(ctx: &Ctx, name: &str) -> Response {
    let rec = match certificates::get(&ctx.console.app, name) {
        Ok(rec) => rec,
        Err(e) => return read_failed(ctx, name, &e),
    };
    let info = certificates::info(&rec).ok();
    let body = html! {
        p { a href=(LIST) { "← Certificates" } }
        (summary(ctx, &rec, info.as_ref()))
        (proof(ctx, &rec, info.as_ref()))
    };
    layout::page(
        ctx,
        Nav::Certificates,
        &format!("CA certificate {}", rec.id),
        body,
    )
}

/// What the service knows of the certificate, and Delete.
fn summary(ctx: &Ctx, rec: &Record, info: Option<&X509CertificateInfo>) -> Markup {
    let date = |field: &str| layout::date(rec.body.get(field).and_then(Value::as_str));
    html! {
        section.panel aria-labelledby="summary-heading" {
            h2 #summary-heading { "Details" }
            dl.facts.certificate {
                dt { "Name" } dd { code { (rec.id) } }
                dt { "Subject" } dd #subject { (text(rec, "subject")) }
                @if let Some(info) = info {
                    dt { "Issuer" } dd { (info.issuer_name) }
                }
                dt { "SHA-1 thumbprint" } dd { code { (text(rec, "thumbprint")) } }
                @if let Some(info) = info {
                    dt { "SHA-256 thumbprint" } dd { code { (info.sha256_thumbprint) } }
                    dt { "Valid from" } dd { (layout::date(Some(info.not_before_utc.as_str()))) }
                }
                dt { "Expiry" } dd { (date("expiry")) }
                dt { "Status" } dd #status { (status_badge(rec)) }
                dt { "ETag" } dd { code #etag { (rec.etag) } }
                dt { "Uploaded" } dd { (date("created")) }
                dt { "Last updated" } dd { (date("updated")) }
            }
            @if ctx.can_write() {
                div.toolbar {
                    a.button.danger href=(delete_url(rec)) { "Delete" }
                }
            }
        }
    }
}

/// Proof of possession: the steps, the code and the Verify form for an unverified CA.
fn proof(ctx: &Ctx, rec: &Record, info: Option<&X509CertificateInfo>) -> Markup {
    let pending = certificates::pending_code(&ctx.console.app, rec);
    html! {
        section.panel #proof aria-labelledby="proof-heading" {
            h2 #proof-heading { "Proof of possession" }
            @if certificates::is_verified(rec) {
                p {
                    span.badge.ok { "Verified" }
                    " Enrollment groups may reference this CA, and devices whose chain ends at it "
                    "are accepted."
                }
            } @else if !ctx.can_write() {
                p.notice.warn {
                    "Unverified. This console is read-only: sign in with the owner policy to "
                    "prove possession of this CA's key."
                }
            } @else {
                ol.steps {
                    li {
                        p {
                            "Generate a verification code. It is valid for an hour, and a new one "
                            "replaces the last."
                        }
                        (generate_form(ctx, rec))
                    }
                    li {
                        p {
                            "Make a certificate whose common name is that code, signed with this "
                            "CA's private key."
                        }
                        @match &pending {
                            Some(pc) if !pc.expired => (code(pc, info)),
                            Some(pc) => p.notice.warn #code-expired {
                                "The verification code " code { (pc.code) } " expired"
                                (expiry_text(pc)) "; generate a new one."
                            },
                            None => p.muted { "No verification code is pending." },
                        }
                    }
                    li {
                        p { "Upload the verification certificate." }
                        @if pending.as_ref().is_some_and(|p| !p.expired) {
                            (verify_form(ctx, rec))
                        } @else {
                            p.muted { "Generate a verification code first." }
                        }
                    }
                }
            }
        }
    }
}

/// ` at <time>` of a code's expiry, when it has one.
fn expiry_text(p: &PendingCode) -> String {
    p.expires
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(|t| format!(" at {}", Timestamp::from_datetime_seconds(t).into_string()))
        .unwrap_or_default()
}

/// The pending code, prominently, and the commands that make its verification certificate.
fn code(p: &PendingCode, info: Option<&X509CertificateInfo>) -> Markup {
    // certGen.sh signs with its root; an intermediate CA proves possession with dps-cli's
    // --from-intermediate.
    let intermediate = info.is_some_and(|i| i.issuer_name != i.subject_name);
    let dps_cli = format!(
        "dps-cli certs create-verification-certificate {}{}",
        p.code,
        if intermediate {
            " --from-intermediate"
        } else {
            ""
        }
    );
    let out = format!("certs/{}.cert.pem", dps_certgen::VERIFICATION_PREFIX);
    html! {
        p.verification-code {
            "Verification code: " code #verification-code { (p.code) }
        }
        p.muted { "Expires" (expiry_text(p)) "." }
        p {
            "With dps-cli, where you made the CA with " code { "dps-cli certs create-root-and-intermediate" }
            " (it writes " code { "certs/" (out) } "):"
        }
        pre #dps-cli-command { (dps_cli) }
        @if !intermediate {
            p { "Or with Azure's certGen.sh, in its folder (it writes " code { (out) } "):" }
            pre #certgen-command { "./certGen.sh create_verification_certificate " (p.code) }
        }
    }
}

/// The Verify form: the verification certificate file and the ETag the page showed.
fn verify_form(ctx: &Ctx, rec: &Record) -> Markup {
    html! {
        form.stack #verify method="post" action=(format!("{}/verify", detail_url(&rec.id)))
            enctype="multipart/form-data" {
            (layout::csrf_field(ctx))
            input type="hidden" name="etag" value=(rec.etag);
            label for="verification-file" { "Verification certificate (.pem or .cer)" }
            input #verification-file type="file" name="certificate" required
                accept=".pem,.cer,.crt,.der";
            div.toolbar { button type="submit" { "Verify" } }
        }
    }
}

/// The page for a write refused because the certificate changed since the page showing it was
/// loaded (412): nothing was changed; reload to see the current version.
fn conflict(ctx: &Ctx, name: &str, e: &ApiError) -> Response {
    let body = html! {
        p.notice.failed role="alert" #conflict {
            "Nothing was changed: this CA certificate changed since the page was loaded "
            "(someone else uploaded it again, generated a verification code, verified or "
            "deleted it, so its ETag no longer matches). "
        }
        p.muted { "The service said: " (e.message) }
        p { a.button href=(detail_url(name)) { "Reload the certificate" } }
    };
    layout::page_with_status(
        ctx,
        e.status(),
        Nav::Certificates,
        "Changed since the page was loaded",
        body,
    )
}

/// What a failed write becomes: the conflict page for 412; otherwise a notice with the API's
/// message, on the certificate's page (or the list, when it is gone).
fn write_failed(ctx: &Ctx, name: &str, e: &ApiError) -> Response {
    if e.status() == StatusCode::PRECONDITION_FAILED {
        return conflict(ctx, name, e);
    }
    ctx.session.notify(NoticeKind::Failed, e.message.clone());
    if e.status() == StatusCode::NOT_FOUND {
        layout::see_other(LIST)
    } else {
        layout::see_other(&format!("{}#proof", detail_url(name)))
    }
}

/// `POST /portal/certificates/{name}/verification-code`: the API's
/// `generateVerificationCode` with `If-Match` = the ETag the page showed; then the
/// certificate's page, which shows the code.
pub(super) async fn generate_code(
    ctx: Ctx,
    Path(name): Path<String>,
    WriteForm(form): WriteForm<EtagForm>,
) -> Response {
    match certificates::generate_code(&ctx.console.app, &name, &form.etag) {
        Ok(_) => {
            ctx.session.notify(
                NoticeKind::Done,
                format!(
                    "Generated a verification code for {name:?}: make a verification \
                     certificate with it and upload it below."
                ),
            );
            layout::see_other(&format!("{}#proof", detail_url(&name)))
        }
        Err(e) => write_failed(&ctx, &name, &e),
    }
}

/// `POST /portal/certificates/{name}/verify`: the API's `verify` with `If-Match` = the ETag
/// the page showed and the uploaded verification certificate; then the list, where the CA
/// now reads Verified (or, refused, the certificate's page with the API's reason).
pub(super) async fn verify(ctx: Ctx, Path(name): Path<String>, form: WriteMultipart) -> Response {
    let etag = form.text("etag");
    let file = form.0.get("certificate");
    let verified = certificates::verify(&ctx.console.app, &name, &etag, || {
        file.and_then(Part::certificate_text).ok_or_else(|| {
            ApiError::arm(
                400,
                "InvalidRequestBody",
                "choose the verification certificate file (PEM or CER) to upload",
            )
        })
    });
    match verified {
        Ok(_) => {
            ctx.session.notify(
                NoticeKind::Done,
                format!("Proof of possession accepted: {name:?} is now verified."),
            );
            layout::see_other(LIST)
        }
        Err(e) => write_failed(&ctx, &name, &e),
    }
}

/// `GET /portal/certificates/{name}/delete?etag=`: what will be deleted, and the form that
/// deletes it with the ETag the linking page showed.
pub(super) fn confirm_delete(ctx: &Ctx, name: &str, query: Option<&str>) -> Response {
    let rec = match certificates::get(&ctx.console.app, name) {
        Ok(rec) => rec,
        Err(e) => return read_failed(ctx, name, &e),
    };
    let q: EtagQuery = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let etag = q
        .etag
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| rec.etag.clone());
    let stale = etag != rec.etag;
    let body = html! {
        dl.facts {
            dt { "Name" } dd { code { (rec.id) } }
            dt { "Subject" } dd { (text(&rec, "subject")) }
            dt { "Status" } dd { (status_badge(&rec)) }
            dt { "ETag" } dd { code { (etag) } }
        }
        @if !ctx.can_write() {
            p.notice.failed role="alert" {
                "This console is read-only: it was opened with the read-only policy. Sign in with the owner policy to delete."
            }
            p { a href=(detail_url(&rec.id)) { "Back to the certificate" } }
        } @else if stale {
            p.notice.failed role="alert" #conflict {
                "This CA certificate changed since its page was loaded, so deleting it now would be refused. "
                a href=(detail_url(&rec.id)) { "Reload it" } " and review it first."
            }
        } @else {
            p {
                "Delete the CA certificate " code { (rec.id) } "? Enrollment groups that "
                "reference it stop accepting devices. This cannot be undone."
            }
            form.inline method="post" action=(format!("{}/delete", detail_url(&rec.id))) {
                (layout::csrf_field(ctx))
                input type="hidden" name="etag" value=(etag);
                button.danger type="submit" { "Delete" }
                a href=(detail_url(&rec.id)) { "Cancel" }
            }
        }
    };
    layout::page(ctx, Nav::Certificates, "Delete CA certificate?", body)
}

/// `POST /portal/certificates/{name}/delete`: the API's `DELETE` with `If-Match` = the ETag
/// the confirmation page showed.
pub(super) async fn delete(
    ctx: Ctx,
    Path(name): Path<String>,
    WriteForm(form): WriteForm<EtagForm>,
) -> Response {
    match certificates::delete(&ctx.console.app, &name, &form.etag) {
        Ok(()) => {
            ctx.session.notify(
                NoticeKind::Done,
                format!("Deleted the CA certificate {name:?}."),
            );
            layout::see_other(LIST)
        }
        Err(e) => write_failed(&ctx, &name, &e),
    }
}
