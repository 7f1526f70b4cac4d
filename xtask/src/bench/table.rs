//! The table a group's rows print as.

pub(crate) use super::row::{Row, Share, Target, Unit};
use super::stats::format_ratio;

/// The results table of one group: `ours` and `reference` name the two tools' columns; a
/// group without a reference tool (`reference` empty) has no reference or ratio columns, and
/// one whose rows have no [`Share`] no share column.
pub(crate) fn table(rows: &[Row], ours: &str, reference: &str) -> String {
    let with_reference = !reference.is_empty();
    let with_targets = rows.iter().any(|r| !r.targets.is_empty());
    let with_shares = rows.iter().any(|r| r.share.is_some());
    // (header, right-aligned) per column, then one cell list per row.
    let mut header: Vec<(String, bool)> = vec![
        ("scenario".into(), false),
        ("runs".into(), true),
        ("unit".into(), true),
        (format!("{ours} median"), true),
        ("min".into(), true),
        ("max".into(), true),
    ];
    if with_reference {
        header.push((format!("{reference} median"), true));
        header.push(("min".into(), true));
        header.push(("max".into(), true));
        header.push((format!("ratio ({reference}/{ours})"), false));
    }
    if with_shares {
        header.push(("share".into(), false));
    }
    if with_targets {
        header.push(("target".into(), false));
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let u = r.unit;
            let mut c = vec![
                r.name.clone(),
                r.runs.to_string(),
                u.label().to_owned(),
                u.format(Some(r.ours.median)),
                u.format(Some(r.ours.min)),
                u.format(Some(r.ours.max)),
            ];
            if with_reference {
                let rf = r.reference.as_ref();
                c.push(u.format(rf.map(|s| s.median)));
                c.push(u.format(rf.map(|s| s.min)));
                c.push(u.format(rf.map(|s| s.max)));
                c.push(format_ratio(r.ratio()));
            }
            if with_shares {
                c.push(r.share.map_or_else(|| "-".to_owned(), |s| s.text()));
            }
            if with_targets {
                c.push(r.target_text());
            }
            c
        })
        .collect();
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            cells
                .iter()
                .map(|c| c[i].len())
                .chain([h.len(), if h == "min" || h == "max" { 7 } else { 0 }])
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let (w, right) = (widths[i], header[i].1);
            // Two spaces between column groups, one inside a median/min/max triple.
            if i > 0 {
                l.push_str(if matches!(header[i].0.as_str(), "min" | "max") {
                    " "
                } else {
                    "  "
                });
            }
            if right {
                l.push_str(&format!("{cell:>w$}"));
            } else {
                l.push_str(&format!("{cell:<w$}"));
            }
        }
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    let mut t = line(&header.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>());
    for c in &cells {
        t.push_str(&line(c));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::row::tests::rows;

    #[test]
    fn table_shows_ratios_targets_and_dashes() {
        let t = table(&rows(), "dps-rs", "python-sdk");
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("scenario") && lines[0].ends_with("target"),
            "{t}"
        );
        assert!(lines[0].contains("python-sdk median"), "{t}");
        assert!(lines[1].starts_with("service-10k"), "{t}");
        assert!(lines[1].contains("7.5x faster"), "{t}");
        assert!(lines[1].ends_with("< 10 s met, >= 10x MISSED"), "{t}");
        assert!(lines[2].contains("250.0") && lines[2].contains("/s"), "{t}");
        assert!(lines[2].ends_with(">= 300/s MISSED"), "{t}");
    }

    #[test]
    fn table_without_targets_ends_with_the_ratio() {
        let mut rows = rows();
        for r in &mut rows {
            r.targets.clear();
        }
        let t = table(&rows, "dps-cli", "openssl");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].ends_with("ratio (openssl/dps-cli)"), "{t}");
        assert!(lines[1].ends_with("7.5x faster"), "{t}");
        assert!(lines[2].ends_with("  -"), "{t}");
    }

    #[test]
    fn shares_have_their_column_before_the_targets() {
        let mut rows = rows();
        assert!(!table(&rows, "dps-rs", "").contains("share"));
        rows[1].share = Some(Share {
            fraction: 0.25,
            of: "the TLS ceiling",
        });
        let t = table(&rows, "dps-rs", "");
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].contains("  share  ") && lines[0].ends_with("target"),
            "{t}"
        );
        assert!(lines[1].contains("  -  "), "{t}");
        assert!(
            lines[2].contains("25% of the TLS ceiling  >= 300/s MISSED"),
            "{t}"
        );
    }

    #[test]
    fn groups_without_a_reference_have_no_reference_columns() {
        let t = table(&rows()[1..], "dps-rs", "");
        assert!(!t.contains("ratio") && !t.contains(" - "), "{t}");
        assert!(
            t.lines()
                .nth(1)
                .is_some_and(|l| l.ends_with(">= 300/s MISSED")),
            "{t}"
        );
    }
}
