//! The registration engine: every rule of device registration, whatever carried the request.
//!
//! A transport (the HTTPS device API today, MQTT next) only translates. It calls
//! [`Engine::authenticate`] with the raw credential — the chain the device presented in its TLS
//! handshake, or its SAS token — together with the ID scope and registration id, and gets an
//! [`Identity`] or a typed [`Refusal`]; MQTT can do this at connect time. It then calls
//! [`Engine::register`] with that identity and the request payload, and
//! [`Engine::operation_status`] / [`Engine::registration_status`] for the polls. Only the
//! engine reads enrollments, groups, CA certificates and keys.
//!
//! A transport names itself when it takes the engine ([`App::engine_via`]): the engine records
//! every refusal and every registration outcome in the device activity log
//! ([`crate::activity`]) with it, in the one place where it decides each.

mod authenticate;
pub(crate) mod enrollment;
pub(crate) mod refusal;
mod register;

pub(crate) use enrollment::Enrollment;
pub(crate) use register::OperationStatus;

use crate::activity::{Outcome, Transport};
use crate::app::App;
use refusal::Refusal;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

/// What a device proves its identity with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Credential<'a> {
    /// The certificate chain of the TLS handshake, leaf first.
    X509(&'a [CertificateDer<'static>]),
    /// A SharedAccessSignature and the resource the request targets (its audience).
    Sas {
        /// The `SharedAccessSignature sr=...` text.
        token: &'a str,
        /// What the request addresses, percent-decoded: `{idScope}/registrations/{id}...`.
        audience: &'a str,
    },
}

/// How the device authenticated, for the registration result.
#[derive(Debug, Clone)]
pub(crate) enum Attested {
    /// X.509: the leaf's and (for a group) the signing certificate's `info` blocks.
    X509 {
        /// The device certificate's info.
        leaf_info: Value,
        /// The group certificate's info.
        signing_info: Option<Value>,
    },
    /// A symmetric key (individual or group-derived).
    SymmetricKey,
}

/// A device the engine has authenticated: which enrollment it belongs to and how it proved it.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// The registration id, as the device spelled it.
    pub(crate) registration_id: String,
    /// The individual enrollment or enrollment group that applies.
    pub(crate) enrollment: Enrollment,
    /// How the device authenticated.
    pub(crate) attested: Attested,
}

/// The engine over one emulator's state, as one transport uses it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Engine<'a> {
    app: &'a App,
    /// The transport the device came by, for the activity log.
    via: Transport,
}

/// What the engine remembers of devices beside their registration records, as the service
/// API reaches it (it judges no device, so it needs no transport).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory<'a> {
    app: &'a App,
}

impl App {
    /// The registration engine over this emulator's state, for a device that came `via` a
    /// transport.
    pub(crate) fn engine_via(&self, via: Transport) -> Engine<'_> {
        Engine { app: self, via }
    }

    /// The engine's memory of devices, for the service API (forgetting a deleted record).
    pub(crate) fn engine(&self) -> Memory<'_> {
        Memory { app: self }
    }
}

impl Engine<'_> {
    /// A device refused: logged, and recorded in the activity log with the refusal's reason
    /// (which names the certificate or key and the rule, never a secret). Every refusal of the
    /// engine passes here.
    fn refused(&self, registration_id: &str, refusal: &Refusal) {
        refusal.log(registration_id);
        self.app.activity.record(
            self.app.config.clock.now(),
            self.via,
            registration_id,
            Outcome::Refused {
                code: refusal.code(),
                reason: refusal.to_string(),
            },
        );
    }
}
