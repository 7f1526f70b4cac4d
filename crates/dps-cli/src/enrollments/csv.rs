//! A small CSV reader for `enrollment import`: RFC 4180 quoting, LF or CRLF, comments.

/// Splits CSV text into records of fields: commas, `"quoted"` fields with `""` escapes,
/// LF or CRLF line ends. Empty lines and lines starting with `#` are skipped.
pub(super) fn parse(text: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        if matches!(chars.peek(), Some('#')) {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            line += 1;
            continue;
        }
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let start = line;
        while let Some(c) = chars.next() {
            let field = fields.last_mut().expect("one field");
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(String::new()),
                '\n' if !quoted => break,
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        anyhow::ensure!(!quoted, "line {start}: a quoted field is not closed");
        line += 1;
        if !(fields.len() == 1 && fields[0].trim().is_empty()) {
            records.push(fields);
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_crlf_comments_and_blank_lines() {
        let text = "a,b\r\n# comment\n\n\"x,1\",\"say \"\"hi\"\"\"\n2,\n";
        let r = parse(text).expect("parses");
        assert_eq!(
            r,
            vec![
                vec!["a".to_owned(), "b".to_owned()],
                vec!["x,1".to_owned(), "say \"hi\"".to_owned()],
                vec!["2".to_owned(), String::new()],
            ]
        );
        assert!(parse("\"open,1\n").is_err());
    }
}
