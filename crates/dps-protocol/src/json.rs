//! The one bound on how deeply JSON from outside may nest, and the parser that applies it.
//!
//! Whatever the emulator accepts it stores, often inside a document of its own (a custom
//! allocation webhook's `payload` sits two levels down in a stored registration operation), and
//! it must be able to read every stored document back. serde_json reads at most 127 levels, so
//! an input is bounded well below that: [`MAX_DEPTH`]. Every front end that takes JSON from
//! outside (HTTPS request bodies, MQTT payloads, webhook answers, console form fields) parses
//! with [`from_slice`], so the rule is the same everywhere.

use serde::de::DeserializeOwned;

/// The deepest nesting of arrays and objects accepted in JSON from outside: 64 levels
/// (`{}` and `[]` are one level, a scalar none).
///
/// Why 64: the emulator stores what it accepts wrapped in a few levels of its own (at most
/// three), and its store reads documents back with serde_json, which refuses more than 127
/// levels; 64 leaves ample room for that wrapping. It is generous for every real document:
/// IoT Hub limits a twin's tags and properties to 10 levels, and an enrollment with an initial
/// twin nests about 15.
pub const MAX_DEPTH: usize = 64;

/// JSON nested deeper than a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "JSON nested more than {limit} levels deep (arrays and objects); at most {limit} levels \
     are accepted"
)]
pub struct TooDeep {
    /// The limit that was passed.
    pub limit: usize,
}

/// Why JSON from outside was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// It nests deeper than [`MAX_DEPTH`].
    #[error(transparent)]
    TooDeep(#[from] TooDeep),
    /// It is not JSON, or not JSON of the expected shape.
    #[error(transparent)]
    Invalid(#[from] serde_json::Error),
}

/// Parses JSON from outside into `T` after checking its depth against [`MAX_DEPTH`].
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InputError> {
    check_depth(bytes, MAX_DEPTH)?;
    Ok(serde_json::from_slice(bytes)?)
}

/// Parses JSON text from outside into `T`: [`from_slice`] for a `&str`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, InputError> {
    from_slice(text.as_bytes())
}

/// How deeply `bytes` nests arrays and objects, scanning the text (strings and their escapes
/// are skipped) without parsing it. Malformed JSON gets a number too; the parser that follows
/// reports what is wrong with it.
pub fn depth(bytes: &[u8]) -> usize {
    let mut scan = Scan::default();
    bytes.iter().for_each(|b| scan.byte(*b));
    scan.deepest
}

/// Refuses `bytes` when it nests arrays and objects more than `limit` levels deep; stops at
/// the first level past the limit.
pub fn check_depth(bytes: &[u8], limit: usize) -> Result<(), TooDeep> {
    let mut scan = Scan::default();
    for b in bytes {
        scan.byte(*b);
        if scan.deepest > limit {
            return Err(TooDeep { limit });
        }
    }
    Ok(())
}

/// The state of the depth scan: the current and deepest level, and whether inside a string.
#[derive(Debug, Default)]
struct Scan {
    level: usize,
    deepest: usize,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    fn byte(&mut self, b: u8) {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.level += 1;
                self.deepest = self.deepest.max(self.level);
            }
            b'}' | b']' => self.level = self.level.saturating_sub(1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn depth_counts_arrays_and_objects_not_strings() {
        assert_eq!(depth(b"1"), 0);
        assert_eq!(depth(b"{}"), 1);
        assert_eq!(depth(br#"{"a": [1, {"b": []}], "c": {}}"#), 4);
        assert_eq!(depth(br#"{"a": "[[[{{{", "b": "\"[[["}"#), 1);
        assert_eq!(depth(br#"["\\", [[]]]"#), 3);
        assert_eq!(depth(nested(200).as_bytes()), 200);
    }

    #[test]
    fn the_limit_is_exact() {
        let at = nested(MAX_DEPTH);
        assert!(from_slice::<Value>(at.as_bytes()).is_ok());
        let past = nested(MAX_DEPTH + 1);
        let e = from_slice::<Value>(past.as_bytes()).expect_err("too deep");
        assert!(matches!(
            e,
            InputError::TooDeep(TooDeep { limit: MAX_DEPTH })
        ));
        assert!(e.to_string().contains("at most 64 levels"), "{e}");
        assert_eq!(check_depth(past.as_bytes(), MAX_DEPTH + 1), Ok(()));
    }

    #[test]
    fn malformed_json_is_the_parsers_to_report() {
        assert!(matches!(
            from_str::<Value>("{\"a\": ]"),
            Err(InputError::Invalid(_))
        ));
        assert!(matches!(
            from_str::<Value>(&"[".repeat(MAX_DEPTH + 1)),
            Err(InputError::TooDeep(_))
        ));
    }
}
