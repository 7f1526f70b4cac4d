//! Rows of the connection layer (helper "conn" of issue 14): rejections made before a request
//! reaches the API, such as 414 (request target too long), 431 (header section too large)
//! and 503 (connection cap), each with the DPS error body. Add rows here with the builders of
//! [`super::table`] (`row(...).raw()` writes the request by hand; `.path_text` and
//! `Text::long` send what is too long to show); the test sends them like every other row.

use super::table::{Row, Text, row};
use dps_protocol::codes;

const Q: &str = "?api-version=2021-10-01";

/// The connection layer's rows. (431 and the 503 of the connection cap are in
/// `tests/connections`: their requests are too large to show, or need a small cap.)
pub(crate) fn rows() -> Vec<Row> {
    let long = "a".repeat(9 * 1024);
    vec![
        row(
            "request target too long",
            "9 KiB path (the limit is 8 KiB)",
            "GET",
            "",
        )
        .path_text(Text::long(
            &format!("/enrollments/<9,216 × a>{Q}"),
            format!("/enrollments/{long}{Q}"),
        ))
        .dps(codes::URI_TOO_LONG),
        row(
            "malformed request head",
            "a header name with a space",
            "GET",
            &format!("/enrollments/dev-1{Q}"),
        )
        .header("Bad Header", "x")
        .raw()
        .dps(codes::BAD_REQUEST)
        .says("malformed"),
        row(
            "malformed request head",
            "`Content-Length` not a number",
            "PUT",
            &format!("/enrollments/dev-1{Q}"),
        )
        .header("Content-Length", "ten")
        .raw()
        .dps(codes::BAD_REQUEST)
        .says("malformed"),
    ]
}
