//! One row's world: its certificates (rcgen, ECDSA P-256) in a folder laid out as certGen's
//! (the device's files beside the CAs'), an emulator with the row's verified and uploaded CAs
//! and groups, and the two checks: the device API over HTTPS, and `dps-cli doctor`.

use super::{Ca, DEVICE, Finding, Https, INTERMEDIATE_CN, Leaf, ROOT_CN, Row, Sent};
use crate::common::bare;
use dps_device_client::{DeviceAuth, DeviceClientOptions, ErrorKind, ProvisioningDeviceClient};
use dps_emulator::{Emulator, EmulatorConfig};
use dps_protocol::models::{EnrollmentGroup, ProvisioningStatus, RegistrationStatus};
use dps_service_client::{
    CertificateClient, CertificateClientOptions, ClientOptions, ProvisioningServiceClient,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// A row's certificates, emulator and files.
pub(crate) struct Setup {
    _tmp: tempfile::TempDir,
    data_dir: PathBuf,
    emulator: Emulator,
    /// What the device sends, leaf first (PEM).
    chain_file: PathBuf,
    /// The key the device presents (PEM).
    key_file: PathBuf,
}

fn key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("P-256 key")
}

fn params(cn: &str, ca: bool, expired: bool) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    (p.not_before, p.not_after) = if expired {
        (now - day * 30, now - day)
    } else {
        (now - day, now + day * 30)
    };
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    } else {
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    p.use_authority_key_identifier_extension = true;
    p
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

impl Setup {
    /// Makes the row's chain and files, and starts its emulator.
    pub(crate) fn new(r: &Row) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let certs = tmp.path().join("certs");
        std::fs::create_dir_all(&certs).expect("certs folder");
        let write = |name: &str, text: &str| {
            let p = certs.join(name);
            std::fs::write(&p, text).expect("write");
            p
        };

        let root_key = key();
        let root_params = params(ROOT_CN, true, r.pki.root_expired);
        let root = root_params.self_signed(&root_key).expect("root");
        let root_issuer = Issuer::new(root_params, root_key);
        let int_key = key();
        let int_params = params(INTERMEDIATE_CN, true, r.pki.intermediate_expired);
        let intermediate = int_params
            .signed_by(&int_key, &root_issuer)
            .expect("intermediate");
        // A stale copy of the intermediate: its name, signed by the root, another key.
        let stale = params(INTERMEDIATE_CN, true, false)
            .signed_by(&key(), &root_issuer)
            .expect("stale intermediate");
        let int_issuer = Issuer::new(int_params, int_key);
        // A rogue chain borrowing the real names: a root named like the root and an
        // intermediate named like the intermediate, each with its own key.
        let rogue_root_key = key();
        let rogue_root_params = params(ROOT_CN, true, false);
        let rogue_root_issuer = Issuer::new(rogue_root_params, rogue_root_key);
        let rogue_int_key = key();
        let rogue_int_params = params(INTERMEDIATE_CN, true, false);
        let rogue_intermediate = rogue_int_params
            .signed_by(&rogue_int_key, &rogue_root_issuer)
            .expect("rogue intermediate");
        let rogue_int_issuer = Issuer::new(rogue_int_params, rogue_int_key);
        let leaf_key = key();
        let mut leaf_params = params(DEVICE, false, r.pki.leaf == Leaf::Expired);
        if r.pki.leaf == Leaf::ServerAuthOnly {
            leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        let leaf = match r.pki.leaf {
            Leaf::SelfSigned => leaf_params.self_signed(&leaf_key),
            Leaf::Rogue => leaf_params.signed_by(&leaf_key, &rogue_int_issuer),
            Leaf::Good | Leaf::Expired | Leaf::ServerAuthOnly => {
                leaf_params.signed_by(&leaf_key, &int_issuer)
            }
        }
        .expect("leaf");

        let root_file = write("root.pem", &root.pem());
        let int_file = write("intermediate.pem", &intermediate.pem());
        let mut sent = leaf.pem();
        for s in r.sends {
            sent.push_str(&match s {
                Sent::Intermediate => intermediate.pem(),
                Sent::Root => root.pem(),
                Sent::RogueIntermediate => rogue_intermediate.pem(),
                Sent::StaleIntermediate => stale.pem(),
            });
        }
        let chain_file = write("device.pem", &sent);
        let presented_key = if r.wrong_key { key() } else { leaf_key };
        let key_file = write("device.key.pem", &presented_key.serialize_pem());
        let ca_file = |ca: Ca| match ca {
            Ca::Root => ("root", root_file.clone()),
            Ca::Intermediate => ("intermediate", int_file.clone()),
        };

        let data_dir = tmp.path().join("emulator");
        let mut config = EmulatorConfig::for_tests(&data_dir);
        config.ca_certificates = r
            .verified
            .iter()
            .map(|&ca| {
                let (name, file) = ca_file(ca);
                (name.to_owned(), file)
            })
            .collect();
        let emulator = Emulator::spawn(config).expect("emulator starts");
        let options = ClientOptions {
            trusted_ca_pem: vec![emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..ClientOptions::default()
        };
        let cs = emulator.service_connection_string();
        let service = ProvisioningServiceClient::from_connection_string(&cs, Some(options.clone()))
            .expect("service client");
        let cas =
            CertificateClient::for_emulator(&cs, Some(CertificateClientOptions::from(options)))
                .expect("certificate client");
        runtime().block_on(async {
            for &ca in r.uploaded {
                let (name, file) = ca_file(ca);
                let pem = std::fs::read(&file).expect("CA file");
                cas.create_or_update(name, &pem, None)
                    .await
                    .expect("uploaded");
            }
            for &(id, ca, enabled) in r.groups {
                let pem = std::fs::read_to_string(ca_file(ca).1).expect("CA file");
                let mut g = EnrollmentGroup::x509_signing(id, pem, None);
                if !enabled {
                    g.provisioning_status = Some(ProvisioningStatus::Disabled);
                }
                service
                    .create_or_update_enrollment_group(&g, None)
                    .await
                    .expect("group");
            }
        });
        Self {
            _tmp: tmp,
            data_dir,
            emulator,
            chain_file,
            key_file,
        }
    }

    /// Registers the device over HTTPS and compares the outcome with the row's.
    pub(crate) fn check_https(&self, r: &Row) -> Result<(), String> {
        let read = |p: &PathBuf| std::fs::read(p).expect("file");
        let auth = DeviceAuth::x509(read(&self.chain_file), read(&self.key_file));
        let options = DeviceClientOptions {
            trusted_ca_pem: vec![self.emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            default_poll_interval: Duration::from_millis(10),
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            ..DeviceClientOptions::default()
        };
        let id = r.registration_id.unwrap_or(DEVICE);
        let outcome = runtime().block_on(async {
            ProvisioningDeviceClient::new(
                &self.emulator.device_endpoint(),
                self.emulator.id_scope(),
                id,
                auth,
                Some(options),
            )?
            .register(None)
            .await
        });
        let describe = |o: &dps_device_client::Result<_>| match o {
            Ok(s) => format!("Ok({s:?})"),
            Err(e) => format!(
                "Err(kind {:?}, status {:?}, code {:?}: {e})",
                e.kind(),
                e.status(),
                e.error_code()
            ),
        };
        let good = match (&r.https, &outcome) {
            // The raw client presents a good chain too (a control of the Tls rows).
            (Https::Assigned(group), Ok(s)) => {
                match self.raw_register(id) {
                    Ok(line) if line.starts_with("HTTP/1.1 2") => {}
                    other => return Err(format!("a raw registration: {other:?}")),
                }
                s.status == RegistrationStatus::Assigned
                    && s.x509
                        .as_ref()
                        .and_then(|x| x.enrollment_group_id.as_deref())
                        == Some(*group)
            }
            (Https::Refused(needles), Err(e)) => {
                assert!(
                    !needles.is_empty(),
                    "{}: a refusal without a needle",
                    r.name
                );
                e.status() == Some(401)
                    && e.error_code() == Some(401_002)
                    && needles.iter().all(|n| e.message().contains(n))
            }
            (Https::Disabled(group), Err(e)) => {
                e.kind() == ErrorKind::Disabled
                    && e.message()
                        .contains(&format!("the enrollment group {group:?} is disabled"))
            }
            // The device client (rustls) refuses a key that is not the certificate's before
            // it connects; a raw handshake then shows the emulator refusing it too.
            (Https::Tls, Err(e)) => {
                e.status().is_none()
                    && matches!(e.kind(), ErrorKind::Transport | ErrorKind::InvalidInput)
                    && {
                        let raw = self.raw_register(id);
                        if let Ok(answer) = &raw {
                            return Err(format!(
                                "the emulator answered a handshake with the wrong key: {answer}"
                            ));
                        }
                        true
                    }
            }
            _ => false,
        };
        if good {
            Ok(())
        } else {
            Err(format!(
                "expected {:?}, got {}",
                r.https,
                describe(&outcome)
            ))
        }
    }

    /// A registration over a TLS connection made by hand, presenting the row's chain with its
    /// key as they are (rustls' own client refuses a key that is not the certificate's): the
    /// first line of the HTTP answer, or why there is none.
    fn raw_register(&self, id: &str) -> Result<String, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        use std::io::{Read, Write};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.chain_file)
            .and_then(Iterator::collect)
            .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_file(&self.key_file).map_err(|e| e.to_string())?;
        let key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| e.to_string())?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(self.emulator.ca_pem().as_bytes()) {
            roots
                .add(ca.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(Presented(Arc::new(
                rustls::sign::CertifiedKey::new(chain, key),
            ))));
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut conn =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        let mut sock =
            std::net::TcpStream::connect(self.emulator.addr()).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let request = format!(
            "PUT /{}/registrations/{id}/register?api-version=2021-10-01 HTTP/1.1\r\nHost: {}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            self.emulator.id_scope(),
            self.emulator.host()
        );
        tls.write_all(request.as_bytes())
            .map_err(|e| format!("TLS: {e}"))?;
        let mut answer = Vec::new();
        tls.read_to_end(&mut answer)
            .map_err(|e| format!("TLS: {e}"))?;
        let text = String::from_utf8_lossy(&answer);
        match text.lines().next() {
            Some(line) if !line.is_empty() => Ok(line.to_owned()),
            _ => Err("the connection closed without an answer".into()),
        }
    }

    /// Runs `dps-cli doctor --emulator` on the same files and finds the row's finding.
    pub(crate) fn check_doctor(&self, r: &Row) -> Result<(), String> {
        let mut cmd = bare();
        cmd.args(["doctor", "--output", "json", "--cert"])
            .arg(&self.chain_file)
            .arg("--key")
            .arg(&self.key_file)
            .arg("--emulator")
            .arg(&self.data_dir);
        if let Some(id) = r.registration_id {
            cmd.args(["--registration-id", id]);
        }
        let out = cmd.output().expect("dps-cli runs");
        let list: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let checks = list.as_array().cloned().unwrap_or_default();
        let f: &Finding = &r.doctor;
        assert!(
            !f.detail.is_empty() && (f.status == "ok" || !f.fix.is_empty()),
            "{}: a doctor finding needs a detail needle, and a fix needle unless it is ok",
            r.name
        );
        let code = out.status.code().unwrap_or(-1);
        let mut wrong = Vec::new();
        if code != f.exit {
            wrong.push(format!("exit {code}, not {}", f.exit));
        }
        if !checks.iter().any(|c| matches(c, f)) {
            wrong.push(format!("no entry is {f:?}"));
        }
        // The expected failure is doctor's verdict, not one failure among others.
        let fails: Vec<&str> = checks
            .iter()
            .filter(|c| c["status"] == "fail")
            .filter_map(|c| c["check"].as_str())
            .collect();
        if f.status == "fail" && fails != [f.check] {
            wrong.push(format!(
                "the failing checks are {fails:?}, not [{:?}]",
                f.check
            ));
        }
        // Doctor names the group the device API assigned, or the disabled one.
        let names_group = |check: &str, status: &str, group: &str| {
            checks.iter().any(|c| {
                c["check"] == check
                    && c["status"] == status
                    && c["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains(&format!("enrollment group {group:?}")))
            })
        };
        match r.https {
            Https::Assigned(group) if !names_group("enrollment", "ok", group) => {
                wrong.push(format!("no ok enrollment finding names {group:?}"));
            }
            Https::Disabled(group) if !names_group("group-status", "fail", group) => {
                wrong.push(format!("no failing group-status finding names {group:?}"));
            }
            _ => {}
        }
        if wrong.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{}; doctor said:\n{}",
            wrong.join("; "),
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ))
    }
}

/// Presents one certificate chain and key, whatever they are.
#[derive(Debug)]
struct Presented(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Presented {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Whether a checklist entry is the expected finding: check, status, and every needle in its
/// detail and fix (no fix when it is ok).
fn matches(c: &Value, f: &Finding) -> bool {
    let text = |k: &str| c[k].as_str().unwrap_or_default();
    c["check"] == f.check
        && c["status"] == f.status
        && f.detail.iter().all(|n| text("detail").contains(n))
        && f.fix.iter().all(|n| text("fix").contains(n))
        && (f.status != "ok" || c["fix"].is_null())
}
