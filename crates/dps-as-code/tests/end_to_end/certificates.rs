//! CA certificates: proof of possession (the key's password from a variable) ends verified,
//! on a new certificate, on one uploaded unverified, and on a replaced one; `isVerified: true`
//! without proof uploads verified, and `false` unverifies; a certificate given only by
//! thumbprint cannot be uploaded (a problem, reported failed without a request).
use super::common::{Fixture, assert_unchanged, certificate, items, rt};
use dps_as_code::Action;
use dps_certgen::Profile;

const PASSWORD: &str = "certificates-test-password";

#[test]
fn proof_of_possession_and_is_verified_end_verified() {
    let mut f = Fixture::new();
    let dir = f.dir.path().to_owned();
    let proven = certificate(&dir, "proven", Profile::RootCa, None, Some(PASSWORD));
    certificate(&dir, "trusted", Profile::RootCa, None, None);
    certificate(&dir, "plain", Profile::RootCa, None, None);
    certificate(
        &dir,
        "inter",
        Profile::IntermediateCa,
        Some(&proven),
        Some(PASSWORD),
    );
    f.var("CA_PASSWORD", PASSWORD);
    let text = "certificates:
  - name: proven
    certificate: {file: proven.cert.pem}
    proofOfPossession: {key: proven.key.pem, password: \"${CA_PASSWORD}\"}
  - name: trusted
    certificate: {file: trusted.cert.pem}
    isVerified: true
  - name: plain
    certificate: {file: plain.cert.pem}
enrollmentGroups:
  - enrollmentGroupId: by-ca
    attestation: {type: x509, x509: {caReferences: {primary: proven}}}
";
    let file = f.write("dps.yaml", text);
    let files = std::slice::from_ref(&file);
    rt().block_on(async {
        let verified = |name: &'static str| {
            let certs = &f.certs;
            async move {
                let c = certs.get(name, None).await.expect("certificate");
                (
                    c.properties.is_verified.unwrap_or(false),
                    c.properties.thumbprint.unwrap_or_default(),
                )
            }
        };
        let plan = f.converge(files).await;
        assert_eq!(plan.summary.create, 4, "{}", plan.summary_line());
        assert!(verified("proven").await.0, "proven by possession");
        assert!(verified("trusted").await.0, "uploaded verified");
        assert!(!verified("plain").await.0, "uploaded as it is");
        assert_unchanged(&f.plan(files, false).await);

        // The flag declared: an update of isVerified, uploaded verified.
        let text = text.replace(
            "{file: plain.cert.pem}\n",
            "{file: plain.cert.pem}\n    isVerified: true\n",
        );
        f.write("dps.yaml", &text);
        let plan = f.plan(files, false).await;
        assert_eq!(
            items(&plan, Action::Update),
            [("plain".to_owned(), vec!["isVerified".to_owned()])]
        );
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert!(verified("plain").await.0);
        assert_unchanged(&f.plan(files, false).await);

        // Uploaded unverified, then declared with proof of possession: proven in place.
        let text = text.replace(
            "{file: plain.cert.pem}\n    isVerified: true\n",
            "{file: plain.cert.pem}\n    proofOfPossession: {key: plain.key.pem}\n",
        );
        f.write("dps.yaml", &text);
        f.certs
            .create_or_update(
                "plain",
                &std::fs::read(f.path("plain.cert.pem")).expect("pem"),
                Some(
                    dps_service_client::CertificateUploadOptions::default()
                        .with_is_verified(false)
                        .with_if_match(
                            f.certs
                                .get("plain", None)
                                .await
                                .expect("plain")
                                .etag
                                .expect("etag"),
                        ),
                ),
            )
            .await
            .expect("plain unverified");
        let plan = f.plan(files, false).await;
        assert_eq!(
            items(&plan, Action::Update),
            [("plain".to_owned(), vec!["isVerified".to_owned()])]
        );
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert!(verified("plain").await.0, "proven");
        assert_unchanged(&f.plan(files, false).await);

        // The proven certificate's file replaced (a CA with another key, whose key file is
        // the one declared): replaced, and proven again.
        let before = verified("proven").await.1;
        let text = text
            .replace("{file: proven.cert.pem}", "{file: inter.cert.pem}")
            .replace("{key: proven.key.pem", "{key: inter.key.pem");
        f.write("dps.yaml", &text);
        let plan = f.plan(files, false).await;
        assert_eq!(
            items(&plan, Action::Update),
            [(
                "proven".to_owned(),
                vec!["certificate.sha1Thumbprint".to_owned()]
            )]
        );
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        let (is_verified, after) = verified("proven").await;
        assert!(is_verified, "the new certificate proven");
        assert_ne!(before, after);
        assert_unchanged(&f.plan(files, false).await);

        // Verified on the service, declared unverified.
        let text = text.replace("    isVerified: true\n", "    isVerified: false\n");
        f.write("dps.yaml", &text);
        let plan = f.plan(files, false).await;
        assert_eq!(
            items(&plan, Action::Update),
            [("trusted".to_owned(), vec!["isVerified".to_owned()])]
        );
        let report = f.apply(&plan).await;
        assert_eq!(report.failed(), 0, "{report:#?}");
        assert!(!verified("trusted").await.0);
        assert_unchanged(&f.plan(files, false).await);

        // Given only by thumbprint (as export writes it) and absent from the service: a
        // problem, reported as failed without a request.
        let sha1 = verified("trusted").await.1;
        let missing = f.write(
            "missing.yaml",
            &format!(
                "certificates:\n  - name: missing\n    certificate: {{sha1Thumbprint: {sha1}}}\n"
            ),
        );
        let both = [file.clone(), missing];
        let plan = f.plan(&both, false).await;
        assert!(!plan.is_empty());
        assert_eq!(plan.summary.problems, 1, "{}", plan.summary_line());
        let item = plan
            .items
            .iter()
            .find(|i| i.id == "missing")
            .expect("missing");
        assert_eq!(item.action, Action::Create);
        let report = f.apply(&plan).await;
        assert_eq!(report.outcomes.len(), 1, "{report:#?}");
        let outcome = &report.outcomes[0];
        assert!(!outcome.ok, "{outcome:?}");
        assert!(
            outcome
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("file:")
        );
        let absent = f
            .certs
            .get("missing", None)
            .await
            .expect_err("not uploaded");
        assert_eq!(absent.status(), Some(404));
    });
}
