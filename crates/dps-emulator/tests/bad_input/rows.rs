//! The rows of the bad-input table, by section. Each is short and printable in the rendered
//! table; long values are described there and built here.

use super::table::{Auth, ClientCert, Row, Sent, Text, row};
use dps_protocol::codes;

/// The api-version every row sends unless it is about api-version.
const Q: &str = "?api-version=2021-10-01";
/// The emulator's default ID scope.
const SCOPE: &str = "0ne000E1A70";
/// Nesting depth of the too-deep JSON row (arrays inside `initialTwin.tags`).
pub(crate) const DEEP: usize = 100;

fn enrollment() -> String {
    format!("/enrollments/dev-1{Q}")
}

fn register(id: &str) -> String {
    format!("/{SCOPE}/registrations/{id}/register{Q}")
}

/// A device request: no SAS unless the row gives one.
fn device(class: &'static str, example: &'static str, method: &'static str, path: &str) -> Row {
    row(class, example, method, path).auth(Auth::Anonymous)
}

/// `{"registrationId":"aaa…"}` with `n` `a`s.
fn id_body(n: usize) -> Text {
    Text::long(
        &format!(r#"{{"registrationId":"<{n} × a>"}}"#),
        format!(r#"{{"registrationId":"{}"}}"#, "a".repeat(n)),
    )
}

const SK: &str = r#"{"registrationId":"dev-1","attestation":{"type":"symmetricKey"}"#;

fn sk_with(extra: &str) -> String {
    format!("{SK},{extra}}}")
}

/// Malformed bodies and values of the service API.
pub(crate) fn bodies() -> Vec<Row> {
    let deep = format!(
        r#"{SK},"initialTwin":{{"tags":{{"a":{}{}}}}}}}"#,
        "[".repeat(DEEP),
        "]".repeat(DEEP)
    );
    let huge_len = 96 * 1024 + 1;
    let mut huge = br#"{"registrationId":"dev-1","pad":""#.to_vec();
    huge.resize(huge_len - 2, b'a');
    huge.extend_from_slice(br#""}"#);
    let cert_body = |form: &str| {
        format!(
            r#"{{"registrationId":"dev-1","attestation":{{"type":"x509","x509":{{"clientCertificates":{{"primary":{{"certificate":"{form}"}}}}}}}}}}"#
        )
    };
    let with_junk = |form: &str, template: String| Text {
        shown: cert_body(form),
        sent: Sent::CertWithTrailingBytes {
            template,
            junk: b"junk".to_vec(),
        },
    };
    vec![
        row("malformed JSON", "`{not json`", "PUT", &enrollment())
            .body("{not json")
            .dps(codes::BAD_REQUEST),
        row("JSON of the wrong type", "an array for a record", "PUT", &enrollment())
            .body(r#"["dev-1"]"#)
            .dps(codes::BAD_REQUEST),
        row("field of the wrong type", "a number for `registrationId`", "PUT", &enrollment())
            .body(r#"{"registrationId":5,"attestation":{"type":"symmetricKey"}}"#)
            .dps(codes::BAD_REQUEST),
        row("JSON nested too deep", "100 nested arrays in a twin tag", "PUT", &enrollment())
            .body_text(Text::long(
                &sk_with(r#""initialTwin":{"tags":{"a":[[[[…100 levels…]]]]}}"#),
                deep,
            ))
            .dps(codes::BAD_REQUEST),
        row("unknown enum value", "`provisioningStatus: \"weird\"`", "PUT", &enrollment())
            .body(&sk_with(r#""provisioningStatus":"weird""#))
            .dps(codes::BAD_REQUEST),
        row("unknown enum value", "`allocationPolicy: \"bogus\"`", "PUT", "/enrollmentGroups/g-1?api-version=2021-10-01")
            .body(r#"{"enrollmentGroupId":"g-1","attestation":{"type":"symmetricKey"},"allocationPolicy":"bogus"}"#)
            .dps(codes::BAD_REQUEST),
        row("unknown enum value", "attestation `type: \"retina\"`", "PUT", &enrollment())
            .body(r#"{"registrationId":"dev-1","attestation":{"type":"retina"}}"#)
            .dps(codes::BAD_REQUEST)
            .says("use one of: none, tpm, x509, symmetricKey"),
        row("unknown enum value", "bulk `mode: \"merge\"`", "POST", &format!("/enrollments{Q}"))
            .body(r#"{"mode":"merge","enrollments":[{"registrationId":"dev-1","attestation":{"type":"symmetricKey"}}]}"#)
            .dps(codes::BAD_REQUEST),
        row("wrong type in a policy", "`reprovisionPolicy: \"weird\"`", "PUT", &enrollment())
            .body(&sk_with(r#""reprovisionPolicy":"weird""#))
            .dps(codes::BAD_REQUEST),
        row("certificate with trailing bytes", "base64 DER + `junk`", "PUT", &enrollment())
            .body_text(with_junk("<base64 of a certificate's DER + 4 bytes>", cert_body("{cert}")))
            .dps(codes::BAD_REQUEST),
        row("certificate with trailing bytes", "PEM whose DER is followed by `junk`", "PUT", &enrollment())
            .body_text(with_junk(
                "-----BEGIN CERTIFICATE-----\\n<base64 of DER + 4 bytes>\\n-----END CERTIFICATE-----",
                cert_body("-----BEGIN CERTIFICATE-----\\n{cert}\\n-----END CERTIFICATE-----"),
            ))
            .dps(codes::BAD_REQUEST),
        row(
            "certificate with trailing bytes",
            "CA upload: base64 DER + `junk`",
            "PUT",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Devices/provisioningServices/dps/certificates/root?api-version=2022-02-05",
        )
        .body_text(Text {
            shown: r#"{"properties":{"certificate":"<base64 of a CA certificate's DER + 4 bytes>"}}"#.into(),
            sent: Sent::CertWithTrailingBytes {
                template: r#"{"properties":{"certificate":"{cert}"}}"#.into(),
                junk: b"junk".to_vec(),
            },
        })
        .arm(400, "InvalidCertificate")
        .says("4 unexpected bytes follow the certificate"),
        row("body too large", "96 KiB + 1 byte", "PUT", &enrollment())
            .body_text(Text::long(
                r#"{"registrationId":"dev-1","pad":"aaaa…"} (98,305 bytes)"#,
                huge,
            ))
            .dps(codes::TOO_LARGE),
        row("body too large", "`Content-Length: 10000000`, nothing sent", "PUT", &enrollment())
            .header("Content-Length", "10000000")
            .raw()
            .dps(codes::TOO_LARGE),
        row("no length", "PUT with neither `Content-Length` nor `Transfer-Encoding`", "PUT", &enrollment())
            .raw()
            .dps(codes::LENGTH_REQUIRED),
    ]
}

/// Content types.
pub(crate) fn media() -> Vec<Row> {
    let ok = sk_with(r#""provisioningStatus":"enabled""#);
    vec![
        row(
            "body not declared JSON",
            "`text/plain`",
            "PUT",
            &enrollment(),
        )
        .header("Content-Type", "text/plain")
        .body(&ok)
        .dps(codes::UNSUPPORTED_MEDIA),
        row(
            "body not declared JSON",
            "`application/xml`",
            "PUT",
            &enrollment(),
        )
        .header("Content-Type", "application/xml")
        .body(&ok)
        .dps(codes::UNSUPPORTED_MEDIA),
        row(
            "body not declared JSON",
            "no `Content-Type`",
            "PUT",
            &enrollment(),
        )
        .body(&ok)
        .raw()
        .dps(codes::UNSUPPORTED_MEDIA),
        device(
            "body not declared JSON",
            "register body as `text/plain`",
            "PUT",
            &register("dev-1"),
        )
        .header("Content-Type", "text/plain")
        .body(r#"{"registrationId":"dev-1"}"#)
        .dps(codes::UNSUPPORTED_MEDIA),
    ]
}

/// api-version.
pub(crate) fn api_versions() -> Vec<Row> {
    let get = |v: &str| format!("/enrollments/dev-1{v}");
    vec![
        row("api-version missing", "no query", "GET", &get("")).dps(codes::BAD_API_VERSION),
        row(
            "api-version not a date",
            "`latest`",
            "GET",
            &get("?api-version=latest"),
        )
        .dps(codes::BAD_API_VERSION),
        row(
            "api-version not a calendar date",
            "`2021-13-45`",
            "GET",
            &get("?api-version=2021-13-45"),
        )
        .dps(codes::BAD_API_VERSION),
        row(
            "api-version not a calendar date",
            "`2021-02-30`",
            "GET",
            &get("?api-version=2021-02-30"),
        )
        .dps(codes::BAD_API_VERSION),
        row(
            "api-version out of range",
            "`2016-01-01`",
            "GET",
            &get("?api-version=2016-01-01"),
        )
        .dps(codes::BAD_API_VERSION),
        device(
            "api-version out of range",
            "device API, `2030-01-01`",
            "PUT",
            &format!("/{SCOPE}/registrations/dev-1/register?api-version=2030-01-01"),
        )
        .body(r#"{"registrationId":"dev-1"}"#)
        .dps(codes::BAD_API_VERSION),
    ]
}

/// Registration ids and the device register body.
pub(crate) fn ids() -> Vec<Row> {
    let a = |n: usize| "a".repeat(n);
    let long_enrollment = format!("/enrollments/{}{Q}", a(129));
    vec![
        row("registration id too long", "129 characters", "PUT", "")
            .path_text(Text::long(
                &format!("/enrollments/<129 × a>{Q}"),
                long_enrollment,
            ))
            .body_text(Text::long(
                r#"{"registrationId":"<129 × a>","attestation":{"type":"symmetricKey"}}"#,
                format!(
                    r#"{{"registrationId":"{}","attestation":{{"type":"symmetricKey"}}}}"#,
                    a(129)
                ),
            ))
            .dps(codes::INVALID_ID),
        device("registration id too long", "129 characters", "PUT", "")
            .path_text(Text::long(
                &format!("/{SCOPE}/registrations/<129 × a>/register{Q}"),
                register(&a(129)),
            ))
            .body_text(id_body(129))
            .dps(codes::INVALID_ID),
        device(
            "registration id with a bad character",
            "`dev*1`",
            "PUT",
            &register("dev*1"),
        )
        .body(r#"{"registrationId":"dev*1"}"#)
        .dps(codes::INVALID_ID),
        device(
            "registration id with a bad first character",
            "`-dev`",
            "PUT",
            &register("-dev"),
        )
        .body(r#"{"registrationId":"-dev"}"#)
        .dps(codes::INVALID_ID),
        device(
            "register body not an object",
            "`[]`",
            "PUT",
            &register("dev-1"),
        )
        .body("[]")
        .dps(codes::BAD_REQUEST),
        device(
            "register body with a wrong type",
            "a number for `registrationId`",
            "PUT",
            &register("dev-1"),
        )
        .body(r#"{"registrationId":5}"#)
        .dps(codes::BAD_REQUEST),
        device(
            "register body for another device",
            "`registrationId` not the path's",
            "PUT",
            &register("dev-1"),
        )
        .body(r#"{"registrationId":"dev-2"}"#)
        .dps(codes::BAD_REQUEST)
        .says("does not match"),
        device(
            "register body malformed",
            "`{\"registrationId\":`",
            "PUT",
            &register("dev-1"),
        )
        .body(r#"{"registrationId":"#)
        .dps(codes::BAD_REQUEST),
    ]
}

/// Authentication.
pub(crate) fn auth() -> Vec<Row> {
    let get = format!("/enrollments/dev-1{Q}");
    let reg = register("dev-1");
    vec![
        row("SAS missing", "no `Authorization`", "GET", &get)
            .auth(Auth::None)
            .dps(codes::UNAUTHORIZED),
        row("SAS forged", "signature of another key", "GET", &get)
            .auth(Auth::WrongKey)
            .dps(codes::UNAUTHORIZED),
        row("SAS expired", "`se` an hour ago", "GET", &get)
            .auth(Auth::Expired)
            .dps(codes::UNAUTHORIZED),
        row(
            "SAS for another audience",
            "`sr=evil.example.com`",
            "GET",
            &get,
        )
        .auth(Auth::OtherAudience)
        .dps(codes::UNAUTHORIZED),
        row(
            "SAS malformed",
            "`SharedAccessSignature garbage`",
            "GET",
            &get,
        )
        .auth(Auth::Garbage)
        .dps(codes::UNAUTHORIZED),
        row("not a SAS", "AAD bearer token", "GET", &get)
            .auth(Auth::Bearer)
            .dps(codes::UNAUTHORIZED),
        row(
            "SAS without the right",
            "read-only policy writes",
            "DELETE",
            &get,
        )
        .auth(Auth::ReadOnly)
        .dps(codes::UNAUTHORIZED),
        device(
            "device without a credential",
            "no SAS, no client certificate",
            "PUT",
            &reg,
        )
        .body(r#"{"registrationId":"dev-1"}"#)
        .dps(codes::UNAUTHORIZED),
        device(
            "device SAS forged",
            "signed with an unknown key",
            "PUT",
            &reg,
        )
        .auth(Auth::DeviceWrongKey)
        .body(r#"{"registrationId":"dev-1"}"#)
        .dps(codes::UNAUTHORIZED),
        device(
            "X.509 common name too long",
            "CN of 65 characters (X.520 allows 64)",
            "PUT",
            "",
        )
        .path_text(Text::long(
            &format!("/{SCOPE}/registrations/<65 × a>/register{Q}"),
            register(&"a".repeat(65)),
        ))
        .body_text(id_body(65))
        .cert(ClientCert::CommonNameOf(65))
        .dps(codes::UNAUTHORIZED)
        .says("is 65 characters long, more than the 64"),
        device(
            "X.509 common name too long",
            "CN of 128 characters",
            "PUT",
            "",
        )
        .path_text(Text::long(
            &format!("/{SCOPE}/registrations/<128 × a>/register{Q}"),
            register(&"a".repeat(128)),
        ))
        .body_text(id_body(128))
        .cert(ClientCert::CommonNameOf(128))
        .dps(codes::UNAUTHORIZED)
        .says("is 128 characters long, more than the 64"),
    ]
}

/// Paths and methods.
pub(crate) fn routing() -> Vec<Row> {
    vec![
        row(
            "unknown path",
            "`/devices/dev-1`",
            "GET",
            &format!("/devices/dev-1{Q}"),
        )
        .dps(codes::NOT_FOUND),
        row(
            "unknown path",
            "too many segments",
            "GET",
            &format!("/enrollments/dev-1/a/b/c{Q}"),
        )
        .dps(codes::NOT_FOUND),
        device(
            "unknown ID scope",
            "`0ne00000000`",
            "PUT",
            &format!("/0ne00000000/registrations/dev-1/register{Q}"),
        )
        .body(r#"{"registrationId":"dev-1"}"#)
        .dps(codes::NOT_FOUND),
        row(
            "wrong method",
            "DELETE on a collection",
            "DELETE",
            &format!("/enrollmentGroups{Q}"),
        )
        .dps(codes::METHOD_NOT_ALLOWED),
        row(
            "wrong method",
            "GET on `attestationmechanism`",
            "GET",
            &format!("/enrollments/dev-1/attestationmechanism{Q}"),
        )
        .dps(codes::METHOD_NOT_ALLOWED),
        device("wrong method", "GET on register", "GET", &register("dev-1"))
            .dps(codes::METHOD_NOT_ALLOWED),
    ]
}
