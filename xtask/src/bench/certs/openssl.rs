//! The reference: certGen.sh's openssl pipeline (behaviour spec, sections 1.4 and 1.5), run
//! step by step with the openssl CLI in a scratch folder laid out like certGen.sh's.
//!
//! Differences from certGen.sh, none of which touch the expensive part (key generation):
//! `openssl x509 -req -CAcreateserial` signs in place of `openssl ca`, so no index database is
//! kept; certificates are not dumped with `x509 -text`, files are not chmod-ed, and every device
//! gets files named after it instead of `new-device.*`.

use super::Algorithm;
use anyhow::{Context, bail};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// The config file written into each scratch folder.
pub(super) const CNF: &str = "openssl_bench.cnf";

const PASS: &str = "pass:1234";
const ROOT_KEY: &str = "private/azure-iot-test-only.root.ca.key.pem";
const ROOT_CERT: &str = "certs/azure-iot-test-only.root.ca.cert.pem";
const INTERMEDIATE_KEY: &str = "private/azure-iot-test-only.intermediate.key.pem";
const INTERMEDIATE_CSR: &str = "csr/azure-iot-test-only.intermediate.csr.pem";
const INTERMEDIATE_CERT: &str = "certs/azure-iot-test-only.intermediate.cert.pem";
const CHAIN: &str = "certs/azure-iot-test-only.chain.ca.cert.pem";

/// The request settings and the three extension sections certGen.sh uses from its cnf files
/// (section 1.5); the CA database settings are left out because `openssl ca` is not used.
const CNF_TEXT: &str = r#"# Written by `cargo xtask bench`: the parts of certGen.sh's openssl_root_ca.cnf it uses.
[ req ]
default_bits        = 2048
distinguished_name  = req_distinguished_name
string_mask         = utf8only
default_md          = sha256
x509_extensions     = v3_ca

[ req_distinguished_name ]
commonName          = Common Name

[ v3_ca ]
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always,issuer
basicConstraints       = critical, CA:true
keyUsage               = critical, digitalSignature, cRLSign, keyCertSign

[ v3_intermediate_ca ]
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always,issuer
basicConstraints       = critical, CA:true
keyUsage               = critical, digitalSignature, cRLSign, keyCertSign

[ usr_cert ]
basicConstraints       = CA:FALSE
nsCertType             = client, email
nsComment              = "OpenSSL Generated Client Certificate"
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid,issuer
keyUsage               = critical, nonRepudiation, digitalSignature, keyEncipherment
extendedKeyUsage       = clientAuth, emailProtection
"#;

/// `openssl version`, or `None` when openssl cannot be run.
pub(super) fn version() -> Option<String> {
    let out = Command::new("openssl")
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Untimed preparation of an empty scratch folder: the cnf file certGen.sh expects to find.
pub(super) fn prepare(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cnf = dir.join(CNF);
    fs::write(&cnf, CNF_TEXT).with_context(|| format!("writing {}", cnf.display()))
}

/// certGen.sh `create_root_and_intermediate` in `dir` (prepared with [`prepare`]).
pub(super) fn create_chain(dir: &Path, algorithm: Algorithm) -> anyhow::Result<()> {
    for sub in ["certs", "private", "csr"] {
        fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    ca_key(dir, algorithm, ROOT_KEY)?;
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-config",
            CNF,
            "-key",
            ROOT_KEY,
            "-passin",
            PASS,
            "-subj",
            "/CN=Azure IoT Hub CA Cert Test Only",
            "-days",
            "30",
            "-sha256",
            "-extensions",
            "v3_ca",
            "-out",
            ROOT_CERT,
        ],
    )?;
    ca_key(dir, algorithm, INTERMEDIATE_KEY)?;
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-config",
            CNF,
            "-key",
            INTERMEDIATE_KEY,
            "-passin",
            PASS,
            "-subj",
            "/CN=Azure IoT Hub Intermediate Cert Test Only",
            "-sha256",
            "-out",
            INTERMEDIATE_CSR,
        ],
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            INTERMEDIATE_CSR,
            "-CA",
            ROOT_CERT,
            "-CAkey",
            ROOT_KEY,
            "-passin",
            PASS,
            "-extfile",
            CNF,
            "-extensions",
            "v3_intermediate_ca",
            "-days",
            "30",
            "-sha256",
            "-CAcreateserial",
            "-out",
            INTERMEDIATE_CERT,
        ],
    )?;
    openssl(dir, &["verify", "-CAfile", ROOT_CERT, INTERMEDIATE_CERT])?;
    // cat intermediate root > chain
    let mut chain = read(dir, INTERMEDIATE_CERT)?;
    chain.extend(read(dir, ROOT_CERT)?);
    fs::write(dir.join(CHAIN), chain).with_context(|| format!("writing {CHAIN}"))
}

/// certGen.sh `create_device_certificate NAME` for each name, one after another, in `dir`
/// (which holds a chain from [`create_chain`]): key, CSR, root-signed `usr_cert`, verify
/// against the chain file, PFX.
pub(super) fn create_devices(
    dir: &Path,
    algorithm: Algorithm,
    names: &[String],
) -> anyhow::Result<()> {
    for name in names {
        let key = format!("private/{name}.key.pem");
        let csr = format!("csr/{name}.csr.pem");
        let cert = format!("certs/{name}.cert.pem");
        let pfx = format!("certs/{name}.cert.pfx");
        let subject = format!("/CN={name}");
        match algorithm {
            Algorithm::Rsa4096 => openssl(dir, &["genrsa", "-out", &key, "4096"])?,
            Algorithm::P256 => openssl(dir, &[&P256_GENPKEY[..], &["-out", &key]].concat())?,
        }
        openssl(
            dir,
            &[
                "req", "-new", "-config", CNF, "-key", &key, "-subj", &subject, "-sha256", "-out",
                &csr,
            ],
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                ROOT_CERT,
                "-CAkey",
                ROOT_KEY,
                "-passin",
                PASS,
                "-extfile",
                CNF,
                "-extensions",
                "usr_cert",
                "-days",
                "30",
                "-sha256",
                "-CAcreateserial",
                "-out",
                &cert,
            ],
        )?;
        openssl(dir, &["verify", "-CAfile", CHAIN, &cert])?;
        openssl(
            dir,
            &[
                "pkcs12", "-export", "-in", &cert, "-inkey", &key, "-passout", PASS, "-out", &pfx,
            ],
        )?;
    }
    Ok(())
}

const P256_GENPKEY: [&str; 5] = [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
];

/// An AES-256 encrypted CA key with password 1234.
fn ca_key(dir: &Path, algorithm: Algorithm, out: &str) -> anyhow::Result<()> {
    match algorithm {
        Algorithm::Rsa4096 => openssl(
            dir,
            &["genrsa", "-aes256", "-passout", PASS, "-out", out, "4096"],
        ),
        Algorithm::P256 => openssl(
            dir,
            &[&P256_GENPKEY[..], &["-aes256", "-pass", PASS, "-out", out]].concat(),
        ),
    }
}

fn read(dir: &Path, file: &str) -> anyhow::Result<Vec<u8>> {
    fs::read(dir.join(file)).with_context(|| format!("reading {}", dir.join(file).display()))
}

/// Runs `openssl ARGS` in `dir`; a non-zero exit is an error carrying openssl's stderr.
fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running `openssl {}`", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "reference step `openssl {}` failed in {} ({}):\n{}",
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The P-256 pipeline end to end (fast); skipped without openssl.
    #[test]
    fn p256_chain_and_device_verify() {
        if version().is_none() {
            eprintln!("openssl not on PATH: skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("xtask-bench-openssl-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let result = (|| {
            prepare(&dir)?;
            create_chain(&dir, Algorithm::P256)?;
            create_devices(&dir, Algorithm::P256, &["dev-1".to_owned()])?;
            let out = Command::new("openssl")
                .args([
                    "x509",
                    "-noout",
                    "-subject",
                    "-ext",
                    "extendedKeyUsage,basicConstraints",
                ])
                .arg("-in")
                .arg(dir.join("certs/dev-1.cert.pem"))
                .output()?;
            anyhow::Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        })();
        let chain = fs::read_to_string(dir.join(CHAIN)).unwrap_or_default();
        let pfx = dir.join("certs/dev-1.cert.pfx").is_file();
        let _ = fs::remove_dir_all(&dir);
        let text = result.unwrap_or_else(|e| panic!("{e:#}"));
        assert!(text.contains("CN = dev-1"), "{text}");
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
        assert!(text.contains("CA:FALSE"), "{text}");
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(pfx);
    }
}
