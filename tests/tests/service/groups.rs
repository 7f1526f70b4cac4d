//! Enrollment groups through the SDK: create and its conflict, upsert, conditional update and
//! delete, case-insensitive ids, generated symmetric keys and the attestation mechanism.

use base64::Engine;
use dps_e2e::{TestChain, TestEmulator, rt};
use dps_protocol::codes;
use dps_protocol::models::{
    AttestationType, EnrollmentGroup, ProvisioningStatus, SymmetricKeyAttestation,
};
use dps_service_client::{ConditionalOptions, ErrorKind};

fn if_match(etag: &str) -> Option<ConditionalOptions> {
    Some(ConditionalOptions::default().with_if_match(etag))
}

fn key_len(key: Option<&String>) -> usize {
    let key = key.expect("a key");
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64 key")
        .len()
}

#[test]
fn create_conflicts_and_get_ignores_case() {
    let t = TestEmulator::start();
    let client = t.client();
    let chain = TestChain::new();
    rt().block_on(async {
        let group = EnrollmentGroup::x509_signing("Group-1", chain.intermediate_pem(), None);
        let created = client
            .create_enrollment_group(&group, None)
            .await
            .expect("created");
        assert_eq!(created.enrollment_group_id, "Group-1");
        assert_eq!(
            created.provisioning_status,
            Some(ProvisioningStatus::Enabled)
        );
        let etag = created.etag.clone().expect("an etag");

        let e = client
            .create_enrollment_group(&group, None)
            .await
            .expect_err("exists");
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        assert_eq!(
            (e.status(), e.code()),
            (Some(409), Some(codes::ALREADY_EXISTS))
        );

        let back = client
            .get_enrollment_group("GROUP-1", None)
            .await
            .expect("get");
        assert_eq!(
            back.etag.as_deref(),
            Some(etag.as_str()),
            "the conflict changed nothing"
        );
        assert_eq!(
            back.enrollment_group_id, "Group-1",
            "the id keeps its spelling"
        );
        let signing = back.attestation.x509.as_ref().expect("x509");
        let primary = signing
            .signing_certificates
            .as_ref()
            .and_then(|s| s.primary.as_ref())
            .expect("primary");
        assert_eq!(primary.certificate, None, "certificates are never echoed");
        let info = primary.info.as_ref().expect("info");
        assert_eq!(
            info.subject_name,
            "CN=Azure IoT Hub Intermediate Cert Test Only"
        );
        assert_eq!(info.issuer_name, "CN=Azure IoT Hub CA Cert Test Only");
        let der = dps_e2e::der_of(&chain.intermediate_pem());
        assert_eq!(
            info.sha256_thumbprint,
            dps_protocol::Thumbprints::of_der(&der).sha256
        );
    });
}

#[test]
fn create_or_update_is_an_upsert() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let group = EnrollmentGroup::symmetric_key("upsert", None);
        let first = client
            .create_or_update_enrollment_group(&group, None)
            .await
            .expect("created");
        let second = client
            .create_or_update_enrollment_group(&group, None)
            .await
            .expect("replaced without an etag");
        assert_ne!(first.etag, second.etag, "every write has a new etag");
        assert_eq!(first.created_date_time_utc, second.created_date_time_utc);
        assert!(second.last_updated_date_time_utc.is_some());
    });
}

#[test]
fn updates_and_deletes_honour_etags() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let v1 = client
            .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("cond", None), None)
            .await
            .expect("created");
        let mut edit = v1.clone();
        edit.provisioning_status = Some(ProvisioningStatus::Disabled);
        let v2 = client
            .update_enrollment_group(&edit, None)
            .await
            .expect("update with the record's etag");
        assert_ne!(v2.etag, v1.etag);
        assert_eq!(v2.provisioning_status, Some(ProvisioningStatus::Disabled));

        // `edit` still carries v1's etag.
        let e = client
            .update_enrollment_group(&edit, None)
            .await
            .expect_err("stale etag");
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::PreconditionFailed, Some(412))
        );
        let now = client
            .get_enrollment_group("cond", None)
            .await
            .expect("get");
        assert_eq!(now.etag, v2.etag, "the refused update changed nothing");

        let v3 = client
            .update_enrollment_group(&edit, if_match("*"))
            .await
            .expect("`*` matches any etag");
        let stale = v1.etag.as_deref().expect("etag");
        let e = client
            .delete_enrollment_group("cond", if_match(stale))
            .await
            .expect_err("stale delete");
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        client
            .delete_enrollment_group("COND", if_match(v3.etag.as_deref().expect("etag")))
            .await
            .expect("delete with the current etag");
        let e = client
            .get_enrollment_group("cond", None)
            .await
            .expect_err("gone");
        assert_eq!(
            (e.kind(), e.code()),
            (ErrorKind::NotFound, Some(codes::GROUP_NOT_FOUND))
        );

        client
            .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("plain", None), None)
            .await
            .expect("created");
        client
            .delete_enrollment_group("plain", None)
            .await
            .expect("delete without an etag");
        let e = client
            .delete_enrollment_group("plain", None)
            .await
            .expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(
            (e.status(), e.code()),
            (Some(404), Some(codes::GROUP_NOT_FOUND))
        );
    });
}

#[test]
fn symmetric_keys_are_generated_kept_and_readable() {
    let t = TestEmulator::start();
    let client = t.client();
    rt().block_on(async {
        let created = client
            .create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("sym", None), None)
            .await
            .expect("created");
        let keys = created
            .attestation
            .symmetric_key
            .clone()
            .expect("keys in the PUT response");
        assert_eq!(key_len(keys.primary_key.as_ref()), 64);
        assert_eq!(key_len(keys.secondary_key.as_ref()), 64);
        assert_ne!(keys.primary_key, keys.secondary_key);

        let att = client
            .get_enrollment_group_attestation_mechanism("SYM", None)
            .await
            .expect("attestation mechanism");
        assert_eq!(att.attestation_type, AttestationType::SymmetricKey);
        assert_eq!(att.symmetric_key.as_ref(), Some(&keys));

        // A PUT that omits the keys keeps the stored ones.
        let mut edit = created.clone();
        edit.attestation.symmetric_key = Some(SymmetricKeyAttestation::default());
        let kept = client
            .update_enrollment_group(&edit, None)
            .await
            .expect("updated");
        assert_eq!(kept.attestation.symmetric_key.as_ref(), Some(&keys));

        // Keys given by the client are stored as given.
        let b64 = base64::engine::general_purpose::STANDARD;
        let mine = SymmetricKeyAttestation::new(b64.encode([1u8; 32]), b64.encode([2u8; 32]));
        let given = client
            .create_or_update_enrollment_group(
                &EnrollmentGroup::symmetric_key("mine", Some(mine.clone())),
                None,
            )
            .await
            .expect("created");
        assert_eq!(given.attestation.symmetric_key.as_ref(), Some(&mine));
    });
}

#[test]
fn x509_group_attestation_mechanism_shows_info_only() {
    let t = TestEmulator::start();
    let client = t.client();
    let chain = TestChain::new();
    rt().block_on(async {
        client
            .create_x509_enrollment_group("x", chain.root_pem().as_bytes(), None, None)
            .await
            .expect("created");
        let att = client
            .get_enrollment_group_attestation_mechanism("x", None)
            .await
            .expect("attestation mechanism");
        assert_eq!(att.attestation_type, AttestationType::X509);
        let primary = att
            .x509
            .and_then(|x| x.signing_certificates)
            .and_then(|s| s.primary)
            .expect("primary");
        assert_eq!(primary.certificate, None);
        let info = primary.info.expect("info");
        assert_eq!(info.subject_name, "CN=Azure IoT Hub CA Cert Test Only");
        assert_eq!(info.version, 3);

        // Read-modify-write, as `az iot dps enrollment-group update` does: `info`, no certificate.
        let mut edit = client.get_enrollment_group("x", None).await.expect("get");
        edit.provisioning_status = Some(ProvisioningStatus::Disabled);
        let updated = client
            .update_enrollment_group(&edit, None)
            .await
            .expect("the stored certificate is kept");
        let kept = updated
            .attestation
            .x509
            .and_then(|x| x.signing_certificates)
            .and_then(|s| s.primary)
            .and_then(|p| p.info)
            .expect("info");
        assert_eq!(kept.sha1_thumbprint, info.sha1_thumbprint);
    });
}
