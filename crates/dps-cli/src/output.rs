//! Output conventions shared by every command: `--output table|json`, stderr for warnings and
//! progress, and nothing on a terminal that a script would have to parse around.
//!
//! Two rules for people's text live here, once:
//! * dates: [`iso8601`] and [`date`] print every time dps-cli shows or adds in ISO 8601 UTC
//!   (`2027-01-03T04:56:53Z`); objects the service returns stay verbatim in JSON;
//! * line length: [`wrap`] folds long lines at [`text_width`], continuation lines indented
//!   under the text. The width is `COLUMNS` when it is set, else the terminal's when the
//!   stream is a terminal; a pipe or a file gets whole lines (grep and scripts see one finding
//!   per line).

use std::io::{IsTerminal, Write};
use time::OffsetDateTime;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    #[default]
    Table,
    /// One JSON document on stdout, stable for scripts.
    Json,
}

/// Prints a JSON value on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// The batch progress bar, drawn on stderr only on a terminal (see [`crate::progress`]).
pub use crate::progress::Progress;

/// Prints any serializable value as pretty JSON on stdout, keeping the struct's field order.
pub fn print_serialized<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints rows as left-aligned columns under their headers, two spaces apart; the last column
/// is not padded.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut out = String::new();
    render_table(&mut out, headers, rows);
    print_text(&out)
}

/// Writes `text` to stdout as is. Unlike `print!`, a closed pipe (`dps-cli ... | head`) is an
/// error the binary leaves quietly, not a panic.
pub fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes one line to stdout (see [`print_text`]).
pub fn print_line(line: impl std::fmt::Display) -> anyhow::Result<()> {
    print_text(&format!("{line}\n"))
}

/// Whether an error is a write to a closed stdout pipe, which the binary ends on quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

fn render_table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

/// Prints `name  value` lines, names padded to the longest; a long value wraps (see [`wrap`])
/// with its continuation lines under the value.
pub fn print_fields(fields: &[(&str, String)]) -> anyhow::Result<()> {
    print_text(&render_fields(fields, text_width(Stream::Stdout)))
}

fn render_fields(fields: &[(&str, String)], columns: Option<usize>) -> String {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (k, v) in fields {
        let first = format!("{k:<width$}  ");
        text.push_str(wrap(v, columns, &first, width + 2).trim_end());
        text.push('\n');
    }
    text
}

/// A time as dps-cli prints it in tables, messages and the fields it adds to JSON: ISO 8601
/// in UTC, whole seconds (`2027-01-03T04:56:53Z`), the very text of `dps_chain`'s messages.
pub fn iso8601(t: OffsetDateTime) -> String {
    dps_chain::rfc3339(t)
}

/// A date the service sent, as a table shows it: RFC 3339 text (`2026-12-04T06:55:25.7763952Z`,
/// records and certificate validity) or RFC 1123 text (`Sun, 03 Jan 2027 06:55:18 GMT`, the
/// CA-certificate API) in [`iso8601`]'s form; other text as is; `-` when absent. JSON output
/// keeps the service's text.
pub fn date(value: Option<impl ToString>) -> String {
    let Some(text) = value.map(|v| v.to_string()) else {
        return "-".to_owned();
    };
    dps_protocol::models::Timestamp::for_people(&text)
}

/// Where a text goes, for [`text_width`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Results.
    Stdout,
    /// Errors, hints, warnings.
    Stderr,
}

/// Lines are never folded narrower than this, whatever `COLUMNS` says.
const MIN_WIDTH: usize = 40;
/// Continuation lines keep at least this many columns for text, however deep the indent.
const MIN_TEXT: usize = 20;

/// The width human text on `stream` wraps at: `COLUMNS` when it is set to a number (at least
/// `MIN_WIDTH`, 40), whatever the stream (it is how a user, or a test, asks for a width); else
/// the terminal's width when the stream is a terminal; else `None`, no wrapping, so piped
/// output and files keep one finding, error or hint per line.
pub fn text_width(stream: Stream) -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
    {
        return Some(columns.max(MIN_WIDTH));
    }
    let term = match stream {
        Stream::Stdout if std::io::stdout().is_terminal() => console::Term::stdout(),
        Stream::Stderr if std::io::stderr().is_terminal() => console::Term::stderr(),
        _ => return None,
    };
    term.size_checked()
        .map(|(_, cols)| usize::from(cols).max(MIN_WIDTH))
}

/// `first` followed by `text`, folded at `width` columns (no folding with `None`): words move
/// to the next line, which starts with `indent` spaces, so continuation lines sit under the
/// text. A word longer than a line (a path, a command, a thumbprint) is never broken; it gets a
/// line of its own. Each line of a multi-line `text` is folded the same way, its later lines
/// starting indented. Without a width the text is returned after `first` exactly as it is. The
/// result has no trailing newline.
pub fn wrap(text: &str, width: Option<usize>, first: &str, indent: usize) -> String {
    let Some(width) = width else {
        return format!("{first}{text}");
    };
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (n, line) in text.split('\n').enumerate() {
        let mut current = if n == 0 {
            first.to_owned()
        } else {
            out.push('\n');
            pad.clone()
        };
        let width = width.max(indent + MIN_TEXT);
        let mut empty = true;
        for word in words(line) {
            let word = word.as_str();
            let used = current.chars().count();
            let needed = word.chars().count() + usize::from(!empty);
            if !empty && used + needed > width {
                out.push_str(current.trim_end());
                out.push('\n');
                current = pad.clone();
                empty = true;
            }
            if !empty {
                current.push(' ');
            }
            current.push_str(word);
            empty = false;
        }
        out.push_str(current.trim_end());
    }
    out
}

/// The words of a line for [`wrap`]: split at spaces, except inside a backticked span, which
/// stays one word so that a suggested command is never folded into two lines that a shell
/// would run as two commands.
fn words(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        match out.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_owned()),
        }
        if word.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    out
}

/// Prints a line on stderr (a warning, a note, a hint) folded at its width like `error:` and
/// `hint:` lines: `prefix` (e.g. `"warning: "`) starts it and continuation lines sit under
/// the text.
pub fn eprint_note(prefix: &str, text: &str) {
    let width = text_width(Stream::Stderr);
    eprintln!("{}", wrap(text, width, prefix, prefix.chars().count()));
}

/// `-` for a missing value in a table.
pub fn dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_do_not_pad_the_last_column() {
        let mut out = String::new();
        render_table(
            &mut out,
            &["ID", "STATUS"],
            &[
                vec!["a-long-id".into(), "ok".into()],
                vec!["b".into(), "".into()],
            ],
        );
        assert_eq!(out, "ID         STATUS\na-long-id  ok\nb\n");
    }

    #[test]
    fn long_lines_fold_under_their_text_and_words_stay_whole() {
        let text =
            "the chain ends at CN=Intermediate, issued by CN=Root, which the device does not send";
        let folded = wrap(text, Some(40), "[warn] chain  ", 14);
        assert_eq!(
            folded,
            "[warn] chain  the chain ends at\n              CN=Intermediate, issued by\n              CN=Root, which the device\n              does not send"
        );
        for line in folded.lines() {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
        // Without a width, nothing moves; a word longer than the line stays whole.
        assert_eq!(wrap(text, None, "> ", 2), format!("> {text}"));
        let path = "certs/certs/a-very-long-device-name-full-chain.cert.pem";
        assert_eq!(
            wrap(&format!("use {path} now"), Some(40), "", 2),
            format!("use\n  {path}\n  now")
        );
        // Each line of a multi-line text folds; later lines start indented.
        assert_eq!(wrap("a b\nc", Some(40), "hint: ", 6), "hint: a b\n      c");
    }

    #[test]
    fn a_backticked_command_is_never_folded() {
        let hint = "list them with `dps-cli --emulator /tmp/dps enrollment-group list` and retry";
        let folded = wrap(hint, Some(40), "hint: ", 6);
        assert_eq!(
            folded,
            "hint: list them with\n      `dps-cli --emulator /tmp/dps enrollment-group list`\n      and retry"
        );
    }

    #[test]
    fn fields_fold_under_their_value() {
        let fields = [
            ("name", "root".to_owned()),
            (
                "subject",
                "CN=Azure IoT Hub CA Cert Test Only, O=Contoso".to_owned(),
            ),
        ];
        assert_eq!(
            render_fields(&fields, Some(40)),
            "name     root\nsubject  CN=Azure IoT Hub CA Cert Test\n         Only, O=Contoso\n"
        );
    }

    #[test]
    fn service_dates_print_in_iso_8601_utc() {
        assert_eq!(
            date(Some("Sun, 03 Jan 2027 04:56:53 GMT")),
            "2027-01-03T04:56:53Z"
        );
        assert_eq!(
            date(Some("2026-12-04T06:55:25.7763952Z")),
            "2026-12-04T06:55:25Z"
        );
        assert_eq!(
            date(Some("2027-01-03T05:56:53+01:00")),
            "2027-01-03T04:56:53Z"
        );
        assert_eq!(date(Some("soon")), "soon");
        assert_eq!(date(None::<&str>), "-");
    }
}
