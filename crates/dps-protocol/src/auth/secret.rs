//! [`Secret`]: a string that never shows up in logs by accident.

use aws_lc_rs::constant_time;
use std::fmt;
use std::sync::Arc;

/// A secret string (a base64 key, a SAS token, a connection string) whose [`Debug`] and
/// [`Display`](fmt::Display) print `<redacted>`.
///
/// Read the value with [`expose`](Secret::expose), so that every place that handles the
/// plain text is easy to find. Cloning is cheap (a reference count), so a secret can be
/// shared between tasks without copying the text. Equality is constant-time. The memory is
/// not zeroed on drop.
///
/// ```
/// use dps_protocol::auth::Secret;
/// let key = Secret::from("c2VjcmV0");
/// assert_eq!(format!("{key} {key:?}"), "<redacted> <redacted>");
/// assert_eq!(key.expose(), "c2VjcmV0");
/// ```
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }

    /// Returns the plain text. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value.into())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for Secret {
    /// Compares in constant time (for equal lengths).
    fn eq(&self, other: &Self) -> bool {
        constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes()).is_ok()
    }
}

impl Eq for Secret {}

/// What [`Secret`] and the `redacted()` forms print in place of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::from(String::from("hunter2"));
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn clone_shares_and_eq_compares_values() {
        let a = Secret::new("k");
        let b = a.clone();
        assert!(std::ptr::eq(a.expose(), b.expose()));
        assert_eq!(a, Secret::from("k"));
        assert_ne!(a, Secret::from("K"));
        assert_ne!(a, Secret::from("kk"));
    }
}
