//! CA certificates and proof of possession, on the management API's paths
//! (`/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Devices/provisioningServices/{name}/certificates/...`;
//! the sub, rg and name values are ignored) with ARM's bodies and errors, authenticated with the
//! emulator's policy SAS.
//!
//! Proof of possession as the service checks it: the verification certificate must parse, be
//! within its validity, carry the latest verification code as its CN, have the CA's subject as
//! issuer, and be signed by the uploaded CA's key; `If-Match` must be the ETag that
//! `generateVerificationCode` returned. Codes expire after an hour and are single-use.
//!
//! The operations ([`list`], [`get`], [`upload`], [`delete`], [`generate_code`], [`verify`])
//! are functions of the emulator, not of HTTP, so the web console calls the same rules the
//! API applies; [`handle`] only reads requests into them and writes their answers.

use crate::app::{App, Req, json_response, method_not_allowed, unknown_path};
use crate::auth::Right;
use crate::error::{ApiError, ApiResult};
use crate::records::new_etag;
use crate::store::{Kind, Record, StoreError};
use crate::x509info;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use dps_protocol::Thumbprints;
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

const CODE_LIFETIME_SECS: i64 = 3600;
const RESOURCE_TYPE: &str = "Microsoft.Devices/ProvisioningServices/Certificates";

/// Routes a certificate API request.
pub(crate) fn handle(app: &App, req: &Req) -> ApiResult<Response> {
    let s = &req.segments;
    let shape_ok = s.len() >= 9
        && req.lit(2, "resourceGroups")
        && req.lit(4, "providers")
        && req.lit(5, "Microsoft.Devices")
        && req.lit(6, "provisioningServices")
        && req.lit(8, "certificates");
    if !shape_ok {
        return Err(unknown_path(req));
    }
    let base = s[..9].join("/");
    match (&s[9..], &req.method) {
        ([], &Method::GET) => {
            app.authorize(req, Right::Read)?;
            let value: Vec<Value> = list(app)?.iter().map(|r| resource(&base, r)).collect();
            json_response(StatusCode::OK, &json!({ "value": value }))
        }
        ([name], &Method::GET) => {
            app.authorize(req, Right::Read)?;
            json_response(StatusCode::OK, &resource(&base, &get(app, name)?))
        }
        ([name], &Method::PUT) => {
            app.authorize(req, Right::Write)?;
            // The name is checked before the body is read, as it always was.
            check_name(name)?;
            let (cert, verified) = upload_body(req)?;
            let (status, rec) = upload(app, name, &cert, verified, req.if_match().as_deref())?;
            json_response(status, &resource(&base, &rec))
        }
        ([name], &Method::DELETE) => {
            app.authorize(req, Right::Write)?;
            delete(app, name, &required_if_match(req)?)?;
            Ok(StatusCode::OK.into_response())
        }
        ([name, action], &Method::POST)
            if action.eq_ignore_ascii_case("generateVerificationCode") =>
        {
            app.authorize(req, Right::Write)?;
            let rec = generate_code(app, name, &required_if_match(req)?)?;
            let mut out = resource(&base, &rec);
            if let Some(p) = out.get_mut("properties").and_then(Value::as_object_mut) {
                p.insert(
                    "verificationCode".into(),
                    rec.body["verificationCode"].clone(),
                );
            }
            json_response(StatusCode::OK, &out)
        }
        ([name, action], &Method::POST)
            if action.eq_ignore_ascii_case("verify")
                || action.eq_ignore_ascii_case("verifyCertificate") =>
        {
            app.authorize(req, Right::Write)?;
            let rec = verify(app, name, &required_if_match(req)?, || {
                verification_body(req)
            })?;
            json_response(StatusCode::OK, &resource(&base, &rec))
        }
        ([] | [_], _) | ([_, _], _) => Err(method_not_allowed(req)),
        _ => Err(unknown_path(req)),
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::arm(404, "NotFound", format!("certificate {name:?} not found"))
}

/// Every CA certificate, in the store's order (by name).
pub(crate) fn list(app: &App) -> ApiResult<Vec<Record>> {
    Ok(app.store.list(Kind::Certificate, None, None, usize::MAX)?)
}

/// CA certificate `name`; 404 when there is none.
pub(crate) fn get(app: &App, name: &str) -> ApiResult<Record> {
    app.store
        .get(Kind::Certificate, name)?
        .ok_or_else(|| not_found(name))
}

/// Whether proof of possession was made for (or skipped on upload of) a CA certificate.
pub(crate) fn is_verified(rec: &Record) -> bool {
    rec.body.get("isVerified").and_then(Value::as_bool) == Some(true)
}

/// What the service computes of a stored CA certificate (subject, issuer, SHA-1 and SHA-256
/// thumbprints, validity), decoded from the certificate as it was uploaded.
pub(crate) fn info(rec: &Record) -> ApiResult<dps_protocol::models::X509CertificateInfo> {
    let text = rec
        .body
        .get("certificate")
        .and_then(Value::as_str)
        .unwrap_or_default();
    x509info::certificate_info(&x509info::decode(text)?)
}

/// The verification code `generateVerificationCode` issued last for a CA certificate, still
/// unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingCode {
    /// The code: the CN the verification certificate must carry, exactly.
    pub(crate) code: String,
    /// When it stops being accepted, as Unix seconds.
    pub(crate) expires: Option<i64>,
    /// Whether that time has passed ([`verify`] then refuses it).
    pub(crate) expired: bool,
}

/// The code pending for `rec`, if one was generated and not yet used.
pub(crate) fn pending_code(app: &App, rec: &Record) -> Option<PendingCode> {
    let code = rec.body.get("verificationCode").and_then(Value::as_str)?;
    let expires = rec
        .body
        .get("verificationCodeExpiry")
        .and_then(Value::as_i64);
    let now = app.config.clock.now().unix_timestamp();
    Some(PendingCode {
        code: code.to_owned(),
        expires,
        expired: expires.is_some_and(|e| e < now),
    })
}

fn required_if_match(req: &Req) -> ApiResult<String> {
    req.if_match().ok_or_else(|| {
        ApiError::arm(
            412,
            "PreconditionFailed",
            "the If-Match header with the certificate's etag is required",
        )
    })
}

fn etag_matches(etag: &str, cur: &Record) -> ApiResult<()> {
    if etag == "*" || etag == cur.etag {
        Ok(())
    } else {
        Err(ApiError::arm(
            412,
            "PreconditionFailed",
            "the etag in If-Match is stale: get the certificate (or generate a new verification code) and use its etag",
        ))
    }
}

fn rfc1123(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap_or_default()
}

/// The ARM resource view of a stored certificate.
fn resource(base: &str, rec: &Record) -> Value {
    let b = &rec.body;
    json!({
        "id": format!("/{base}/{}", rec.id),
        "name": rec.id,
        "type": RESOURCE_TYPE,
        "etag": rec.etag,
        "properties": {
            "subject": b["subject"],
            "expiry": b["expiry"],
            "thumbprint": b["thumbprint"],
            "isVerified": b["isVerified"],
            "certificate": b["certificate"],
            "created": b["created"],
            "updated": b["updated"],
        }
    })
}

fn check_name(name: &str) -> ApiResult<()> {
    if name_is_valid(name) {
        Ok(())
    } else {
        Err(ApiError::arm(
            400,
            "InvalidCertificateName",
            format!("certificate name {name:?} must be {NAME_RULE}"),
        ))
    }
}

/// What a CA certificate name may be, in words.
const NAME_RULE: &str = "1 to 64 letters, digits, '-', '_' or '.', and not dots only";

/// The certificate name rule: [`NAME_RULE`]. Dots only (`.`, `..`) are refused because every
/// HTTP client resolves such a path segment away, so the certificate could not be addressed.
pub(crate) fn name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.chars().all(|c| c == '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The certificate text and `isVerified` of an upload's JSON body (`properties.certificate`,
/// or the same fields at the top level).
fn upload_body(req: &Req) -> ApiResult<(String, bool)> {
    let body: Value = req
        .json()
        .map_err(|e| ApiError::arm(400, "InvalidRequestBody", e.message))?;
    let props = body.get("properties").unwrap_or(&body);
    let cert = props
        .get("certificate")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::arm(
                400,
                "InvalidRequestBody",
                "properties.certificate is required",
            )
        })?;
    let verified = props
        .get("isVerified")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((cert.to_owned(), verified))
}

/// Uploads CA certificate `name` from `cert` (PEM text or base64 of DER), verified without
/// proof of possession when `verified`; replacing an existing one needs `if_match`, its ETag.
/// Checks the name, the ETag, the CA-certificate quota, that it parses and is a CA. Answers
/// 201 with the new record, or 200 when it replaced one.
pub(crate) fn upload(
    app: &App,
    name: &str,
    cert: &str,
    verified: bool,
    if_match: Option<&str>,
) -> ApiResult<(StatusCode, Record)> {
    check_name(name)?;
    let current = app.store.get(Kind::Certificate, name)?;
    match (&current, if_match) {
        (Some(cur), Some(etag)) => etag_matches(etag, cur)?,
        (Some(_), None) => {
            return Err(ApiError::arm(
                412,
                "PreconditionFailed",
                format!("certificate {name:?} exists; updating it needs If-Match with its etag"),
            ));
        }
        (None, _) => {
            if app.store.count(Kind::Certificate)? >= app.config.limits.max_ca_certificates {
                return Err(ApiError::arm(
                    400,
                    "LimitExceeded",
                    format!(
                        "the limit of {} CA certificates is reached",
                        app.config.limits.max_ca_certificates
                    ),
                ));
            }
        }
    }
    let der =
        x509info::decode(cert).map_err(|e| ApiError::arm(400, "InvalidCertificate", e.message))?;
    let rec =
        store_certificate(app, name, cert, &der, verified, current.as_ref()).map_err(refusal)?;
    Ok((
        if current.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        rec,
    ))
}

/// Why a CA certificate cannot be registered (at start, with `--ca-certificate`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaCertificateError {
    /// The file holds no certificate, as PEM or DER.
    #[error("the certificate cannot be parsed: {0}")]
    Unreadable(#[source] dps_certgen::Error),
    /// The certificate is not valid X.509.
    #[error("the certificate cannot be parsed: {0}")]
    Invalid(#[source] x509_parser::error::X509Error),
    /// The certificate breaks the certificate input rule ([`dps_chain::Cert::parse`]): not
    /// X.509, or bytes after its DER.
    #[error("the certificate cannot be parsed: {0}")]
    Malformed(#[source] dps_chain::ParseError),
    /// The certificate is not a CA (basicConstraints CA:TRUE is missing).
    #[error(
        "{subject} is not a CA certificate (basicConstraints CA:TRUE); upload the root or intermediate CA"
    )]
    NotACa {
        /// The certificate's subject.
        subject: String,
    },
    /// The certificate was changed by another request while it was being written.
    #[error("certificate {name:?} changed while it was being written; read it again")]
    Changed {
        /// The certificate's name.
        name: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The name is not one the certificate API accepts.
    #[error("certificate name {name:?} must be {NAME_RULE}")]
    InvalidName {
        /// The name.
        name: String,
    },
}

/// The certificate API's answer to a refused certificate.
fn refusal(e: CaCertificateError) -> ApiError {
    match e {
        CaCertificateError::Store(e) => ApiError::from(e),
        CaCertificateError::Changed { .. } => {
            ApiError::arm(412, "PreconditionFailed", e.to_string())
        }
        e => ApiError::arm(400, "InvalidCertificate", e.to_string()),
    }
}

/// Stores a CA certificate given as `cert` (PEM text or base64 DER, kept as sent) and `der`,
/// what it decodes to. Also used for `--ca-certificate` at start.
pub(crate) fn store_certificate(
    app: &App,
    name: &str,
    cert: &str,
    der: &[u8],
    verified: bool,
    current: Option<&Record>,
) -> Result<Record, CaCertificateError> {
    // The one certificate input rule (one certificate, nothing after it), for the API's
    // uploads and `--ca-certificate` alike.
    dps_chain::Cert::parse(der).map_err(CaCertificateError::Malformed)?;
    let (_, x) =
        X509Certificate::from_der(der).map_err(|e| CaCertificateError::Invalid(e.into()))?;
    if !x.is_ca() {
        return Err(CaCertificateError::NotACa {
            subject: x.subject().to_string(),
        });
    }
    let now = rfc1123(app.config.clock.now());
    let rec = Record {
        id: name.to_owned(),
        parent: None,
        etag: new_etag(),
        body: json!({
            "subject": x.subject().to_string(),
            "expiry": rfc1123(x.validity().not_after.to_datetime()),
            "thumbprint": Thumbprints::of_der(der).sha1,
            "isVerified": verified,
            "certificate": cert.trim(),
            "created": current.map_or_else(|| json!(now), |c| c.body["created"].clone()),
            "updated": now,
        }),
    };
    // Written only if nobody changed the certificate since it was read (the caller checked
    // If-Match against that read).
    let seen = current.map(|c| c.etag.clone());
    app.store
        .put_checked(Kind::Certificate, &rec, |now_current| {
            if now_current.map(|c| c.etag.clone()) == seen {
                Ok(())
            } else {
                Err(CaCertificateError::Changed {
                    name: name.to_owned(),
                })
            }
        })??;
    Ok(rec)
}

/// Deletes CA certificate `name` if `etag` (or `*`) is its ETag; 404 when there is none, 412
/// when the ETag is stale.
pub(crate) fn delete(app: &App, name: &str, etag: &str) -> ApiResult<()> {
    match app
        .store
        .delete_checked(Kind::Certificate, name, |cur| etag_matches(etag, cur))?
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_found(name)),
        Err(e) => Err(e),
    }
}

/// Issues a new verification code for CA certificate `name` whose ETag is `etag` (or `*`),
/// valid for an hour, replacing any earlier one; the record returned carries it
/// (`verificationCode`) and the ETag [`verify`] then needs.
pub(crate) fn generate_code(app: &App, name: &str, etag: &str) -> ApiResult<Record> {
    let mut rec = get(app, name)?;
    etag_matches(etag, &rec)?;
    let mut code = [0u8; 24];
    aws_lc_rs::rand::fill(&mut code).map_err(|_| {
        tracing::error!("the random generator failed");
        ApiError::arm(
            500,
            "InternalServerError",
            "the random generator failed; try again",
        )
    })?;
    let code = dps_protocol::thumbprint::upper_hex(&code);
    let now = app.config.clock.now();
    rec.body["verificationCode"] = json!(code);
    rec.body["verificationCodeExpiry"] = json!(now.unix_timestamp() + CODE_LIFETIME_SECS);
    rec.body["updated"] = json!(rfc1123(now));
    rec.etag = new_etag();
    let seen = etag.to_owned();
    app.store.put_checked(Kind::Certificate, &rec, |cur| {
        cur.map_or(Err(not_found(name)), |c| etag_matches(&seen, c))
    })??;
    Ok(rec)
}

/// The verification certificate of a `verify` request's JSON body: `certificate`, or
/// `properties.certificate`.
fn verification_body(req: &Req) -> ApiResult<String> {
    let body: Value = req
        .json()
        .map_err(|e| ApiError::arm(400, "InvalidRequestBody", e.message))?;
    body.get("certificate")
        .or_else(|| body.pointer("/properties/certificate"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::arm(400, "InvalidRequestBody", "certificate is required"))
}

/// Proof of possession for CA certificate `name`: `etag` must be the exact ETag
/// [`generate_code`] returned, and the verification certificate (`certificate`: PEM text or
/// base64 of DER, read only once a current code is known to be pending, so a request is
/// refused for the reason it always was) must carry that code as its CN, be issued by the CA's
/// subject, signed by its key, and valid now. On success the CA is verified and the code used.
pub(crate) fn verify(
    app: &App,
    name: &str,
    etag: &str,
    certificate: impl FnOnce() -> ApiResult<String>,
) -> ApiResult<Record> {
    let pop = |m: String| {
        ApiError::arm(
            400,
            "ProofOfPossessionFailed",
            format!("Proof-Of-Possession failed: {m}"),
        )
    };
    let mut rec = get(app, name)?;
    // Proof of possession is tied to the etag generateVerificationCode returned: no wildcard.
    if etag == "*" {
        return Err(ApiError::arm(
            412,
            "PreconditionFailed",
            "verify needs the exact etag returned by generateVerificationCode, not '*'",
        ));
    }
    etag_matches(etag, &rec)?;
    let pending = pending_code(app, &rec).ok_or_else(|| {
        pop(format!(
            "no verification code is pending for {name:?}; call generateVerificationCode first"
        ))
    })?;
    if pending.expired {
        return Err(pop(
            "the verification code has expired; generate a new one".into()
        ));
    }
    let code = pending.code;
    let now = app.config.clock.now();
    let text = certificate()?;
    let der = x509info::decode(&text).map_err(|e| pop(e.message))?;
    let (_, leaf) = X509Certificate::from_der(&der).map_err(|e| pop(e.to_string()))?;
    let ca_der = x509info::decode(rec.body["certificate"].as_str().unwrap_or_default())?;
    let (_, ca) = X509Certificate::from_der(&ca_der).map_err(|e| pop(e.to_string()))?;
    // Read as the chain rule reads common names: any DirectoryString type.
    let cn = leaf
        .subject()
        .iter_common_name()
        .next()
        .and_then(dps_chain::directory_string)
        .unwrap_or_default();
    if cn != code {
        return Err(pop(format!(
            "the verification certificate's CN is {cn:?} but the verification code DPS issued last is {code:?}: make the verification certificate again with that code, exactly as given"
        )));
    }
    if leaf.issuer() != ca.subject() {
        return Err(pop(format!(
            "issuer certificate {} cannot be found in the certificate chain: the verification certificate was issued by {}; sign it with the key of the uploaded CA",
            ca.subject(),
            leaf.issuer()
        )));
    }
    if leaf.verify_signature(Some(ca.public_key())).is_err() {
        return Err(pop(format!(
            "the verification certificate is not signed by the private key of {}",
            ca.subject()
        )));
    }
    if !leaf
        .validity()
        .is_valid_at(x509_parser::time::ASN1Time::from(now))
    {
        return Err(pop(
            "the verification certificate is outside its validity period".into(),
        ));
    }
    let obj = rec
        .body
        .as_object_mut()
        .ok_or_else(|| pop("corrupt record".into()))?;
    obj.remove("verificationCode");
    obj.remove("verificationCodeExpiry");
    obj.insert("isVerified".into(), json!(true));
    obj.insert("updated".into(), json!(rfc1123(now)));
    rec.etag = new_etag();
    let seen = etag.to_owned();
    app.store.put_checked(Kind::Certificate, &rec, |cur| {
        cur.map_or(Err(not_found(name)), |c| etag_matches(&seen, c))
    })??;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::name_is_valid;

    #[test]
    fn names_are_addressable_path_segments() {
        for ok in [
            "root",
            "my.root-1",
            "a_b",
            ".hidden",
            "v1.",
            &"x".repeat(64),
        ] {
            assert!(name_is_valid(ok), "{ok}");
        }
        for bad in ["", ".", "..", "...", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(!name_is_valid(bad), "{bad}");
        }
    }
}
