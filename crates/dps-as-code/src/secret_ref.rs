//! [`SecretRef`]: where a file says a secret is, never the secret itself.
//!
//! A secret is `${VARIABLE}` (read from the environment, or an `--env-file`) or `{file: PATH}`
//! (the file's text, trimmed). Anything else is refused when the file is read, so a key
//! pasted into a file in git is an error, and the error never repeats it. `${...}` is
//! substituted only here: in any other field it is refused.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::path::PathBuf;

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `${NAME}`: an environment variable.
    Variable(String),
    /// `{file: PATH}`: a file's text, trimmed; relative to the declaring file.
    File(PathBuf),
}

impl SecretRef {
    /// `${NAME}` for a variable, the path for a file: what a plan may print.
    pub fn describe(&self) -> String {
        match self {
            Self::Variable(name) => format!("${{{name}}}"),
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// Whether `name` is a variable name a shell accepts (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variable named by `${NAME}`, if `text` is exactly that.
pub fn variable_of(text: &str) -> Option<&str> {
    let name = text.strip_prefix("${")?.strip_suffix('}')?;
    is_variable_name(name).then_some(name)
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Variable(name) => serializer.serialize_str(&format!("${{{name}}}")),
            Self::File(path) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("file", path)?;
                map.end()
            }
        }
    }
}

/// The `{file: PATH}` form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    file: PathBuf,
}

/// What the file held, before the check.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Text(String),
    File(FileForm),
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The error names the forms, never the text: it may be the secret itself.
        let refused = || {
            serde::de::Error::custom(
                "a secret must be `${VARIABLE}` or `{file: PATH}`, never written inline (the \
                 value is not shown)",
            )
        };
        match Raw::deserialize(deserializer).map_err(|_| refused())? {
            // `{primaryKey: ${KEY}}` in YAML reads `${KEY` (the `}` closes the mapping).
            Raw::Text(text) if text.starts_with("${") && !text.ends_with('}') => {
                Err(serde::de::Error::custom(
                    "a `${VARIABLE}` inside a YAML flow mapping (`{...}`) must be quoted: \
                     \"${VARIABLE}\"",
                ))
            }
            Raw::Text(text) => variable_of(&text)
                .map(|name| Self::Variable(name.to_owned()))
                .ok_or_else(refused),
            Raw::File(form) => Ok(Self::File(form.file)),
        }
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("SecretRef")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A secret, never inline: `${VARIABLE}` (the environment or --env-file) or {\"file\": PATH}.",
            "oneOf": [
                { "type": "string", "pattern": "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" },
                {
                    "type": "object",
                    "properties": { "file": { "type": "string" } },
                    "required": ["file"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_files_are_read_and_inline_text_is_refused_without_repeating_it() {
        let v: SecretRef = serde_json::from_str(r#""${GROUP_KEY}""#).expect("variable");
        assert_eq!(v, SecretRef::Variable("GROUP_KEY".into()));
        let f: SecretRef = serde_json::from_str(r#"{"file":"k.txt"}"#).expect("file");
        assert_eq!(f, SecretRef::File("k.txt".into()));
        for bad in [
            r#""c2VjcmV0a2V5""#,
            r#""${1X}""#,
            r#""pre${X}""#,
            r#"{"path":"x"}"#,
            "5",
        ] {
            let e = serde_json::from_str::<SecretRef>(bad).expect_err(bad);
            assert!(e.to_string().contains("never written inline"), "{e}");
            assert!(!e.to_string().contains("c2VjcmV0a2V5"), "{e}");
        }
        assert_eq!(
            serde_json::to_string(&v).expect("json"),
            r#""${GROUP_KEY}""#
        );
        assert_eq!(
            serde_json::to_string(&f).expect("json"),
            r#"{"file":"k.txt"}"#
        );
    }
}
