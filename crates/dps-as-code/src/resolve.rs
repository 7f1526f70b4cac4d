//! From parsed files to the desired state: ids checked and unique, secrets read from the
//! environment or files, certificate files read and reduced to thumbprints, and each record in
//! two forms: what to send, and what to compare (the `record` module).

mod material;

use material::Thumbprint;

use crate::error::LoadError;
use crate::load::Source;
use crate::model::{Attestation, CaCertificate, Enrollment, EnrollmentGroup};
use crate::record::normal_twin;
use crate::secret_ref::SecretRef;
use dps_protocol::auth::Secret;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which of the two record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A CA certificate.
    Certificate,
    /// An enrollment group.
    EnrollmentGroup,
    /// An individual enrollment.
    Enrollment,
}

impl Kind {
    /// How people call it.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::EnrollmentGroup => "enrollment group",
            Self::Enrollment => "enrollment",
        }
    }

    /// The file's list, e.g. `enrollmentGroups`.
    pub fn list(self) -> &'static str {
        match self {
            Self::Certificate => "certificates",
            Self::EnrollmentGroup => "enrollmentGroups",
            Self::Enrollment => "enrollments",
        }
    }

    /// The record's id field on the wire.
    pub(crate) fn id_field(self) -> &'static str {
        match self {
            Self::Certificate => "name",
            Self::EnrollmentGroup => "enrollmentGroupId",
            Self::Enrollment => "registrationId",
        }
    }
}

/// A declared enrollment or group, ready to compare and send.
#[derive(Clone)]
pub struct DesiredRecord {
    /// Enrollment group or enrollment.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// The file that declares it.
    pub source: PathBuf,
    /// The comparable form: only the fields the file declares.
    pub(crate) view: Map<String, Value>,
    /// What to send: the declared fields, secrets and certificates in place.
    pub(crate) wire: Map<String, Value>,
    /// Certificate slots given only by thumbprint (they cannot be sent).
    pub(crate) thumbprint_only: Vec<String>,
}

impl fmt::Debug for DesiredRecord {
    // The wire form holds secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesiredRecord")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A declared CA certificate.
#[derive(Clone)]
pub struct DesiredCertificate {
    /// Its name.
    pub name: String,
    /// The file that declares it.
    pub source: PathBuf,
    /// The certificate as PEM, when the file gives one (not only a thumbprint).
    pub(crate) pem: Option<String>,
    /// Its SHA-1 thumbprint.
    pub(crate) sha1: String,
    /// Whether it should be verified, when the file says.
    pub(crate) is_verified: Option<bool>,
    /// The key and password for proof of possession.
    pub(crate) possession: Option<Possession>,
}

impl fmt::Debug for DesiredCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesiredCertificate")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("sha1", &self.sha1)
            .finish_non_exhaustive()
    }
}

/// What proof of possession needs besides the certificate.
#[derive(Debug, Clone)]
pub struct Possession {
    /// The CA certificate's file.
    pub certificate: PathBuf,
    /// The CA's private key file.
    pub key: PathBuf,
    /// Its password.
    pub password: Option<Secret>,
}

/// Everything the files declare.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// CA certificates.
    pub certificates: Vec<DesiredCertificate>,
    /// Enrollment groups.
    pub groups: Vec<DesiredRecord>,
    /// Individual enrollments.
    pub enrollments: Vec<DesiredRecord>,
}

impl Desired {
    /// Whether the files declare nothing at all.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.groups.is_empty() && self.enrollments.is_empty()
    }
}

/// Where a secret's variables come from: the process environment, then `--env-file`s.
pub trait Variables {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Variables for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Reads the environment, then the given pairs (from `--env-file`).
pub fn environment(extra: Vec<(String, String)>) -> impl Variables {
    let extra: HashMap<String, String> = extra.into_iter().collect();
    move |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| extra.get(name).cloned())
    }
}

/// Checks and resolves every source into one desired state.
pub fn resolve(sources: &[Source], vars: &dyn Variables) -> Result<Desired, LoadError> {
    let mut desired = Desired::default();
    let mut seen: HashMap<(Kind, String), PathBuf> = HashMap::new();
    for source in sources {
        let at = Context {
            path: &source.path,
            vars,
        };
        for cert in &source.manifest.certificates {
            at.unique(&mut seen, Kind::Certificate, &cert.name)?;
            desired.certificates.push(at.certificate(cert)?);
        }
        for group in &source.manifest.enrollment_groups {
            at.unique(&mut seen, Kind::EnrollmentGroup, &group.enrollment_group_id)?;
            desired.groups.push(at.group(group)?);
        }
        for e in &source.manifest.enrollments {
            at.unique(&mut seen, Kind::Enrollment, &e.registration_id)?;
            desired.enrollments.push(at.enrollment(e)?);
        }
    }
    Ok(desired)
}

struct Context<'a> {
    path: &'a Path,
    vars: &'a dyn Variables,
}

impl Context<'_> {
    fn unique(
        &self,
        seen: &mut HashMap<(Kind, String), PathBuf>,
        kind: Kind,
        id: &str,
    ) -> Result<(), LoadError> {
        if let Some(first) = seen.insert((kind, id.to_ascii_lowercase()), self.path.to_owned()) {
            return Err(LoadError::Duplicate {
                kind: kind.noun(),
                id: id.to_owned(),
                first,
                second: self.path.to_owned(),
            });
        }
        Ok(())
    }

    fn invalid(&self, item: &str, field: &str, reason: impl Into<String>) -> LoadError {
        LoadError::Invalid {
            path: self.path.to_owned(),
            item: item.to_owned(),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    fn relative(&self, file: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_owned(),
        }
    }

    fn certificate(&self, cert: &CaCertificate) -> Result<DesiredCertificate, LoadError> {
        let item = format!("certificates[{}]", cert.name);
        let (_, pem, t) =
            self.certificate_ref(&item, "certificate", &cert.certificate, Thumbprint::Sha1)?;
        let possession = match &cert.proof_of_possession {
            None => None,
            Some(p) => {
                if pem.is_none() {
                    return Err(self.invalid(
                        &item,
                        "proofOfPossession",
                        "proof of possession needs the certificate's `file:`",
                    ));
                }
                if cert.is_verified == Some(false) {
                    return Err(self.invalid(
                        &item,
                        "isVerified",
                        "isVerified: false contradicts proofOfPossession",
                    ));
                }
                let password = match &p.password {
                    Some(s) => Some(Secret::from(self.secret(
                        &item,
                        "proofOfPossession.password",
                        s,
                    )?)),
                    None => None,
                };
                Some(Possession {
                    certificate: cert
                        .certificate
                        .file
                        .as_deref()
                        .map(|f| self.relative(f))
                        .unwrap_or_default(),
                    key: self.relative(&p.key),
                    password,
                })
            }
        };
        let is_verified = cert.is_verified.or(possession.as_ref().map(|_| true));
        Ok(DesiredCertificate {
            name: cert.name.clone(),
            source: self.path.to_owned(),
            pem,
            sha1: t.sha1,
            is_verified,
            possession,
        })
    }

    fn group(&self, group: &EnrollmentGroup) -> Result<DesiredRecord, LoadError> {
        let value = serde_json::to_value(group).unwrap_or(Value::Null);
        self.record(
            Kind::EnrollmentGroup,
            &group.enrollment_group_id,
            value,
            &group.attestation,
        )
    }

    fn enrollment(&self, e: &Enrollment) -> Result<DesiredRecord, LoadError> {
        let value = serde_json::to_value(e).unwrap_or(Value::Null);
        self.record(Kind::Enrollment, &e.registration_id, value, &e.attestation)
    }

    fn record(
        &self,
        kind: Kind,
        id: &str,
        value: Value,
        attestation: &Attestation,
    ) -> Result<DesiredRecord, LoadError> {
        let item = format!("{}[{id}]", kind.list());
        if let Err(e) = dps_protocol::id::check_registration_id(id) {
            return Err(self.invalid(&item, kind.id_field(), e.to_string()));
        }
        let mut wire = match value {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        refuse_substitution(&wire, "", &|field| self.invalid(&item, field, SUBSTITUTION))?;
        if let Some(Value::Object(extra)) = wire.remove("passThrough") {
            let modelled = crate::export::modelled(kind);
            for (key, v) in extra {
                // Without regard to case: `Attestation` beside `attestation` would be sent
                // twice and differ on every plan.
                if modelled.iter().any(|m| m.eq_ignore_ascii_case(&key)) {
                    return Err(self.invalid(
                        &item,
                        &format!("passThrough.{key}"),
                        "is a field of its own: set it outside passThrough",
                    ));
                }
                // Sent, it would be a stale `If-Match` or a timestamp the service never takes;
                // compared, a difference no apply removes.
                if crate::record::SERVICE_FILLED.contains(&key.as_str()) {
                    return Err(self.invalid(
                        &item,
                        &format!("passThrough.{key}"),
                        "is filled in by the service: leave it out",
                    ));
                }
                wire.insert(key, v);
            }
        }
        let (wire_att, view_att, thumbprint_only) = self.attestation(kind, &item, attestation)?;
        wire.insert("attestation".into(), wire_att);
        if let Some(url) = wire
            .get("customAllocationDefinition")
            .and_then(|c| c.get("webhookUrl"))
            .cloned()
        {
            let secret: SecretRef = serde_json::from_value(url)
                .map_err(|e| self.invalid(&item, "customAllocationDefinition", e.to_string()))?;
            let url = self.secret(&item, "customAllocationDefinition.webhookUrl", &secret)?;
            if let Some(c) = wire
                .get_mut("customAllocationDefinition")
                .and_then(Value::as_object_mut)
            {
                c.insert("webhookUrl".into(), Value::String(url));
            }
        }
        let mut view = wire.clone();
        view.insert("attestation".into(), view_att);
        if let Some(twin) = view.get_mut("initialTwin") {
            *twin = normal_twin(twin);
        }
        Ok(DesiredRecord {
            kind,
            id: id.to_owned(),
            source: self.path.to_owned(),
            view,
            wire,
            thumbprint_only,
        })
    }
}

const SUBSTITUTION: &str =
    "`${...}` is substituted only in secret fields (keys, passwords, webhook URLs)";

/// Refuses `${` in any string outside the secret fields (which are checked by their type).
fn refuse_substitution(
    map: &Map<String, Value>,
    path: &str,
    refuse: &dyn Fn(&str) -> LoadError,
) -> Result<(), LoadError> {
    for (key, value) in map {
        let field = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if crate::record::is_secret(&field) {
            continue;
        }
        match value {
            Value::String(s) if s.contains("${") => return Err(refuse(&field)),
            Value::Object(m) => refuse_substitution(m, &field, refuse)?,
            Value::Array(items) => {
                for v in items {
                    if let Value::String(s) = v
                        && s.contains("${")
                    {
                        return Err(refuse(&field));
                    }
                    if let Value::Object(m) = v {
                        refuse_substitution(m, &field, refuse)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
