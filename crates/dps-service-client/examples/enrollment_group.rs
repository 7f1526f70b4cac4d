//! What the DPS X.509 quickstart's `EnrollmentGroup.py` did with the retired Python SDK: create
//! an enabled enrollment group whose signing certificate is a CA certificate file.
//!
//! ```sh
//! DPS_CONNECTION_STRING='HostName=...;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=...' \
//!   cargo run -p dps-service-client --example enrollment_group -- \
//!   certs/certs/azure-iot-test-only.intermediate.cert.pem my-group
//! ```
//!
//! Set `DPS_CA_FILE` to a PEM CA certificate to trust (the emulator's), if needed.

use dps_service_client::{ClientOptions, ProvisioningServiceClient};
use std::path::PathBuf;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(cert), Some(group_id)) = (args.next().map(PathBuf::from), args.next()) else {
        return Err("usage: enrollment_group <CA-CERT.pem|.cer> <GROUP-ID>".into());
    };
    let connection_string = std::env::var("DPS_CONNECTION_STRING")
        .map_err(|_| "set DPS_CONNECTION_STRING to the DPS service connection string")?;
    let mut options = ClientOptions::default();
    if let Ok(ca) = std::env::var("DPS_CA_FILE") {
        options.trusted_ca_pem.push(std::fs::read(&ca)?);
    }
    let client =
        ProvisioningServiceClient::from_connection_string(&connection_string, Some(options))?;
    let group = client
        .create_x509_enrollment_group_from_files(&group_id, &cert, None, None)
        .await?;
    println!("{}", serde_json::to_string_pretty(&group)?);
    Ok(())
}
