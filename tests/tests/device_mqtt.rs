//! Device provisioning over MQTT and MQTT over WebSocket (issue 12): `dps-device-client` (with
//! rumqttc, a different codebase from the emulator's codec) registers against the in-process
//! emulator over both MQTT transports, with the same results and errors as over HTTPS, and the
//! registration state read back through the service client agrees.

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use dps_certgen::{CertSpec, Credential, KeyAlgorithm, Profile, Signer};
use dps_device_client::{DeviceAuth, ErrorKind, RegisterOptions, Transport};
use dps_e2e::{TestChain, TestEmulator, rt, symmetric_group};
use dps_protocol::auth::Secret;
use dps_protocol::codes;
use dps_protocol::models::{
    AllocationPolicy, CustomAllocationDefinition, RegistrationStatus, Substatus,
};
use dps_service_client::ProvisioningServiceClient;
use serde_json::{Value, json};
use std::time::Duration;

/// The two MQTT transports every case runs over.
const MQTT: [Transport; 2] = [Transport::Mqtt, Transport::MqttWebSocket];
/// The emulator's default linked hub.
const DEFAULT_HUB: &str = dps_emulator::config::DEFAULT_IOT_HUB;
/// A well-formed key that matches no enrollment.
const WRONG_KEY: &str = "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIQ==";

/// A registration id per transport, so one emulator serves both runs of a case.
fn id(base: &str, transport: Transport) -> String {
    format!("{base}-{transport}")
}

/// An MQTT emulator whose CA store holds `chain`'s root, verified at start.
fn with_verified_root(chain: &TestChain) -> TestEmulator {
    let root = chain.certs.cert_path(dps_certgen::ROOT_PREFIX);
    TestEmulator::start_mqtt_with(|c| c.ca_certificates = vec![("root".into(), root)])
}

/// Creates a symmetric-key individual enrollment whose device id is `{id}-device`; returns
/// its primary key.
async fn symmetric_enrollment(service: &ProvisioningServiceClient, id: &str) -> String {
    dps_e2e::symmetric_enrollment(service, id, |e| e.device_id = Some(format!("{id}-device")))
        .await
        .0
}

#[test]
fn an_x509_device_of_a_group_on_the_intermediate_registers() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let service = t.client();
    rt().block_on(async {
        service
            .create_x509_enrollment_group(
                "mqtt-group",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        for transport in MQTT {
            let name = id("x509-device", transport);
            let device = chain.device(&name, Signer::Intermediate);
            // The leaf and the intermediate, as the device SDKs send them.
            let r = t
                .device_over(transport, &name, device.auth_with(1))
                .register(None)
                .await
                .unwrap_or_else(|e| panic!("{transport}: {e}"));
            assert_eq!(r.registration_id, name);
            assert_eq!(r.status, RegistrationStatus::Assigned, "{transport}");
            assert_eq!(r.substatus, Some(Substatus::InitialAssignment));
            assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
            assert_eq!(r.device_id.as_deref(), Some(name.as_str()));
            let x509 = r.x509.clone().expect("x509 block");
            assert_eq!(x509.enrollment_group_id.as_deref(), Some("mqtt-group"));

            let state = service
                .get_registration_state(&name, None)
                .await
                .expect("state");
            assert_eq!(state.status, RegistrationStatus::Assigned);
            assert_eq!(state.assigned_hub.as_deref(), Some(DEFAULT_HUB));
            assert_eq!(state.device_id.as_deref(), Some(name.as_str()));
            assert_eq!(state.etag, r.etag, "{transport}");
        }
    });
}

#[test]
fn symmetric_keys_individual_and_group_derived_register() {
    let t = TestEmulator::start_mqtt();
    let service = t.client();
    rt().block_on(async {
        let group_key = symmetric_group(&service, "mqtt-sym-group", |_| {}).await;
        for transport in MQTT {
            let name = id("sym-device", transport);
            let key = symmetric_enrollment(&service, &name).await;
            let r = t
                .device_over(
                    transport,
                    &name,
                    DeviceAuth::SymmetricKey(Secret::from(key)),
                )
                .register(None)
                .await
                .unwrap_or_else(|e| panic!("{transport}: {e}"));
            assert_eq!(r.status, RegistrationStatus::Assigned, "{transport}");
            assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
            let device_id = format!("{name}-device");
            assert_eq!(r.device_id.as_deref(), Some(device_id.as_str()));
            let block = r.symmetric_key.expect("symmetricKey block");
            assert_eq!(block.enrollment_group_id, None);

            // A device of the group, with the key the client derives from the group's.
            let member = id("sym-member", transport);
            let auth = DeviceAuth::GroupKey(Secret::from(group_key.clone()));
            let r = t
                .device_over(transport, &member, auth)
                .register(None)
                .await
                .unwrap_or_else(|e| panic!("{transport}: {e}"));
            assert_eq!(r.registration_id, member);
            assert_eq!(r.assigned_hub.as_deref(), Some(DEFAULT_HUB));
            let block = r.symmetric_key.expect("symmetricKey block");
            assert_eq!(block.enrollment_group_id.as_deref(), Some("mqtt-sym-group"));
            let state = service
                .get_registration_state(&member, None)
                .await
                .expect("state");
            assert_eq!(
                (state.status, state.etag),
                (RegistrationStatus::Assigned, r.etag)
            );
        }
    });
}

/// The allocation webhook: the last linked hub, and a payload that echoes the device's.
async fn allocate(State(()): State<()>, Json(request): Json<Value>) -> Json<Value> {
    let hub = request["linkedHubs"]
        .as_array()
        .and_then(|l| l.last())
        .cloned()
        .unwrap_or_default();
    Json(json!({
        "iotHubHostName": hub,
        "payload": {"echo": request["deviceRuntimeContext"]["payload"]},
    }))
}

#[test]
fn a_payload_goes_to_the_webhook_and_comes_back() {
    let hub = "hub-mqtt.azure-devices.net";
    let t = TestEmulator::start_mqtt_with(|c| c.iot_hubs = vec![DEFAULT_HUB.into(), hub.into()]);
    let service = t.client();
    rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/api/allocate",
            listener.local_addr().expect("addr")
        );
        let app = axum::Router::new()
            .route("/api/allocate", post(allocate))
            .with_state(());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let key = symmetric_group(&service, "mqtt-custom", |g| {
            g.allocation_policy = Some(AllocationPolicy::Custom);
            g.custom_allocation_definition =
                Some(CustomAllocationDefinition::new(url, "2021-10-01"));
        })
        .await;
        for transport in MQTT {
            let payload = json!({"model": "thermostat", "transport": transport.name()});
            let r = t
                .device_over(
                    transport,
                    &id("custom", transport),
                    DeviceAuth::GroupKey(Secret::from(key.clone())),
                )
                .register(Some(
                    RegisterOptions::default().with_payload(payload.clone()),
                ))
                .await
                .unwrap_or_else(|e| panic!("{transport}: {e}"));
            assert_eq!(r.assigned_hub.as_deref(), Some(hub), "{transport}");
            assert_eq!(r.payload, Some(json!({"echo": payload})), "{transport}");
        }
    });
}

#[test]
fn a_wrong_key_is_refused_at_connect_as_unauthorized() {
    let t = TestEmulator::start_mqtt();
    let service = t.client();
    rt().block_on(async {
        for transport in MQTT {
            let name = id("wrong-key", transport);
            symmetric_enrollment(&service, &name).await;
            let e = t
                .device_over(transport, &name, DeviceAuth::SymmetricKey(WRONG_KEY.into()))
                .register(None)
                .await
                .expect_err("a wrong key is refused");
            assert_eq!(e.kind(), ErrorKind::Unauthorized, "{transport}: {e}");
            // The device learns nothing more than the CONNACK's return code.
            assert_eq!((e.status(), e.error_code()), (None, None), "{e}");
            assert!(
                e.message()
                    .contains("refused the MQTT CONNECT: not authorized"),
                "{e}"
            );
            let state = service.get_registration_state(&name, None).await;
            assert!(state.is_err(), "{transport}: no registration state");
        }
    });
}

#[test]
fn a_rogue_self_signed_certificate_gets_401002_after_connect() {
    let chain = TestChain::new();
    let t = with_verified_root(&chain);
    let rogue = Credential::self_signed(&CertSpec {
        common_name: "rogue-device",
        profile: Profile::Leaf,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: 30,
    })
    .expect("self-signed");
    let key = dps_certgen::key_to_pem(rogue.key(), None).expect("key PEM");
    rt().block_on(async {
        t.client()
            .create_x509_enrollment_group(
                "mqtt-group",
                chain.intermediate_pem().as_bytes(),
                None,
                None,
            )
            .await
            .expect("group");
        for transport in MQTT {
            let auth = DeviceAuth::x509(rogue.cert_pem().into_bytes(), key.clone().into_bytes());
            let e = t
                .device_over(transport, "rogue-device", auth)
                .register(None)
                .await
                .expect_err("a rogue certificate is refused");
            assert_eq!(
                (e.kind(), e.status(), e.code()),
                (
                    ErrorKind::Unauthorized,
                    Some(401),
                    Some(codes::UNAUTHORIZED)
                ),
                "{transport}: {e}"
            );
            assert!(e.tracking_id().is_some(), "{transport}: {e}");
        }
    });
}

#[test]
fn polls_honour_retry_after_until_assigned() {
    // Two polls answer "assigning" with retry-after 1 before the result.
    let t = TestEmulator::start_mqtt_with(|c| {
        c.pending_polls = 2;
        c.retry_after_secs = 1;
    });
    let service = t.client();
    rt().block_on(async {
        for transport in MQTT {
            let name = id("polled", transport);
            let key = symmetric_enrollment(&service, &name).await;
            let r = t
                .device_over(
                    transport,
                    &name,
                    DeviceAuth::SymmetricKey(Secret::from(key)),
                )
                .register(None)
                .await
                .unwrap_or_else(|e| panic!("{transport}: {e}"));
            assert_eq!(r.status, RegistrationStatus::Assigned, "{transport}");
        }
    });
}

#[test]
fn the_time_budget_bounds_polling() {
    let t = TestEmulator::start_mqtt_with(|c| {
        c.pending_polls = 1000;
        c.retry_after_secs = 1;
    });
    let service = t.client();
    rt().block_on(async {
        let key = symmetric_enrollment(&service, "budget").await;
        let client = dps_device_client::ProvisioningDeviceClient::new(
            &t.device_endpoint_for(Transport::Mqtt),
            t.emulator.id_scope(),
            "budget",
            DeviceAuth::SymmetricKey(Secret::from(key)),
            Some(dps_device_client::DeviceClientOptions {
                transport: Transport::Mqtt,
                total_timeout: Duration::from_secs(2),
                ..t.device_options()
            }),
        )
        .expect("client");
        let e = client.register(None).await.expect_err("out of time");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    });
}

#[test]
fn a_full_server_answers_unavailable_until_the_budget_runs_out() {
    let t = TestEmulator::start_mqtt_with(|c| c.limits.max_mqtt_connections = 0);
    rt().block_on(async {
        for transport in MQTT {
            let client = dps_device_client::ProvisioningDeviceClient::new(
                &t.device_endpoint_for(transport),
                t.emulator.id_scope(),
                "crowded",
                DeviceAuth::SymmetricKey(WRONG_KEY.into()),
                Some(dps_device_client::DeviceClientOptions {
                    transport,
                    // Long enough for the first CONNACK on a loaded machine, so the error is
                    // the refusal and not a plain timeout.
                    total_timeout: Duration::from_millis(2000),
                    default_poll_interval: Duration::from_millis(200),
                    ..t.device_options()
                }),
            )
            .expect("client");
            let e = client.register(None).await.expect_err("unavailable");
            assert_eq!(e.kind(), ErrorKind::Server, "{transport}: {e}");
            assert!(e.message().contains("server unavailable"), "{e}");
            assert!(e.message().contains("time budget"), "{e}");
        }
    });
}

#[test]
fn registration_status_is_https_only() {
    let t = TestEmulator::start_mqtt();
    rt().block_on(async {
        for transport in MQTT {
            let e = t
                .device_over(
                    transport,
                    "anyone",
                    DeviceAuth::SymmetricKey(WRONG_KEY.into()),
                )
                .registration_status(None)
                .await
                .expect_err("no status over MQTT");
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(e.message().contains("over HTTPS only"), "{e}");
        }
    });
}

#[test]
fn mqtt_off_is_a_transport_error() {
    // MQTT off: nothing listens where the device client is pointed.
    let t = TestEmulator::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let client = dps_device_client::ProvisioningDeviceClient::new(
        &format!("mqtts://127.0.0.1:{port}"),
        t.emulator.id_scope(),
        "nobody",
        DeviceAuth::SymmetricKey(WRONG_KEY.into()),
        Some(dps_device_client::DeviceClientOptions {
            transport: Transport::Mqtt,
            ..t.device_options()
        }),
    )
    .expect("client");
    let e = rt()
        .block_on(client.register(None))
        .expect_err("nothing listens");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(
        e.message().contains("cannot connect to mqtts://127.0.0.1:"),
        "{e}"
    );
}
