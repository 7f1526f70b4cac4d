//! The launcher's own checks: flags, the skip rule, the key hash.

use super::*;

#[test]
fn chromium_trusts_only_the_given_key() {
    let launch = Launch::desktop(Trust::Spki("abc=".into()));
    let args = chromium_args(&launch, Path::new("/tmp/p"));
    assert!(args.contains(&"--ignore-certificate-errors-spki-list=abc=".to_owned()));
    assert!(args.contains(&"--user-data-dir=/tmp/p".to_owned()));
    assert!(args.contains(&"--window-size=1280,900".to_owned()));
    assert!(!args.iter().any(|a| a == "--ignore-certificate-errors"));
    let nss = Launch::desktop(Trust::NssHome("/tmp/h".into()));
    assert!(
        !chromium_args(&nss, Path::new("/tmp/p"))
            .iter()
            .any(|a| a.starts_with("--ignore-certificate-errors"))
    );
}

#[test]
fn a_missing_browser_skips_unless_required() {
    let mut said = String::new();
    assert!(Tools::or_skip(None, false, |m| said.push_str(m)).is_none());
    assert_eq!(said, SKIP_MESSAGE);
    let tools = Tools {
        chromium: "/x/chromium".into(),
        chromedriver: "/x/chromedriver".into(),
    };
    assert!(Tools::or_skip(Some(tools), true, |_| panic!("not skipped")).is_some());
    let required = std::panic::catch_unwind(|| Tools::or_skip(None, true, |_| {}));
    assert!(
        required.is_err(),
        "a required browser that is missing must fail"
    );
    assert!(find_program(&["no-such-browser-here"]).is_none());
}

#[test]
fn the_spki_hash_is_of_the_ca_key() {
    let t = TestEmulator::start();
    let hash = spki_sha256_base64(t.emulator.ca_pem()).expect("hash");
    assert_eq!(hash.len(), 44, "{hash}");
    assert!(spki_sha256_base64("not a PEM").is_err());
}
