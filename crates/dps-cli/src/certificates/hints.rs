//! What `certificate generate-verification-code` suggests next, and what a refused `certificate
//! verify` means: the commands, with the context of the command that printed them, that make
//! the verification certificate and verify it.

use super::{ArmArgs, VerifyArgs};
use crate::Hint;
use crate::certgen_files::read_first;
use crate::context::{GlobalArgs, shell_word};
use crate::errors::{About, explain};
use dps_certgen::{CertDir, INTERMEDIATE_PREFIX, ROOT_PREFIX, VERIFICATION_PREFIX};
use dps_chain::same_dn;
use dps_protocol::Thumbprints;
use dps_service_client::ErrorKind;
use std::path::{Path, PathBuf};

/// The certGen folder `dps-cli certs` writes to by default.
const DEFAULT_OUT: &str = "certs";

/// The `next:` text after a verification code: make the verification certificate with the
/// code exactly as given, then verify it. `thumbprint` is the CA certificate's SHA-1 on the
/// DPS: the command is given outright only when the certGen folder `certs/` holds that very
/// certificate (its root, or its intermediate with `--from-intermediate`); a CA with the same
/// name but another key would sign a certificate the service refuses, so otherwise the text
/// says which folder to use instead of guessing.
pub(crate) fn after_code(
    name: &str,
    code: &str,
    thumbprint: Option<&str>,
    global: &GlobalArgs,
    arm: &ArmArgs,
) -> String {
    let out = Path::new(DEFAULT_OUT);
    let verify = |out: &Path| {
        verify_command(
            name,
            &CertDir::new(out).cert_path(VERIFICATION_PREFIX),
            None,
            global,
            arm,
        )
    };
    match thumbprint.and_then(|t| signer_in(out, t)) {
        Some(from_intermediate) => global.hint(format!(
            "next: `{}`, then `{}` (use the code exactly as given)",
            make_command(code, out, from_intermediate),
            verify(out),
        )),
        None => global.hint(format!(
            "next: in the certGen folder that holds this CA certificate and its key, `{}` \
             (add `--out DIR` for that folder, and `--from-intermediate` when the CA is its \
             intermediate), then `{}` with that folder's certs/{VERIFICATION_PREFIX}.cert.pem \
             (use the code exactly as given)",
            make_command(code, out, false),
            verify(out),
        )),
    }
}

/// Whether the certGen folder `out` holds the CA certificate with this SHA-1 thumbprint:
/// `Some(false)` for its root, `Some(true)` for its intermediate, `None` for neither.
fn signer_in(out: &Path, sha1: &str) -> Option<bool> {
    let dir = CertDir::new(out);
    let same = |prefix: &str| {
        dps_certgen::read_certs(&dir.cert_path(prefix))
            .ok()
            .and_then(|c| c.into_iter().next())
            .is_some_and(|der| Thumbprints::of_der(&der).sha1.eq_ignore_ascii_case(sha1))
    };
    if same(ROOT_PREFIX) {
        Some(false)
    } else if same(INTERMEDIATE_PREFIX) {
        Some(true)
    } else {
        None
    }
}

/// The error for a refused `certificate verify`. When the service says which code it issued
/// last and the certificate's CN is another, the hint makes the certificate again with that
/// code, in the certGen folder the `--cert` file came from, signed by the CA that signed it.
pub(crate) fn verify_refused(
    e: dps_service_client::Error,
    args: &VerifyArgs,
    about: &About<'_>,
    arm: &ArmArgs,
) -> anyhow::Error {
    let global = about.global;
    if e.kind() != ErrorKind::BadRequest {
        return explain(e, about);
    }
    let cert = read_first(&args.certificate);
    let cn = cert
        .as_ref()
        .and_then(|c| c.common_name().map(str::to_owned));
    let out = certgen_folder(&args.certificate);
    let from_intermediate = cert.as_ref().is_some_and(|c| {
        intermediate_subject(out.as_deref().unwrap_or(Path::new(DEFAULT_OUT)))
            .is_some_and(|i| same_dn(c.issuer(), &i))
    });
    let out_dir = out.unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
    let made = CertDir::new(&out_dir).cert_path(VERIFICATION_PREFIX);
    let verify = verify_command(&args.name, &made, args.etag.as_deref(), global, arm);
    let hint = match (issued_code(e.message()), cn) {
        (Some(code), Some(cn)) if code != cn => {
            // The service's message says both values in words: the hint adds the commands.
            return Hint::error(
                e.to_string(),
                global.hint(format!(
                    "make the verification certificate again with `{}` (the code exactly as \
                     given), then `{verify}`",
                    make_command(&code, &out_dir, from_intermediate)
                )),
            );
        }
        (_, cn) => format!(
            "the verification certificate's CN{} must be the verification code DPS issued last \
             for {:?}, exactly as given, and it must be signed by that CA's key: `{}` issues a \
             new code and prints the commands that make and verify the certificate",
            cn.map(|c| format!(" ({c:?})")).unwrap_or_default(),
            args.name,
            global.hint_command(format_args!(
                "certificate generate-verification-code --name {}{}",
                shell_word(&args.name),
                arm.hint_flags()
            ))
        ),
    };
    Hint::error(e.to_string(), global.hint(hint))
}

/// `dps-cli certs create-verification-certificate CODE [--out DIR] [--from-intermediate]`.
fn make_command(code: &str, out: &Path, from_intermediate: bool) -> String {
    let mut cmd = format!(
        "dps-cli certs create-verification-certificate {}",
        shell_word(code)
    );
    if out != Path::new(DEFAULT_OUT) {
        cmd.push_str(&format!(
            " --out {}",
            shell_word(&out.display().to_string())
        ));
    }
    if from_intermediate {
        cmd.push_str(" --from-intermediate");
    }
    cmd
}

/// `dps-cli [context] certificate verify --name NAME --cert FILE [--etag ETAG] [Azure options]`.
fn verify_command(
    name: &str,
    cert: &Path,
    etag: Option<&str>,
    global: &GlobalArgs,
    arm: &ArmArgs,
) -> String {
    let etag = etag
        .map(|e| format!(" --etag {}", shell_word(e)))
        .unwrap_or_default();
    global.hint_command(format_args!(
        "certificate verify --name {} --cert {}{etag}{}",
        shell_word(name),
        shell_word(&cert.display().to_string()),
        arm.hint_flags()
    ))
}

/// The code the service says it issued last, from the emulator's refusal ("... the
/// verification code DPS issued last is \"CODE\" ...").
fn issued_code(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("issued last is \"")?;
    let (code, _) = rest.split_once('"')?;
    Some(code.to_owned())
}

/// The certGen folder a verification certificate was written to: `OUT` for
/// `OUT/certs/verification-code.cert.pem`.
fn certgen_folder(cert: &Path) -> Option<PathBuf> {
    let file = cert.file_name()?.to_str()?;
    (file == format!("{VERIFICATION_PREFIX}.cert.pem"))
        .then(|| crate::certgen_files::folder(cert))
        .flatten()
}

/// The subject of the intermediate CA of the certGen folder `out`, when there is one.
fn intermediate_subject(out: &Path) -> Option<String> {
    read_first(&CertDir::new(out).cert_path(INTERMEDIATE_PREFIX)).map(|c| c.subject().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issued_code_is_read_from_the_emulators_refusal() {
        let m = "Proof-Of-Possession failed: the verification certificate's CN is \"ab\" but the \
                 verification code DPS issued last is \"AB12\": make it again";
        assert_eq!(issued_code(m).as_deref(), Some("AB12"));
        assert_eq!(issued_code("something else"), None);
    }

    #[test]
    fn the_certgen_folder_of_a_verification_certificate() {
        let f = |p: &str| certgen_folder(Path::new(p));
        assert_eq!(
            f("certs/certs/verification-code.cert.pem"),
            Some("certs".into())
        );
        assert_eq!(
            f("/x/ecc/certs/verification-code.cert.pem"),
            Some("/x/ecc".into())
        );
        assert_eq!(f("certs/verification-code.cert.pem"), Some(".".into()));
        assert_eq!(f("elsewhere/code.pem"), None);
    }
}
