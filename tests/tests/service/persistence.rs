//! State on disk: records, the local CA and the policy keys survive a restart on the same data
//! folder; `generate_keys` replaces the keys and the new ones persist.

use dps_e2e::{TestEmulator, rt};
use dps_protocol::models::{EnrollmentGroup, IndividualEnrollment};
use dps_service_client::{ErrorKind, ProvisioningServiceClient};

/// A connection string with the port taken out, to compare across restarts.
fn portless(t: &TestEmulator, connection_string: &str) -> String {
    connection_string.replace(&format!(":{}", t.emulator.addr().port()), ":PORT")
}

#[test]
fn records_ca_and_keys_survive_a_restart() {
    let t = TestEmulator::start_with(|c| c.in_memory = false);
    assert!(t.dir.path().join("state.db").exists(), "a database file");
    let (group, enrollment) = rt().block_on(async {
        let client = t.client();
        let g = client
            .create_or_update_enrollment_group(
                &EnrollmentGroup::symmetric_key("Kept-Group", None),
                None,
            )
            .await
            .expect("group");
        let e = client
            .create_or_update_enrollment(
                &IndividualEnrollment::symmetric_key("kept-dev", None),
                None,
            )
            .await
            .expect("enrollment");
        (g, e)
    });
    let ca = t.emulator.ca_pem().to_owned();
    let owner = portless(&t, &t.emulator.service_connection_string());
    let reader = portless(&t, &t.emulator.read_only_connection_string());

    let t = t.restart(|_| {});
    assert_eq!(t.emulator.ca_pem(), ca, "the same local CA");
    assert_eq!(portless(&t, &t.emulator.service_connection_string()), owner);
    assert_eq!(
        portless(&t, &t.emulator.read_only_connection_string()),
        reader
    );
    rt().block_on(async {
        let client = t.client();
        let g = client
            .get_enrollment_group("kept-group", None)
            .await
            .expect("group kept");
        assert_eq!(g.etag, group.etag);
        assert_eq!(g.enrollment_group_id, "Kept-Group");
        assert_eq!(
            g.attestation.symmetric_key, group.attestation.symmetric_key,
            "keys kept"
        );
        let e = client
            .get_enrollment("kept-dev", None)
            .await
            .expect("enrollment kept");
        assert_eq!(e.etag, enrollment.etag);
        assert_eq!(e.created_date_time_utc, enrollment.created_date_time_utc);
    });
}

#[test]
fn generated_keys_replace_the_old_ones_and_persist() {
    let t = TestEmulator::start_with(|c| c.in_memory = false);
    let dev_owner = portless(&t, &t.emulator.service_connection_string());
    let dev_reader = portless(&t, &t.emulator.read_only_connection_string());

    let t = t.restart(|c| c.generate_keys = true);
    let owner = portless(&t, &t.emulator.service_connection_string());
    let reader = portless(&t, &t.emulator.read_only_connection_string());
    assert_ne!(owner, dev_owner, "a new owner key");
    assert_ne!(reader, dev_reader, "a new read-only key");
    assert_ne!(t.owner_key(), t.read_key());
    let port = format!(":{}", t.emulator.addr().port());
    let old = ProvisioningServiceClient::from_connection_string(
        &dev_owner.replace(":PORT", &port),
        Some(t.options()),
    )
    .expect("client");
    rt().block_on(async {
        let e = t
            .client()
            .get_enrollment_group("none", None)
            .await
            .expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound, "the new key works");
        let e = old
            .get_enrollment_group("none", None)
            .await
            .expect_err("old key");
        assert_eq!(e.kind(), ErrorKind::Unauthorized, "the old key is refused");
    });

    let t = t.restart(|_| {});
    assert_eq!(
        portless(&t, &t.emulator.service_connection_string()),
        owner,
        "the new keys persist"
    );
    assert_eq!(
        portless(&t, &t.emulator.read_only_connection_string()),
        reader
    );
}
