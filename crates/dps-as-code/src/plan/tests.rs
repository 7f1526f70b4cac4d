//! The plan's handling of symmetric keys in updates.

use super::*;

fn declared(view: Value) -> DesiredRecord {
    let map = view.as_object().cloned().unwrap_or_default();
    DesiredRecord {
        kind: Kind::Enrollment,
        id: "sk".into(),
        source: "dps.yaml".into(),
        view: map.clone(),
        wire: map,
        thumbprint_only: Vec::new(),
    }
}

fn sent_keys(item: &PlanItem) -> Value {
    match &item.payload {
        Payload::Record(r) => r["attestation"]["symmetricKey"].clone(),
        _ => Value::Null,
    }
}

#[test]
fn an_update_keeps_the_keys_the_file_leaves_to_the_service() {
    // The file changes the primary key only: the secondary stays the service's.
    let d = declared(json!({"registrationId": "sk", "attestation":
        {"type": "symmetricKey", "symmetricKey": {"primaryKey": "NEW"}}}));
    let live = json!({"registrationId": "sk", "etag": "\"1\"", "attestation":
        {"type": "symmetricKey", "symmetricKey": {"primaryKey": "OLD", "secondaryKey": "SEC"}}});
    let item = record_item(&d, Some(&live));
    assert_eq!(item.action, Action::Update);
    assert_eq!(
        sent_keys(&item),
        json!({"primaryKey": "NEW", "secondaryKey": "SEC"})
    );
    assert!(!missing_keys(&item));
}

#[test]
fn keys_a_query_left_out_are_filled_in_before_an_update_is_sent() {
    // A service that hides keys in query answers (Azure): a twin change must not send the
    // attestation without keys, or the service would generate new ones.
    let d = declared(
        json!({"registrationId": "sk", "attestation": {"type": "symmetricKey",
        "symmetricKey": {}}, "initialTwin": {"tags": {"a": 2}, "properties": {"desired": {}}}}),
    );
    let live = json!({"registrationId": "sk", "etag": "\"1\"", "attestation":
        {"type": "symmetricKey", "symmetricKey": {}}, "initialTwin": {"tags": {"a": 1}}});
    let mut item = record_item(&d, Some(&live));
    assert_eq!(item.action, Action::Update);
    assert!(missing_keys(&item));
    fill_keys(
        &mut item,
        &json!({"type": "symmetricKey", "symmetricKey": {"primaryKey": "P", "secondaryKey": "S"}}),
    );
    assert_eq!(
        sent_keys(&item),
        json!({"primaryKey": "P", "secondaryKey": "S"})
    );
    assert!(!missing_keys(&item));
}

#[test]
fn a_change_from_another_attestation_lets_the_service_generate_keys() {
    let d = declared(json!({"registrationId": "sk", "attestation":
        {"type": "symmetricKey", "symmetricKey": {}}}));
    let live = json!({"registrationId": "sk", "etag": "\"1\"", "attestation":
        {"type": "tpm", "tpm": {"endorsementKey": "EK"}}});
    let mut item = record_item(&d, Some(&live));
    fill_keys(
        &mut item,
        &json!({"type": "tpm", "tpm": {"endorsementKey": "EK"}}),
    );
    assert_eq!(sent_keys(&item), json!({}));
}
