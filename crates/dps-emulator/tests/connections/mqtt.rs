//! MQTT: connections counted from `accept`, an oversized request answered 413, and a packet
//! that stops arriving closed even without keep-alive.

use super::http::{SHORT, start};
use super::support::{
    API_2019, Env, RESPONSE_FILTER, SasForm, WAIT, assert_dps_error, connect_packet, encode,
    in_an_hour, register_topic, sas, username, uuid,
};
use dps_protocol::codes;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Packet, Publish};
use std::time::Duration;

/// A SAS CONNECT for the enrolled `id`.
async fn enrolled(env: &Env, id: &str) -> Connect {
    let key = env.individual_key(id).await;
    let token = sas(SasForm::Python, env.scope(), id, &key, in_an_hour());
    connect_packet(username(env.scope(), id, API_2019, None), id, Some(token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_connections_count_from_accept_before_connect() {
    let env = start(|c| {
        c.limits.max_mqtt_connections = 1;
        c.limits.mqtt_connect_timeout = WAIT * 2;
    });
    let (first, second) = (enrolled(&env, "dev-a").await, enrolled(&env, "dev-b").await);
    // A connection that has not sent CONNECT yet holds the only place...
    let waiting = env.mqtt(None).await;
    let mut refused = env.mqtt(None).await;
    refused
        .connect_refused(second.clone(), ConnectReturnCode::ServiceUnavailable)
        .await;
    // ...which it frees when it goes.
    drop(waiting);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut conn = env.mqtt(None).await;
        let ack = conn.connect(second.clone()).await;
        if ack.code == ConnectReturnCode::Success {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{ack:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = first;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_register_request_is_answered_413_and_the_connection_goes_on() {
    let env = start(|c| {
        c.limits.max_mqtt_packet_bytes = 1024;
        c.limits.http_idle_timeout = WAIT;
        c.limits.progress_timeout = WAIT;
    });
    let body = format!("{{\"payload\": \"{}\"}}", "x".repeat(4000));
    for websocket in [false, true] {
        let id = format!("dev-oversized-{websocket}");
        let connect = enrolled(&env, &id).await;
        let mut conn = if websocket {
            env.mqtt_ws("/$iothub/websocket", None).await.0
        } else {
            env.mqtt(None).await
        };
        conn.connect_ok(connect).await;
        conn.subscribe(RESPONSE_FILTER, QoS::AtLeastOnce).await;
        let rid = uuid();
        let answer = conn
            .request(
                &register_topic(&rid),
                &rid,
                QoS::AtLeastOnce,
                body.as_bytes(),
            )
            .await;
        assert_eq!(answer.status, 413, "{}", answer.body);
        assert_dps_error(&answer.body, codes::TOO_LARGE);
        // The same connection then registers.
        let state = conn.provision(b"").await;
        assert_eq!(state["status"], "assigned", "{state}");
        env.registration(&id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_begun_packet_that_stops_arriving_closes_even_with_keep_alive_0() {
    let env = start(|c| c.limits.http_idle_timeout = WAIT);
    let mut connect = enrolled(&env, "dev-stalled").await;
    connect.keep_alive = 0;
    let mut conn = env.mqtt(None).await;
    conn.connect_ok(connect).await;
    let publish = Publish::new(register_topic(&uuid()), QoS::AtMostOnce, "{}");
    let bytes = encode(&Packet::Publish(publish));
    conn.send_raw(&bytes[..bytes.len() / 2]).await;
    conn.expect_closed().await;
    let _ = SHORT;
}
