//! Both clients read the same failed response as the same error: one table of (status, body)
//! pairs, classified by the service client, the device client and `dps_protocol` directly.

use dps_protocol::codes;
use dps_protocol::errors::{ErrorClass, ErrorResponse};

/// The name of a kind, which both clients spell the same way for the same class.
fn name(kind: impl std::fmt::Debug) -> String {
    format!("{kind:?}")
}

#[test]
fn both_clients_classify_responses_alike() {
    let dps = |code: codes::ErrorCode| {
        format!(
            r#"{{"errorCode":{code},"trackingId":"t-{code}","message":"m","timestampUtc":"2026-01-01T00:00:00.0000000Z"}}"#
        )
    };
    let table: Vec<(u16, String, ErrorClass, &str)> = vec![
        (
            400,
            dps(codes::BAD_REQUEST),
            ErrorClass::BadRequest,
            "BadRequest",
        ),
        (
            401,
            dps(codes::UNAUTHORIZED),
            ErrorClass::Unauthorized,
            "Unauthorized",
        ),
        (
            403,
            dps(codes::FORBIDDEN),
            ErrorClass::Forbidden,
            "Forbidden",
        ),
        (
            403,
            dps(codes::QUOTA_EXCEEDED),
            ErrorClass::Forbidden,
            "Forbidden",
        ),
        (
            404,
            dps(codes::ENROLLMENT_NOT_FOUND),
            ErrorClass::NotFound,
            "NotFound",
        ),
        (404, dps(codes::NOT_FOUND), ErrorClass::NotFound, "NotFound"),
        (
            405,
            dps(codes::METHOD_NOT_ALLOWED),
            ErrorClass::Other,
            "Http",
        ),
        (
            409,
            dps(codes::ALREADY_EXISTS),
            ErrorClass::Conflict,
            "Conflict",
        ),
        (
            412,
            dps(codes::PRECONDITION_FAILED),
            ErrorClass::PreconditionFailed,
            "PreconditionFailed",
        ),
        (413, dps(codes::TOO_LARGE), ErrorClass::Other, "Http"),
        (
            429,
            dps(codes::THROTTLED),
            ErrorClass::Throttled,
            "Throttled",
        ),
        (500, dps(codes::INTERNAL), ErrorClass::Server, "Server"),
        (
            503,
            dps(codes::SERVICE_UNAVAILABLE),
            ErrorClass::Server,
            "Server",
        ),
        (
            404,
            format!(
                r#"{{"code":"{}","message":"gone"}}"#,
                codes::GROUP_NOT_FOUND
            ),
            ErrorClass::NotFound,
            "NotFound",
        ),
        (
            400,
            r#"{"error":{"code":"InvalidCertificate","message":"The certificate is not valid."}}"#
                .to_owned(),
            ErrorClass::BadRequest,
            "BadRequest",
        ),
        (
            502,
            "upstream died".to_owned(),
            ErrorClass::Server,
            "Server",
        ),
        (401, String::new(), ErrorClass::Unauthorized, "Unauthorized"),
        (418, "{}".to_owned(), ErrorClass::Other, "Http"),
    ];
    for (status, body, class, kind) in table {
        let parsed = ErrorResponse::parse(status, body.as_bytes(), Some("req-1"));
        assert_eq!(parsed.class(), class, "{status} {body}");
        let service =
            dps_service_client::Error::from_response(status, body.as_bytes(), Some("req-1"));
        let device =
            dps_device_client::Error::from_response(status, body.as_bytes(), Some("req-1"));
        assert_eq!(
            name(service.kind()),
            kind,
            "service client: {status} {body}"
        );
        assert_eq!(name(device.kind()), kind, "device client: {status} {body}");
        assert_eq!(
            (
                service.status(),
                service.error_code(),
                service.tracking_id(),
                service.message()
            ),
            (
                device.status(),
                device.error_code(),
                device.tracking_id(),
                device.message()
            ),
            "{status} {body}"
        );
        assert_eq!(service.code(), parsed.code, "{status} {body}");
        assert_eq!(device.code(), parsed.code, "{status} {body}");
    }
}
