//! The bad-input table: every class of hostile input, sent over real HTTPS to a running
//! emulator, with the status and DPS error code it must get. The same rows render
//! `docs/bad-input.md`; this test fails when that file differs from the rendering, and
//! `UPDATE_BAD_INPUT=1 cargo test -p dps-emulator --test bad_input` rewrites it.

#[path = "bad_input/connection.rs"]
mod connection;
#[path = "bad_input/extra.rs"]
mod extra;
#[path = "bad_input/rows.rs"]
mod rows;
#[path = "bad_input/send.rs"]
mod send;
#[path = "bad_input/table.rs"]
mod table;

use table::{Expect, Row};

/// The table's sections: title, introduction, rows.
fn sections() -> Vec<(&'static str, &'static str, Vec<Row>)> {
    vec![
        (
            "Bodies and values (service API)",
            "Enrollments, groups, bulk operations and CA certificates. Enum values must be \
             documented ones (in any case; they are stored in the wire's spelling); a \
             certificate, PEM or base64 DER, must be exactly one certificate.",
            rows::bodies(),
        ),
        (
            "Content types",
            "A request with a body must declare it `application/json` (any case, parameters \
             such as `charset` allowed); a request without a body is not checked.",
            rows::media(),
        ),
        (
            "api-version",
            "Required on every call but the certificate API's; a real calendar date from \
             2017-08-31 to 2026-04-01, optionally with `-preview`.",
            rows::api_versions(),
        ),
        (
            "Registration ids and register bodies",
            "Ids: 1 to 128 letters, digits and `. _ : -`, starting with a letter or digit and \
             ending with a letter, digit or `-`. A register body (HTTPS and MQTT alike) is \
             empty or a JSON object whose `registrationId`, if any, is the request's id.",
            rows::ids(),
        ),
        (
            "Authentication",
            "Service SAS forgeries and device credentials; every refusal is 401002 with a \
             message that says what is wrong.",
            rows::auth(),
        ),
        ("Paths and methods", "", rows::routing()),
        (
            "Connection layer",
            "Rejections made before a request reaches the API: the request line, the header \
             section, the connection cap.",
            connection::rows(),
        ),
    ]
}

/// Where the rendering lives.
fn doc_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bad-input.md")
}

#[test]
fn the_document_is_the_rendering_of_the_table() {
    let rendered = table::render(&sections());
    let path = doc_path();
    if std::env::var_os("UPDATE_BAD_INPUT").is_some() {
        std::fs::write(&path, &rendered).expect("write docs/bad-input.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == rendered,
        "docs/bad-input.md is not the rendering of the table in tests/bad_input; run \
         UPDATE_BAD_INPUT=1 cargo test -p dps-emulator --test bad_input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_is_refused_as_the_table_says() {
    let env = send::Env::start(|_| {}).await;
    let mut failures = Vec::new();
    for (title, _, rows) in sections() {
        for row in rows {
            let got = env.send(&row).await;
            if let Err(why) = check(&row, &got) {
                failures.push(format!(
                    "[{title}] {} ({}): {why}\n    got {} {}",
                    row.class,
                    row.example,
                    got.status,
                    String::from_utf8_lossy(&got.body)
                ));
            }
        }
    }
    // A refused write stores nothing.
    for path in ["/enrollments/dev-1", "/enrollmentGroups/g-1"] {
        let got = env.get(path).await;
        if got.status != 404 {
            failures.push(format!(
                "{path} was stored by a refused request: {}",
                got.status
            ));
        }
    }
    env.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether a response is what `row` expects: the status, and the error body with its code.
fn check(row: &Row, got: &send::Got) -> Result<(), String> {
    if got.status != row.status {
        return Err(format!("status {} instead of {}", got.status, row.status));
    }
    let body: serde_json::Value =
        serde_json::from_slice(&got.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match row.expect {
        Expect::Dps(code) => {
            if body["errorCode"] != code {
                return Err(format!("errorCode {} instead of {code}", body["errorCode"]));
            }
            for field in ["trackingId", "message", "timestampUtc"] {
                if body[field].as_str().is_none_or(str::is_empty) {
                    return Err(format!("the DPS body has no {field}"));
                }
            }
            if got.error_code_header.as_deref() != Some(code.to_string().as_str()) {
                return Err(format!(
                    "x-ms-error-code is {:?}, not {code}",
                    got.error_code_header
                ));
            }
        }
        Expect::Arm(code) => {
            if body["error"]["code"] != code {
                return Err(format!(
                    "ARM code {} instead of {code}",
                    body["error"]["code"]
                ));
            }
            if body["error"]["message"].as_str().is_none_or(str::is_empty) {
                return Err("the ARM body has no message".into());
            }
        }
    }
    let message = body["message"]
        .as_str()
        .or(body["error"]["message"].as_str())
        .unwrap_or_default();
    if let Some(words) = row.says
        && !message.contains(words)
    {
        return Err(format!("the message does not say {words:?}"));
    }
    if !got
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/json"))
    {
        return Err(format!("Content-Type is {:?}", got.content_type));
    }
    Ok(())
}
