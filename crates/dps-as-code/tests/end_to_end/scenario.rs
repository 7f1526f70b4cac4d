//! A file that declares every kind of record and field, its certificates and secrets.

use super::common::{Fixture, certificate};
use super::round_trip::EK;
use dps_certgen::Profile;
use std::path::PathBuf;

pub(crate) const GROUP_KEY: &str = "c2NlbmFyaW8gZ3JvdXAgcHJpbWFyeSBrZXkgIQ==";
pub(crate) const GROUP_KEY_2: &str = "c2NlbmFyaW8gZ3JvdXAgcHJpbWFyeSBrZXkgMg==";
pub(crate) const GROUP_SECONDARY: &str = "c2NlbmFyaW8gZ3JvdXAgc2Vjb25kYXJ5IGtleSE=";
pub(crate) const GROUP_SECONDARY_2: &str = "c2NlbmFyaW8gZ3JvdXAgc2Vjb25kYXJ5IGtleTI=";
pub(crate) const DEVICE_KEY: &str = "c2NlbmFyaW8gZGV2aWNlIHByaW1hcnkga2V5IQ==";

/// The base file. Certificate and key files are named relative to it.
pub(crate) fn base_file() -> String {
    format!(
        r#"certificates:
  - name: root
    certificate: {{file: root.cert.pem}}
    proofOfPossession: {{key: root.key.pem}}
  - name: second
    certificate: {{file: second.cert.pem}}
    isVerified: true
enrollmentGroups:
  - enrollmentGroupId: by-ca
    attestation: {{type: x509, x509: {{caReferences: {{primary: root}}}}}}
    iotHubs: [hub1.azure-devices.net]
    allocationPolicy: hashed
  - enrollmentGroupId: by-signing
    attestation:
      type: x509
      x509:
        signingCertificates:
          primary: {{file: inter.cert.pem}}
    initialTwin:
      tags: {{site: lab, floor: 3}}
      properties:
        desired: {{interval: 30}}
    provisioningStatus: enabled
  - enrollmentGroupId: keys
    attestation:
      type: symmetricKey
      symmetricKey:
        primaryKey: ${{GROUP_KEY}}
        secondaryKey: {{file: group-secondary.key}}
    reprovisionPolicy: {{updateHubAssignment: true, migrateDeviceData: true}}
enrollments:
  - registrationId: dev-x509
    deviceId: device-one
    attestation: {{type: x509, x509: {{clientCertificates: {{primary: {{file: dev.cert.pem}}}}}}}}
    capabilities: {{iotEdge: false}}
    passThrough: {{futureField: {{level: 1}}}}
  - registrationId: dev-key
    attestation: {{type: symmetricKey, symmetricKey: {{primaryKey: "${{DEVICE_KEY}}"}}}}
    optionalDeviceInformation: {{model: m1}}
  - registrationId: dev-tpm
    attestation:
      type: tpm
      tpm: {{endorsementKey: {EK}}}
    provisioningStatus: enabled # the TPM's
"#
    )
}

/// Writes the base file, its certificates and secret file into the fixture's folder and sets
/// its variables; returns the file. Besides the certificates it names, it writes one more of
/// each kind to replace them with (`inter2`, `second2`, `dev2`).
pub(crate) fn write_base(f: &mut Fixture) -> PathBuf {
    let dir = f.dir.path().to_owned();
    let root = certificate(&dir, "root", Profile::RootCa, None, None);
    let inter = certificate(&dir, "inter", Profile::IntermediateCa, Some(&root), None);
    certificate(&dir, "inter2", Profile::IntermediateCa, Some(&root), None);
    certificate(&dir, "second", Profile::RootCa, None, None);
    certificate(&dir, "second2", Profile::RootCa, None, None);
    certificate(&dir, "dev", Profile::Leaf, Some(&inter), None);
    certificate(&dir, "dev2", Profile::Leaf, Some(&inter), None);
    f.write("group-secondary.key", &format!("{GROUP_SECONDARY}\n"));
    f.var("GROUP_KEY", GROUP_KEY);
    f.var("DEVICE_KEY", DEVICE_KEY);
    f.write("dps.yaml", &base_file())
}
