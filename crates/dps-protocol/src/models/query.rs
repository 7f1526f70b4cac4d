//! Query requests (`POST /enrollments/query`, `/enrollmentGroups/query`,
//! `/registrations/{groupId}/query`). Responses are bare JSON arrays of the record type, with
//! paging in the `x-ms-continuation` header.

use serde::{Deserialize, Serialize};

/// The body of a query request: `{"query": "..."}`.
///
/// The service documents no filtering language; clients send `SELECT *`, `*` or
/// `SELECT * FROM enrollments`, and all of them return the whole collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuerySpecification {
    /// The query text.
    pub query: String,
}

impl QuerySpecification {
    /// A query with the given text.
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
        }
    }

    /// The query for every record: `SELECT *`.
    pub fn all() -> Self {
        Self::new("SELECT *")
    }
}

impl Default for QuerySpecification {
    /// Same as [`QuerySpecification::all`].
    fn default() -> Self {
        Self::all()
    }
}
