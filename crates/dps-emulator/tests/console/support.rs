//! A console test client: an emulator with its console on 127.0.0.1:0, and a browser-like
//! HTTPS client that keeps the session cookie, sends the anti-CSRF token and the Origin a
//! browser would.

#![allow(dead_code)]

use dps_emulator::{Emulator, EmulatorConfig};
use reqwest::StatusCode;
use std::net::SocketAddr;

/// A running emulator with its console, and one signed-in visitor.
pub(crate) struct Console {
    // Declared first so it is dropped first: the emulator then has no idle connection to
    // wait for when it stops.
    client: reqwest::Client,
    /// The emulator.
    pub(crate) emulator: Emulator,
    /// `https://localhost:<console port>`.
    pub(crate) origin: String,
    cookie: String,
    csrf: String,
    _dir: tempfile::TempDir,
}

/// A page as the client received it.
#[derive(Debug)]
pub(crate) struct Page {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// `Location`, for redirects.
    pub(crate) location: Option<String>,
    /// The body.
    pub(crate) text: String,
}

/// The first `<meta name="csrf-token">` of a page.
pub(crate) fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf-token\" content=\"")? + "name=\"csrf-token\" content=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Console {
    /// An in-memory emulator on 127.0.0.1 with its console, and a visitor session.
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// As [`Console::start`], after `tweak` changed the configuration.
    pub(crate) async fn start_with(tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EmulatorConfig::for_tests(dir.path());
        config.console_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        tweak(&mut config);
        let emulator = tokio::task::spawn_blocking(move || Emulator::spawn(config))
            .await
            .expect("spawn task")
            .expect("emulator starts");
        let port = emulator.console_addr().expect("console on").port();
        let client = https_client(&emulator);
        let mut console = Self {
            client,
            emulator,
            origin: format!("https://localhost:{port}"),
            cookie: String::new(),
            csrf: String::new(),
            _dir: dir,
        };
        console.new_session().await;
        console
    }

    /// An emulator whose console listens beyond loopback, so a visitor must sign in.
    pub(crate) async fn start_beyond_loopback() -> Self {
        Self::start_with(|config| {
            config.console_listen = Some(SocketAddr::from(([0, 0, 0, 0], 0)));
        })
        .await
    }

    /// The key of the read-only policy.
    pub(crate) fn read_only_key(&self) -> String {
        self.emulator
            .read_only_connection_string()
            .rsplit_once("SharedAccessKey=")
            .map(|(_, k)| k.to_owned())
            .expect("key")
    }

    /// Signs the visitor in with the read-only policy, as the sign-in form does.
    pub(crate) async fn sign_in_read_only(&mut self) {
        let _ = self.get("/portal/sign-in").await;
        let key = self.read_only_key();
        let page = self
            .post(
                "/portal/sign-in",
                &[("policy", "enrollmentread"), ("key", &key)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    }

    /// A console whose visitor signed in with the read-only policy.
    pub(crate) async fn start_read_only() -> Self {
        let mut c = Self::start_beyond_loopback().await;
        c.sign_in_read_only().await;
        let page = c.get("/portal/").await;
        assert!(page.text.contains("read-only"), "{}", page.text);
        c
    }

    /// Forgets the session and starts a new one (what a new browser profile does).
    pub(crate) async fn new_session(&mut self) {
        self.cookie.clear();
        let response = self
            .client
            .get(format!("{}/portal/", self.origin))
            .send()
            .await
            .expect("GET /portal/");
        self.remember_cookie(&response);
        let page = self.get("/portal/").await;
        self.csrf = csrf_of(&page.text).unwrap_or_default();
    }

    fn remember_cookie(&mut self, response: &reqwest::Response) {
        if let Some(c) = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("dps_console="))
        {
            self.cookie = c.split(';').next().unwrap_or_default().to_owned();
        }
    }

    /// The visitor's anti-CSRF token.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// A request with the session cookie.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.origin))
            .header("cookie", &self.cookie)
    }

    /// Sends a request and reads the page; a new session cookie (after sign-in) is kept.
    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request.send().await.expect("request sent");
        self.remember_cookie(&response);
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("body");
        if let Some(t) = csrf_of(&text) {
            self.csrf = t;
        }
        Page {
            status,
            location,
            text,
        }
    }

    /// `GET path` with the session.
    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let r = self.request(reqwest::Method::GET, path);
        self.send(r).await
    }

    /// `POST path` as the console's own form would: the session, the token, the Origin.
    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let body = serde_urlencoded_body(&form);
        let r = self
            .request(reqwest::Method::POST, path)
            .header("origin", &self.origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(r).await
    }

    /// `POST path` as a multipart upload from the console's own form: `files` are
    /// (field, file name, bytes); the token is added.
    pub(crate) async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let boundary = "dps-console-test-boundary-7f3a";
        let mut body = Vec::new();
        let mut all = vec![("csrf", self.csrf.clone())];
        all.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        for (name, value) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\ncontent-type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let r = self
            .request(reqwest::Method::POST, path)
            .header("origin", &self.origin)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(r).await
    }

    /// A service API client with the owner connection string.
    pub(crate) fn service(&self) -> dps_service_client::ProvisioningServiceClient {
        dps_service_client::ProvisioningServiceClient::from_connection_string(
            &self.emulator.service_connection_string(),
            Some(self.client_options()),
        )
        .expect("service client")
    }

    /// Client options trusting the emulator's CA only.
    pub(crate) fn client_options(&self) -> dps_service_client::ClientOptions {
        dps_service_client::ClientOptions {
            trusted_ca_pem: vec![self.emulator.ca_pem().as_bytes().to_vec()],
            trust_only_custom_ca: true,
            ..dps_service_client::ClientOptions::default()
        }
    }
}

/// `application/x-www-form-urlencoded` text of `fields`.
pub(crate) fn serde_urlencoded_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An HTTPS client that trusts only `emulator`'s CA and follows no redirect. HTTP/1.1: an
/// HTTP/2 connection waits, at shutdown, for a ping answer the test runtime (blocked in the
/// emulator's drop) cannot send.
pub(crate) fn https_client(emulator: &Emulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA PEM");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .http1_only()
        .build()
        .expect("client")
}
