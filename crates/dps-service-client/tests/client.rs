//! Wire-level tests of `dps-service-client` against a wiremock DPS: for every operation, the
//! exact request (method, encoded path, api-version, SAS, headers, JSON body) and the parsed
//! response; plus errors, retries and credential handling. One binary, modules under
//! `tests/client/`.

#[path = "client/support.rs"]
mod support;

#[path = "client/fixtures.rs"]
mod fixtures;

#[path = "client/groups.rs"]
mod groups;

#[path = "client/group_queries.rs"]
mod group_queries;

#[path = "client/enrollments.rs"]
mod enrollments;

#[path = "client/enrollment_queries.rs"]
mod enrollment_queries;

#[path = "client/x509.rs"]
mod x509;

#[path = "client/registrations.rs"]
mod registrations;

#[path = "client/errors.rs"]
mod errors;

#[path = "client/retries.rs"]
mod retries;

#[path = "client/certificates.rs"]
mod certificates;
