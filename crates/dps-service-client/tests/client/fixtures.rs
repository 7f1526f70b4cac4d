//! Realistic service bodies (shapes of the real-service recordings) and a test certificate.

use base64::Engine as _;
use dps_service_client::codes::ErrorCode;
use serde_json::{Value, json};

/// A small real CA certificate (EC P-256, CN=Azure IoT Hub CA Cert Test Only).
pub(crate) const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBqTCCAU+gAwIBAgIUJ1ZZowu0J3QenUMC3ioSr0Jwh1EwCgYIKoZIzj0EAwIw
KjEoMCYGA1UEAwwfQXp1cmUgSW9UIEh1YiBDQSBDZXJ0IFRlc3QgT25seTAeFw0y
NjExMzAwMjM1MjVaFw0zNjExMjcwMjM1MjVaMCoxKDAmBgNVBAMMH0F6dXJlIElv
VCBIdWIgQ0EgQ2VydCBUZXN0IE9ubHkwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AATvxwIIHVM4RYnBA8g7CW27GE70vvKWZGYQrwTpI1kigvn9z6vECirhuWylHtYM
UUgjYNW7QfugxLOVCy1XJxAho1MwUTAdBgNVHQ4EFgQUOUnI2ShPq8WdQxqxVPPr
eTp4eV4wHwYDVR0jBBgwFoAUOUnI2ShPq8WdQxqxVPPreTp4eV4wDwYDVR0TAQH/
BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAoHJZz+K3RVXvNi7y17yzM2JLPf8J
JksVblJ0M1ZDrF0CIFv3H7cSPe1HrYl0cbuBm+uVqPv4m5R2ra5zvXglzL/V
-----END CERTIFICATE-----
";

/// The base64 body of [`CA_PEM`]: what a DER upload of the same certificate must send.
pub(crate) fn ca_der_base64() -> String {
    CA_PEM.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// The DER bytes of [`CA_PEM`].
pub(crate) fn ca_der() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(ca_der_base64())
        .expect("the test certificate is base64")
}

/// A DPS error body.
pub(crate) fn dps_error(code: ErrorCode, message: &str) -> Value {
    json!({
        "errorCode": code,
        "trackingId": "f40da7ba-2c9c-4bd4-9a5f-5f6b0c7e1d3a",
        "message": message,
        "timestampUtc": "2026-11-30T02:44:19.6101224Z"
    })
}

/// X.509 certificate info as the service returns it.
pub(crate) fn cert_info(subject: &str) -> Value {
    json!({
        "subjectName": subject,
        "sha1Thumbprint": "9D95CA1F23E232A96BF950927840C41511310EB7",
        "sha256Thumbprint": "584A2B6FE71803C0D4C5F1446DEA6C68896DAB243A3A90B81D58166749AD2830",
        "issuerName": "CN=Azure IoT Hub CA Cert Test Only",
        "notBeforeUtc": "2026-11-30T02:29:17Z",
        "notAfterUtc": "2036-11-27T02:29:17Z",
        "serialNumber": "733E0A98F3357C7D8C926E76BEDD2B527DC62817",
        "version": 3
    })
}

/// An X.509 enrollment group as the service returns it (info, no certificate).
pub(crate) fn group_x509(id: &str, etag: &str) -> Value {
    json!({
        "enrollmentGroupId": id,
        "attestation": {"type": "x509", "x509": {"signingCertificates": {
            "primary": {"info": cert_info("CN=Azure IoT Hub CA Cert Test Only")}
        }}},
        "capabilities": {"iotEdge": false},
        "initialTwin": {"tags": {}, "properties": {"desired": {}}},
        "etag": etag,
        "provisioningStatus": "enabled",
        "reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": true},
        "createdDateTimeUtc": "2026-11-30T02:35:11.2209871Z",
        "lastUpdatedDateTimeUtc": "2026-11-30T02:35:11.2209871Z",
        "allocationPolicy": "hashed",
        "iotHubs": ["contoso-hub-weu.azure-devices.net"]
    })
}

/// A symmetric-key enrollment group as the service returns it.
pub(crate) fn group_symkey(id: &str, etag: &str) -> Value {
    json!({
        "enrollmentGroupId": id,
        "attestation": {"type": "symmetricKey", "symmetricKey": {
            "primaryKey": "79ZeGZe9Az1LyO6N/KAKQMrDmJn8/hiXPpbZj6LEqvPOgz+zQz5MatS67ZpGFV8zQbvnNJiqXgN63F5AOQfWtQ==",
            "secondaryKey": "MrVIC/30gSVBfAoV+PZOxPs/RX7maWCsAyBw9thqLy30k6K9KGJDWYK5wY+t/p1KoYiqScNwAdAu+ltd59BxJw=="
        }},
        "capabilities": {"iotEdge": false},
        "iotHubHostName": "contoso-hub-weu.azure-devices.net",
        "initialTwin": {"tags": {"building": "43", "floor": 2},
            "properties": {"desired": {"telemetryIntervalSeconds": 30}}},
        "etag": etag,
        "provisioningStatus": "enabled",
        "reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": true},
        "createdDateTimeUtc": "2026-11-30T02:37:29.7770412Z",
        "lastUpdatedDateTimeUtc": "2026-11-30T02:38:01.0000603Z",
        "allocationPolicy": "static",
        "iotHubs": ["contoso-hub-weu.azure-devices.net"]
    })
}

/// A TPM individual enrollment as the service returns it.
pub(crate) fn enrollment_tpm(id: &str, etag: &str) -> Value {
    json!({
        "registrationId": id,
        "deviceId": "gateway-07",
        "registrationState": {"registrationId": id, "status": "unassigned"},
        "attestation": {"type": "tpm", "tpm": {
            "endorsementKey": "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAwiOV9w5V4Fn8TBe5qda8qN+jzawrT+IAqTQZ5r6m2TxX9aHn/WBDEs/WlIOSn/YGEjNlyFMzLxDb9zczWMoXQuHz38bPzZa02U9GkCH9EZ/74apGcolS1vkgSArju10NjHaNM2q1LuCCJrirGtZqOxMBs/35yhC6xWZ6n6ElQzabdvFV06IyEIRJ4sEzLg3TwDwiXT5cBW7hResGskfQPX1uoKdzwm6vdPx/o117ZxTkfY9OrGzMrGuOYlLlbZABcZJVSsl+jIFQF3rTW+qHJ1jGMnabWTMIT1O7h08hRZyXutL1xNEUMDes7jXmfQ8xUhCB/3UyBf0vOgqhkXwy7w=="
        }},
        "capabilities": {"iotEdge": true},
        "initialTwin": {"tags": {"role": "gateway"}},
        "etag": etag,
        "provisioningStatus": "disabled",
        "reprovisionPolicy": {"updateHubAssignment": true, "migrateDeviceData": false},
        "createdDateTimeUtc": "2026-11-30T02:32:40.9050712Z",
        "lastUpdatedDateTimeUtc": "2026-11-30T02:40:02.4471033Z",
        "allocationPolicy": "custom",
        "iotHubs": ["contoso-hub-weu.azure-devices.net", "contoso-hub-eus.azure-devices.net"],
        "customAllocationDefinition": {
            "webhookUrl": "https://contoso-alloc.azurewebsites.net/api/allocate?code=Xn3tq8AB7w0dYQ%3D%3D",
            "apiVersion": "2021-10-01"
        }
    })
}

/// A registration state as the service returns it.
pub(crate) fn registration_state(id: &str, etag: &str) -> Value {
    json!({
        "registrationId": id,
        "createdDateTimeUtc": "2026-11-30T02:44:19.6101224Z",
        "assignedHub": "contoso-hub-weu.azure-devices.net",
        "deviceId": id,
        "status": "assigned",
        "substatus": "initialAssignment",
        "lastUpdatedDateTimeUtc": "2026-11-30T02:44:20.1027436Z",
        "etag": etag
    })
}

/// A symmetric-key attestation mechanism with keys.
pub(crate) fn symkey_attestation() -> Value {
    json!({"type": "symmetricKey", "symmetricKey": {
        "primaryKey": "Z7hd6rS300e2bDisIFBr/WXittGlsAyDkL2/kWGK+C5tS2avDQ4iIoE0OrFEHIcZWhzveNlHJztqv194W6591g==",
        "secondaryKey": "AFCNEhVdGNTPSRkCcczgaFwUKX7qp0/mFqqnPXvD9T5iOgV9MSMJRRyDDUsJbh5QJC9fZ1gdj2isEppXbfPfMg=="
    }})
}
