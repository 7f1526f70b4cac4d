//! Rows of the connection layer (helper "conn" of issue 14): rejections made before a request
//! reaches the API, such as 414 (request target too long), 431 (header section too large)
//! and 503 (connection cap), each with the DPS error body. Add rows here with the builders of
//! [`super::table`] (`row(...).raw()` writes the request by hand; `.path_text` and
//! `Text::long` send what is too long to show); the test sends them like every other row.

use super::table::Row;

/// The connection layer's rows.
pub(crate) fn rows() -> Vec<Row> {
    Vec::new()
}
