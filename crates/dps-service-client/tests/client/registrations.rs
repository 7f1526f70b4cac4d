//! Device registration states: get, delete, query by enrollment group.

use crate::support::*;
use dps_service_client::models::{DeviceRegistrationState, RegistrationStatus, Substatus};
use dps_service_client::{ConditionalOptions, QueryOptions};
use futures_util::TryStreamExt;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, ResponseTemplate};

const ETAG: &str = "IjA0MDBlNGYxLTAwMDAtMDgwMC0wMDAwLTY0NjgwMWY3MDAwMCI=";

#[tokio::test]
async fn get_reads_the_registration_state() {
    let h = Harness::start().await;
    let body = registration_state("device-4dfe3739", ETAG);
    h.on(
        "GET",
        "/registrations/device-4dfe3739",
        json_response(200, &body),
    )
    .await;

    let state = h
        .client
        .get_registration_state("device-4dfe3739", None)
        .await
        .expect("found");

    let req = h.only_request().await;
    h.assert_call(&req, "GET", "/registrations/device-4dfe3739");
    assert_no_body(&req);
    assert_if_match(&req, None);
    assert_eq!(state.status, RegistrationStatus::Assigned);
    assert_eq!(state.substatus, Some(Substatus::InitialAssignment));
    assert_eq!(
        state.assigned_hub.as_deref(),
        Some("contoso-hub-weu.azure-devices.net")
    );
    assert_eq!(state.etag.as_deref(), Some(ETAG));
    assert_eq!(
        state.created_date_time_utc.as_ref().map(|t| t.as_str()),
        Some("2026-11-30T02:44:19.6101224Z")
    );
    assert_eq!(to_json(&state), body);
}

#[tokio::test]
async fn delete_with_and_without_if_match() {
    let h = Harness::start().await;
    h.on(
        "DELETE",
        "/registrations/dev%3A01",
        ResponseTemplate::new(204),
    )
    .await;

    h.client
        .delete_registration_state("dev:01", None)
        .await
        .expect("deleted");
    let options = ConditionalOptions::default().with_if_match(ETAG);
    h.client
        .delete_registration_state("dev:01", Some(options))
        .await
        .expect("deleted");

    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "DELETE", "/registrations/dev%3A01");
        assert_no_body(req);
    }
    assert_if_match(&reqs[0], None);
    assert_if_match(&reqs[1], Some(ETAG));
}

#[tokio::test]
async fn query_by_group_is_a_bodyless_post_over_every_page() {
    let h = Harness::start().await;
    let p = "/registrations/contoso-x509-devices/query";
    let first = [
        registration_state("device-01", "e1"),
        registration_state("device-02", "e2"),
    ];
    let second = [registration_state("device-03", "e3")];
    Mock::given(method("POST"))
        .and(path(p))
        .and(first_page)
        .respond_with(page_response(
            &first,
            "DeviceRegistration",
            Some(&cosmos_token(1)),
        ))
        .expect(1)
        .mount(&h.server)
        .await;
    Mock::given(method("POST"))
        .and(path(p))
        .and(header_is("x-ms-continuation", cosmos_token(1).as_str()))
        .respond_with(page_response(&second, "DeviceRegistration", None))
        .expect(1)
        .mount(&h.server)
        .await;

    let states: Vec<DeviceRegistrationState> = h
        .client
        .query_registration_states(
            "contoso-x509-devices",
            Some(QueryOptions::default().with_page_size(2)),
        )
        .try_collect()
        .await
        .expect("every page");

    let ids: Vec<&str> = states.iter().map(|s| s.registration_id.as_str()).collect();
    assert_eq!(ids, ["device-01", "device-02", "device-03"]);
    assert_eq!(to_json(&states[2]), second[0]);
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    for req in &reqs {
        h.assert_call(req, "POST", p);
        assert_no_body(req);
    }
    assert_paging(&reqs[0], Some("2"), None);
    let token = cosmos_token(1);
    assert_paging(&reqs[1], Some("2"), Some(&token));
}

#[tokio::test]
async fn query_page_by_group() {
    let h = Harness::start().await;
    let items = [registration_state("device-01", "e1")];
    h.on(
        "POST",
        "/registrations/grp%3A01/query",
        page_response(&items, "DeviceRegistration", None),
    )
    .await;

    let page = h
        .client
        .query_registration_states_page("grp:01", None, None)
        .await
        .expect("page");

    assert_eq!(page.items.len(), 1);
    assert_eq!(page.continuation_token, None);
    assert_eq!(page.item_type.as_deref(), Some("DeviceRegistration"));
    let req = h.only_request().await;
    h.assert_call(&req, "POST", "/registrations/grp%3A01/query");
    assert_no_body(&req);
    assert_paging(&req, None, None);
}
