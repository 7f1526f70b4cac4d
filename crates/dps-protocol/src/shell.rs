//! Commands printed for people to paste: a hint, an error naming its fix. Every crate that
//! prints one quotes its words here, so a printed command runs as printed.

/// `word` as one POSIX shell word: as is when it is plain (letters, digits, `/ . _ - : = @ + ,
/// %`), else in single quotes, so a hint with a path holding spaces still runs as printed.
///
/// ```
/// assert_eq!(dps_protocol::shell::word("/tmp/dps"), "/tmp/dps");
/// assert_eq!(dps_protocol::shell::word("my dir"), "'my dir'");
/// assert_eq!(dps_protocol::shell::word("it's"), r"'it'\''s'");
/// ```
pub fn word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@+,%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
