//! The emulator's local CA, kept in `DATA_DIR/tls` so a client trusts it once. It is
//! name-constrained (critical) to the names the emulator answers to: DNS `localhost` and each
//! configured host name, IP 127.0.0.0/8, ::1 and each configured IP literal. Trusting it
//! therefore vouches for no other site, which is what lets `dps-cli emulator trust` add it to
//! the system's and the browsers' stores.
//!
//! A CA made before the constraints existed is replaced at start (with a warning); a CA whose
//! constraints leave out a configured host name is refused with the command that regenerates it
//! ([`EmulatorError::HostNameOutsideLocalCa`]).

use super::err;
use crate::EmulatorError;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, GeneralSubtree,
    IsCa, KeyPair, KeyUsagePurpose, NameConstraints, PKCS_ECDSA_P256_SHA256,
};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::GeneralName;

/// The folder of the TLS files inside the data folder.
const TLS_DIR: &str = "tls";
/// The CA certificate's file name inside `DATA_DIR/tls`.
pub(crate) const CA_CERT_FILE: &str = "emulator-ca.cert.pem";
/// The CA key's file name inside `DATA_DIR/tls`.
const CA_KEY_FILE: &str = "emulator-ca.key.pem";
/// The common name of every local CA the emulator makes.
pub const LOCAL_CA_COMMON_NAME: &str = "dps-rs emulator local CA (testing only)";

/// Where the local CA certificate of the emulator with data folder `data_dir` is:
/// `DATA_DIR/tls/emulator-ca.cert.pem` (`caCertificatePath` in `emulator.json`).
pub fn local_ca_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TLS_DIR).join(CA_CERT_FILE)
}

/// One permitted subtree of a CA's name constraints: a name the CA may vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermittedName {
    /// A DNS name and every name under it (`localhost` permits `a.localhost` too).
    Dns(String),
    /// An IP network: `127.0.0.0/8`, `::1/128`.
    Ip {
        /// The network address.
        network: IpAddr,
        /// The prefix length in bits.
        prefix: u8,
    },
    /// Another kind of name (e-mail, URI, directory name), as x509-parser prints it; never
    /// in a CA the emulator made.
    Other(String),
}

impl PermittedName {
    /// Whether `host_name` (a DNS name or an IP literal) lies inside this subtree.
    pub fn permits(&self, host_name: &str) -> bool {
        match (self, host_name.parse::<IpAddr>()) {
            (Self::Ip { network, prefix }, Ok(ip)) => in_network(ip, *network, *prefix),
            (Self::Dns(base), Err(_)) => dns_within(host_name, base),
            _ => false,
        }
    }

    fn to_subtree(&self) -> Option<GeneralSubtree> {
        match self {
            Self::Dns(name) => Some(GeneralSubtree::DnsName(name.clone())),
            Self::Ip { network, prefix } => Some(GeneralSubtree::IpAddress(
                CidrSubnet::from_addr_prefix(*network, *prefix),
            )),
            Self::Other(_) => None,
        }
    }

    fn from_general_name(name: &GeneralName<'_>) -> Self {
        match name {
            GeneralName::DNSName(d) => Self::Dns((*d).to_owned()),
            GeneralName::IPAddress(b) => {
                // The address then the mask, 4 + 4 or 16 + 16 bytes.
                let (address, mask) = b.split_at(b.len() / 2);
                let network = match address.len() {
                    4 => <[u8; 4]>::try_from(address).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(address).ok().map(IpAddr::from),
                    _ => None,
                };
                let ones = mask.iter().map(|m| m.count_ones()).sum::<u32>();
                match (network, u8::try_from(ones)) {
                    (Some(network), Ok(prefix)) => Self::Ip { network, prefix },
                    _ => Self::Other(name.to_string()),
                }
            }
            other => Self::Other(other.to_string()),
        }
    }
}

impl fmt::Display for PermittedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => f.write_str(name),
            Self::Ip { network, prefix } => write!(f, "{network}/{prefix}"),
            Self::Other(text) => f.write_str(text),
        }
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let p = u32::from(prefix.min(32));
            let mask = u32::MAX.checked_shl(32 - p).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let p = u32::from(prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - p).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn dns_within(host: &str, base: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let base = base
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    base.is_empty() || host == base || host.ends_with(&format!(".{base}"))
}

/// The names a local CA made for `host_names` permits: `localhost`, 127.0.0.0/8, ::1/128, then
/// each host name the previous ones do not already cover (a DNS name as itself, an IP literal
/// as /32 or /128).
pub fn local_ca_permitted_names(host_names: &[String]) -> Vec<PermittedName> {
    let mut names = vec![
        PermittedName::Dns("localhost".to_owned()),
        PermittedName::Ip {
            network: Ipv4Addr::new(127, 0, 0, 0).into(),
            prefix: 8,
        },
        PermittedName::Ip {
            network: Ipv6Addr::LOCALHOST.into(),
            prefix: 128,
        },
    ];
    for host in host_names {
        if names.iter().any(|n| n.permits(host)) {
            continue;
        }
        names.push(match host.parse::<IpAddr>() {
            Ok(ip) => PermittedName::Ip {
                network: ip,
                prefix: if ip.is_ipv4() { 32 } else { 128 },
            },
            Err(_) => PermittedName::Dns(host.trim_end_matches('.').to_ascii_lowercase()),
        });
    }
    names
}

/// `a, b, c`: permitted names for messages.
pub(crate) fn join_names(names: &[PermittedName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The command that regenerates the local CA of `data_dir` for `host_names` and trusts the new
/// one: `dps-cli emulator trust --regenerate --data-dir DIR --host-name NAME...`.
pub fn regenerate_command(data_dir: &Path, host_names: &[String]) -> String {
    let mut command = format!(
        "dps-cli emulator trust --regenerate --data-dir {}",
        dps_protocol::shell::word(&data_dir.display().to_string())
    );
    for name in host_names {
        command.push_str(" --host-name ");
        command.push_str(&dps_protocol::shell::word(name));
    }
    command
}

/// Why the local CA certificate in the data folder could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalCaProblem {
    /// The file holds no PEM certificate, or its certificate does not parse.
    #[error(transparent)]
    Certificate(dps_certgen::Error),
    /// Its extensions do not parse.
    #[error("{0}")]
    Extensions(#[source] x509_parser::error::X509Error),
}

/// The emulator's local CA as kept in a data folder: what `dps-cli emulator trust` shows
/// before it adds the CA to a trust store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LocalCa {
    /// Where the certificate is.
    pub path: PathBuf,
    /// The certificate, PEM.
    pub pem: String,
    /// Subject DN (`CN=...`).
    pub subject: String,
    /// SHA-256 over the DER, 64 upper-case hex characters.
    pub sha256: String,
    /// SHA-1 over the DER, 40 upper-case hex characters (what macOS and Windows tools take).
    pub sha1: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whether now lies inside the validity period.
    pub currently_valid: bool,
    /// The permitted subtrees of its name constraints; `None` when it has none (made by a
    /// version before the constraints; the emulator replaces such a CA at start).
    pub permitted: Option<Vec<PermittedName>>,
}

impl LocalCa {
    /// Reads the local CA of the emulator with data folder `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Self, EmulatorError> {
        Self::read(&local_ca_path(data_dir))
    }

    /// Reads a local CA certificate file.
    pub fn read(path: &Path) -> Result<Self, EmulatorError> {
        let pem =
            std::fs::read_to_string(path).map_err(|e| EmulatorError::Io(path.to_owned(), e))?;
        Self::parse(path, pem)
    }

    fn parse(path: &Path, pem: String) -> Result<Self, EmulatorError> {
        let unreadable = |source| EmulatorError::LocalCaUnreadable {
            path: path.to_owned(),
            source,
        };
        let der = dps_certgen::certs_from_bytes(pem.as_bytes())
            .and_then(|certs| {
                certs
                    .into_iter()
                    .next()
                    .ok_or(dps_certgen::Error::NoPemCertificate)
            })
            .map_err(|e| unreadable(LocalCaProblem::Certificate(e)))?;
        let summary =
            dps_certgen::summarize(&der).map_err(|e| unreadable(LocalCaProblem::Certificate(e)))?;
        let x509_error = |e: x509_parser::nom::Err<x509_parser::error::X509Error>| match e {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
            x509_parser::nom::Err::Incomplete(_) => {
                x509_parser::error::X509Error::InvalidCertificate
            }
        };
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| unreadable(LocalCaProblem::Extensions(x509_error(e))))?;
        let constraints = cert
            .name_constraints()
            .map_err(|e| unreadable(LocalCaProblem::Extensions(e)))?;
        let permitted = constraints.map(|c| {
            c.value
                .permitted_subtrees
                .iter()
                .flatten()
                .map(|s| PermittedName::from_general_name(&s.base))
                .collect()
        });
        Ok(Self {
            path: path.to_owned(),
            pem,
            subject: summary.subject,
            sha256: summary.thumbprints.sha256,
            sha1: summary.thumbprints.sha1,
            not_after: summary.not_after,
            currently_valid: summary.currently_valid,
            permitted,
        })
    }

    /// The first 16 hex characters of the SHA-256 fingerprint, lower case: what names the CA
    /// in the stores `dps-cli emulator trust` adds it to.
    pub fn short_fingerprint(&self) -> String {
        self.sha256
            .chars()
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase()
    }

    /// Whether the CA may vouch for `host_name`: it has no name constraints, or one of its
    /// permitted subtrees holds the name.
    pub fn covers(&self, host_name: &str) -> bool {
        self.permitted
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n.permits(host_name)))
    }
}

/// Makes a new local CA for `host_names` in `data_dir` (replacing the one there, if any) and
/// returns where its certificate is. The key and the certificate are written together,
/// atomically, the key readable by its owner only. A running emulator keeps serving the old
/// CA's certificate until it restarts.
pub fn regenerate_local_ca(
    data_dir: &Path,
    host_names: &[String],
) -> Result<PathBuf, EmulatorError> {
    let tls_dir = data_dir.join(TLS_DIR);
    crate::datadir::create_private_dir(data_dir)?;
    crate::datadir::create_private_dir(&tls_dir)?;
    create(&tls_dir, host_names)?;
    Ok(tls_dir.join(CA_CERT_FILE))
}

/// The local CA in `tls_dir` (PEM, key): loaded when it is current, constrained and covers
/// `host_names`; made anew when it is missing, unreadable, expired or unconstrained; refused
/// when its constraints leave out a host name.
pub(crate) fn load_or_create(
    tls_dir: &Path,
    host_names: &[String],
) -> Result<(String, KeyPair), EmulatorError> {
    let ca_path = tls_dir.join(CA_CERT_FILE);
    let key_path = tls_dir.join(CA_KEY_FILE);
    let stored = std::fs::read_to_string(&ca_path)
        .ok()
        .zip(std::fs::read_to_string(&key_path).ok());
    if let Some((pem, key)) = stored {
        match LocalCa::parse(&ca_path, pem) {
            Ok(ca) if !ca.currently_valid => tracing::warn!(
                ca = %ca_path.display(),
                not_after = %ca.not_after,
                "the emulator's local CA has expired; replacing it with a new one (if you \
                 trusted the old one, run `dps-cli emulator trust` again)"
            ),
            Ok(ca) if ca.permitted.is_none() => tracing::warn!(
                ca = %ca_path.display(),
                "the emulator's local CA has no name constraints (made by an older dps-rs); \
                 replacing it with one that vouches only for localhost, loopback addresses and \
                 the configured host names (if you trusted the old one, run `dps-cli emulator \
                 trust` again)"
            ),
            Ok(ca) => {
                if let Some(outside) = host_names.iter().find(|h| !ca.covers(h)) {
                    let data_dir = tls_dir.parent().unwrap_or(tls_dir).to_owned();
                    return Err(EmulatorError::HostNameOutsideLocalCa {
                        host_name: outside.clone(),
                        ca_path,
                        allowed: ca.permitted.unwrap_or_default(),
                        data_dir,
                        host_names: host_names.to_vec(),
                    });
                }
                let key = KeyPair::from_pem(&key).map_err(err("emulator CA key"))?;
                return Ok((ca.pem, key));
            }
            Err(e) => tracing::warn!(
                ca = %ca_path.display(),
                error = %e,
                "the emulator's local CA is unreadable; replacing it with a new one"
            ),
        }
    }
    create(tls_dir, host_names)
}

/// Makes a local CA for `host_names` and writes it into `tls_dir`.
fn create(tls_dir: &Path, host_names: &[String]) -> Result<(String, KeyPair), EmulatorError> {
    let params = ca_params(host_names)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err("CA key"))?;
    let cert = params.self_signed(&key).map_err(err("CA certificate"))?;
    let mut files = dps_certgen::FileSet::new();
    files.add(
        tls_dir.join(CA_KEY_FILE),
        key.serialize_pem(),
        dps_certgen::Mode::Secret,
    );
    files.add(
        tls_dir.join(CA_CERT_FILE),
        cert.pem(),
        dps_certgen::Mode::Public,
    );
    files.commit().map_err(EmulatorError::TlsFiles)?;
    Ok((cert.pem(), key))
}

/// Checks that every host name is an IP literal or a DNS name (ASCII letters, digits, `-`,
/// `_` and dots between labels), as a name constraint and a SAN need; the first that is not
/// gives [`EmulatorError::InvalidHostName`].
pub fn check_host_names(host_names: &[String]) -> Result<(), EmulatorError> {
    for host in host_names {
        let dns = |h: &str| {
            let h = h.strip_suffix('.').unwrap_or(h);
            !h.is_empty()
                && h.len() <= 253
                && h.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                })
        };
        if host.parse::<IpAddr>().is_err() && !dns(host) {
            return Err(EmulatorError::InvalidHostName {
                host_name: host.clone(),
            });
        }
    }
    Ok(())
}

fn ca_params(host_names: &[String]) -> Result<CertificateParams, EmulatorError> {
    check_host_names(host_names)?;
    let mut p = CertificateParams::default();
    let now = OffsetDateTime::now_utc();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "dps-rs");
    // A subject of its own per CA, so that stores (NSS keys certificates by subject) keep an
    // old and a new CA apart.
    dn.push(
        DnType::OrganizationalUnitName,
        format!(
            "created {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.nanosecond()
        ),
    );
    dn.push(DnType::CommonName, LOCAL_CA_COMMON_NAME);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: local_ca_permitted_names(host_names)
            .iter()
            .filter_map(PermittedName::to_subtree)
            .collect(),
        excluded_subtrees: Vec::new(),
    });
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(3650);
    Ok(p)
}

#[cfg(test)]
#[path = "ca_tests.rs"]
mod tests;
