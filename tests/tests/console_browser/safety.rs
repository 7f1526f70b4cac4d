//! Safe by default, in a real browser: markup in data renders as text, a cross-site form is
//! refused, and a phone's width does not scroll sideways.

use super::browser;
use dps_e2e::browser::{Browser, Launch, Tools};
use dps_e2e::{TestEmulator, rt, symmetric_group};
use dps_protocol::models::{EnrollmentGroup, InitialTwin, TwinCollection};
use fantoccini::Locator;

/// Markup in a twin tag renders as text: no script runs, no element is made from it.
#[test]
fn markup_in_a_twin_tag_renders_as_text() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let service = t.client();
    let hostile = "<script>alert('tag')</script><b id=\"pwned\">bold</b>";
    rt().block_on(async {
        let mut group = EnrollmentGroup::symmetric_key("hostile-tags", None);
        group.initial_twin = Some(InitialTwin {
            tags: Some(TwinCollection::new().with("note", hostile)),
            ..Default::default()
        });
        service
            .create_or_update_enrollment_group(&group, None)
            .await
            .expect("group");
        let b = browser(&tools, &t).await;
        b.goto(&t.console("enrollments/groups/hostile-tags"))
            .await
            .expect("detail");
        b.wait_for_text("main", "<script>alert('tag')</script>")
            .await
            .expect("the tag, as text");
        assert_harmless(&b).await;
        b.close().await;
    });
}

/// A CA whose subject is markup renders as text on the Certificates page.
#[test]
fn markup_in_a_ca_subject_renders_as_text() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let hostile = "<script>alert('cn')</script><b id=\"pwned\">bold</b>";
    let ca = dps_certgen::Credential::self_signed(&dps_certgen::CertSpec {
        common_name: hostile,
        profile: dps_certgen::Profile::RootCa,
        algorithm: dps_certgen::KeyAlgorithm::EcdsaP256,
        days: 30,
    })
    .expect("a CA with markup for a name");
    rt().block_on(async {
        t.certificate_client()
            .create_or_update("hostile-ca", ca.cert_pem().as_bytes(), None)
            .await
            .expect("uploaded");
        let b = browser(&tools, &t).await;
        b.goto(&t.console("certificates"))
            .await
            .expect("certificates");
        b.wait_for_text(
            r#"#certificates tr[data-id="hostile-ca"]"#,
            "<script>alert('cn')</script>",
        )
        .await
        .expect("the subject, as text");
        assert_harmless(&b).await;
        b.close().await;
    });
}

/// No dialog opened and no element was made from the hostile markup.
async fn assert_harmless(b: &Browser) {
    assert_eq!(b.open_dialog().await, None, "a script ran");
    assert!(
        b.client.find(Locator::Css("#pwned")).await.is_err(),
        "markup from data became an element"
    );
    let scripts = b
        .js("return Array.from(document.querySelectorAll('main script')).length;")
        .await
        .expect("script count");
    assert_eq!(
        scripts,
        serde_json::json!(0),
        "a script element in the page body"
    );
}

/// A form on another site that posts to the console (Delete of a group) is refused by the
/// Origin check, and the group is still there.
#[test]
fn a_cross_origin_form_post_is_refused() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let service = t.client();
    let target = t.console("enrollments/groups/kept-group/delete");
    let page = format!(
        "<!doctype html><title>elsewhere</title>\
         <form method=\"post\" action=\"{target}\">\
         <input type=\"hidden\" name=\"etag\" value=\"*\">\
         <input type=\"hidden\" name=\"csrf\" value=\"guessed\">\
         </form><script src=\"/submit.js\"></script>"
    );
    let site = PlainSite::serve(page);
    rt().block_on(async {
        symmetric_group(&service, "kept-group", |_| {}).await;
        let b = browser(&tools, &t).await;
        b.goto(&site.url).await.expect("the other site");
        b.wait_for_text("main", "did not come from the console")
            .await
            .expect("the refusal");
        assert!(
            b.where_am_i().await.contains("/portal/"),
            "{}",
            b.where_am_i().await
        );
        service
            .get_enrollment_group("kept-group", None)
            .await
            .expect("the group is still there");
        b.close().await;
    });
}

/// A plain-HTTP site on 127.0.0.1 (another origin than the console's): `/` is `page`,
/// `/submit.js` submits its first form. Stops with the test process.
struct PlainSite {
    url: String,
}

impl PlainSite {
    fn serve(page: String) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().expect("addr").port()
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 4096];
                let n = stream.read(&mut request).unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..n]);
                let (kind, body) = if head.starts_with("GET /submit.js") {
                    ("text/javascript", "document.forms[0].submit();".to_owned())
                } else {
                    ("text/html; charset=utf-8", page.clone())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url }
    }
}

/// At a phone's 390 px the overview and the groups list fit the width: nothing scrolls
/// sideways.
#[test]
fn at_390_px_the_pages_do_not_overflow_sideways() {
    let Some(tools) = Tools::for_test() else {
        return;
    };
    let t = TestEmulator::start_console();
    let service = t.client();
    rt().block_on(async {
        symmetric_group(&service, "a-rather-long-enrollment-group-id-0001", |_| {}).await;
        let b = Browser::launch(&tools, &Launch::phone(t.browser_trust()))
            .await
            .expect("browser");
        for (path, ready) in [("", "#id-scope"), ("enrollments?tab=groups", "#groups")] {
            b.goto(&t.console(path)).await.expect("page");
            b.wait_for(ready).await.expect("loaded");
            let sizes = widths(&b).await;
            assert_eq!(sizes[0], 390, "the viewport: {sizes:?}");
            assert!(
                sizes[1] <= 390 && sizes[2] <= 390,
                "/portal/{path} is {sizes:?} px wide (page, main) at 390 px: it scrolls sideways"
            );
        }
        // The measure sees overflow when there is some.
        b.js(
            "const d = document.createElement('div'); d.style.width = '800px'; \
              d.textContent = 'wide'; document.querySelector('main').appendChild(d); return 1;",
        )
        .await
        .expect("a wide element");
        let sizes = widths(&b).await;
        assert!(
            sizes[1] > 390,
            "an 800 px element does not widen the page: {sizes:?}"
        );
        b.close().await;
    });
}

/// The viewport's width, the page's scroll width and `main`'s scroll width, CSS pixels.
async fn widths(b: &Browser) -> Vec<u64> {
    let v = b
        .js(
            "return [window.innerWidth, document.documentElement.scrollWidth, \
             document.querySelector('main').scrollWidth];",
        )
        .await
        .expect("widths");
    v.as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
        .unwrap_or_default()
}
