//! `emulator.json`: what a running emulator publishes in its data folder for other processes.
//!
//! The emulator writes it once it accepts connections; `dps-cli --emulator`, xtask and scripts
//! read it to find the endpoints, the connection strings and the CA to trust. Writer and
//! readers share this one type, so a field cannot be renamed on one side only.
//!
//! The fields are declared in alphabetical order of their JSON names, which is the order the
//! file has always had (it was written from a sorted JSON map), so the file stays byte for byte
//! what earlier versions wrote.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The contents of `emulator.json`. It holds keys: the emulator writes it readable by its
/// owner only, and [`Debug`] redacts the connection strings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmulatorInfo {
    /// The emulator's TLS CA certificate (PEM), which clients must trust.
    pub ca_certificate_path: PathBuf,
    /// The web console (`https://localhost:8444/portal/`); absent when it is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
    /// The device API endpoint (`https://localhost:8443`).
    pub device_endpoint: String,
    /// The ID scope devices register under.
    pub id_scope: String,
    /// The linked IoT hubs devices are assigned to.
    pub iot_hubs: Vec<String>,
    /// Where devices connect over MQTT (`mqtts://localhost:8883`); absent when MQTT is off.
    /// MQTT over WebSocket is served on the device endpoint's port, path `/$iothub/websocket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_endpoint: Option<String>,
    /// The emulator's process id.
    pub pid: u32,
    /// The bound port (the real one when started on port 0).
    pub port: u16,
    /// Connection string of the read-only policy. It contains a key.
    pub read_only_connection_string: String,
    /// Connection string of the full-rights policy. It contains a key.
    pub service_connection_string: String,
    /// The service API endpoint (`https://localhost:8443`).
    pub service_endpoint: String,
}

impl EmulatorInfo {
    /// The file's text: pretty-printed JSON, as the emulator writes it.
    pub fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Reads the file's text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl fmt::Debug for EmulatorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorInfo")
            .field("ca_certificate_path", &self.ca_certificate_path)
            .field("console_url", &self.console_url)
            .field("device_endpoint", &self.device_endpoint)
            .field("id_scope", &self.id_scope)
            .field("iot_hubs", &self.iot_hubs)
            .field("mqtt_endpoint", &self.mqtt_endpoint)
            .field("pid", &self.pid)
            .field("port", &self.port)
            .field("read_only_connection_string", &"<redacted>")
            .field("service_connection_string", &"<redacted>")
            .field("service_endpoint", &self.service_endpoint)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ZGV2ZWxvcG1lbnQta2V5LW9ubHk=";

    fn sample() -> EmulatorInfo {
        EmulatorInfo {
            ca_certificate_path: PathBuf::from("/data/tls/ca.cert.pem"),
            console_url: None,
            device_endpoint: "https://localhost:8443".into(),
            id_scope: "0ne00000000".into(),
            iot_hubs: vec!["emulated-hub.azure-devices.net".into()],
            mqtt_endpoint: None,
            pid: 4242,
            port: 8443,
            read_only_connection_string: format!(
                "HostName=localhost:8443;SharedAccessKeyName=provisioningservicereader;SharedAccessKey={KEY}"
            ),
            service_connection_string: format!(
                "HostName=localhost:8443;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={KEY}"
            ),
            service_endpoint: "https://localhost:8443".into(),
        }
    }

    /// The exact text earlier emulators wrote (with `serde_json::json!`, whose map sorts keys).
    const GOLDEN: &str = r#"{
  "caCertificatePath": "/data/tls/ca.cert.pem",
  "deviceEndpoint": "https://localhost:8443",
  "idScope": "0ne00000000",
  "iotHubs": [
    "emulated-hub.azure-devices.net"
  ],
  "pid": 4242,
  "port": 8443,
  "readOnlyConnectionString": "HostName=localhost:8443;SharedAccessKeyName=provisioningservicereader;SharedAccessKey=ZGV2ZWxvcG1lbnQta2V5LW9ubHk=",
  "serviceConnectionString": "HostName=localhost:8443;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=ZGV2ZWxvcG1lbnQta2V5LW9ubHk=",
  "serviceEndpoint": "https://localhost:8443"
}"#;

    #[test]
    fn writes_the_golden_text_and_reads_it_back() {
        let info = sample();
        let text = info.to_json_pretty().expect("serializes");
        assert_eq!(text, GOLDEN);
        assert_eq!(EmulatorInfo::from_json(GOLDEN).expect("parses"), info);
    }

    #[test]
    fn the_console_url_sits_in_sorted_order_when_on() {
        let info = EmulatorInfo {
            console_url: Some("https://localhost:8444/portal/".into()),
            ..sample()
        };
        let text = info.to_json_pretty().expect("serializes");
        let expected = GOLDEN.replace(
            "ca.cert.pem\",\n",
            "ca.cert.pem\",\n  \"consoleUrl\": \"https://localhost:8444/portal/\",\n",
        );
        assert_ne!(expected, GOLDEN);
        assert_eq!(text, expected);
        assert_eq!(EmulatorInfo::from_json(&text).expect("parses"), info);
    }

    #[test]
    fn the_mqtt_endpoint_sits_in_sorted_order_when_on() {
        let info = EmulatorInfo {
            mqtt_endpoint: Some("mqtts://localhost:8883".into()),
            ..sample()
        };
        let text = info.to_json_pretty().expect("serializes");
        let expected = GOLDEN.replace(
            "  ],\n  \"pid\"",
            "  ],\n  \"mqttEndpoint\": \"mqtts://localhost:8883\",\n  \"pid\"",
        );
        assert_ne!(expected, GOLDEN);
        assert_eq!(text, expected);
        assert_eq!(EmulatorInfo::from_json(&text).expect("parses"), info);
    }

    #[test]
    fn matches_a_sorted_json_map() {
        // What the emulator wrote before this type existed.
        let info = sample();
        let old = serde_json::json!({
            "serviceConnectionString": info.service_connection_string,
            "readOnlyConnectionString": info.read_only_connection_string,
            "idScope": info.id_scope,
            "serviceEndpoint": info.service_endpoint,
            "deviceEndpoint": info.device_endpoint,
            "caCertificatePath": info.ca_certificate_path,
            "iotHubs": info.iot_hubs,
            "port": info.port,
            "pid": info.pid,
        });
        let old = serde_json::to_string_pretty(&old).expect("serializes");
        assert_eq!(info.to_json_pretty().expect("serializes"), old);
    }

    #[test]
    fn debug_hides_the_keys() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("0ne00000000"), "{shown}");
    }
}
