//! The one registration-id rule, used everywhere an id is checked (certificate common names,
//! enrollment ids, device registrations).
//!
//! DPS accepts 1 to 128 characters of ASCII letters, digits and `.`, `_`, `:`, `-`; the first
//! character must be a letter or digit and the last a letter, digit or `-`. An X.509 common
//! name is additionally limited to 64 characters by X.520. DPS compares ids case-insensitively
//! and its device API documents them as lower case, so upper case is accepted with a warning.

use std::fmt;

/// Longest registration id DPS accepts.
pub const MAX_REGISTRATION_ID_LEN: usize = 128;
/// Longest X.509 common name (X.520 `ub-common-name`).
pub const MAX_COMMON_NAME_LEN: usize = 64;

/// What kind of identifier was checked, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A DPS registration id (individual enrollment or device registration).
    RegistrationId,
    /// An X.509 subject common name that becomes a registration id.
    CommonName,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::RegistrationId => "registration id",
            IdKind::CommonName => "certificate common name",
        })
    }
}

/// Why an id breaks the rule. The message names the rule so the user can fix the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The id is empty.
    #[error("the {kind} is empty; {RULE}")]
    Empty {
        /// What was checked.
        kind: IdKind,
    },
    /// The id is longer than allowed.
    #[error("the {kind} {id:?} is {len} characters long, more than the {max} allowed; {RULE}")]
    TooLong {
        /// What was checked.
        kind: IdKind,
        /// The offending id.
        id: String,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The id contains a character outside the allowed set.
    #[error("the {kind} {id:?} contains {ch:?} at position {position}; {RULE}")]
    InvalidCharacter {
        /// What was checked.
        kind: IdKind,
        /// The offending id.
        id: String,
        /// The first character that is not allowed.
        ch: char,
        /// Its 1-based position.
        position: usize,
    },
    /// The id starts with a character that may only appear inside it.
    #[error("the {kind} {id:?} starts with {ch:?}; {RULE}")]
    BadFirst {
        /// What was checked.
        kind: IdKind,
        /// The offending id.
        id: String,
        /// The first character.
        ch: char,
    },
    /// The id ends with a character that may only appear inside it.
    #[error("the {kind} {id:?} ends with {ch:?}; {RULE}")]
    BadLast {
        /// What was checked.
        kind: IdKind,
        /// The offending id.
        id: String,
        /// The last character.
        ch: char,
    },
}

/// The rule in one sentence, appended to every error.
pub const RULE: &str = "DPS registration ids are 1 to 128 characters (64 for a certificate common name) \
of letters, digits and '.', '_', ':', '-', starting with a letter or digit and ending with a letter, digit or '-'";

/// A legal id that may still cause trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdWarning {
    /// The id has upper-case letters. DPS compares ids case-insensitively and documents them as
    /// lower case; the lower-case subset is the safest across services and SDKs.
    UpperCase {
        /// The id as given.
        id: String,
    },
}

impl fmt::Display for IdWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdWarning::UpperCase { id } => write!(
                f,
                "{id:?} contains upper-case letters; DPS treats ids case-insensitively and the \
                 lower-case form {:?} is the safest choice",
                id.to_ascii_lowercase()
            ),
        }
    }
}

/// Checks a registration id against the DPS rule (at most 128 characters).
///
/// ```
/// use dps_protocol::check_registration_id;
/// assert!(check_registration_id("my-device-01").unwrap().is_empty());
/// assert!(check_registration_id("bad/device").is_err());
/// ```
pub fn check_registration_id(id: &str) -> Result<Vec<IdWarning>, IdError> {
    check(id, IdKind::RegistrationId, MAX_REGISTRATION_ID_LEN)
}

/// Whether two spellings name the same registration: DPS compares registration ids without
/// regard to ASCII case.
///
/// ```
/// assert!(dps_protocol::same_registration_id("My-Device", "my-device"));
/// assert!(!dps_protocol::same_registration_id("my-device", "my-device-2"));
/// ```
pub fn same_registration_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Checks an X.509 common name that a device will present as its registration id (at most
/// 64 characters).
pub fn check_common_name(cn: &str) -> Result<Vec<IdWarning>, IdError> {
    check(cn, IdKind::CommonName, MAX_COMMON_NAME_LEN)
}

fn is_inner(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

fn check(id: &str, kind: IdKind, max: usize) -> Result<Vec<IdWarning>, IdError> {
    let owned = || id.to_owned();
    let len = id.chars().count();
    if len == 0 {
        return Err(IdError::Empty { kind });
    }
    if let Some((i, ch)) = id.chars().enumerate().find(|&(_, c)| !is_inner(c)) {
        return Err(IdError::InvalidCharacter {
            kind,
            id: owned(),
            ch,
            position: i + 1,
        });
    }
    if len > max {
        return Err(IdError::TooLong {
            kind,
            id: owned(),
            len,
            max,
        });
    }
    // Every character is ASCII here, so byte indexing is safe.
    let first = id.as_bytes()[0] as char;
    if !first.is_ascii_alphanumeric() {
        return Err(IdError::BadFirst {
            kind,
            id: owned(),
            ch: first,
        });
    }
    let last = id.as_bytes()[id.len() - 1] as char;
    if !(last.is_ascii_alphanumeric() || last == '-') {
        return Err(IdError::BadLast {
            kind,
            id: owned(),
            ch: last,
        });
    }
    let mut warnings = Vec::new();
    if id.chars().any(|c| c.is_ascii_uppercase()) {
        warnings.push(IdWarning::UpperCase { id: owned() });
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_set() {
        for ok in [
            "a",
            "0",
            "dev-01",
            "a.b_c:d-e",
            "x-",
            "mydevice",
            &"a".repeat(128),
        ] {
            assert_eq!(check_registration_id(ok), Ok(vec![]), "{ok}");
        }
        assert_eq!(check_common_name(&"a".repeat(64)), Ok(vec![]));
    }

    #[test]
    fn rejects_with_the_rule_in_the_message() {
        let cases = [
            ("", "is empty"),
            ("dev/mod", "contains '/' at position 4"),
            ("a+b", "contains '+'"),
            ("dev\\x", "contains '\\\\'"),
            ("dev ice", "contains ' '"),
            ("émile", "contains 'é' at position 1"),
            ("-dev", "starts with '-'"),
            (".dev", "starts with '.'"),
            ("dev.", "ends with '.'"),
            ("dev_", "ends with '_'"),
            ("dev:", "ends with ':'"),
        ];
        for (id, needle) in cases {
            let err = check_registration_id(id).expect_err(id).to_string();
            assert!(err.contains(needle), "{id}: {err}");
            assert!(err.contains("1 to 128 characters"), "{err}");
        }
    }

    #[test]
    fn length_limits_differ_for_common_names() {
        let long = "a".repeat(65);
        assert!(check_registration_id(&long).is_ok());
        let err = check_common_name(&long).expect_err("65 > 64");
        assert!(matches!(
            err,
            IdError::TooLong {
                len: 65,
                max: 64,
                ..
            }
        ));
        assert!(check_registration_id(&"a".repeat(129)).is_err());
    }

    #[test]
    fn upper_case_is_a_warning() {
        let w = check_registration_id("MyDevice").expect("legal");
        assert_eq!(w.len(), 1);
        assert!(w[0].to_string().contains("\"mydevice\""));
    }
}
