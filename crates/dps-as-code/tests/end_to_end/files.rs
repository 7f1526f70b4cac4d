//! What a file says is what is sent: YAML 1.2 scalars (`yes`, `no`, `on` and `off` are
//! strings, never booleans: the YAML 1.1 "Norway problem"), and no field the service fills in
//! smuggled in through `passThrough`.

use super::common::{Fixture, assert_unchanged, rt};
use serde_json::json;
use std::path::Path;

#[test]
fn yes_no_on_and_off_are_strings_sent_as_written() {
    let f = Fixture::new();
    let file = f.write(
        "dps.yaml",
        "enrollments:
  - registrationId: norway
    attestation: {type: symmetricKey}
    initialTwin:
      tags: {country: no, answer: yes, switch: on, light: off, real: true}
    passThrough: {futureMode: off}
",
    );
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        f.converge(files).await;
        let e = f
            .client
            .get_enrollment("norway", None)
            .await
            .expect("norway");
        let tags = e.initial_twin.and_then(|t| t.tags).expect("tags");
        assert_eq!(
            serde_json::to_value(&tags).expect("tags"),
            json!({"country": "no", "answer": "yes", "switch": "on", "light": "off", "real": true})
        );
        assert_eq!(e.extra.get("futureMode"), Some(&json!("off")));
        assert_unchanged(&f.plan(files, false).await);
    });
    // A boolean field written the YAML 1.1 way is an error with its position, not `true`.
    let e = dps_as_code::load::parse(
        Path::new("edge.yaml"),
        "enrollments:\n  - registrationId: e\n    attestation: {type: symmetricKey}\n    capabilities: {iotEdge: yes}\n",
    )
    .expect_err("yes is not a boolean");
    assert!(e.to_string().starts_with("edge.yaml:4:"), "{e}");
}

#[test]
fn fields_the_service_fills_in_are_refused_in_pass_through() {
    let dir = tempfile::tempdir().expect("temp dir");
    for field in [
        "etag",
        "createdDateTimeUtc",
        "lastUpdatedDateTimeUtc",
        "registrationState",
    ] {
        let file = dir.path().join("dps.yaml");
        let text = format!(
            "enrollments:\n  - registrationId: e\n    attestation: {{type: tpm, tpm: {{endorsementKey: AAAA}}}}\n    passThrough: {{{field}: \"2020-01-01T00:00:00Z\"}}\n"
        );
        std::fs::write(&file, text).expect("write");
        let sources = dps_as_code::load::read_paths(&[file]).expect("read");
        let e = dps_as_code::resolve::resolve(&sources, &|_: &str| None)
            .expect_err("a service-filled field");
        let text = e.to_string();
        assert!(
            text.contains(&format!("passThrough.{field}"))
                && text.contains("filled in by the service"),
            "{text}"
        );
    }
}
