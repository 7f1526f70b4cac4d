//! Output conventions shared by every command: `--output table|json`, stderr for warnings and
//! progress, and nothing on a terminal that a script would have to parse around.

use std::io::Write;

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

/// Prints `name  value` lines, names padded to the longest.
pub fn print_fields(fields: &[(&str, String)]) -> anyhow::Result<()> {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (k, v) in fields {
        text.push_str(format!("{k:<width$}  {v}").trim_end());
        text.push('\n');
    }
    print_text(&text)
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
}
