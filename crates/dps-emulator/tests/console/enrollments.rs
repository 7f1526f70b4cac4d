//! Manage enrollments: the two tabs, search by id prefix, server-side paging, the detail page,
//! Enable/Disable and Delete with the ETag the page showed, and what a read-only session may
//! not do. Records are made and checked through the service API.

use crate::support::{Console, Page};
use dps_service_client::models::{
    AttestationMechanism, BulkMode, EnrollmentGroup, IndividualEnrollment, InitialTwin,
    ProvisioningStatus, TwinCollection, X509Attestation,
};
use reqwest::StatusCode;

/// Creates a symmetric-key group (service-generated keys) after `tweak`.
async fn group(c: &Console, id: &str, tweak: impl FnOnce(&mut EnrollmentGroup)) {
    let mut g = EnrollmentGroup::symmetric_key(id, None);
    tweak(&mut g);
    c.service()
        .create_or_update_enrollment_group(&g, None)
        .await
        .expect("group created");
}

/// Creates a symmetric-key individual enrollment (service-generated keys) after `tweak`.
async fn enrollment(c: &Console, id: &str, tweak: impl FnOnce(&mut IndividualEnrollment)) {
    let mut e = IndividualEnrollment::symmetric_key(id, None);
    tweak(&mut e);
    c.service()
        .create_or_update_enrollment(&e, None)
        .await
        .expect("enrollment created");
}

/// The `data-id` of every row of the table with `id="{table}"`.
fn row_ids(page: &Page, table: &str) -> Vec<String> {
    let Some(start) = page.text.find(&format!("id=\"{table}\"")) else {
        return Vec::new();
    };
    let rest = &page.text[start..];
    let rest = &rest[..rest.find("</table>").unwrap_or(rest.len())];
    rest.split("<tr data-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The `href` of the link whose text is `label`, unescaped.
fn link(page: &Page, label: &str) -> Option<String> {
    let end = page.text.find(&format!(">{label}</a>"))?;
    let start = page.text[..end].rfind("href=\"")? + "href=\"".len();
    let href = &page.text[start..end];
    Some(href[..href.find('"')?].replace("&amp;", "&"))
}

/// Every link target of a page, unescaped and percent-decoded.
fn hrefs(page: &Page) -> Vec<String> {
    page.text
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| {
            percent_encoding::percent_decode_str(&h.replace("&amp;", "&"))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// Whether the page links to `target` (percent-decoded).
fn links_to(page: &Page, target: &str) -> bool {
    hrefs(page).iter().any(|h| h == target)
}

/// The value of the first hidden `etag` field of a page.
fn etag_field(page: &Page) -> String {
    let marker = "name=\"etag\" value=\"";
    let at = page.text.find(marker).expect("an etag field") + marker.len();
    let rest = &page.text[at..];
    rest[..rest.find('"').expect("quoted")].to_owned()
}

/// Follows a 303 and returns the page it leads to.
async fn follow(c: &mut Console, page: &Page) -> Page {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let to = page.location.clone().expect("a Location");
    c.get(&to).await
}

#[tokio::test]
async fn the_tabs_list_groups_and_individual_enrollments_with_their_links() {
    let mut c = Console::start().await;
    group(&c, "grp-1", |g| {
        g.iot_hubs = Some(vec!["hub-a.azure-devices.net".into()]);
    })
    .await;
    enrollment(&c, "dev-1", |e| e.device_id = Some("device-one".into())).await;
    enrollment(&c, "dev-off", |e| {
        e.provisioning_status = Some(ProvisioningStatus::Disabled);
    })
    .await;

    let page = c.get("/portal/enrollments").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("aria-current=\"page\">Enrollment Groups</a>"),
        "{}",
        page.text
    );
    assert_eq!(row_ids(&page, "groups"), ["grp-1"]);
    assert!(links_to(&page, "/portal/enrollments/groups/grp-1"));
    assert!(page.text.contains(">grp-1</a>"));
    assert!(links_to(&page, "/portal/registrations?group=grp-1"));
    assert!(page.text.contains("hub-a.azure-devices.net"));
    assert!(
        page.text
            .contains("<span class=\"badge ok\">Enabled</span>")
    );
    assert!(page.text.contains("Symmetric key"));
    assert_eq!(
        link(&page, "New enrollment group").as_deref(),
        Some("/portal/enrollments/new-group")
    );

    let page = c.get("/portal/enrollments?tab=individual").await;
    assert!(
        page.text
            .contains("aria-current=\"page\">Individual Enrollments</a>"),
        "{}",
        page.text
    );
    assert_eq!(row_ids(&page, "individual"), ["dev-1", "dev-off"]);
    assert!(page.text.contains("device-one"));
    assert!(links_to(&page, "/portal/registrations?enrollment=dev-1"));
    assert!(links_to(&page, "/portal/enrollments/individual/dev-1"));
    assert!(
        page.text
            .contains("<span class=\"badge bad\">Disabled</span>")
    );
    assert!(row_ids(&page, "groups").is_empty());
}

#[tokio::test]
async fn search_matches_an_id_prefix_whatever_its_case() {
    let mut c = Console::start().await;
    for id in ["dev-1", "Dev-2", "dew-1", "other", "de"] {
        enrollment(&c, id, |_| {}).await;
    }
    let page = c.get("/portal/enrollments?tab=individual&prefix=DEV").await;
    assert_eq!(row_ids(&page, "individual"), ["dev-1", "Dev-2"]);
    // The search form keeps the tab and the prefix.
    assert!(page.text.contains("name=\"tab\" value=\"individual\""));
    assert!(page.text.contains("name=\"prefix\" value=\"DEV\""));
    assert!(page.text.contains(">Search</button>"));
    let page = c
        .get("/portal/enrollments?tab=individual&prefix=nothing")
        .await;
    assert!(row_ids(&page, "individual").is_empty());
    assert!(page.text.contains("id=\"list-empty\""), "{}", page.text);
    // Markup typed into the search box comes back as text.
    let page = c
        .get("/portal/enrollments?tab=individual&prefix=%3Cscript%3E")
        .await;
    assert!(page.text.contains("&lt;script&gt;"), "{}", page.text);
    assert!(!page.text.contains("<script>"), "{}", page.text);
}

#[tokio::test]
async fn pages_of_fifty_follow_the_last_id_across_120_enrollments() {
    let mut c = Console::start().await;
    let all: Vec<IndividualEnrollment> = (0..120)
        .map(|i| IndividualEnrollment::symmetric_key(format!("device-{i:03}"), None))
        .collect();
    let result = c
        .service()
        .run_bulk_enrollment_operation(BulkMode::Create, all, None)
        .await
        .expect("bulk create");
    assert!(result.is_successful, "{result:?}");

    let first = c.get("/portal/enrollments?tab=individual").await;
    let ids = row_ids(&first, "individual");
    assert_eq!(ids.len(), 50);
    assert_eq!(
        (ids[0].as_str(), ids[49].as_str()),
        ("device-000", "device-049")
    );
    assert!(
        first.text.contains("120 individual enrollments in all"),
        "{}",
        first.text
    );
    assert!(link(&first, "First page").is_none());
    let next = link(&first, "Next page").expect("a next page");
    assert!(
        hrefs(&first).contains(&"/portal/enrollments?tab=individual&after=device-049".to_owned()),
        "{next}"
    );

    let second = c.get(&next).await;
    let ids = row_ids(&second, "individual");
    assert_eq!((ids.len(), ids[0].as_str()), (50, "device-050"));
    assert_eq!(
        link(&second, "First page").as_deref(),
        Some("/portal/enrollments?tab=individual")
    );
    let third = c
        .get(&link(&second, "Next page").expect("a third page"))
        .await;
    let ids = row_ids(&third, "individual");
    assert_eq!((ids.len(), ids[19].as_str()), (20, "device-119"));
    assert!(link(&third, "Next page").is_none(), "{}", third.text);

    // Paging within a search keeps the prefix.
    let page = c
        .get("/portal/enrollments?tab=individual&prefix=device-1")
        .await;
    assert_eq!(row_ids(&page, "individual").len(), 20);
    let page = c
        .get("/portal/enrollments?tab=individual&prefix=device-0&after=device-089")
        .await;
    assert_eq!(
        row_ids(&page, "individual"),
        (90..100)
            .map(|i| format!("device-{i:03}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_detail_page_shows_the_record_as_text_and_hides_the_keys() {
    let mut c = Console::start().await;
    enrollment(&c, "dev-twin", |e| {
        e.initial_twin = Some(InitialTwin {
            tags: Some(TwinCollection::new().with("note", "<b>x</b>")),
            ..InitialTwin::default()
        });
    })
    .await;
    let stored = c
        .service()
        .get_enrollment("dev-twin", None)
        .await
        .expect("read");
    let page = c.get("/portal/enrollments/individual/dev-twin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    // The twin is formatted JSON, its markup escaped.
    assert!(page.text.contains("&lt;b&gt;x&lt;/b&gt;"), "{}", page.text);
    assert!(!page.text.contains("<b>x</b>"));
    assert!(
        page.text.contains("\n  &quot;tags&quot;: {"),
        "{}",
        page.text
    );
    let etag = stored.etag.expect("an etag");
    assert!(
        page.text
            .contains(&format!("<code id=\"etag\">{etag}</code>"))
    );
    // The keys exist but are hidden until revealed.
    assert!(page.text.contains("id=\"primary-key\" type=\"password\""));
    assert!(page.text.contains("data-reveal=\"primary-key\""));
    assert!(page.text.contains("data-copy=\"secondary-key\""));
    assert!(
        page.text
            .contains("<span class=\"badge ok\">Enabled</span>")
    );
    assert!(links_to(&page, "/portal/registrations?enrollment=dev-twin"));

    let missing = c.get("/portal/enrollments/groups/no-such-group").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("no-such-group"), "{}", missing.text);
}

#[tokio::test]
async fn certificates_show_their_info_and_hostile_subjects_render_as_text() {
    let mut c = Console::start().await;
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "<script>alert(1)</script>");
    let cert = params.self_signed(&key).expect("certificate");
    enrollment(&c, "dev-x509", |e| {
        *e = IndividualEnrollment::x509_client("dev-x509", cert.pem());
    })
    .await;
    group(&c, "ca-group", |g| {
        g.attestation = AttestationMechanism::x509(X509Attestation::ca_references("my-root", None));
    })
    .await;
    let info = c
        .service()
        .get_enrollment("dev-x509", None)
        .await
        .expect("read")
        .attestation
        .x509
        .and_then(|x| x.client_certificates)
        .and_then(|s| s.primary)
        .and_then(|p| p.info)
        .expect("certificate info");

    let page = c.get("/portal/enrollments/individual/dev-x509").await;
    assert!(
        page.text
            .contains("CN=&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<script>alert"));
    assert!(page.text.contains(&info.sha1_thumbprint));
    assert!(page.text.contains(&info.sha256_thumbprint));
    assert!(page.text.contains("X.509 (client certificate)"));

    let page = c.get("/portal/enrollments/groups/ca-group").await;
    assert!(page.text.contains("<code>my-root</code>"), "{}", page.text);
    assert!(links_to(&page, "/portal/certificates"));

    // Disabling an X.509 enrollment keeps its certificate (the PUT carries only `info`).
    let detail = c.get("/portal/enrollments/individual/dev-x509").await;
    let etag = etag_field(&detail);
    let done = c
        .post(
            "/portal/enrollments/individual/dev-x509/status",
            &[("status", "disabled"), ("etag", &etag)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let now = c
        .service()
        .get_enrollment("dev-x509", None)
        .await
        .expect("read");
    assert_eq!(now.provisioning_status, Some(ProvisioningStatus::Disabled));
    let kept = now
        .attestation
        .x509
        .and_then(|x| x.client_certificates)
        .and_then(|s| s.primary)
        .and_then(|p| p.info)
        .expect("certificate info");
    assert_eq!(kept.sha256_thumbprint, info.sha256_thumbprint);
}

#[tokio::test]
async fn disable_and_enable_through_the_console_are_what_the_api_shows() {
    let mut c = Console::start().await;
    group(&c, "grp-d", |_| {}).await;
    let detail = c.get("/portal/enrollments/groups/grp-d").await;
    assert!(detail.text.contains(">Disable</button>"), "{}", detail.text);
    let posted = c
        .post(
            "/portal/enrollments/groups/grp-d/status",
            &[("status", "disabled"), ("etag", &etag_field(&detail))],
        )
        .await;
    let page = follow(&mut c, &posted).await;
    assert!(page.text.contains("is now disabled"), "{}", page.text);
    assert!(
        page.text
            .contains("<span class=\"badge bad\">Disabled</span>")
    );
    assert!(page.text.contains(">Enable</button>"));
    let g = c
        .service()
        .get_enrollment_group("grp-d", None)
        .await
        .expect("read");
    assert_eq!(g.provisioning_status, Some(ProvisioningStatus::Disabled));
    assert_eq!(g.etag.as_deref(), Some(etag_field(&page).as_str()));

    let posted = c
        .post(
            "/portal/enrollments/groups/grp-d/status",
            &[("status", "enabled"), ("etag", &etag_field(&page))],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text);
    let g = c
        .service()
        .get_enrollment_group("grp-d", None)
        .await
        .expect("read");
    assert_eq!(g.provisioning_status, Some(ProvisioningStatus::Enabled));
}

#[tokio::test]
async fn a_stale_etag_is_shown_as_a_conflict_and_nothing_changes() {
    let mut c = Console::start().await;
    enrollment(&c, "dev-stale", |_| {}).await;
    let detail = c.get("/portal/enrollments/individual/dev-stale").await;
    let shown = etag_field(&detail);
    // Someone else changes it meanwhile.
    let mut e = c
        .service()
        .get_enrollment("dev-stale", None)
        .await
        .expect("read");
    e.device_id = Some("changed-elsewhere".into());
    let changed = c
        .service()
        .update_enrollment(&e, None)
        .await
        .expect("update");
    assert_ne!(changed.etag.as_deref(), Some(shown.as_str()));

    let refused = c
        .post(
            "/portal/enrollments/individual/dev-stale/status",
            &[("status", "disabled"), ("etag", &shown)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("changed since the page was loaded"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("class=\"notice failed\""));
    assert!(links_to(
        &refused,
        "/portal/enrollments/individual/dev-stale"
    ));
    let refused = c
        .post(
            "/portal/enrollments/individual/dev-stale/delete",
            &[("etag", &shown)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        refused.text
    );

    let now = c
        .service()
        .get_enrollment("dev-stale", None)
        .await
        .expect("still there");
    assert_eq!(now.etag, changed.etag);
    assert_eq!(now.provisioning_status, Some(ProvisioningStatus::Enabled));

    // The confirmation page opened from the stale page says so and offers no Delete.
    let confirm = c
        .get(&format!(
            "/portal/enrollments/individual/dev-stale/delete?etag={}",
            percent_encoding::utf8_percent_encode(&shown, percent_encoding::NON_ALPHANUMERIC)
        ))
        .await;
    assert!(confirm.text.contains("id=\"conflict\""), "{}", confirm.text);
    assert!(!confirm.text.contains(">Delete</button>"));
}

#[tokio::test]
async fn delete_asks_for_confirmation_then_the_api_answers_404() {
    let mut c = Console::start().await;
    group(&c, "grp-gone", |_| {}).await;
    let detail = c.get("/portal/enrollments/groups/grp-gone").await;
    let to_confirm = link(&detail, "Delete").expect("a Delete link");
    let confirm = c.get(&to_confirm).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert!(
        confirm.text.contains(">Delete</button>"),
        "{}",
        confirm.text
    );
    let etag = etag_field(&confirm);
    assert_eq!(etag, etag_field(&detail));
    let posted = c
        .post(
            "/portal/enrollments/groups/grp-gone/delete",
            &[("etag", &etag)],
        )
        .await;
    assert_eq!(
        posted.location.as_deref(),
        Some("/portal/enrollments?tab=groups")
    );
    let list = follow(&mut c, &posted).await;
    assert!(
        list.text.contains("Deleted the enrollment group"),
        "{}",
        list.text
    );
    assert!(row_ids(&list, "groups").is_empty());
    let gone = c
        .service()
        .get_enrollment_group("grp-gone", None)
        .await
        .expect_err("deleted");
    assert_eq!(gone.status(), Some(404));
    let page = c.get("/portal/enrollments/groups/grp-gone").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_read_only_session_sees_no_write_controls_and_a_forced_post_is_refused() {
    let mut c = Console::start_beyond_loopback().await;
    c.sign_in_read_only().await;
    group(&c, "grp-ro", |_| {}).await;

    let list = c.get("/portal/enrollments").await;
    assert_eq!(row_ids(&list, "groups"), ["grp-ro"]);
    assert!(!list.text.contains("New enrollment group"), "{}", list.text);
    let detail = c.get("/portal/enrollments/groups/grp-ro").await;
    assert_eq!(detail.status, StatusCode::OK);
    for control in [">Delete<", ">Disable<", ">Enable<"] {
        assert!(!detail.text.contains(control), "{control}: {}", detail.text);
    }
    let confirm = c.get("/portal/enrollments/groups/grp-ro/delete").await;
    assert!(
        !confirm.text.contains(">Delete</button>"),
        "{}",
        confirm.text
    );

    let etag = c
        .service()
        .get_enrollment_group("grp-ro", None)
        .await
        .expect("read")
        .etag
        .expect("an etag");
    let refused = c
        .post(
            "/portal/enrollments/groups/grp-ro/delete",
            &[("etag", &etag)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let refused = c
        .post(
            "/portal/enrollments/groups/grp-ro/status",
            &[("status", "disabled"), ("etag", &etag)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let g = c
        .service()
        .get_enrollment_group("grp-ro", None)
        .await
        .expect("still there");
    assert_eq!(g.etag.as_deref(), Some(etag.as_str()));
}

#[tokio::test]
async fn a_group_called_new_opens_its_own_page_not_the_create_form() {
    let mut c = Console::start().await;
    group(&c, "new", |_| {}).await;
    let page = c.get("/portal/enrollments/groups/new").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        !page.text.contains("Add enrollment group</h1>"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("symmetricKey") || page.text.contains("Symmetric"),
        "{}",
        page.text
    );
}
