//! Helpers shared by the device suites.

use dps_device_client::{Error, ErrorKind};
use dps_e2e::{TestChain, TestEmulator};
pub(crate) use dps_e2e::{symmetric_enrollment, symmetric_group};
use dps_protocol::codes::ErrorCode;
use dps_protocol::models::DeviceRegistrationState;
use dps_service_client::ProvisioningServiceClient;
use futures_util::TryStreamExt;

/// The emulator's default linked hub.
pub(crate) const DEFAULT_HUB: &str = dps_emulator::config::DEFAULT_IOT_HUB;
/// Two linked hubs for allocation and reprovisioning.
pub(crate) const HUB_A: &str = "hub-a.azure-devices.net";
/// The second linked hub.
pub(crate) const HUB_B: &str = "hub-b.azure-devices.net";

/// Subject DNs as the service reports them.
pub(crate) fn cn(name: &str) -> String {
    format!("CN={name}")
}

/// An emulator whose CA store holds `chain`'s root, verified at start.
pub(crate) fn with_verified_root(chain: &TestChain) -> TestEmulator {
    let root = chain.certs.cert_path(dps_certgen::ROOT_PREFIX);
    TestEmulator::start_with(|c| c.ca_certificates = vec![("root".into(), root)])
}

/// Asserts the error's kind and DPS code, and that its message contains every needle.
pub(crate) fn assert_refused(e: &Error, kind: ErrorKind, code: ErrorCode, needles: &[&str]) {
    assert_eq!(
        (e.kind(), e.error_code()),
        (kind, Some(i64::from(code))),
        "unexpected error: {e}"
    );
    for needle in needles {
        assert!(
            e.message().contains(needle),
            "{needle:?} is not in the message: {}",
            e.message()
        );
    }
}

/// Every registration state the service lists under `group`.
pub(crate) async fn registrations_of(
    service: &ProvisioningServiceClient,
    group: &str,
) -> Vec<DeviceRegistrationState> {
    service
        .query_registration_states(group, None)
        .try_collect()
        .await
        .expect("registration query")
}
