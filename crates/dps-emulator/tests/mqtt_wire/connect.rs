//! CONNECT as every SDK sends it: the user-name forms, clean session, keep-alive, each SAS
//! spelling with individual and group-derived keys, and X.509 through the TLS client
//! certificate (leaf + intermediate against a group; an individual enrollment).

use super::support::{
    API_2019, API_2021, Conn, Env, Pki, RESPONSE_FILTER, SasForm, assert_assigned, connect_packet,
    in_an_hour, key_for, sas, self_signed_device, username,
};
use dps_protocol::auth::{Secret, derive_device_key};
use dps_protocol::models::IndividualEnrollment;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, Packet, SubscribeReasonCode};
use serde_json::{Value, json};

/// CONNECT (accepted), SUBSCRIBE (granted QoS 1), register with `body`, poll: assigned.
async fn provisions(env: &Env, conn: &mut Conn, connect: Connect, body: &[u8]) -> Value {
    let id = connect.client_id.clone();
    conn.connect_ok(connect).await;
    let ack = conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    assert_eq!(
        ack.return_codes,
        [SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    let state = conn.provision(body).await;
    assert_assigned(env, &state, &id).await;
    state
}

/// A symmetric-key device with an individual enrollment, connecting with `user` (C# SAS).
async fn sas_connect(env: &Env, id: &str, user: String) -> Connect {
    let key = env.individual_key(id).await;
    let token = sas(SasForm::CSharp, env.scope(), id, &key, in_an_hour());
    connect_packet(user, id, Some(token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn user_name_with_api_version_2019_03_31_and_no_client_version() {
    let env = Env::start();
    let user = username(env.scope(), "dev-2019", API_2019, None);
    let connect = sas_connect(&env, "dev-2019", user).await;
    provisions(&env, &mut env.mqtt(None).await, connect, b"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn user_name_with_api_version_2021_06_01_and_the_c_sdk_client_version() {
    let env = Env::start();
    let agent = "iothubclient/1.13.0 (native; Linux; x86_64)";
    let user = username(env.scope(), "dev-2021", API_2021, Some(agent));
    assert!(
        user.ends_with(
            "&ClientVersion=iothubclient%2F1.13.0%20%28native%3B%20Linux%3B%20x86_64%29"
        )
    );
    let mut connect = sas_connect(&env, "dev-2021", user).await;
    connect.keep_alive = 0;
    // The C SDK publishes its requests at QoS 0.
    let mut conn = env.mqtt(None).await;
    conn.connect_ok(connect).await;
    conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let rid = "1";
    let accepted = conn
        .request(
            &super::support::register_topic(rid),
            rid,
            QoS::AtMostOnce,
            b"",
        )
        .await;
    let op = super::support::assert_assigning(&accepted);
    let rid = "2";
    let done = conn
        .request(
            &super::support::poll_topic(rid, &op),
            rid,
            QoS::AtMostOnce,
            b"",
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_assigned(&env, &done.body["registrationState"], "dev-2021").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn user_name_with_api_version_2019_03_31_and_a_percent_encoded_python_client_version() {
    let env = Env::start();
    let agent = "azure-iot-device/2.14.0(3.11.2;Linux;x86_64)";
    let user = username(env.scope(), "dev-python", API_2019, Some(agent));
    assert!(user.contains("ClientVersion=azure-iot-device%2F2.14.0%283.11.2%3BLinux%3Bx86_64%29"));
    let connect = sas_connect(&env, "dev-python", user).await;
    provisions(&env, &mut env.mqtt(None).await, connect, b"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn clean_session_0_is_served_as_a_clean_session() {
    let env = Env::start();
    let id = "dev-unclean";
    let user = username(env.scope(), id, API_2019, None);
    let mut connect = sas_connect(&env, id, user).await;
    connect.clean_session = false;
    // `connect_ok` asserts session_present = 0, on the first connection and on the next.
    provisions(&env, &mut env.mqtt(None).await, connect.clone(), b"").await;
    let mut again = env.mqtt(None).await;
    again.connect_ok(connect).await;
    again.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
    let state = again.provision(b"").await;
    assert_assigned(&env, &state, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn clean_session_1_gets_no_session_present() {
    let env = Env::start();
    let id = "dev-clean";
    let user = username(env.scope(), id, API_2019, None);
    let connect = sas_connect(&env, id, user).await;
    assert!(connect.clean_session);
    provisions(&env, &mut env.mqtt(None).await, connect, b"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn keep_alive_0_60_and_180_are_accepted() {
    let env = Env::start();
    for (i, keep_alive) in [0u16, 60, 180].into_iter().enumerate() {
        let id = format!("dev-keepalive-{i}");
        let user = username(env.scope(), &id, API_2019, None);
        let mut connect = sas_connect(&env, &id, user).await;
        connect.keep_alive = keep_alive;
        let mut conn = env.mqtt(None).await;
        provisions(&env, &mut conn, connect, b"").await;
        conn.send(Packet::PingReq).await;
        assert_eq!(
            conn.recv().await,
            Packet::PingResp,
            "keep-alive {keep_alive}"
        );
    }
}

/// Registers `id` with an individual key and a SAS in `form`, with the SDK's register body.
async fn sas_form_provisions(form: SasForm, id: &str, body: Value) {
    let env = Env::start();
    let key = env.individual_key(id).await;
    let token = sas(form, env.scope(), id, &key, in_an_hour());
    let user = username(env.scope(), id, API_2019, None);
    let connect = connect_packet(user, id, Some(token));
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let state = provisions(&env, &mut env.mqtt(None).await, connect, &body).await;
    assert_eq!(state["symmetricKey"], json!({}), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_python_encoded_sr_signed_encoded_without_skn() {
    let id = "dev-sas-python";
    let token = sas(SasForm::Python, "0ne00000001", id, &key_for(id), 1);
    assert!(
        token.starts_with(
            "SharedAccessSignature sr=0ne00000001%2Fregistrations%2Fdev-sas-python&sig="
        )
    );
    assert!(!token.contains("skn="));
    sas_form_provisions(
        SasForm::Python,
        id,
        json!({"payload": null, "registrationId": id}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_node_raw_sr_signed_raw_with_skn_before_se() {
    let id = "dev-sas-node";
    let token = sas(SasForm::Node, "0ne00000001", id, &key_for(id), 1);
    assert!(
        token.starts_with("SharedAccessSignature sr=0ne00000001/registrations/dev-sas-node&sig=")
    );
    assert!(token.ends_with("&skn=registration&se=1"));
    sas_form_provisions(SasForm::Node, id, json!({"registrationId": id})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_c_and_csharp_encoded_sr_with_skn() {
    let id = "dev-sas-csharp";
    let token = sas(SasForm::CSharp, "0ne00000001", id, &key_for(id), 1);
    assert!(
        token.starts_with(
            "SharedAccessSignature sr=0ne00000001%2Fregistrations%2Fdev-sas-csharp&sig="
        )
    );
    assert!(token.ends_with("&se=1&skn=registration"));
    sas_form_provisions(SasForm::CSharp, id, Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_fields_in_another_order() {
    let id = "dev-sas-reordered";
    let token = sas(SasForm::Reordered, "0ne00000001", id, &key_for(id), 1);
    assert!(token.starts_with("SharedAccessSignature se=1&skn=registration&sig="));
    sas_form_provisions(SasForm::Reordered, id, Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_sr_encoded_with_lower_case_hex_signed_as_written() {
    let id = "dev-sas-lower-hex";
    let token = sas(SasForm::LowerHex, "0ne00000001", id, &key_for(id), 1);
    assert!(token.starts_with(
        "SharedAccessSignature sr=0ne00000001%2fregistrations%2fdev-sas-lower-hex&sig="
    ));
    sas_form_provisions(SasForm::LowerHex, id, Value::Null).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_with_the_individual_secondary_key() {
    let env = Env::start();
    let id = "dev-secondary";
    env.individual_key(id).await;
    let secondary = key_for(&format!("{id}/2"));
    let token = sas(SasForm::Python, env.scope(), id, &secondary, in_an_hour());
    let user = username(env.scope(), id, API_2019, None);
    let connect = connect_packet(user, id, Some(token));
    provisions(&env, &mut env.mqtt(None).await, connect, b"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sas_with_a_group_derived_key_in_every_form() {
    let env = Env::start();
    let group_key = env.group_key("sas-group", |_| {}).await;
    let forms = [
        SasForm::Python,
        SasForm::Node,
        SasForm::CSharp,
        SasForm::Reordered,
    ];
    for (i, form) in forms.into_iter().enumerate() {
        let id = format!("group-device-{i}");
        let key = derive_device_key(&Secret::from(group_key.as_str()), &id).expect("derived key");
        let token = sas(form, env.scope(), &id, key.expose(), in_an_hour());
        let user = username(env.scope(), &id, API_2019, None);
        let connect = connect_packet(user, &id, Some(token));
        let state = provisions(&env, &mut env.mqtt(None).await, connect, b"").await;
        assert_eq!(
            state["symmetricKey"]["enrollmentGroupId"], "sas-group",
            "{form:?}: {state}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn x509_leaf_and_intermediate_against_an_enrollment_group() {
    let pki = Pki::new();
    let env = Env::with_root(&pki);
    env.x509_group(&pki, "x509-group").await;
    let id = "x509-device";
    let device = pki.device(id);
    let mut conn = env.mqtt(Some(&device)).await;
    let user = username(env.scope(), id, API_2019, None);
    let state = provisions(&env, &mut conn, connect_packet(user, id, None), b"").await;
    assert_eq!(state["x509"]["enrollmentGroupId"], "x509-group", "{state}");
    assert_eq!(
        state["x509"]["certificateInfo"]["subjectName"],
        format!("CN={id}"),
        "{state}"
    );
    // The whole chain, root included, as Python sends its certificate file.
    let id = "x509-device-full-chain";
    let device = pki.device_with_root(id);
    let mut conn = env.mqtt(Some(&device)).await;
    let user = username(env.scope(), id, API_2019, None);
    let state = provisions(&env, &mut conn, connect_packet(user, id, None), b"").await;
    assert_eq!(state["x509"]["enrollmentGroupId"], "x509-group", "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn x509_individual_enrollment() {
    let env = Env::start();
    let id = "x509-individual";
    let (device, pem) = self_signed_device(id);
    env.service
        .create_or_update_enrollment(&IndividualEnrollment::x509_client(id, pem), None)
        .await
        .expect("X.509 enrollment");
    let mut conn = env.mqtt(Some(&device)).await;
    let user = username(env.scope(), id, API_2019, None);
    let state = provisions(&env, &mut conn, connect_packet(user, id, None), b"").await;
    assert_eq!(state["x509"]["enrollmentGroupId"], Value::Null, "{state}");
    assert_eq!(
        state["x509"]["certificateInfo"]["subjectName"],
        format!("CN={id}"),
        "{state}"
    );
}
