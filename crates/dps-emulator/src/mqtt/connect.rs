//! CONNECT: who the device says it is (client id and user name), and whether to let it in.
//!
//! The split follows what field reports show the real service doing:
//! - a SAS password that fails (bad signature, expired, another scope or id, no enrollment
//!   whose key could check it) refuses CONNECT with return code 5, not authorized;
//! - an X.509 device is let in on its TLS client certificate; the chain and its enrollment are
//!   judged at the register request, which is answered 401 with the DPS error body.
//!
//! The engine decides and logs every authentication refusal; this module logs only what it
//! refuses itself (a malformed user name, a client id that is not the registration id).

use super::{Peer, Via};
use crate::activity::Transport;
use crate::app::{App, api_version_supported};
use crate::engine::Credential;
use dps_protocol::auth::{Secret, device_resource};
use mqtt_proto::v3::{Connect, ConnectReturnCode};
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// What the device proves itself with, kept for every request of the connection. `Debug`
/// never shows the token.
#[derive(Debug, Clone)]
pub(super) enum Presented {
    /// The chain of its TLS handshake, leaf first.
    X509(Arc<Vec<CertificateDer<'static>>>),
    /// Its SAS token (the CONNECT password).
    Sas(Secret),
}

/// A device let in.
#[derive(Debug, Clone)]
pub(super) struct Device {
    /// The ID scope of its user name.
    pub(super) scope: String,
    /// Its registration id (client id and user name agree).
    pub(super) registration_id: String,
    /// Its credential.
    pub(super) presented: Presented,
    /// The transport it connected by, for the engine's activity log.
    pub(super) via: Transport,
}

impl From<Via> for Transport {
    fn from(via: Via) -> Self {
        match via {
            Via::Tls => Transport::Mqtt,
            Via::WebSocket => Transport::MqttWebSocket,
        }
    }
}

impl Device {
    /// The credential as the engine takes it, with the audience a SAS must cover.
    pub(super) fn credential<'a>(&'a self, audience: &'a str) -> Credential<'a> {
        match &self.presented {
            Presented::X509(chain) => Credential::X509(chain),
            Presented::Sas(token) => Credential::Sas {
                token: token.expose(),
                audience,
            },
        }
    }

    /// What a device SAS must be issued for: `{idScope}/registrations/{registrationId}`.
    pub(super) fn audience(&self) -> String {
        device_resource(&self.scope, &self.registration_id)
    }
}

/// The parts of `{idScope}/registrations/{registrationId}/api-version={v}&ClientVersion=...`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct UserName<'a> {
    /// The ID scope.
    pub(super) scope: &'a str,
    /// The registration id.
    pub(super) registration_id: &'a str,
    /// The API version.
    pub(super) api_version: &'a str,
}

/// Reads a CONNECT user name; `None` when it does not have the DPS form.
pub(super) fn user_name(text: &str) -> Option<UserName<'_>> {
    let mut parts = text.splitn(4, '/');
    let scope = parts.next().filter(|s| !s.is_empty())?;
    parts
        .next()
        .filter(|s| s.eq_ignore_ascii_case("registrations"))?;
    let registration_id = parts.next().filter(|s| !s.is_empty())?;
    let query = parts.next()?;
    let api_version = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v)?;
    Some(UserName {
        scope,
        registration_id,
        api_version,
    })
}

/// Decides a CONNECT: the device, or the return code that refuses it.
pub(super) fn admit(
    app: &App,
    connect: &Connect,
    peer: &Peer,
) -> Result<Device, ConnectReturnCode> {
    let client_id = &*connect.client_id;
    let refuse = |code: ConnectReturnCode, reason: String| {
        tracing::info!(
            registration_id = client_id,
            transport = peer.via.name(),
            reason,
            "device refused at MQTT CONNECT (return code {})",
            code as u8
        );
        code
    };
    let Some(text) = connect.username.as_deref() else {
        return Err(refuse(
            ConnectReturnCode::BadUserNameOrPassword,
            "CONNECT has no user name; it must be \
             {idScope}/registrations/{registrationId}/api-version=..."
                .into(),
        ));
    };
    let Some(name) = user_name(text) else {
        return Err(refuse(
            ConnectReturnCode::BadUserNameOrPassword,
            format!(
                "user name {text:?} is not {{idScope}}/registrations/{{registrationId}}/api-version=..."
            ),
        ));
    };
    if !api_version_supported(name.api_version) {
        return Err(refuse(
            ConnectReturnCode::BadUserNameOrPassword,
            format!("api-version {:?} is not supported", name.api_version),
        ));
    }
    if !dps_protocol::same_registration_id(client_id, name.registration_id) {
        return Err(refuse(
            ConnectReturnCode::IdentifierRejected,
            format!(
                "the client id {client_id:?} is not the registration id {:?} of the user name",
                name.registration_id
            ),
        ));
    }
    if let Err(e) = crate::records::check_id(name.registration_id) {
        return Err(refuse(ConnectReturnCode::IdentifierRejected, e.message));
    }
    let engine = app.engine_via(peer.via.into());
    if engine
        .check_scope(name.scope, name.registration_id)
        .is_err()
    {
        return Err(ConnectReturnCode::NotAuthorized);
    }
    let (scope, registration_id) = (name.scope.to_owned(), name.registration_id.to_owned());
    // An empty password beside a client certificate is no SAS: the device is X.509.
    let password = connect
        .password
        .as_ref()
        .filter(|p| !(p.is_empty() && peer.certificates.is_some()));
    let presented = match (password, &peer.certificates) {
        (Some(password), _) => match std::str::from_utf8(password) {
            Ok(token) => Presented::Sas(Secret::from(token.to_owned())),
            Err(_) => {
                return Err(refuse(
                    ConnectReturnCode::BadUserNameOrPassword,
                    "the password is not UTF-8 text, so not a SAS token".into(),
                ));
            }
        },
        (None, Some(chain)) => Presented::X509(chain.clone()),
        (None, None) => {
            // Refused by the engine, which logs why.
            let _ = engine.authenticate(&scope, &registration_id, None);
            return Err(ConnectReturnCode::NotAuthorized);
        }
    };
    let device = Device {
        scope,
        registration_id,
        presented,
        via: peer.via.into(),
    };
    if matches!(device.presented, Presented::Sas(_)) {
        let audience = device.audience();
        match engine.authenticate(
            &device.scope,
            &device.registration_id,
            Some(device.credential(&audience)),
        ) {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(ConnectReturnCode::NotAuthorized),
            Err(e) => {
                tracing::error!(reason = %e.message, "cannot authenticate a device");
                return Err(ConnectReturnCode::ServerUnavailable);
            }
        }
    }
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_names_the_sdks_send() {
        let expected = UserName {
            scope: "0ne00000001",
            registration_id: "dev-1",
            api_version: "2019-03-31",
        };
        assert_eq!(
            user_name(
                "0ne00000001/registrations/dev-1/api-version=2019-03-31&ClientVersion=azure-iot-device%2F2.14.0"
            ),
            Some(expected)
        );
        assert_eq!(
            user_name("0ne1/registrations/d/ClientVersion=c&api-version=2021-06-01")
                .map(|u| u.api_version),
            Some("2021-06-01")
        );
        for bad in [
            "",
            "0ne1",
            "0ne1/registrations/d",
            "0ne1/devices/d/api-version=2019-03-31",
            "0ne1/registrations//api-version=2019-03-31",
            "0ne1/registrations/d/ClientVersion=x",
        ] {
            assert_eq!(user_name(bad), None, "{bad}");
        }
    }
}
