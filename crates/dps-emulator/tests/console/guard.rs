//! The guard in front of every console page.

use crate::support::{Console, https_client};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn the_overview_shows_the_scope_and_hides_keys_until_revealed() {
    let mut c = Console::start().await;
    let page = c.get("/portal/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(c.emulator.id_scope()), "{}", page.text);
    // The keys are in password inputs, never in a link.
    assert!(page.text.contains("type=\"password\""));
    assert!(!page.text.contains("href=\"HostName"));
}

#[tokio::test]
async fn a_foreign_host_header_is_refused() {
    let mut c = Console::start().await;
    let r = c
        .request(Method::GET, "/portal/")
        .header("host", "attacker.example:443");
    let page = c.send(r).await;
    assert_eq!(
        page.status,
        StatusCode::MISDIRECTED_REQUEST,
        "{}",
        page.text
    );
}

#[tokio::test]
async fn a_post_without_token_or_from_another_origin_is_refused() {
    let mut c = Console::start().await;
    let origin = c.origin.clone();
    // Right Origin, no token.
    let r = c
        .request(Method::POST, "/portal/sign-out")
        .header("origin", &origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=1");
    let page = c.send(r).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    assert!(page.text.contains("anti-forgery token"), "{}", page.text);
    // Right token, another Origin.
    let body = format!("csrf={}", c.csrf());
    let r = c
        .request(Method::POST, "/portal/sign-out")
        .header("origin", "https://attacker.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    let page = c.send(r).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.text);
    assert!(page.text.contains("Origin"), "{}", page.text);
}

#[tokio::test]
async fn every_response_forbids_framing_and_inline_script() {
    let c = Console::start().await;
    for path in [
        "/portal/",
        "/portal/assets/console.css",
        "/portal/no-such-page",
    ] {
        let r = c.request(Method::GET, path).send().await.expect("sent");
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..])
        );
    }
}

#[tokio::test]
async fn beyond_loopback_a_visitor_signs_in_and_the_read_only_policy_cannot_write() {
    let mut c = Console::start_beyond_loopback().await;
    let page = c.get("/portal/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/portal/sign-in"));
    let _ = c.get("/portal/sign-in").await;
    let wrong = c
        .post(
            "/portal/sign-in",
            &[("policy", "enrollmentread"), ("key", "bm90IHRoZSBrZXk=")],
        )
        .await;
    assert!(wrong.text.contains("do not match"), "{}", wrong.text);
    let key = c.read_only_key();
    let page = c
        .post(
            "/portal/sign-in",
            &[("policy", "enrollmentread"), ("key", &key)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let page = c.get("/portal/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("read-only"), "{}", page.text);
    // The owner's connection string is not shown to a read-only session.
    assert!(
        !page.text.contains("provisioningserviceowner;"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn the_device_listener_sends_a_browser_to_the_console_listener() {
    let c = Console::start().await;
    let api = format!("https://localhost:{}", c.emulator.addr().port());
    let client = https_client(&c.emulator);
    let r = client
        .get(format!("{api}/portal/certificates"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(format!("{}/portal/certificates", c.origin).as_str())
    );
    // A DPS path that merely starts with the letters is not redirected.
    let r = client
        .get(format!("{api}/portals?api-version=2021-10-01"))
        .send()
        .await
        .expect("sent");
    assert_ne!(r.status(), StatusCode::TEMPORARY_REDIRECT);
}

#[tokio::test]
async fn paths_outside_the_pages_never_replace_the_session_cookie() {
    let c = Console::start().await;
    for path in ["/favicon.ico", "/", "/portal", "/portal/assets/console.css"] {
        let r = c.request(Method::GET, path).send().await.expect("sent");
        assert!(
            r.headers().get("set-cookie").is_none(),
            "{path} set a cookie, which would overwrite the visitor's session"
        );
    }
}

#[tokio::test]
async fn visitors_without_a_session_cannot_evict_a_signed_in_one() {
    let mut c = Console::start_beyond_loopback().await;
    c.sign_in_read_only().await;
    // More cookieless visitors than the session limit.
    let origin = c.origin.clone();
    let anonymous = https_client(&c.emulator);
    for _ in 0..1100 {
        let _ = anonymous
            .get(format!("{origin}/portal/sign-in"))
            .send()
            .await
            .expect("sent");
    }
    let page = c.get("/portal/").await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "signed out: {:?}",
        page.location
    );
}

#[tokio::test]
async fn the_device_listener_keeps_the_query_and_the_name_the_browser_used() {
    let c = Console::start().await;
    let api = format!("https://127.0.0.1:{}", c.emulator.addr().port());
    let client = https_client(&c.emulator);
    let r = client
        .get(format!("{api}/portal/enrollments?tab=individual"))
        .send()
        .await
        .expect("sent");
    let port = c.emulator.console_addr().expect("console").port();
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(format!("https://127.0.0.1:{port}/portal/enrollments?tab=individual").as_str())
    );
}
