//! Proof of possession on the Certificates page: Generate verification code, the commands
//! that make the verification certificate, Verify; and its refusals (no code, wrong code,
//! wrong key, stale ETag, expired code) in the API's words, leaving the CA Unverified.

use super::{
    LIST, api_verified, by_id, ca, certificates, etag_field, follow, generate, row, signed, upload,
    verify,
};
use crate::support::Console;
use reqwest::StatusCode;

#[tokio::test]
async fn proof_of_possession_through_the_page_verifies_the_ca() {
    let mut c = Console::start().await;
    let root = ca("PoP Root");
    let _ = upload(&mut c, "pop-root", &root).await;
    let (page, code) = generate(&mut c, "pop-root").await;
    assert_eq!(code.len(), 48, "{code}");
    assert!(code.chars().all(|ch| ch.is_ascii_hexdigit()), "{code}");
    assert!(
        page.text.contains(&format!(
            "dps-cli certs create-verification-certificate {code}</pre>"
        )),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("create_verification_certificate {code}")),
        "certGen.sh too"
    );
    assert!(page.text.contains("Generated a verification code"));
    // The Verify form carries the ETag generateVerificationCode returned.
    let api = certificates(&c).get("pop-root", None).await.expect("there");
    assert_eq!(api.etag.as_deref(), Some(etag_field(&page).as_str()));

    let done = verify(&mut c, "pop-root", &page, &signed(&root, &code)).await;
    let list = follow(&mut c, &done).await;
    assert!(
        list.text.contains("Proof of possession accepted"),
        "{}",
        list.text
    );
    let r = row(&list, "pop-root").expect("a row");
    assert!(
        r.contains("<span class=\"badge ok\">Verified</span>"),
        "{r}"
    );
    assert_eq!(api_verified(&c, "pop-root").await, Some(true));
    let detail = c.get(&format!("{LIST}/pop-root")).await;
    assert!(
        by_id(&detail, "verification-code").is_none(),
        "the code is used up"
    );
    assert!(!detail.text.contains("id=\"verify\""));
}

#[tokio::test]
async fn a_wrong_code_or_key_is_refused_in_the_apis_words_and_stays_unverified() {
    let mut c = Console::start().await;
    let root = ca("Wrong Root");
    let _ = upload(&mut c, "wrong-root", &root).await;

    // Verify before any code: the API's words.
    let detail = c.get(&format!("{LIST}/wrong-root")).await;
    assert!(
        !detail.text.contains("id=\"verify\""),
        "no Verify form without a code"
    );
    let early = c
        .upload(
            &format!("{LIST}/wrong-root/verify"),
            &[("etag", &etag_field(&detail))],
            &[(
                "certificate",
                "v.pem",
                signed(&root, "ABCDEF").cert_pem().into_bytes(),
            )],
        )
        .await;
    let shown = follow(&mut c, &early).await;
    assert!(
        shown
            .text
            .contains("no verification code is pending for &quot;wrong-root&quot;"),
        "{}",
        shown.text
    );

    let (page, code) = generate(&mut c, "wrong-root").await;
    // The wrong code.
    let wrong = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    let refused = verify(&mut c, "wrong-root", &page, &signed(&root, wrong)).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.text);
    let shown = follow(&mut c, &refused).await;
    let notice = shown
        .text
        .split("<p class=\"notice failed\" role=\"status\">")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .expect("a failed notice");
    assert!(
        notice.starts_with("Proof-Of-Possession failed: the verification certificate&#39;s CN is")
            || notice
                .starts_with("Proof-Of-Possession failed: the verification certificate's CN is"),
        "{notice}"
    );
    assert!(notice.contains(&code), "names the code: {notice}");
    assert!(
        shown
            .text
            .contains("<span class=\"badge bad\">Unverified</span>")
    );
    assert_eq!(api_verified(&c, "wrong-root").await, Some(false));

    // The right code, signed by another key under the same name: the API's words again.
    let impostor = ca("Wrong Root");
    let refused = verify(&mut c, "wrong-root", &page, &signed(&impostor, &code)).await;
    let shown = follow(&mut c, &refused).await;
    assert!(
        shown.text.contains(
            "the verification certificate is not signed by the private key of CN=Wrong Root"
        ),
        "{}",
        shown.text
    );
    assert_eq!(api_verified(&c, "wrong-root").await, Some(false));

    // A page from before the code was generated: its ETag is stale, shown as a conflict.
    let stale = c
        .upload(
            &format!("{LIST}/wrong-root/verify"),
            &[("etag", &etag_field(&detail))],
            &[(
                "certificate",
                "v.pem",
                signed(&root, &code).cert_pem().into_bytes(),
            )],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    assert!(stale.text.contains("id=\"conflict\""), "{}", stale.text);
    assert_eq!(api_verified(&c, "wrong-root").await, Some(false));

    // The failures used nothing up: the right certificate still verifies.
    let done = verify(&mut c, "wrong-root", &page, &signed(&root, &code)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(api_verified(&c, "wrong-root").await, Some(true));
}

#[tokio::test]
async fn an_expired_code_is_shown_as_expired_and_refused() {
    let clock = dps_emulator::clock::ManualClock::new(time::OffsetDateTime::now_utc());
    let moved = clock.clone();
    let mut c = Console::start_with(move |config| config.clock = std::sync::Arc::new(moved)).await;
    let root = ca("Expiring Root");
    let _ = upload(&mut c, "expiring", &root).await;
    let (page, code) = generate(&mut c, "expiring").await;
    clock.advance(std::time::Duration::from_secs(2 * 3600));

    let later = c.get(&format!("{LIST}/expiring")).await;
    assert!(later.text.contains("id=\"code-expired\""), "{}", later.text);
    assert!(!later.text.contains("id=\"verify\""), "no Verify form");
    let refused = verify(&mut c, "expiring", &page, &signed(&root, &code)).await;
    let shown = follow(&mut c, &refused).await;
    assert!(
        shown
            .text
            .contains("the verification code has expired; generate a new one"),
        "{}",
        shown.text
    );
    assert!(
        shown
            .text
            .contains("<span class=\"badge bad\">Unverified</span>")
    );
}
