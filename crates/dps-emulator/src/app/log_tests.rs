//! The request log, checked with a subscriber written here (the library does not depend on
//! tracing-subscriber): what a line holds, and that no token or query string reaches it.

use super::*;
use crate::auth::Policies;
use crate::config::EmulatorConfig;
use crate::store::Store;
use crate::throttle::Throttle;

/// The events of the current thread, each as `message field=value ...`: a subscriber
/// without tracing-subscriber, which the library does not depend on.
#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl tracing::field::Visit for Line<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = String::new();
        event.record(&mut Line(&mut line));
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_refused_sas_device_is_logged_with_its_reason_and_without_its_token() {
    let config = EmulatorConfig::for_tests(std::env::temp_dir().join("dps-emulator-log"));
    let scope = config.id_scope.clone();
    let app = Arc::new(App {
        store: Store::in_memory().expect("store"),
        policies: Policies {
            owner: "b3duZXI=".into(),
            read: "cmVhZA==".into(),
        },
        port: 0,
        throttle: Throttle::new(None),
        mqtt: crate::mqtt::Connections::default(),
        console_port: None,
        activity: crate::activity::Activity::default(),
        config,
    });
    let signature = "c2VjcmV0LXNpZ25hdHVyZQ%3D%3D";
    let request = Request::builder()
        .method(Method::PUT)
        .uri(format!(
            "/{scope}/registrations/dev1/register?api-version=2021-06-01"
        ))
        .header(
            "authorization",
            format!(
                "SharedAccessSignature sr={scope}%2Fregistrations%2Fdev1&sig={signature}\
                 &se=4102444800&skn=registration"
            ),
        )
        // As a client sends it: a JSON body with its length.
        .header("content-type", "application/json")
        .header("content-length", r#"{"registrationId":"dev1"}"#.len())
        .body(Body::from(r#"{"registrationId":"dev1"}"#))
        .expect("request");
    let capture = Capture::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let response = tracing::subscriber::with_default(capture.clone(), || {
        rt.block_on(dispatch(State(app), None, request))
    });
    assert_eq!(response.status(), axum::http::StatusCode::UNAUTHORIZED);
    let lines = capture.0.lock().expect("lines").clone();
    let refused: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("device refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    assert!(
        refused[0].contains(r#"registration_id="dev1""#),
        "{lines:#?}"
    );
    assert!(
        refused[0].contains("reason=no individual enrollment \"dev1\""),
        "{lines:#?}"
    );
    let request_line = lines
        .iter()
        .find(|l| l.contains("message=request"))
        .expect("a request line");
    for part in [
        "method=PUT",
        &format!("path=/{scope}/registrations/dev1/register"),
        "status=401",
        "duration_ms=",
        "registration_id=\"dev1\"",
    ] {
        assert!(request_line.contains(part), "{part}: {request_line}");
    }
    for secret in [
        signature,
        "c2VjcmV0",
        "sig=",
        "SharedAccessSignature",
        "api-version",
    ] {
        assert!(
            lines.iter().all(|l| !l.contains(secret)),
            "{secret}: {lines:#?}"
        );
    }
}
