//! The web console in a real browser: headless Chromium over WebDriver goes through the portal
//! steps of the DPS quickstart against an in-process emulator, and each result is checked
//! through the service API. The browser trusts exactly the emulator's CA (its key, or an NSS
//! database made by `dps-cli emulator trust`), never every certificate.
//!
//! Where Chromium or chromedriver is missing each test prints `SKIPPED: ...` and returns; CI
//! sets `DPS_E2E_BROWSER=1`, which turns a missing browser into a failure. Waits are bounded
//! by `browser::WAIT`; nothing here asserts a duration.

#[path = "console_browser/portal.rs"]
mod portal;
#[path = "console_browser/safety.rs"]
mod safety;
#[path = "console_browser/trust.rs"]
mod trust;

use dps_e2e::TestEmulator;
use dps_e2e::browser::{Browser, Launch, Tools};

/// A desktop browser trusting `t`'s CA, or `None` (skipped) where there is no Chromium.
pub(crate) async fn browser(tools: &Tools, t: &TestEmulator) -> Browser {
    Browser::launch(tools, &Launch::desktop(t.browser_trust()))
        .await
        .expect("headless Chromium starts")
}

/// Clicks the link whose visible text is `text` inside `scope` (CSS).
pub(crate) async fn click_link(b: &Browser, scope: &str, text: &str) {
    let css = format!("{scope} a");
    b.wait_for_text(&css, text)
        .await
        .expect("the link")
        .click()
        .await
        .expect("click");
}

/// Clicks the button labelled `label` inside `scope` (CSS).
pub(crate) async fn click_button(b: &Browser, scope: &str, label: &str) {
    b.button(scope, label)
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
}

/// base64(HMAC-SHA256(base64decode(group key), registration id)): a device's key in a
/// symmetric-key group, from the contract.
pub(crate) fn derived_key(group_key: &str, registration_id: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let k = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &b64.decode(group_key).expect("base64"),
    );
    b64.encode(aws_lc_rs::hmac::sign(&k, registration_id.as_bytes()).as_ref())
}
