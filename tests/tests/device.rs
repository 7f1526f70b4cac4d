//! Device provisioning end to end (issue 5): X.509 and symmetric-key devices register through
//! `dps-device-client` against the in-process emulator, over real TLS, and every refusal comes
//! back with the service's code and a message naming the failing link.

#[path = "device/allocation.rs"]
mod allocation;
#[path = "device/ca_references.rs"]
mod ca_references;
#[path = "device/common.rs"]
mod common;
#[path = "device/custom_allocation.rs"]
mod custom_allocation;
#[path = "device/polling.rs"]
mod polling;
#[path = "device/reprovision.rs"]
mod reprovision;
#[path = "device/review.rs"]
mod review;
#[path = "device/symmetric.rs"]
mod symmetric;
#[path = "device/x509_groups.rs"]
mod x509_groups;
#[path = "device/x509_refusals.rs"]
mod x509_refusals;
