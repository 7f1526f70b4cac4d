//! Shared test harness: a wiremock server, a client pointed at it with fast retries, and
//! assertions on the exact requests the client sent.

use base64::Engine as _;
use dps_protocol::auth::{SasToken, Secret, unix_now};
use dps_service_client::{ClientOptions, Credential, ProvisioningServiceClient, RetryOptions};
use serde_json::Value;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub(crate) use crate::fixtures::*;

/// The shared access key the mock client signs with.
pub(crate) const KEY: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";
/// The policy name the mock client signs with.
pub(crate) const KEY_NAME: &str = "provisioningserviceowner";
/// What the service sends on JSON responses.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Fast retries: 1 ms initial delay, the default number of retries.
pub(crate) fn fast_retry() -> RetryOptions {
    RetryOptions {
        initial_delay: Duration::from_millis(1),
        ..Default::default()
    }
}

/// A client for `uri` signing with [`KEY`].
pub(crate) fn client_for(uri: &str, retry: RetryOptions) -> ProvisioningServiceClient {
    ProvisioningServiceClient::new(
        uri,
        Credential::SharedAccessKey {
            key_name: KEY_NAME.into(),
            key: Secret::from(KEY),
        },
        Some(ClientOptions {
            retry,
            ..Default::default()
        }),
    )
    .expect("a valid endpoint")
}

/// A mock DPS and a client pointed at it.
pub(crate) struct Harness {
    pub(crate) server: MockServer,
    pub(crate) client: ProvisioningServiceClient,
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::with_retry(fast_retry()).await
    }

    pub(crate) async fn with_retry(retry: RetryOptions) -> Self {
        let server = MockServer::start().await;
        let client = client_for(&server.uri(), retry);
        Self { server, client }
    }

    /// `127.0.0.1:<port>`: what SAS tokens are signed for.
    pub(crate) fn authority(&self) -> String {
        self.server.address().to_string()
    }

    /// Answers `method path` (path percent-encoded as on the wire) with `response`.
    pub(crate) async fn on(&self, m: &str, p: &str, response: ResponseTemplate) {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(response)
            .mount(&self.server)
            .await;
    }

    /// Every request received so far, in order.
    pub(crate) async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("recording is on")
    }

    /// The one request received; fails if there were more or fewer.
    pub(crate) async fn only_request(&self) -> Request {
        let mut all = self.requests().await;
        assert_eq!(
            all.len(),
            1,
            "expected exactly one request, got {}",
            all.len()
        );
        all.remove(0)
    }

    /// Asserts method, path, the api-version query (and nothing else in it), `Accept`, and an
    /// `Authorization` SAS token that verifies with [`KEY`] for this host and path.
    pub(crate) fn assert_call(&self, req: &Request, m: &str, p: &str) {
        assert_eq!(req.method.as_str(), m, "method of {}", req.url);
        assert_eq!(req.url.path(), p, "path");
        assert_eq!(
            req.url.query(),
            Some("api-version=2021-10-01"),
            "query of {}",
            req.url
        );
        assert_eq!(header(req, "accept"), Some("application/json"));
        let auth = header(req, "authorization").expect("an Authorization header on every request");
        let prefix = format!(
            "SharedAccessSignature sr=127.0.0.1%3A{}&",
            self.server.address().port()
        );
        assert!(auth.starts_with(&prefix), "{auth} starts with {prefix}");
        let token = SasToken::parse(auth).expect("a parsable SAS token");
        let audience = format!("{}{}", self.authority(), p);
        token
            .verify(&[&Secret::from(KEY)], &audience, unix_now(), 0)
            .expect("the SAS token verifies for the request");
        assert_eq!(token.policy_name(), Some(KEY_NAME));
        assert!(
            token.expiry() > unix_now() + 600,
            "a token with a useful lifetime"
        );
    }
}

/// A header's value as text; panics when it is sent more than once.
pub(crate) fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    let mut all = req.headers.get_all(name).iter();
    let first = all.next().map(|v| v.to_str().expect("ASCII header"));
    assert!(all.next().is_none(), "{name} sent more than once");
    first
}

/// The request carries exactly this `If-Match` (or none).
pub(crate) fn assert_if_match(req: &Request, expected: Option<&str>) {
    assert_eq!(
        header(req, "if-match"),
        expected,
        "If-Match of {} {}",
        req.method,
        req.url
    );
}

/// The request carries this JSON body, with the JSON content type.
pub(crate) fn assert_json_body(req: &Request, expected: &Value) {
    assert_eq!(header(req, "content-type"), Some(JSON_UTF8));
    let sent: Value = serde_json::from_slice(&req.body).expect("the body is JSON");
    assert_eq!(&sent, expected, "request body");
    let length = header(req, "content-length").expect("a Content-Length");
    assert_eq!(length, req.body.len().to_string());
}

/// The request has no body, no content type, and (for POST) `Content-Length: 0`.
pub(crate) fn assert_no_body(req: &Request) {
    assert!(
        req.body.is_empty(),
        "no body expected, got {:?}",
        String::from_utf8_lossy(&req.body)
    );
    assert_eq!(header(req, "content-type"), None);
    if req.method.as_str() == "POST" {
        assert_eq!(header(req, "content-length"), Some("0"));
    }
}

/// The request's paging headers are exactly these.
pub(crate) fn assert_paging(req: &Request, page_size: Option<&str>, continuation: Option<&str>) {
    assert_eq!(
        header(req, "x-ms-max-item-count"),
        page_size,
        "x-ms-max-item-count"
    );
    assert_eq!(
        header(req, "x-ms-continuation"),
        continuation,
        "x-ms-continuation"
    );
}

/// A response with a JSON body as the service sends it.
pub(crate) fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), JSON_UTF8)
}

/// A query page: the items, the item type, and the continuation token when more follow.
pub(crate) fn page_response(
    items: &[Value],
    item_type: &str,
    continuation: Option<&str>,
) -> ResponseTemplate {
    let mut r = json_response(200, &Value::Array(items.to_vec()))
        .insert_header("x-ms-item-type", item_type)
        .insert_header("x-content-type-options", "nosniff");
    if let Some(token) = continuation {
        r = r.insert_header("x-ms-continuation", token);
    }
    r
}

/// A realistic continuation token: base64 of Cosmos JSON (contains `+`, `/` or `=`).
pub(crate) fn cosmos_token(n: u32) -> String {
    let raw = format!(
        r#"[{{"token":"+RID:~Xn3tq8AB7w0{n}AAAAAA==#RT:{n}#TRC:10#ISV:2#IEO:65551","range":{{"min":"","max":"FF"}}}}]"#
    );
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A matcher for requests that carry no `x-ms-continuation` header.
pub(crate) fn first_page(req: &Request) -> bool {
    !req.headers.contains_key("x-ms-continuation")
}

/// Serializes a model for comparison with what was sent or received.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("models serialize")
}

/// Deserializes a model from a fixture.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone()).expect("the fixture matches the model")
}
