//! The "Add enrollment group" form: a group from an uploaded certificate, a verified CA or a
//! symmetric key, with its IoT hub, provisioning status, IoT Edge capability and initial twin
//! tags.
//!
//! The form builds the JSON body a client would `PUT` and hands it to the function that serves
//! the API's `PUT` ([`service::replace`]: validation, then the write), with
//! [`Precondition::Absent`] so a create never overwrites an existing group. Every rule (id
//! characters, certificate parsing, quotas, key generation) is therefore the API's, and its
//! error message is what the visitor reads, above the form re-rendered with what they typed.

use super::Console;
use super::guard::{Ctx, Part, WriteMultipart};
use super::layout::{self, Nav};
use super::session::NoticeKind;
use crate::records::Collection;
use crate::service::{self, Precondition};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};
use std::sync::Arc;

/// The form's page.
const NEW_PATH: &str = "/portal/enrollments/new-group";
/// Where the form posts.
const CREATE_PATH: &str = "/portal/enrollments/groups";

/// The form and its target.
pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route(NEW_PATH, get(new_page))
        // The address bar after a refused create: a reload shows the form again.
        .route(
            CREATE_PATH,
            post(create).get(|| async { layout::see_other(NEW_PATH) }),
        )
}

/// How member devices of the new group prove their identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Attestation {
    /// Symmetric keys the service generates (devices derive theirs from the group key).
    #[default]
    SymmetricKey,
    /// An uploaded certificate, kept as the group's primary signing certificate.
    Certificate,
    /// A CA certificate already uploaded to the service (and verified), referenced by name.
    Ca,
}

impl Attestation {
    /// Every choice with its form value and label, in the order the form lists them.
    const ALL: [(Attestation, &'static str, &'static str); 3] = [
        (Attestation::SymmetricKey, "symmetricKey", "Symmetric key"),
        (
            Attestation::Certificate,
            "certificate",
            "Uploaded certificate (intermediate or root CA)",
        ),
        (Attestation::Ca, "ca", "Verified CA certificate"),
    ];

    /// The choice a form value names; the default for anything else.
    fn from_form(value: &str) -> Self {
        Self::ALL
            .iter()
            .find(|(_, v, _)| *v == value)
            .map_or_else(Self::default, |(a, _, _)| *a)
    }
}

/// What the visitor typed and chose, kept to fill the form again after an error (a file input
/// cannot be refilled; the form asks for the file again).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Inputs {
    id: String,
    attestation: Attestation,
    ca: String,
    hub: String,
    status: String,
    edge: bool,
    tags: String,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            id: String::new(),
            attestation: Attestation::default(),
            ca: String::new(),
            hub: String::new(),
            status: "enabled".to_owned(),
            edge: false,
            tags: String::new(),
        }
    }
}

impl Inputs {
    /// The fields of a posted form.
    fn from_form(form: &WriteMultipart) -> Self {
        Self {
            id: form.text("id"),
            attestation: Attestation::from_form(&form.text("attestation")),
            ca: form.text("ca"),
            hub: form.text("hub"),
            status: form.text("status"),
            edge: !form.text("edge").is_empty(),
            tags: form.text("tags"),
        }
    }
}

/// Why the form could not be turned into a group: what to show and the status to answer with.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    message: String,
}

impl Refused {
    /// A form the console could not read into a request body (400).
    fn form(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<crate::error::ApiError> for Refused {
    fn from(e: crate::error::ApiError) -> Self {
        Self {
            status: e.status(),
            message: e.message,
        }
    }
}

/// The JSON body a client would `PUT` for the group the form describes.
fn body(inputs: &Inputs, certificate: Option<&Part>) -> Result<Value, Refused> {
    let attestation = match inputs.attestation {
        Attestation::SymmetricKey => json!({"type": "symmetricKey", "symmetricKey": {}}),
        Attestation::Certificate => {
            let cert = certificate
                .and_then(Part::certificate_text)
                .ok_or_else(|| {
                    Refused::form("Choose the certificate file (PEM or CER) to upload.")
                })?;
            json!({"type": "x509", "x509": {"signingCertificates": {"primary": {"certificate": cert}}}})
        }
        Attestation::Ca => {
            if inputs.ca.is_empty() {
                return Err(Refused::form(
                    "Choose a verified CA certificate (upload and verify one on the Certificates page first).",
                ));
            }
            json!({"type": "x509", "x509": {"caReferences": {"primary": inputs.ca}}})
        }
    };
    let mut body = json!({
        "enrollmentGroupId": inputs.id,
        "attestation": attestation,
        "capabilities": {"iotEdge": inputs.edge},
    });
    // Absent unless chosen, as from a client: the service then fills in its default.
    if !inputs.status.is_empty() {
        body["provisioningStatus"] = json!(inputs.status);
    }
    if !inputs.hub.is_empty() {
        body["iotHubs"] = json!([inputs.hub]);
    }
    if !inputs.tags.is_empty() {
        let tags: Value = dps_protocol::json::from_str(&inputs.tags).map_err(|e| {
            Refused::form(format!("The initial twin tags are not valid JSON: {e}."))
        })?;
        body["initialTwin"] = json!({"tags": tags, "properties": {"desired": {}}});
    }
    Ok(body)
}

/// `GET /portal/enrollments/new-group`.
async fn new_page(ctx: Ctx) -> Response {
    form_page(&ctx, &Inputs::default(), None)
}

/// `POST /portal/enrollments/groups`: creates the group through the API's own functions, then
/// shows it; on a refusal, the form again with the reason.
async fn create(ctx: Ctx, form: WriteMultipart) -> Response {
    let inputs = Inputs::from_form(&form);
    let app = &ctx.console.app;
    let created = body(&inputs, form.0.get("certificate")).and_then(|body| {
        service::replace(
            app,
            Collection::Groups,
            &inputs.id,
            body,
            Precondition::Absent,
        )?;
        Ok(())
    });
    match created {
        Ok(()) => {
            ctx.session.notify(
                NoticeKind::Done,
                format!("Enrollment group {:?} created.", inputs.id),
            );
            layout::see_other(&format!(
                "/portal/enrollments/groups/{}",
                layout::seg(&inputs.id)
            ))
        }
        Err(refused) => form_page(&ctx, &inputs, Some(&refused)),
    }
}

/// The names of the CA certificates uploaded and verified, for the CA choice (listed as the
/// certificate API lists them).
fn verified_cas(ctx: &Ctx) -> Result<Vec<String>, crate::error::ApiError> {
    Ok(crate::certificates::list(&ctx.console.app)?
        .into_iter()
        .filter(crate::certificates::is_verified)
        .map(|r| r.id)
        .collect())
}

/// The form, filled with `inputs`, under `refused`'s message when there is one.
fn form_page(ctx: &Ctx, inputs: &Inputs, refused: Option<&Refused>) -> Response {
    let status = refused.map_or(StatusCode::OK, |r| r.status);
    let body = html! {
        p { a href="/portal/enrollments?tab=groups" { "← Enrollment groups" } }
        @if let Some(r) = refused {
            p.notice.failed role="alert" #create-error { (r.message) }
        }
        @if ctx.can_write() {
            (form(ctx, inputs, refused.is_some()))
        } @else {
            p.notice.warn {
                "This console is read-only: it was opened with the read-only policy. Sign in \
                 with the owner policy to add enrollment groups."
            }
        }
    };
    layout::page_with_status(ctx, status, Nav::Enrollments, "Add enrollment group", body)
}

/// The form's markup.
fn form(ctx: &Ctx, inputs: &Inputs, after_error: bool) -> Markup {
    let (cas, cas_error) = match verified_cas(ctx) {
        Ok(cas) => (cas, None),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let hubs = &ctx.console.app.config.iot_hubs;
    html! {
        form.stack.create-group #create-group method="post" action=(CREATE_PATH)
            enctype="multipart/form-data" {
            (layout::csrf_field(ctx))
            label for="group-id" { "Group name (enrollment group id)" }
            input #group-id name="id" required autocomplete="off" spellcheck="false"
                value=(inputs.id) aria-describedby="group-id-hint";
            small.muted #group-id-hint {
                "Checked by the service's registration-id rule, as a PUT is."
            }
            fieldset {
                legend { "Attestation" }
                @for (choice, value, label) in Attestation::ALL {
                    label.choice {
                        input type="radio" name="attestation" value=(value)
                            checked[inputs.attestation == choice];
                        " " (label)
                    }
                    @match choice {
                        Attestation::SymmetricKey => {
                            small.muted.detail {
                                "The service generates the primary and secondary keys; each \
                                 device derives its own from them."
                            }
                        }
                        Attestation::Certificate => { div.detail {
                            label for="certificate" { "Certificate file (PEM or CER)" }
                            input #certificate type="file" name="certificate"
                                accept=".pem,.cer,.crt,.der";
                            @if after_error && inputs.attestation == Attestation::Certificate {
                                small.muted { "Choose the file again: a browser does not keep it." }
                            }
                        } }
                        Attestation::Ca => { div.detail {
                            label for="ca" { "Verified CA" }
                            select #ca name="ca" {
                                option value="" { "Choose a verified CA" }
                                @for name in &cas {
                                    option value=(name) selected[*name == inputs.ca] { (name) }
                                }
                            }
                            @if let Some(e) = &cas_error {
                                small.notice.failed { "The CA certificates could not be read: " (e) }
                            } @else if cas.is_empty() {
                                small.muted {
                                    "No CA certificate is verified yet: upload one and prove \
                                     possession on the "
                                    a href="/portal/certificates" { "Certificates" }
                                    " page."
                                }
                            }
                        } }
                    }
                }
            }
            label for="hub" { "IoT hub (optional)" }
            input #hub name="hub" list="linked-hubs" autocomplete="off" spellcheck="false"
                value=(inputs.hub) placeholder="every linked hub" aria-describedby="hub-hint";
            datalist #linked-hubs {
                @for hub in hubs { option value=(hub) {} }
            }
            small.muted #hub-hint {
                "A linked hub, or any host name; empty: devices are spread over the linked hubs."
            }
            label for="status" { "Provisioning status" }
            select #status name="status" {
                option value="enabled" selected[inputs.status == "enabled"] { "Enabled" }
                option value="disabled" selected[inputs.status == "disabled"] { "Disabled" }
            }
            label.choice {
                input type="checkbox" name="edge" value="on" checked[inputs.edge];
                " IoT Edge devices"
            }
            label for="tags" { "Initial twin tags (JSON, optional)" }
            textarea #tags name="tags" rows="4" spellcheck="false"
                placeholder="{\"environment\": \"test\"}" { (inputs.tags) }
            div.toolbar {
                button type="submit" { "Create" }
                a href="/portal/enrollments?tab=groups" { "Cancel" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_what_a_client_would_put() {
        let inputs = Inputs {
            id: "g1".into(),
            hub: "hub.example".into(),
            status: "disabled".into(),
            edge: true,
            tags: r#"{"a":1}"#.into(),
            ..Inputs::default()
        };
        let b = body(&inputs, None)
            .map_err(|r| r.message)
            .unwrap_or_default();
        assert_eq!(b["attestation"]["type"], "symmetricKey");
        assert_eq!(b["iotHubs"], json!(["hub.example"]));
        assert_eq!(b["provisioningStatus"], "disabled");
        assert_eq!(b["capabilities"]["iotEdge"], true);
        assert_eq!(b["initialTwin"]["tags"]["a"], 1);
        let bad = Inputs {
            tags: "{".into(),
            ..inputs
        };
        assert_eq!(
            body(&bad, None).map_err(|r| r.status).err(),
            Some(StatusCode::BAD_REQUEST)
        );
    }
}
