//! Project invariants, checked in the style of rust-analyzer's `tidy` test: plain file walks from
//! the workspace root, one `#[test]` per rule, and a failure message that names every offending
//! `file:line` and the fix. Run with `cargo test -p xtask --test tidy`.

use std::path::{Path, PathBuf};

/// DPS error codes are HTTP status × 1000 + detail.
const DPS_CODES: std::ops::RangeInclusive<u64> = 400_000..=599_999;
/// Header names that carry a retry hint (compared ignoring case).
const RETRY_HEADERS: [&str; 3] = ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"];
/// Integer literal suffixes wide enough for a DPS code.
const INT_SUFFIXES: &str = "u32 u64 u128 usize i32 i64 i128 isize";

/// Rule 1a: outside `crates/dps-protocol`, no `.rs` file in `crates/*/src` or `xtask/src` has a
/// whole decimal integer literal (`_` and integer suffixes allowed) in 400000..=599999. Hex,
/// floats, parts of identifiers or longer numbers, strings, comments and lines marked
/// `tidy:allow-code` do not count.
#[test]
fn error_codes_live_in_dps_protocol() {
    let fix = "use the named constant from `dps_protocol` (add it there if missing)";
    fail_if_any(scan_outside_protocol(code_literals, "DPS error code"), fix);
}

/// Rule 1b: in the same files, nothing reads a retry header: the identifier `RETRY_AFTER` or a
/// string literal equal, ignoring case, to one of [`RETRY_HEADERS`] may only appear in a `use`
/// item or as the first argument of `.insert(`, `.append(` or `.header(` (setting the header, as
/// the emulator does). Anything else (`.get(..)`, a list of names to try) reads, hence parses.
#[test]
fn retry_after_is_parsed_in_dps_protocol() {
    let bad = scan_outside_protocol(retry_after_reads, "reads header");
    fail_if_any(bad, "call the Retry-After parser of `dps_protocol` instead");
}

/// Rule 2: no `.rs` file in `crates/*/src` or `xtask/src` has over 600 lines, test files aside:
/// `tests.rs`, `*_tests.rs`, and anything in a `tests`, `benches`, `fixtures` or `assets` folder.
#[test]
fn source_files_are_short() {
    let mut bad = Vec::new();
    for src_dir in src_dirs() {
        for path in rs_files(&src_dir) {
            let lines = read(&path).lines().count();
            let inner = path.strip_prefix(&src_dir).expect("walked from src_dir");
            if lines > 600 && !exempt_from_length(inner) {
                bad.push(format!("{}:{lines}: {lines} lines (limit 600)", rel(&path)));
            }
        }
    }
    fail_if_any(bad, "split the file into modules of one concern each");
}

/// Rule 3: every public item is documented. The workspace sets `missing_docs` to warn or deny
/// (CI runs clippy with `-D warnings`), every member inherits the workspace lints, and every
/// crate root (`src/lib.rs`, `src/main.rs`) starts with a `//!` crate doc.
#[test]
fn public_items_are_documented() {
    let root_toml = read(&root().join("Cargo.toml"));
    let mut bad = Vec::new();
    let level = toml_get(&root_toml, "[workspace.lints.rust]", "missing_docs");
    if !["warn", "deny", "forbid"].contains(&level.as_deref().unwrap_or("").trim_matches('"')) {
        bad.push("Cargo.toml: [workspace.lints.rust] missing_docs is not warn/deny".to_owned());
    }
    for (_, member) in workspace_members(&root_toml) {
        let manifest = read(&root().join(&member).join("Cargo.toml"));
        if toml_get(&manifest, "[lints]", "workspace").as_deref() != Some("true") {
            bad.push(format!("{member}/Cargo.toml: no [lints] workspace = true"));
        }
        for path in ["src/lib.rs", "src/main.rs"].map(|f| root().join(&member).join(f)) {
            if path.exists() && !starts_with_crate_doc(&read(&path)) {
                bad.push(format!("{}:1: no `//!` crate doc first", rel(&path)));
            }
        }
    }
    let fix = "set the lint, add `[lints]\\nworkspace = true`, or start with a `//!` doc";
    fail_if_any(bad, fix);
}

/// Rule 4: ARCHITECTURE.md's "## Code map" has one "### `path`" heading per workspace member,
/// and no heading for a path that is not a member.
#[test]
fn code_map_lists_every_member() {
    let members = workspace_members(&read(&root().join("Cargo.toml")));
    let headings = code_map_paths(&read(&root().join("ARCHITECTURE.md")));
    let not_in = |list: &[(usize, String)], x: &str| list.iter().all(|(_, y)| x != y);
    let mut bad = Vec::new();
    for (line, m) in members.iter().filter(|(_, m)| not_in(&headings, m)) {
        bad.push(format!("Cargo.toml:{line}: {m} has no Code map heading"));
    }
    for (line, h) in headings.iter().filter(|(_, h)| not_in(&members, h)) {
        bad.push(format!("ARCHITECTURE.md:{line}: {h} is no member"));
    }
    let fix = "give ARCHITECTURE.md's Code map one \"### `path`\" heading per member, no others";
    fail_if_any(bad, fix);
}

// ---- scanners (pure functions on text) ----

/// Numeric DPS code literals in `src`, as (line, literal), skipping `tidy:allow-code` lines.
fn code_literals(src: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = src.lines().collect();
    let (_, tokens) = lex(src);
    let numbers = tokens.into_iter().filter(|t| t.0 == Kind::Number);
    let hits = numbers.filter(|t| int_value(&t.2).is_some_and(|v| DPS_CODES.contains(&v)));
    let hits = hits.map(|(_, offset, text)| (line_of(src, offset), text));
    let kept = hits.filter(|(l, _)| !lines[l - 1].contains("tidy:allow-code"));
    kept.collect()
}

/// The value of a decimal integer literal (`401_002`, `401002u32`); `None` for anything else
/// (hex, octal, binary and floats have a letter or a dot that is no integer suffix).
fn int_value(lit: &str) -> Option<u64> {
    let end = lit.find(|c: char| c.is_ascii_alphabetic() || c == '.');
    let (digits, suffix) = lit.split_at(end.unwrap_or(lit.len()));
    let value = digits.replace('_', "").parse().ok();
    let int = suffix.is_empty() || INT_SUFFIXES.split(' ').any(|s| s == suffix);
    value.filter(|_| int)
}

/// Reads of a retry header in `src` (see rule 1b), as (line, header name as written).
fn retry_after_reads(src: &str) -> Vec<(usize, String)> {
    let (code, tokens) = lex(src);
    let is_name = |(kind, _, text): &Token| match kind {
        Kind::Ident => text == "RETRY_AFTER",
        Kind::Str => RETRY_HEADERS.iter().any(|h| text.eq_ignore_ascii_case(h)),
        Kind::Number => false,
    };
    let names = tokens.into_iter().filter(is_name);
    let reads = names.filter(|t| !in_use_item(&code[..t.1]) && !is_set_argument(&code[..t.1]));
    let reads = reads.map(|(_, offset, text)| (line_of(src, offset), text));
    reads.collect()
}

/// Whether the code before a token ends inside a `use` item.
fn in_use_item(before: &str) -> bool {
    let item = &before[before.rfind([';', '}']).map_or(0, |i| i + 1)..];
    let word = |&(i, _): &(usize, &str)| {
        !item[..i].ends_with(is_ident_char) && item[i + 3..].starts_with(char::is_whitespace)
    };
    let path_char = |c: char| is_ident_char(c) || c.is_whitespace() || ":{,*".contains(c);
    let last_use = item.rmatch_indices("use").find(word);
    last_use.is_some_and(|(at, _)| item[at + 3..].chars().all(path_char))
}

/// Whether the code before a token ends with `.insert(`, `.append(` or `.header(` and an
/// optional path (`header::`).
fn is_set_argument(before: &str) -> bool {
    let mut rest = before.trim_end();
    while let Some(p) = rest.strip_suffix("::") {
        rest = p.trim_end_matches(is_ident_char).trim_end();
    }
    let call = rest.strip_suffix('(').map(str::trim_end).unwrap_or("");
    let setters = [".insert", ".append", ".header"];
    setters.iter().any(|m| call.ends_with(m))
}

/// Whether `path` (relative to a `src` folder) is a test file exempt from the length limit.
fn exempt_from_length(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let folders = ["tests", "benches", "fixtures", "assets"];
    let mut dirs = path.parent().into_iter().flat_map(Path::iter);
    let in_folder = dirs.any(|c| c.to_str().is_some_and(|c| folders.contains(&c)));
    name == "tests.rs" || name.ends_with("_tests.rs") || in_folder
}

/// Whether the first non-blank line of a crate root is a `//!` doc.
fn starts_with_crate_doc(src: &str) -> bool {
    let first = src.lines().find(|l| !l.trim().is_empty());
    first.is_some_and(|l| l.trim_start().starts_with("//!"))
}

/// The raw value of `key = value` in the TOML section `header` (comments removed).
fn toml_get(toml: &str, header: &str, key: &str) -> Option<String> {
    let mut lines = toml.lines().map(uncomment);
    lines.find(|l| *l == header)?;
    let mut section = lines.take_while(|l| !l.starts_with('['));
    let value = section.find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == key));
    value.map(|(_, v)| v.trim().to_owned())
}

/// A TOML line without its comment, trimmed.
fn uncomment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

/// `[workspace] members` of a root manifest, as (line, path).
fn workspace_members(toml: &str) -> Vec<(usize, String)> {
    let key = |l: &str| l.split('=').next().is_some_and(|k| k.trim() == "members");
    let first = toml.lines().position(key).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (i, line) in toml.lines().map(uncomment).enumerate().skip(first) {
        let quoted = line.split('"').skip(1).step_by(2);
        out.extend(quoted.map(|m| (i + 1, m.to_owned())));
        if line.ends_with(']') {
            break;
        }
    }
    out
}

/// The "### `path`" headings under "## Code map", as (line, path).
fn code_map_paths(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for (i, line) in md.lines().enumerate() {
        if line.starts_with("## ") {
            inside = line.trim_end() == "## Code map";
        } else if let Some(rest) = line.strip_prefix("### `").filter(|_| inside) {
            out.push((i + 1, rest.split('`').next().unwrap_or(rest).to_owned()));
        }
    }
    out
}

// ---- a small Rust lexer: numbers, identifiers, string contents; comments dropped ----

#[derive(PartialEq)]
enum Kind {
    Ident,
    Number,
    Str,
}

/// A token: kind, offset, and text (for a string, its content between the quotes).
type Token = (Kind, usize, String);

/// The source with strings, chars and comments blanked (same offsets), and its tokens.
fn lex(src: &str) -> (String, Vec<Token>) {
    let b = src.as_bytes();
    let (mut code, mut tokens, mut i) = (b.to_vec(), Vec::new(), 0);
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    while i < b.len() {
        let (start, rest) = (i, &src[i..]);
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |k| k + 2);
        } else if let Some((open, raw)) = string_start(rest) {
            let (body, close) = (i + open, format!("\"{}", "#".repeat(raw.unwrap_or(0))));
            let mut end = body;
            while end < b.len() && !b[end..].starts_with(close.as_bytes()) {
                let escaped = raw.is_none() && b[end] == b'\\';
                end += 1 + usize::from(escaped);
            }
            end = end.min(b.len());
            tokens.push((Kind::Str, start, src[body..end].to_owned()));
            i = end + 1 + raw.unwrap_or(0);
        } else if b[i] == b'\'' || rest.starts_with("b'") {
            let q = i + usize::from(b[i] == b'b');
            let len = src[q + 1..].chars().next().map_or(1, char::len_utf8);
            i = if b.get(q + 1) == Some(&b'\\') {
                let close = src.get(q + 3..).and_then(|r| r.find('\''));
                close.map_or(b.len(), |k| q + 4 + k)
            } else if b.get(q + 1 + len) == Some(&b'\'') {
                q + 2 + len
            } else {
                q + 1 // a lifetime
            };
        } else {
            let number = b[i].is_ascii_digit();
            let fraction = |i: usize| b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            while i < b.len() && (ident(b[i]) || (number && fraction(i))) {
                i += 1;
            }
            let kind = if number { Kind::Number } else { Kind::Ident };
            if i > start {
                tokens.push((kind, start, src[start..i].to_owned()));
            }
            i = i.max(start + 1);
            continue;
        }
        i = i.min(b.len());
        for c in code[start..i].iter_mut().filter(|c| **c != b'\n') {
            *c = b' ';
        }
    }
    let code = String::from_utf8(code).expect("whole literals blanked");
    (code, tokens)
}

/// If `rest` starts a string literal: (length of the opening, `Some(hashes)` if raw).
fn string_start(rest: &str) -> Option<(usize, Option<usize>)> {
    let hashes_of = |r: &str| r.len() - r.trim_start_matches('#').len();
    ["", "b", "c", "r", "br", "cr"].into_iter().find_map(|p| {
        let r = rest.strip_prefix(p)?;
        let raw = p.ends_with('r').then(|| hashes_of(r));
        let hashes = raw.unwrap_or(0);
        let quoted = r[hashes..].starts_with('"');
        quoted.then_some((p.len() + hashes + 1, raw))
    })
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset].matches('\n').count() + 1
}

// ---- the workspace ----

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rel(path: &Path) -> String {
    let p = path.strip_prefix(root()).unwrap_or(path);
    p.to_string_lossy().replace('\\', "/")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `crates/*/src` and `xtask/src`, sorted.
fn src_dirs() -> Vec<PathBuf> {
    let crates = root().join("crates");
    let mut dirs: Vec<PathBuf> = list(&crates).into_iter().map(|c| c.join("src")).collect();
    dirs.retain(|d| d.is_dir());
    dirs.push(root().join("xtask/src"));
    dirs
}

/// `scan` run on every `.rs` file of [`src_dirs`] except dps-protocol's, as `file:line: what x`.
fn scan_outside_protocol(scan: fn(&str) -> Vec<(usize, String)>, what: &str) -> Vec<String> {
    let protocol = root().join("crates/dps-protocol/src");
    let files = src_dirs().into_iter().filter(|d| *d != protocol);
    let files = files.flat_map(|d| rs_files(&d));
    let hits = files.flat_map(|p| scan(&read(&p)).into_iter().map(move |h| (rel(&p), h)));
    let lines = hits.map(|(f, (l, t))| format!("{f}:{l}: {what} {t}"));
    lines.collect()
}

/// The entries of `dir`, sorted.
fn list(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
    paths.sort();
    paths
}

/// Every `.rs` file under `dir`, sorted.
fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let nested = |p: PathBuf| if p.is_dir() { rs_files(&p) } else { vec![p] };
    let mut files: Vec<PathBuf> = list(dir).into_iter().flat_map(nested).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    files
}

fn fail_if_any(bad: Vec<String>, fix: &str) {
    assert!(bad.is_empty(), "\n{}\n\nfix: {fix}\n", bad.join("\n"));
}

// ---- the scanners on in-memory text: each must be able to fail ----

#[test]
fn code_literal_scanner() {
    let found = |src| code_literals(src).into_iter().map(|(_, lit)| lit);
    let found = |src| found(src).collect::<Vec<_>>();
    let src = "const A: u32 = 401_002;\nlet c = '\"'; f(404201u32);\nr#\"x\"#; g(500_001)";
    assert_eq!(found(src), ["401_002", "404201u32", "500_001"]);
    let clean = "let a = 0x401002 + 4010020 + 8443 + 100_000 + 1_401_002 + 401002.5;\n\
                 let b = \"401002\"; // 401002\n/* 401002 */ let x401002 = 1e401002;\n\
                 let c = b'\\''; let d = 401_002; // tidy:allow-code\nfn f<'a>(x: &'a str) {}";
    assert_eq!(found(clean), Vec::<String>::new());
}

#[test]
fn retry_after_scanner() {
    let lines = |src| retry_after_reads(src).into_iter().map(|(l, _)| l);
    let lines = |src| lines(src).collect::<Vec<_>>();
    let reads = "let v = h\n    .get(RETRY_AFTER)?;\nfor n in [\"Retry-After-Ms\", \"x\"] {}\n\
                 let v = get(\"retry-after\")?; if name == header::RETRY_AFTER {}";
    assert_eq!(lines(reads), [2, 3, 4, 4]);
    let writes = "use reqwest::header::{\n    HeaderMap, RETRY_AFTER,\n};\n\
                  h.insert(header::RETRY_AFTER, v);\nh.insert(\n    \"retry-after\",\n    v,\n);\n\
                  r.header(\"Retry-After\", \"1\"); c.retry_after_secs = 1; f(\"--retry-after\");\n\
                  // headers.get(RETRY_AFTER)\n/// Honours `Retry-After`.";
    assert_eq!(lines(writes), Vec::<usize>::new());
}

#[test]
fn manifest_and_code_map_parsers() {
    let toml = "[workspace]\nmembers = [\n    # a\n    \"crates/a\",\n    \"b\", # c\n]\n\
                [workspace.lints.rust]\nmissing_docs = \"warn\" # x\n[lints]\nworkspace = true\n";
    let members = workspace_members(toml);
    assert_eq!(members, [(4, "crates/a".to_owned()), (5, "b".to_owned())]);
    let level = toml_get(toml, "[workspace.lints.rust]", "missing_docs");
    assert_eq!(level.as_deref(), Some("\"warn\""));
    assert_eq!(toml_get(toml, "[lints]", "missing_docs"), None);
    let elsewhere = "[lints]\nx = 1\n[b]\nworkspace = true";
    assert_eq!(toml_get(elsewhere, "[lints]", "workspace"), None);
    let md = "### `no`\n## Code map\n### `crates/a`\ntext\n### `b` (package `c`)\n## O\n### `d`";
    let paths = [(3, "crates/a".to_owned()), (5, "b".to_owned())];
    assert_eq!(code_map_paths(md), paths);
    assert!(starts_with_crate_doc("\n//! Doc.") && !starts_with_crate_doc("//\n//! x"));
    let exempt = |p| exempt_from_length(Path::new(p));
    assert!(exempt("tests.rs") && exempt("a/tests/b.rs") && exempt("x_tests.rs"));
    assert!(!exempt("a/b.rs") && !exempt("tests_x.rs"));
}
