//! certGen.sh's folder layout and its five operations, without its bugs.
//!
//! The folder given to [`CertDir::new`] plays the role of the directory certGen.sh runs in:
//! certificates go to `certs/`, keys to `private/`, with the same file names. On top of that,
//! every device gets files named after it, so a second device does not overwrite the first, and
//! a `-full-chain` file (leaf first) that certGen.sh's documentation tells users to build by
//! hand. There is no `csr/`, `newcerts/` or `index.txt`: no OpenSSL CA database is kept.

use crate::credential::{CertSpec, Credential};
use crate::error::{CodeProblem, Error, Result};
use crate::fsx::{FileSet, Mode};
use crate::key::{KeyAlgorithm, key_to_pem};
use crate::pfx::to_pfx;
use crate::profile::{DEFAULT_VALIDITY_DAYS, Profile};
use dps_protocol::{IdWarning, Thumbprints, check_common_name};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// File prefix of the root CA.
pub const ROOT_PREFIX: &str = "azure-iot-test-only.root.ca";
/// File prefix of the intermediate CA.
pub const INTERMEDIATE_PREFIX: &str = "azure-iot-test-only.intermediate";
/// File prefix of the chain file (intermediate, then root).
pub const CHAIN_PREFIX: &str = "azure-iot-test-only.chain.ca";
/// File prefix of the proof-of-possession certificate.
pub const VERIFICATION_PREFIX: &str = "verification-code";
/// File prefix certGen.sh gives every device certificate.
pub const DEVICE_PREFIX: &str = "new-device";
/// File prefix certGen.sh gives every edge device CA certificate.
pub const EDGE_PREFIX: &str = "new-edge-device";
/// certGen.sh's root CA common name.
pub const ROOT_CN: &str = "Azure IoT Hub CA Cert Test Only";
/// certGen.sh's intermediate CA common name.
pub const INTERMEDIATE_CN: &str = "Azure IoT Hub Intermediate Cert Test Only";
/// certGen.sh's password for CA keys and PFX files.
pub const DEFAULT_PASSWORD: &str = "1234";

/// Printed at the end of every command, like certGen.sh's `warn_certs_not_for_production`.
pub const NOT_FOR_PRODUCTION: &str = "WARNING: these certificates are for testing only and are NOT for production use. \
CA keys and PFX files use the password you chose (certGen.sh's is '1234'), and the certificates expire \
after the validity period you chose (certGen.sh: 30 days).";

/// Which CA signs a leaf certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signer {
    /// The root CA (certGen.sh's `create_device_certificate` and verification certificate).
    #[default]
    Root,
    /// The intermediate CA (`create_device_certificate_from_intermediate`, edge certificates).
    Intermediate,
}

/// Options of `create_root_and_intermediate`.
#[derive(Clone)]
pub struct ChainOptions {
    /// Key algorithm for both CA keys.
    pub algorithm: KeyAlgorithm,
    /// Validity in days.
    pub days: u32,
    /// Root CA common name.
    pub root_cn: String,
    /// Intermediate CA common name.
    pub intermediate_cn: String,
    /// Password for the CA keys; `None` writes them unencrypted.
    pub password: Option<String>,
    /// Replace an existing chain.
    pub force: bool,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            algorithm: KeyAlgorithm::default(),
            days: DEFAULT_VALIDITY_DAYS,
            root_cn: ROOT_CN.to_owned(),
            intermediate_cn: INTERMEDIATE_CN.to_owned(),
            password: Some(DEFAULT_PASSWORD.to_owned()),
            force: false,
        }
    }
}

impl fmt::Debug for ChainOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainOptions")
            .field("algorithm", &self.algorithm)
            .field("days", &self.days)
            .field("root_cn", &self.root_cn)
            .field("intermediate_cn", &self.intermediate_cn)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("force", &self.force)
            .finish()
    }
}

/// Options of the leaf operations (verification, device and edge certificates).
#[derive(Clone)]
pub struct LeafOptions {
    /// Key algorithm of the new keys (the CA keys keep theirs).
    pub algorithm: KeyAlgorithm,
    /// Validity in days.
    pub days: u32,
    /// Password of the CA keys, and of the PFX files. `None`: unencrypted CA keys and an empty
    /// PFX password.
    pub password: Option<String>,
    /// The signing CA.
    pub signer: Signer,
    /// Write a `.cert.pfx` beside each certificate (certGen.sh does).
    pub pfx: bool,
}

impl Default for LeafOptions {
    fn default() -> Self {
        Self {
            algorithm: KeyAlgorithm::default(),
            days: DEFAULT_VALIDITY_DAYS,
            password: Some(DEFAULT_PASSWORD.to_owned()),
            signer: Signer::default(),
            pfx: true,
        }
    }
}

impl fmt::Debug for LeafOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafOptions")
            .field("algorithm", &self.algorithm)
            .field("days", &self.days)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("signer", &self.signer)
            .field("pfx", &self.pfx)
            .finish()
    }
}

/// One certificate an operation made.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its subject common name.
    pub common_name: String,
    /// Where the certificate was written (the per-name file for devices).
    pub cert_path: PathBuf,
    /// Where its key was written.
    pub key_path: PathBuf,
    /// The leaf-first chain file, for device and edge certificates.
    pub full_chain_path: Option<PathBuf>,
    /// SHA-1 and SHA-256 thumbprints.
    pub thumbprints: Thumbprints,
}

/// What an operation did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
    /// The certificates made.
    pub issued: Vec<Issued>,
    /// Legal but risky input (for example upper-case common names).
    pub warnings: Vec<IdWarning>,
}

/// A certGen.sh working folder.
#[derive(Debug, Clone)]
pub struct CertDir {
    base: PathBuf,
}

impl CertDir {
    /// Uses `base` as certGen.sh's working directory; nothing is touched until an operation runs.
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self { base: base.into() }
    }

    /// The working folder.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `certs/<prefix>.cert.pem`
    pub fn cert_path(&self, prefix: &str) -> PathBuf {
        self.base.join("certs").join(format!("{prefix}.cert.pem"))
    }

    /// `private/<prefix>.key.pem`
    pub fn key_path(&self, prefix: &str) -> PathBuf {
        self.base.join("private").join(format!("{prefix}.key.pem"))
    }

    /// `certs/<prefix>.cert.pfx`
    pub fn pfx_path(&self, prefix: &str) -> PathBuf {
        self.base.join("certs").join(format!("{prefix}.cert.pfx"))
    }

    /// `certs/<prefix>-full-chain.cert.pem`
    pub fn full_chain_path(&self, prefix: &str) -> PathBuf {
        self.base
            .join("certs")
            .join(format!("{prefix}-full-chain.cert.pem"))
    }

    /// `certs/azure-iot-test-only.chain.ca.cert.pem`
    pub fn chain_path(&self) -> PathBuf {
        self.cert_path(CHAIN_PREFIX)
    }

    /// Whether a root CA certificate or key is already present.
    pub fn has_chain(&self) -> bool {
        [self.cert_path(ROOT_PREFIX), self.key_path(ROOT_PREFIX)]
            .iter()
            .any(|p| p.exists())
    }

    /// Loads the root or intermediate CA of this folder.
    pub fn load_ca(&self, signer: Signer, password: Option<&str>) -> Result<Credential> {
        let prefix = match signer {
            Signer::Root => ROOT_PREFIX,
            Signer::Intermediate => INTERMEDIATE_PREFIX,
        };
        Credential::load_ca(&self.cert_path(prefix), &self.key_path(prefix), password)
    }

    /// certGen.sh `create_root_and_intermediate`: a self-signed root, an intermediate signed
    /// by it, and the chain file (intermediate, then root). Refuses to replace an existing
    /// chain unless `opts.force` is set.
    pub fn create_root_and_intermediate(&self, opts: &ChainOptions) -> Result<Outcome> {
        check_days(opts.days)?;
        let mut warnings =
            check_common_name(&opts.root_cn).or_else(|_| check_ca_name(&opts.root_cn))?;
        warnings.extend(
            check_common_name(&opts.intermediate_cn)
                .or_else(|_| check_ca_name(&opts.intermediate_cn))?,
        );
        if self.has_chain() && !opts.force {
            return Err(Error::ChainExists {
                dir: self.base.clone(),
            });
        }
        let spec = |cn, profile| CertSpec {
            common_name: cn,
            profile,
            algorithm: opts.algorithm,
            days: opts.days,
        };
        // The two RSA-4096 keygens dominate; run them in parallel.
        let (root, intermediate_key) = std::thread::scope(|s| {
            let ik = s.spawn(|| opts.algorithm.generate());
            let root = Credential::self_signed(&spec(&opts.root_cn, Profile::RootCa));
            let ik = ik.join().unwrap_or_else(|_| {
                Err(Error::Generation("key generation thread panicked".into()))
            });
            (root, ik)
        });
        let root = root?;
        let intermediate = root.sign_key(
            &spec(&opts.intermediate_cn, Profile::IntermediateCa),
            intermediate_key?,
        )?;
        let pw = opts.password.as_deref();
        let mut files = FileSet::new();
        files.add(
            self.key_path(ROOT_PREFIX),
            key_to_pem(root.key(), pw)?,
            Mode::Secret,
        );
        files.add(self.cert_path(ROOT_PREFIX), root.cert_pem(), Mode::Public);
        files.add(
            self.key_path(INTERMEDIATE_PREFIX),
            key_to_pem(intermediate.key(), pw)?,
            Mode::Secret,
        );
        files.add(
            self.cert_path(INTERMEDIATE_PREFIX),
            intermediate.cert_pem(),
            Mode::Public,
        );
        files.add(
            self.chain_path(),
            format!("{}{}", intermediate.cert_pem(), root.cert_pem()),
            Mode::Public,
        );
        let issued = vec![
            self.issued(&opts.root_cn, ROOT_PREFIX, &root, false),
            self.issued(
                &opts.intermediate_cn,
                INTERMEDIATE_PREFIX,
                &intermediate,
                false,
            ),
        ];
        Ok(Outcome {
            files: files.commit()?,
            issued,
            warnings,
        })
    }

    /// certGen.sh `create_verification_certificate CODE`: a proof-of-possession certificate
    /// whose CN is the verification code, signed by the root (or, unlike certGen.sh, by the
    /// intermediate, to prove possession of an uploaded intermediate).
    pub fn create_verification_certificate(
        &self,
        code: &str,
        opts: &LeafOptions,
    ) -> Result<Outcome> {
        check_days(opts.days)?;
        check_verification_code(code)?;
        let warnings = Vec::new();
        let ca = self.load_ca(opts.signer, opts.password.as_deref())?;
        let cert = ca.sign(&CertSpec {
            common_name: code,
            profile: Profile::Leaf,
            algorithm: opts.algorithm,
            days: opts.days,
        })?;
        let mut files = FileSet::new();
        self.add_leaf_files(&mut files, &[VERIFICATION_PREFIX], &cert, None, opts)?;
        Ok(Outcome {
            issued: vec![self.issued(code, VERIFICATION_PREFIX, &cert, false)],
            files: files.commit()?,
            warnings,
        })
    }

    /// certGen.sh `create_device_certificate NAME` (signer root) and
    /// `create_device_certificate_from_intermediate NAME` (signer intermediate), for any
    /// number of names at once, generated in parallel on every core.
    ///
    /// Each device gets `certs/<name>.cert.pem`, `private/<name>.key.pem`,
    /// `certs/<name>-full-chain.cert.pem` and, if asked, `certs/<name>.cert.pfx`. With exactly
    /// one name, the same files are also written under certGen.sh's `new-device.*` names.
    /// `progress` is called with (done, total) as certificates are made.
    pub fn create_device_certificates(
        &self,
        names: &[String],
        opts: &LeafOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Outcome> {
        self.create_leaves(names, opts, Profile::Leaf, DEVICE_PREFIX, progress)
    }

    /// certGen.sh `create_edge_device_certificate NAME`: a CA certificate with CN
    /// `<NAME>.ca`, signed by the intermediate, for an IoT Edge device.
    pub fn create_edge_device_certificate(
        &self,
        name: &str,
        opts: &LeafOptions,
    ) -> Result<Outcome> {
        let opts = LeafOptions {
            signer: Signer::Intermediate,
            ..opts.clone()
        };
        self.create_leaves(
            &[format!("{name}.ca")],
            &opts,
            Profile::IntermediateCa,
            EDGE_PREFIX,
            &|_, _| {},
        )
    }

    fn create_leaves(
        &self,
        names: &[String],
        opts: &LeafOptions,
        profile: Profile,
        parity_prefix: &str,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Outcome> {
        check_days(opts.days)?;
        let mut warnings = Vec::new();
        let mut seen = HashSet::new();
        for name in names {
            warnings.extend(check_common_name(name)?);
            if is_reserved(name) {
                return Err(Error::ReservedName { name: name.clone() });
            }
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(Error::DuplicateName { name: name.clone() });
            }
        }
        let pw = opts.password.as_deref();
        let ca = self.load_ca(opts.signer, pw)?;
        let root = match opts.signer {
            Signer::Root => None,
            Signer::Intermediate => {
                let path = self.cert_path(ROOT_PREFIX);
                Some(std::fs::read_to_string(&path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Error::MissingFile {
                            path: path.clone(),
                            hint: Some(
                                "create the chain first (create_root_and_intermediate)".into(),
                            ),
                        }
                    } else {
                        crate::error::io_err(path.clone())(e)
                    }
                })?)
            }
        };
        let chain_tail = format!("{}{}", ca.cert_pem(), root.unwrap_or_default());

        let made = parallel_map(names, progress, |name| {
            let cert = ca.sign(&CertSpec {
                common_name: name,
                profile,
                algorithm: opts.algorithm,
                days: opts.days,
            })?;
            let mut files = FileSet::new();
            let prefixes: &[&str] = if names.len() == 1 {
                &[name.as_str(), parity_prefix]
            } else {
                &[name.as_str()]
            };
            self.add_leaf_files(&mut files, prefixes, &cert, Some(&chain_tail), opts)?;
            Ok((self.issued(name, name, &cert, true), files))
        })?;

        let mut all = FileSet::new();
        let mut issued = Vec::with_capacity(made.len());
        for (i, files) in made {
            issued.push(i);
            all.extend(files);
        }
        Ok(Outcome {
            files: all.commit()?,
            issued,
            warnings,
        })
    }

    /// Adds a leaf's files under every prefix in `prefixes` (the per-name files and, for a
    /// single device, certGen.sh's names), encoding each artifact once so the copies are
    /// byte-identical.
    fn add_leaf_files(
        &self,
        files: &mut FileSet,
        prefixes: &[&str],
        cert: &Credential,
        chain_tail: Option<&str>,
        opts: &LeafOptions,
    ) -> Result<()> {
        let pem = cert.cert_pem();
        let key = cert.key().serialize_pem();
        let chain = chain_tail.map(|tail| format!("{pem}{tail}"));
        let pfx = if opts.pfx {
            Some(to_pfx(cert, &[], opts.password.as_deref().unwrap_or(""))?)
        } else {
            None
        };
        for prefix in prefixes {
            files.add(self.key_path(prefix), key.clone(), Mode::Secret);
            if let Some(chain) = &chain {
                files.add(self.full_chain_path(prefix), chain.clone(), Mode::Public);
            }
            if let Some(pfx) = &pfx {
                files.add(self.pfx_path(prefix), pfx.clone(), Mode::Secret);
            }
            files.add(self.cert_path(prefix), pem.clone(), Mode::Public);
        }
        Ok(())
    }

    fn issued(&self, cn: &str, prefix: &str, cred: &Credential, chain: bool) -> Issued {
        Issued {
            common_name: cn.to_owned(),
            cert_path: self.cert_path(prefix),
            key_path: self.key_path(prefix),
            full_chain_path: chain.then(|| self.full_chain_path(prefix)),
            thumbprints: Thumbprints::of_der(cred.der()),
        }
    }
}

/// CA common names are free text in certGen.sh ("Azure IoT Hub CA Cert Test Only" has spaces);
/// they only need to be non-empty and fit X.520's 64 characters.
fn check_ca_name(cn: &str) -> Result<Vec<IdWarning>> {
    let len = cn.chars().count();
    if len == 0 || len > 64 || cn.chars().any(char::is_control) {
        return Err(Error::InvalidName(check_common_name(cn).err().unwrap_or(
            dps_protocol::IdError::Empty {
                kind: dps_protocol::IdKind::CommonName,
            },
        )));
    }
    Ok(Vec::new())
}

/// A verification code is used exactly as DPS gave it: no registration-id rule and no case
/// advice apply (it names no device). It only has to fit a common name: 1 to 64 characters,
/// none of them a control character.
fn check_verification_code(code: &str) -> Result<()> {
    let len = code.chars().count();
    let reason = if code.is_empty() {
        Some(CodeProblem::Empty)
    } else if len > 64 {
        Some(CodeProblem::TooLong { len, max: 64 })
    } else {
        code.chars()
            .position(char::is_control)
            .map(|i| CodeProblem::ControlCharacter { position: i + 1 })
    };
    match reason {
        Some(reason) => Err(Error::InvalidVerificationCode {
            code: code.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn check_days(days: u32) -> Result<()> {
    if (1..=36_500).contains(&days) {
        Ok(())
    } else {
        Err(Error::InvalidValidity(days))
    }
}

fn is_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ROOT_PREFIX,
        INTERMEDIATE_PREFIX,
        CHAIN_PREFIX,
        VERIFICATION_PREFIX,
        EDGE_PREFIX,
    ]
    .iter()
    .any(|p| lower == *p)
}

/// Runs `f` over `items` on every core, keeping the input order, stopping at the first error.
fn parallel_map<T, R: Send>(
    items: &[T],
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>>
where
    T: Sync,
{
    let total = items.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(total.max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..total).map(|_| None).collect());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    match f(item) {
                        Ok(r) => {
                            if let Ok(mut res) = results.lock() {
                                res[i] = Some(r);
                            }
                            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let results = results
        .into_inner()
        .map_err(|_| Error::Generation("a worker thread panicked".into()))?;
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| Error::Generation("a worker thread panicked".into())))
        .collect()
}
