//! SAS authentication of the service and certificate APIs, as DPS does it: the signature over
//! `sr` as written, expiry with five minutes of skew, the policy named by `skn`, its rights, and
//! a resource that names this emulator.

use crate::config::{OWNER_POLICY, READ_POLICY};
use crate::error::{ApiError, codes};
use dps_protocol::auth::{DEFAULT_SKEW_SECS, SasToken, Secret};

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Right {
    /// Read enrollments, groups, registrations, certificates (EnrollmentRead / RegistrationStatusRead).
    Read,
    /// Change them (EnrollmentWrite / RegistrationStatusWrite / ServiceConfig).
    Write,
}

/// The two shared access policies and their keys.
#[derive(Debug, Clone)]
pub(crate) struct Policies {
    /// `provisioningserviceowner`: every right.
    pub(crate) owner: Secret,
    /// `enrollmentread`: read rights only.
    pub(crate) read: Secret,
}

impl Policies {
    /// The key of the policy called `name` (ignoring case) and the rights it grants.
    pub(crate) fn named(&self, name: &str) -> Option<(&Secret, Right)> {
        match name.to_ascii_lowercase().as_str() {
            OWNER_POLICY => Some((&self.owner, Right::Write)),
            READ_POLICY => Some((&self.read, Right::Read)),
            _ => None,
        }
    }

    /// The rights of whoever knows policy `name`'s `key` (compared in constant time), as the
    /// web console's sign-in checks them; `None` for an unknown policy or a wrong key.
    pub(crate) fn sign_in(&self, name: &str, key: &str) -> Option<Right> {
        let (expected, right) = self.named(name.trim())?;
        (*expected == Secret::from(key.trim())).then_some(right)
    }
}

/// Checks the `Authorization` header of a service or certificate API request.
///
/// `hosts` are the names the request may address (the `Host` header first, then the
/// emulator's own names), each tried with the request `path` as the audience.
pub(crate) fn check(
    policies: &Policies,
    authorization: Option<&str>,
    hosts: &[String],
    path: &str,
    now: u64,
    right: Right,
) -> Result<(), ApiError> {
    let unauthorized = |m: String| ApiError::new(codes::UNAUTHORIZED, m);
    let header =
        authorization.ok_or_else(|| unauthorized("the Authorization header is missing".into()))?;
    if header
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("bearer ")
    {
        return Err(unauthorized(
            "bearer tokens are not accepted by the emulator; use a SharedAccessSignature from its connection string".into(),
        ));
    }
    let token = SasToken::parse(header)
        .map_err(|e| unauthorized(format!("invalid SharedAccessSignature: {e}")))?;
    let (key, policy_right) = match token.policy_name() {
        Some(name) => policies
            .named(name)
            .ok_or_else(|| unauthorized(format!("unknown shared access policy {name:?}")))?,
        None => {
            return Err(unauthorized(
                "the SharedAccessSignature names no policy (skn)".into(),
            ));
        }
    };
    let can_write = policy_right == Right::Write;
    let mut last = None;
    for host in hosts {
        match token.verify(&[key], &format!("{host}{path}"), now, DEFAULT_SKEW_SECS) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        return Err(unauthorized(format!("SharedAccessSignature rejected: {e}")));
    }
    if right == Right::Write && !can_write {
        return Err(ApiError::new(
            codes::UNAUTHORIZED,
            format!(
                "the policy {READ_POLICY:?} has read rights only; use {OWNER_POLICY:?} to write"
            ),
        ));
    }
    Ok(())
}
