//! Reading files: YAML or JSON, several files and directories composed into one list of
//! [`Source`]s, each error with its file, line and column.

use crate::error::LoadError;
use crate::model::Manifest;
use std::path::{Path, PathBuf};

/// One file read and parsed.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// What it declares.
    pub manifest: Manifest,
}

/// The file names a directory contributes: `*.yaml`, `*.yml` and `*.json`.
fn is_manifest_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Reads every path: a file, or a directory whose `*.yaml`, `*.yml` and `*.json` files are read
/// in name order (not its subdirectories). A directory with no such file is an error, since
/// applying nothing with `--prune` would delete everything.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<Source>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .and_then(|entries| {
                    entries
                        .map(|e| e.map(|e| e.path()))
                        .collect::<std::io::Result<Vec<_>>>()
                })
                .map_err(|source| LoadError::Io {
                    path: path.clone(),
                    source,
                })?
                .into_iter()
                .filter(|p| p.is_file() && is_manifest_name(p))
                .collect();
            if found.is_empty() {
                return Err(LoadError::EmptyDirectory { path: path.clone() });
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    // The same file named twice (`-f dir -f dir/a.yaml`) is read once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            let manifest = parse(&path, &text)?;
            Ok(Source { path, manifest })
        })
        .collect()
}

/// Parses one file's text: JSON for `*.json`, YAML (1.2) otherwise.
pub fn parse(path: &Path, text: &str) -> Result<Manifest, LoadError> {
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    if json {
        return serde_json::from_str(text).map_err(|e| LoadError::Syntax {
            path: path.to_owned(),
            line: e.line() as u64,
            column: e.column() as u64,
            message: strip_position(&e.to_string()),
        });
    }
    // YAML 1.2 booleans only: `no`, `yes`, `on` and `off` are strings (a twin tag
    // `country: no` stays "no"), and a boolean field refuses them.
    let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        // The message without the source snippet: a refused line may hold a secret.
        let inner = e.without_snippet();
        let (line, column) = inner.location().map_or((0, 0), |l| (l.line(), l.column()));
        LoadError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: strip_position(&inner.to_string()),
        }
    })
}

/// The parser's message without the position it also prints (the error shows its own), and
/// in the words of a file's author rather than a programmer's.
fn strip_position(message: &str) -> String {
    let message = message.trim();
    // serde-saphyr: "line 3 column 5: ..."; serde_json: "... at line 3 column 5".
    let message = match message.strip_prefix("line ") {
        Some(rest) => rest
            .split_once(": ")
            .map_or(message, |(_, tail)| tail)
            .trim(),
        None => message,
    };
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    if message.contains("from_str_multiple") {
        return "a file holds one YAML document: remove the `---` separators, or split it into \
                several files"
            .to_owned();
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("the key {key} appears twice in the same mapping");
    }
    message.to_owned()
}

/// Reads `NAME=value` lines (the `--env-file` format): `#` comments and blank lines are
/// skipped, `export ` is allowed, and a value may be in single or double quotes.
pub fn parse_env_file(path: &Path, text: &str) -> Result<Vec<(String, String)>, LoadError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let bad = || LoadError::Syntax {
            path: path.to_owned(),
            line: n as u64 + 1,
            column: 1,
            message: "expected NAME=value (the value is not shown)".to_owned(),
        };
        let (name, value) = line.split_once('=').ok_or_else(bad)?;
        let name = name.trim();
        if !crate::secret_ref::is_variable_name(name) {
            return Err(bad());
        }
        let value = value.trim();
        let value = if let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            v.to_owned()
        } else if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            // As a shell reads double quotes: `\` before `\`, `"`, `$` or a backtick.
            let mut out = String::with_capacity(v.len());
            let mut chars = v.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('\\', Some(&n)) if matches!(n, '\\' | '"' | '$' | '`') => {
                        out.push(n);
                        chars.next();
                    }
                    _ => out.push(c),
                }
            }
            out
        } else {
            value.to_owned()
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_field_is_an_error_with_line_and_column() {
        let text = "enrollments:\n  - registrationId: dev1\n    provisoningStatus: enabled\n    attestation: {type: tpm, tpm: {endorsementKey: AAAA}}\n";
        let e = parse(Path::new("dps.yaml"), text).expect_err("misspelt");
        let s = e.to_string();
        assert!(
            s.starts_with("dps.yaml:3:5: unknown field `provisoningStatus`"),
            "{s}"
        );
        assert!(s.contains("provisioningStatus"), "{s}");
    }

    #[test]
    fn malformed_yaml_and_json_give_line_and_column() {
        let e = parse(
            Path::new("a.yaml"),
            "enrollments:\n  - registrationId: [x\n",
        )
        .expect_err("bad yaml");
        assert!(e.to_string().starts_with("a.yaml:2:"), "{e}");
        let e = parse(Path::new("a.json"), "{\n  \"enrollments\": [,]\n}").expect_err("bad json");
        assert!(e.to_string().starts_with("a.json:2:"), "{e}");
        assert!(!e.to_string().contains(" at line "), "{e}");
    }

    #[test]
    fn parser_advice_is_put_in_a_file_authors_words() {
        let e = parse(Path::new("d.yaml"), "enrollments: []\nenrollments: []\n").expect_err("dup");
        assert_eq!(
            e.to_string(),
            "d.yaml:2:1: the key enrollments appears twice in the same mapping"
        );
        let e = parse(
            Path::new("m.yaml"),
            "enrollments: []\n---\nenrollments: []\n",
        )
        .expect_err("two documents");
        assert!(e.to_string().contains("remove the `---` separators"), "{e}");
    }

    #[test]
    fn an_inline_secret_is_refused_without_being_shown() {
        let text = "enrollmentGroups:\n  - enrollmentGroupId: g\n    attestation:\n      type: symmetricKey\n      symmetricKey:\n        primaryKey: c2VjcmV0LWtleS12YWx1ZQ==\n";
        let e = parse(Path::new("g.yaml"), text).expect_err("inline secret");
        let s = e.to_string();
        assert!(s.starts_with("g.yaml:6:"), "{s}");
        assert!(!s.contains("c2VjcmV0"), "{s}");
    }

    #[test]
    fn an_unknown_enum_value_lists_the_known_ones() {
        let text = "enrollments:\n  - registrationId: dev1\n    provisioningStatus: enable\n    attestation: {type: tpm, tpm: {endorsementKey: AAAA}}\n";
        let e = parse(Path::new("d.yaml"), text).expect_err("unknown value");
        assert!(
            e.to_string().contains("expected one of enabled, disabled"),
            "{e}"
        );
    }

    #[test]
    fn env_files_read_names_values_and_quotes() {
        let vars = parse_env_file(
            Path::new(".env"),
            "# keys\nexport A=1\nB = \"two words\"\n\nC='x=y'\nD=\"it's \\$HOME \\\\ \\\"q\\\"\"\n",
        )
        .expect("env");
        assert_eq!(
            vars,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x=y".into()),
                ("D".into(), "it's $HOME \\ \"q\"".into())
            ]
        );
        let e = parse_env_file(Path::new(".env"), "A=1\nnot a line secret\n").expect_err("bad");
        assert!(e.to_string().starts_with(".env:2:1:"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
