//! Refusals as the field reports show the real service making them: a SAS that fails refuses
//! CONNECT with return code 5; an X.509 chain or enrollment failure accepts CONNECT and answers
//! the register request 401 with the DPS body (401002); a disabled enrollment ends its
//! operation `disabled` with 401002, as over HTTPS; too many connections get CONNACK 3. Each
//! refusal leaves other connections served and no registration state behind.

use super::support::{
    API_2019, Conn, Env, Pki, RESPONSE_FILTER, SasForm, assert_assigning, assert_dps_error,
    connect_packet, in_an_hour, key_for, sas, self_signed_device, username,
};
use dps_protocol::codes;
use dps_protocol::models::{ProvisioningStatus, RegistrationStatus};
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet};

/// A device `id` with an individual enrollment, connecting with `token` and a user name in
/// `scope`: refused with CONNACK 5; a bystander is still served; `id` has no registration.
async fn sas_refused(env: &Env, id: &str, scope: &str, token: String) {
    let bystander = env.bystander().await;
    let mut conn = env.mqtt(None).await;
    let connect = connect_packet(username(scope, id, API_2019, None), id, Some(token));
    conn.connect_refused(connect, ConnectReturnCode::NotAuthorized)
        .await;
    bystander.assert_still_served().await;
    env.assert_no_registration(id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_bad_sas_signature_gets_connack_5() {
    let env = Env::start();
    let id = "dev-bad-sig";
    env.individual_key(id).await;
    for form in [SasForm::Python, SasForm::Node, SasForm::CSharp] {
        let token = sas(form, env.scope(), id, &key_for("not the key"), in_an_hour());
        sas_refused(&env, id, env.scope(), token).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_expired_sas_gets_connack_5() {
    let env = Env::start();
    let id = "dev-expired";
    let key = env.individual_key(id).await;
    let expired = dps_protocol::auth::unix_now() - 7200;
    let token = sas(SasForm::Python, env.scope(), id, &key, expired);
    sas_refused(&env, id, env.scope(), token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_sas_for_another_registration_id_gets_connack_5() {
    let env = Env::start();
    let id = "dev-victim";
    let key = env.individual_key(id).await;
    let other = "dev-other";
    let other_key = env.individual_key(other).await;
    // Signed with the device's own key for another id, and a valid token of another device.
    for (sr_id, key) in [(other, &key), (other, &other_key)] {
        let token = sas(SasForm::CSharp, env.scope(), sr_id, key, in_an_hour());
        sas_refused(&env, id, env.scope(), token).await;
    }
    env.assert_no_registration(other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_sas_for_another_scope_gets_connack_5() {
    let env = Env::start();
    let id = "dev-scope";
    let key = env.individual_key(id).await;
    let other_scope = "0ne00FFFFFF";
    // A token for another scope, with the right scope in the user name...
    let token = sas(SasForm::Python, other_scope, id, &key, in_an_hour());
    sas_refused(&env, id, env.scope(), token).await;
    // ...and the other scope in both.
    let token = sas(SasForm::Python, other_scope, id, &key, in_an_hour());
    sas_refused(&env, id, other_scope, token).await;
}

/// CONNECT with `identity`'s certificate, accepted; the register is answered 401 (401002).
async fn x509_register_refused(env: &Env, id: &str, identity: &super::support::Identity) {
    let bystander = env.bystander().await;
    let mut conn = env.mqtt(Some(identity)).await;
    let user = username(env.scope(), id, API_2019, None);
    conn.connect_ok(connect_packet(user, id, None)).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let answer = conn.register(b"").await;
    assert_eq!(
        (answer.status, answer.retry_after),
        (401, None),
        "{}",
        answer.body
    );
    assert_dps_error(&answer.body, codes::UNAUTHORIZED);
    // The connection stays up.
    conn.send(Packet::PingReq).await;
    assert_eq!(conn.recv().await, Packet::PingResp);
    bystander.assert_still_served().await;
    env.assert_no_registration(id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_rogue_self_signed_certificate_is_let_in_and_its_register_answered_401() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    env.x509_group(&pki, "x509-group").await;
    let id = "rogue-device";
    let (rogue, _) = self_signed_device(id);
    x509_register_refused(&env, id, &rogue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_x509_certificate_of_another_registration_id_is_answered_401() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    env.x509_group(&pki, "x509-group").await;
    // A valid chain of the group, but its leaf names another device.
    let device = pki.device("the-cn-device");
    x509_register_refused(&env, "dev-not-the-cn", &device).await;
    env.assert_no_registration("the-cn-device").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_sas_device_without_an_enrollment_gets_connack_5() {
    let env = Env::start();
    let id = "dev-unenrolled-sas";
    let token = sas(SasForm::Python, env.scope(), id, &key_for(id), in_an_hour());
    sas_refused(&env, id, env.scope(), token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_x509_device_without_an_enrollment_is_answered_401() {
    let env = Env::start();
    let id = "unenrolled-device";
    let (device, _) = self_signed_device(id);
    x509_register_refused(&env, id, &device).await;
}

/// Registers on `conn` and polls: the operation ends `disabled` with 401002.
async fn ends_disabled(env: &Env, conn: &mut Conn, id: &str, which: &str) {
    let op = assert_assigning(&conn.register(b"").await);
    let done = conn.poll(&op).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "disabled", "{}", done.body);
    let state = &done.body["registrationState"];
    assert_eq!(state["status"], "disabled", "{state}");
    assert_eq!(state["errorCode"], codes::UNAUTHORIZED.get(), "{state}");
    let message = state["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains(which), "{state}");
    assert_eq!(state.get("assignedHub"), None, "{state}");
    let kept = env.registration(id).await;
    assert_eq!(
        (kept.status, kept.assigned_hub),
        (RegistrationStatus::Disabled, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_disabled_individual_enrollment_ends_disabled_with_401002() {
    let env = Env::start();
    let id = "dev-disabled";
    let key = env.individual_key(id).await;
    let mut enrollment = env
        .service
        .get_enrollment(id, None)
        .await
        .expect("enrollment");
    enrollment.provisioning_status = Some(ProvisioningStatus::Disabled);
    env.service
        .create_or_update_enrollment(&enrollment, None)
        .await
        .expect("disable");
    let mut conn = env.mqtt(None).await;
    let token = sas(SasForm::Node, env.scope(), id, &key, in_an_hour());
    let user = username(env.scope(), id, API_2019, None);
    conn.connect_ok(connect_packet(user, id, Some(token))).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    ends_disabled(&env, &mut conn, id, "is disabled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_disabled_x509_group_ends_disabled_with_401002() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    let mut group = dps_protocol::models::EnrollmentGroup::x509_signing(
        "group-off",
        pki.intermediate_pem(),
        None,
    );
    group.provisioning_status = Some(ProvisioningStatus::Disabled);
    env.service
        .create_or_update_enrollment_group(&group, None)
        .await
        .expect("group");
    let id = "dev-in-disabled-group";
    let device = pki.device(id);
    let mut conn = env.mqtt(Some(&device)).await;
    let user = username(env.scope(), id, API_2019, None);
    conn.connect_ok(connect_packet(user, id, None)).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    ends_disabled(&env, &mut conn, id, "\"group-off\" is disabled").await;
}

/// A SAS CONNECT for `id`, keyed for an individual enrollment made by `individual_key`.
fn sas_connect(env: &Env, id: &str) -> Connect {
    let token = sas(SasForm::CSharp, env.scope(), id, &key_for(id), in_an_hour());
    connect_packet(username(env.scope(), id, API_2019, None), id, Some(token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn too_many_connections_get_connack_3() {
    let env = Env::start_with(|c| c.limits.max_mqtt_connections = 1);
    let (first, second) = ("dev-first", "dev-second");
    env.individual_key(first).await;
    env.individual_key(second).await;
    let mut open = env.mqtt(None).await;
    open.connect_ok(sas_connect(&env, first)).await;
    open.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let mut refused = env.mqtt(None).await;
    refused
        .connect_refused(
            sas_connect(&env, second),
            ConnectReturnCode::ServiceUnavailable,
        )
        .await;
    // MQTT over WebSocket counts too.
    let (mut refused_ws, _) = env.mqtt_ws("/$iothub/websocket", None).await;
    refused_ws
        .connect_refused(
            sas_connect(&env, second),
            ConnectReturnCode::ServiceUnavailable,
        )
        .await;
    // The open one is served; once it leaves, its place is free.
    let state = open.provision(b"").await;
    assert_eq!(state["status"], "assigned", "{state}");
    open.send(Packet::Disconnect).await;
    open.expect_closed().await;
    env.assert_no_registration(second).await;
    let mut next = env.mqtt(None).await;
    next.connect_ok(sas_connect(&env, second)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_connect_with_neither_password_nor_certificate_gets_connack_5() {
    let env = Env::start();
    let id = "dev-no-credential";
    env.individual_key(id).await;
    let bystander = env.bystander().await;
    let mut conn = env.mqtt(None).await;
    let connect = connect_packet(username(env.scope(), id, API_2019, None), id, None);
    conn.connect_refused(connect, ConnectReturnCode::NotAuthorized)
        .await;
    bystander.assert_still_served().await;
    env.assert_no_registration(id).await;
}
