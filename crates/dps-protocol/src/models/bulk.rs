//! Bulk operations (`POST /enrollments`, `POST /enrollmentGroups`): up to 10 records in one
//! call, each processed independently.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::enrollment::{EnrollmentGroup, IndividualEnrollment};
use super::wire_enum::wire_enum;
use crate::codes::ErrorCode;

/// The most records one bulk operation may carry.
pub const MAX_BULK_ITEMS: usize = 10;

wire_enum! {
    /// What a bulk operation does with each record (`mode`).
    pub enum BulkMode {
        /// Create; an existing record fails with 409201 (`create`).
        Create => "create",
        /// Create or replace without an etag check (`update`).
        Update => "update",
        /// Replace only when the record's `etag` matches (`updateIfMatchETag`).
        UpdateIfMatchETag => "updateIfMatchETag",
        /// Delete by id, honouring the etag when present (`delete`).
        Delete => "delete",
    }
}

/// A bulk operation on individual enrollments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEnrollmentOperation {
    /// What to do with each enrollment.
    pub mode: BulkMode,
    /// The enrollments (1 to [`MAX_BULK_ITEMS`]).
    pub enrollments: Vec<IndividualEnrollment>,
}

impl BulkEnrollmentOperation {
    /// A bulk operation on the given enrollments.
    pub fn new(mode: BulkMode, enrollments: Vec<IndividualEnrollment>) -> Self {
        Self { mode, enrollments }
    }
}

/// A bulk operation on enrollment groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEnrollmentGroupOperation {
    /// What to do with each group.
    pub mode: BulkMode,
    /// The groups (1 to [`MAX_BULK_ITEMS`]).
    pub enrollment_groups: Vec<EnrollmentGroup>,
}

impl BulkEnrollmentGroupOperation {
    /// A bulk operation on the given groups.
    pub fn new(mode: BulkMode, enrollment_groups: Vec<EnrollmentGroup>) -> Self {
        Self {
            mode,
            enrollment_groups,
        }
    }
}

/// The result of a bulk operation on individual enrollments. The service answers 200 whenever
/// the request is valid, even when items fail: check [`Self::is_successful`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEnrollmentOperationResult {
    /// `true` only when every item succeeded.
    pub is_successful: bool,
    /// One entry per failed item; `[]` on success.
    #[serde(default)]
    pub errors: Vec<BulkEnrollmentOperationError>,
    /// Fields this version does not model, kept so nothing the service sent is lost.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why one enrollment of a bulk operation failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEnrollmentOperationError {
    /// The enrollment's registration id.
    pub registration_id: String,
    /// Six-digit DPS error code (e.g. 409201).
    pub error_code: i64,
    /// Human-readable reason (e.g. `Enrollment already exists.`).
    pub error_status: String,
}

impl BulkEnrollmentOperationError {
    /// [`Self::error_code`] as a typed code, when it is one.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::try_from(self.error_code).ok()
    }
}

/// The result of a bulk operation on enrollment groups. The service answers 200 whenever the
/// request is valid, even when items fail: check [`Self::is_successful`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEnrollmentGroupOperationResult {
    /// `true` only when every item succeeded.
    pub is_successful: bool,
    /// One entry per failed item; `[]` on success.
    #[serde(default)]
    pub errors: Vec<BulkEnrollmentGroupOperationError>,
    /// Fields this version does not model, kept so nothing the service sent is lost.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why one group of a bulk operation failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEnrollmentGroupOperationError {
    /// The group's id.
    pub enrollment_group_id: String,
    /// Six-digit DPS error code.
    pub error_code: i64,
    /// Human-readable reason.
    pub error_status: String,
}

impl BulkEnrollmentGroupOperationError {
    /// [`Self::error_code`] as a typed code, when it is one.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::try_from(self.error_code).ok()
    }
}

/// One failed item of a bulk operation, whichever the record kind: what a client needs to
/// report it.
pub trait BulkItemError {
    /// The id of the record (registration id or group id).
    fn id(&self) -> &str;
    /// The item's DPS error code, when it is one.
    fn code(&self) -> Option<ErrorCode>;
    /// The service's reason (`errorStatus`).
    fn reason(&self) -> &str;
}

impl BulkItemError for BulkEnrollmentOperationError {
    fn id(&self) -> &str {
        &self.registration_id
    }
    fn code(&self) -> Option<ErrorCode> {
        BulkEnrollmentOperationError::code(self)
    }
    fn reason(&self) -> &str {
        &self.error_status
    }
}

impl BulkItemError for BulkEnrollmentGroupOperationError {
    fn id(&self) -> &str {
        &self.enrollment_group_id
    }
    fn code(&self) -> Option<ErrorCode> {
        BulkEnrollmentGroupOperationError::code(self)
    }
    fn reason(&self) -> &str {
        &self.error_status
    }
}

/// The result of a bulk operation, whichever the record kind.
pub trait BulkOperationResult {
    /// The type of its per-item errors.
    type ItemError: BulkItemError;
    /// `true` only when every item succeeded.
    fn is_successful(&self) -> bool;
    /// One entry per failed item, in input order.
    fn errors(&self) -> &[Self::ItemError];
    /// Appends the result of a later chunk of the same operation.
    fn merge(&mut self, other: Self);
}

impl BulkOperationResult for BulkEnrollmentOperationResult {
    type ItemError = BulkEnrollmentOperationError;
    fn is_successful(&self) -> bool {
        self.is_successful
    }
    fn errors(&self) -> &[Self::ItemError] {
        &self.errors
    }
    fn merge(&mut self, other: Self) {
        self.is_successful &= other.is_successful;
        self.errors.extend(other.errors);
    }
}

impl BulkOperationResult for BulkEnrollmentGroupOperationResult {
    type ItemError = BulkEnrollmentGroupOperationError;
    fn is_successful(&self) -> bool {
        self.is_successful
    }
    fn errors(&self) -> &[Self::ItemError] {
        &self.errors
    }
    fn merge(&mut self, other: Self) {
        self.is_successful &= other.is_successful;
        self.errors.extend(other.errors);
    }
}
