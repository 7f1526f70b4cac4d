//! Headless Chromium driven over WebDriver (chromedriver + fantoccini), for the web console's
//! browser tests and `cargo xtask screenshots` / `bench console`: one launcher, used by both.
//!
//! The browser trusts exactly the emulator's CA, never every certificate: either Chromium's
//! `--ignore-certificate-errors-spki-list` with the CA's SubjectPublicKeyInfo hash (the server
//! sends its leaf and the CA, so the CA's key is in the chain), or an NSS database holding the
//! CA (made by `dps-cli emulator trust`) found through `HOME`. It runs with a fresh profile,
//! background networking off and `--no-sandbox` (CI runs as root).
//!
//! Where Chromium or chromedriver is not installed, [`Tools::for_test`] prints a visible
//! `SKIPPED:` line and the test returns; with `DPS_E2E_BROWSER=1` (CI) that is a failure.

use crate::TestEmulator;
use anyhow::{Context, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set to `1` where a missing browser must fail the tests instead of skipping them (CI).
pub const REQUIRE_ENV: &str = "DPS_E2E_BROWSER";
/// What a test prints when it skips for want of a browser.
pub const SKIP_MESSAGE: &str =
    "SKIPPED: chromium/chromedriver not installed (apt install chromium chromium-driver)";
/// How long the helpers wait for an element or a condition: generous, for a loaded machine.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long chromedriver may take to answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(30);
/// Fresh ports tried when chromedriver cannot bind the one picked.
const DRIVER_TRIES: usize = 5;

/// One browser at a time per process: each is a whole Chromium, and the machine has 2 cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where Chromium and chromedriver are.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The browser (Debian's `/usr/bin/chromium`).
    pub chromium: PathBuf,
    /// The WebDriver server (Debian's `chromium-driver`).
    pub chromedriver: PathBuf,
}

impl Tools {
    /// Chromium and chromedriver from /usr/bin or `PATH`, if both are there.
    pub fn find() -> Option<Self> {
        Some(Self {
            chromium: find_program(&["chromium", "chromium-browser"])?,
            chromedriver: find_program(&["chromedriver"])?,
        })
    }

    /// The tools, or `None` after printing [`SKIP_MESSAGE`] to stderr; panics instead when
    /// `DPS_E2E_BROWSER=1` says the browser is required.
    pub fn for_test() -> Option<Self> {
        Self::or_skip(
            Self::find(),
            std::env::var(REQUIRE_ENV).as_deref() == Ok("1"),
            skipped,
        )
    }

    /// `found`, or `None` after telling `say` [`SKIP_MESSAGE`]; panics when `required`.
    fn or_skip(found: Option<Self>, required: bool, say: impl FnOnce(&str)) -> Option<Self> {
        if found.is_none() {
            assert!(
                !required,
                "{REQUIRE_ENV}=1 but chromium/chromedriver are not installed \
                 (apt install chromium chromium-driver)"
            );
            say(SKIP_MESSAGE);
        }
        found
    }
}

/// Prints `message` on the process's stderr itself, past the test harness's output capture,
/// so a skip shows in `cargo test` output even when the test passes.
pub fn skipped(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::iter::once(PathBuf::from("/usr/bin"))
        .chain(std::env::split_paths(&path))
        .collect();
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// How the browser comes to trust the emulator's TLS certificate.
#[derive(Debug, Clone)]
pub enum Trust {
    /// `--ignore-certificate-errors-spki-list` with this base64 SHA-256 of the CA's
    /// SubjectPublicKeyInfo: that key, and no other, is accepted.
    Spki(String),
    /// `HOME` for the browser, whose `.pki/nssdb` holds the CA (no SPKI flag).
    NssHome(PathBuf),
}

impl Trust {
    /// Trust the CA in `ca_pem` (its first certificate) by its key.
    pub fn ca(ca_pem: &str) -> anyhow::Result<Self> {
        spki_sha256_base64(ca_pem).map(Self::Spki)
    }
}

/// The base64 SHA-256 of the SubjectPublicKeyInfo of the first certificate in `pem`: the
/// value Chromium's `--ignore-certificate-errors-spki-list` takes.
pub fn spki_sha256_base64(pem: &str) -> anyhow::Result<String> {
    use base64::Engine;
    let der = dps_certgen::certs_from_bytes(pem.as_bytes())
        .context("reading the CA PEM")?
        .into_iter()
        .next()
        .context("the CA PEM holds no certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| anyhow::anyhow!("parsing the CA certificate: {e}"))?;
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        cert.tbs_certificate.subject_pki.raw,
    );
    Ok(base64::engine::general_purpose::STANDARD.encode(digest.as_ref()))
}

/// How to launch a browser.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Window width, CSS pixels.
    pub width: u32,
    /// Window height, CSS pixels.
    pub height: u32,
    /// How the emulator's certificate is trusted.
    pub trust: Trust,
    /// Emulate a phone (Chromium's mobile emulation: the page's viewport is `width` wide even
    /// below the smallest window Chromium makes, and `<meta name=viewport>` applies).
    pub mobile: bool,
}

impl Launch {
    /// A 1280x900 window trusting `trust`.
    pub fn desktop(trust: Trust) -> Self {
        Self {
            width: 1280,
            height: 900,
            trust,
            mobile: false,
        }
    }

    /// A 390x844 phone screen trusting `trust`.
    pub fn phone(trust: Trust) -> Self {
        Self {
            width: 390,
            height: 844,
            trust,
            mobile: true,
        }
    }

    /// The `goog:chromeOptions` capability for a profile in `profile`.
    fn chrome_options(&self, chromium: &Path, profile: &Path) -> Value {
        let mut options = json!({
            "binary": chromium,
            "args": chromium_args(self, profile),
        });
        if self.mobile {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {
                    "width": self.width,
                    "height": self.height,
                    "pixelRatio": 1.0,
                    "mobile": true,
                    "touch": true,
                },
            });
        }
        options
    }
}

/// A running chromedriver; killed (with the browsers it started) on drop.
#[derive(Debug)]
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free 127.0.0.1 port (retrying on a collision) and waits until
    /// it answers `/status`.
    fn start(tools: &Tools, home: Option<&Path>, scratch: &Path) -> anyhow::Result<Self> {
        let mut last = String::new();
        for attempt in 0..DRIVER_TRIES {
            let port = free_port()?;
            let log = scratch.join(format!("chromedriver-{attempt}.log"));
            let log_file =
                std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
            let mut cmd = Command::new(&tools.chromedriver);
            cmd.arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file);
            if let Some(home) = home {
                cmd.env("HOME", home);
            }
            // Its own process group, so the browsers it starts go with it on drop.
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd
                .spawn()
                .with_context(|| format!("starting {}", tools.chromedriver.display()))?;
            let mut driver = Self { child, port, log };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                Err(e) => last = format!("{e:#}"),
            }
        }
        bail!("chromedriver did not start after {DRIVER_TRIES} tries: {last}")
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let until = Instant::now() + DRIVER_START;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "chromedriver exited ({status}): {}",
                    std::fs::read_to_string(&self.log)
                        .unwrap_or_default()
                        .trim()
                );
            }
            if status_ready(self.port) {
                return Ok(());
            }
            if Instant::now() > until {
                bail!("chromedriver did not answer /status within {DRIVER_START:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        #[cfg(unix)]
        {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill")
                .args(["-TERM", "--", &group])
                .stderr(Stdio::null())
                .status();
            let until = Instant::now() + Duration::from_secs(3);
            while Instant::now() < until && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Whether chromedriver on `port` answers `GET /status` with 200 and `ready: true`.
fn status_ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let compact: String = response.split_whitespace().collect();
    response.starts_with("HTTP/1.1 200") && compact.contains("\"ready\":true")
}

/// Chromium's command line: headless, fresh profile, nothing in the background, and trust
/// by [`Trust::Spki`] when that is the way.
fn chromium_args(launch: &Launch, profile: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", launch.width, launch.height));
    if let Trust::Spki(hash) = &launch.trust {
        args.push(format!("--ignore-certificate-errors-spki-list={hash}"));
    }
    args
}

/// A headless Chromium session. Call [`Browser::close`] at the end; dropping it stops the
/// driver and the browser too.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Driver,
    /// The profile and the driver's log; removed on drop (after the driver).
    _scratch: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session as `launch` says.
    pub async fn launch(tools: &Tools, launch: &Launch) -> anyhow::Result<Self> {
        let turn = ONE_AT_A_TIME.lock().await;
        let scratch = tempfile::tempdir().context("a temp folder for the browser profile")?;
        let profile = scratch.path().join("profile");
        std::fs::create_dir_all(&profile)?;
        let home = match &launch.trust {
            Trust::NssHome(h) => Some(h.as_path()),
            Trust::Spki(_) => None,
        };
        let driver = Driver::start(tools, home, scratch.path())?;
        let caps = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": false,
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": launch.chrome_options(&tools.chromium, &profile),
        });
        let Value::Object(caps) = caps else {
            bail!("capabilities are a JSON object");
        };
        let client = ClientBuilder::rustls()
            .context("the WebDriver client's connector")?
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .with_context(|| {
                format!(
                    "starting a Chromium session: {}",
                    std::fs::read_to_string(&driver.log)
                        .unwrap_or_default()
                        .trim()
                )
            })?;
        Ok(Self {
            client,
            driver,
            _scratch: scratch,
            _turn: turn,
        })
    }

    /// Ends the session (the browser quits), then the driver.
    pub async fn close(self) {
        let Self { client, .. } = self;
        let _ = client.close().await;
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// The first element matching `css`, waiting up to [`WAIT`] for it.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => Ok(e),
            Err(e) => bail!(
                "no `{css}` within {WAIT:?} on {} ({e}); the page says:\n{}",
                self.where_am_i().await,
                self.body_text().await
            ),
        }
    }

    /// The first element matching `css` whose text contains `text`, waiting up to [`WAIT`]
    /// (the page may update itself meanwhile, e.g. a live feed).
    pub async fn wait_for_text(&self, css: &str, text: &str) -> anyhow::Result<Element> {
        let until = Instant::now() + WAIT;
        loop {
            for e in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                if e.text().await.is_ok_and(|t| t.contains(text)) {
                    return Ok(e);
                }
            }
            if Instant::now() > until {
                bail!(
                    "no `{css}` containing {text:?} within {WAIT:?} on {}; the page says:\n{}",
                    self.where_am_i().await,
                    self.body_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until no element matching `css` contains `text`.
    pub async fn wait_gone(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let until = Instant::now() + WAIT;
        loop {
            let mut present = false;
            for e in self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default()
            {
                present |= e.text().await.is_ok_and(|t| t.contains(text));
            }
            if !present {
                return Ok(());
            }
            if Instant::now() > until {
                bail!("`{css}` still contains {text:?} after {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The button (or submit input) whose visible text is `label`, within `scope` (a CSS
    /// selector; `"body"` for the whole page).
    pub async fn button(&self, scope: &str, label: &str) -> anyhow::Result<Element> {
        let xpath = format!(
            "//*[self::button or self::input[@type='submit']][normalize-space(.)='{label}' or @value='{label}']"
        );
        let until = Instant::now() + WAIT;
        loop {
            if let Ok(root) = self.client.find(Locator::Css(scope)).await
                && let Ok(found) = root.find_all(Locator::XPath(&format!(".{xpath}"))).await
                && let Some(b) = found.into_iter().next()
            {
                return Ok(b);
            }
            if Instant::now() > until {
                bail!(
                    "no {label:?} button in `{scope}` on {}",
                    self.where_am_i().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The whole page's visible text (for failure messages and checks).
    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("<no body: {e}>"),
        }
    }

    /// The current URL, for messages.
    pub async fn where_am_i(&self) -> String {
        self.client
            .current_url()
            .await
            .map_or_else(|e| format!("<unknown page: {e}>"), |u| u.to_string())
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    pub async fn js(&self, script: &str) -> anyhow::Result<Value> {
        self.client
            .execute(script, Vec::new())
            .await
            .with_context(|| format!("running script {script:?}"))
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        self.client
            .screenshot()
            .await
            .context("taking a screenshot")
    }

    /// The text of an open `alert`/`confirm` dialog, if one is open.
    pub async fn open_dialog(&self) -> Option<String> {
        self.client.get_alert_text().await.ok()
    }
}

impl TestEmulator {
    /// An in-memory emulator whose web console listens on a free 127.0.0.1 port (loopback:
    /// visitors act with the owner policy without signing in).
    pub fn start_console() -> Self {
        Self::start_with(|c| {
            c.console_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        })
    }

    /// `https://localhost:<console port>/portal/{path}`; panics when the console is off.
    pub fn console(&self, path: &str) -> String {
        let base = self
            .emulator
            .console_url()
            .expect("this emulator runs with its console on");
        format!("{base}{}", path.trim_start_matches('/'))
    }

    /// How a browser trusts this emulator: its CA's key, and nothing else.
    pub fn browser_trust(&self) -> Trust {
        Trust::ca(self.emulator.ca_pem()).expect("the emulator's CA is a certificate")
    }
}

#[cfg(test)]
mod tests;
