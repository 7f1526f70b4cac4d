//! Listing records by id prefix, page after page, for the console's enrollment lists.
//!
//! Ids are stored lower-cased in the primary key `(kind, id_lower)`, so "ids starting with
//! `dev`" is the key range `dev <= id_lower < dew`: SQLite seeks to the first key and stops at
//! the last one, reading only the page it returns, however many records the store holds.
//! A page continues after the last id of the previous one by moving the range's lower bound,
//! never by skipping rows.

use super::{Kind, Record, Store, StoreError, read_records};
use rusqlite::params;

impl Store {
    /// Up to `limit` records of `kind` whose lower-cased id starts with `prefix` (lower-cased;
    /// empty: every record), in id order, after `after` (a lower-cased id from a previous
    /// page) when given.
    pub(crate) fn list_prefix(
        &self,
        kind: Kind,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let range = Range::new(prefix, after);
        self.with(|c| {
            let mut stmt = c.prepare_cached(range.sql())?;
            read_records(
                &mut stmt,
                kind,
                params![
                    kind.tag(),
                    range.lower,
                    range.upper,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
            )
        })
    }
}

/// The key range of one page: ids from `lower` (inclusive or not) up to `upper` (exclusive).
#[derive(Debug, PartialEq, Eq)]
struct Range {
    /// Where the page starts.
    lower: String,
    /// Whether `lower` itself belongs to the page (a prefix does; the previous page's last id
    /// does not).
    inclusive: bool,
    /// The first id past the prefix's range; `None` when nothing bounds it (empty prefix).
    upper: Option<String>,
}

impl Range {
    fn new(prefix: &str, after: Option<&str>) -> Self {
        let prefix = prefix.to_lowercase();
        let upper = prefix_end(&prefix);
        match after.map(str::to_lowercase) {
            Some(after) if after >= prefix => Range {
                lower: after,
                inclusive: false,
                upper,
            },
            _ => Range {
                lower: prefix,
                inclusive: true,
                upper,
            },
        }
    }

    /// One statement per shape, each a plain range on the primary key, so the query planner
    /// always seeks (an `?3 IS NULL OR ...` term would make it scan from the lower bound).
    fn sql(&self) -> &'static str {
        match (self.inclusive, self.upper.is_some()) {
            (true, true) => {
                "SELECT id, parent, etag, body FROM records
                 WHERE kind = ?1 AND id_lower >= ?2 AND id_lower < ?3
                 ORDER BY id_lower LIMIT ?4"
            }
            (false, true) => {
                "SELECT id, parent, etag, body FROM records
                 WHERE kind = ?1 AND id_lower > ?2 AND id_lower < ?3
                 ORDER BY id_lower LIMIT ?4"
            }
            (true, false) => {
                "SELECT id, parent, etag, body FROM records
                 WHERE kind = ?1 AND id_lower >= ?2 AND ?3 IS NULL
                 ORDER BY id_lower LIMIT ?4"
            }
            (false, false) => {
                "SELECT id, parent, etag, body FROM records
                 WHERE kind = ?1 AND id_lower > ?2 AND ?3 IS NULL
                 ORDER BY id_lower LIMIT ?4"
            }
        }
    }
}

/// The smallest string greater than every string starting with `prefix`: the prefix with its
/// last character incremented (dropping trailing characters that cannot be). SQLite compares
/// text as UTF-8 bytes, which orders like code points, so this bounds the range exactly.
/// `None` for an empty prefix (or one of `char::MAX` only): no upper bound.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(s: &Store, kind: Kind, id: &str) {
        let record = Record {
            id: id.into(),
            parent: None,
            etag: "e".into(),
            body: json!({ "registrationId": id }),
        };
        s.put(kind, &record).expect("put");
    }

    fn ids(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn the_range_ends_where_the_prefix_does() {
        assert_eq!(prefix_end("dev").as_deref(), Some("dew"));
        assert_eq!(prefix_end("a-"), Some("a.".to_owned()));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }

    #[test]
    fn lists_by_prefix_case_insensitively_and_pages_after_an_id() {
        let s = Store::in_memory().expect("store");
        for id in [
            "dev", "Dev-1", "dev-2", "dev-3", "dew", "deu", "device-9", "x",
        ] {
            put(&s, Kind::Enrollment, id);
        }
        put(&s, Kind::Group, "dev-group");
        let all = s
            .list_prefix(Kind::Enrollment, "DEV", None, 100)
            .expect("db");
        // "dew" and "deu" border the range; the group is another kind.
        assert_eq!(ids(&all), ["dev", "Dev-1", "dev-2", "dev-3", "device-9"]);
        let first = s
            .list_prefix(Kind::Enrollment, "dev-", None, 2)
            .expect("db");
        assert_eq!(ids(&first), ["Dev-1", "dev-2"]);
        let next = s
            .list_prefix(Kind::Enrollment, "dev-", Some("DEV-2"), 2)
            .expect("db");
        assert_eq!(ids(&next), ["dev-3"]);
        // An `after` before the prefix's range starts at the prefix.
        let early = s
            .list_prefix(Kind::Enrollment, "dev-", Some("a"), 10)
            .expect("db");
        assert_eq!(ids(&early), ["Dev-1", "dev-2", "dev-3"]);
        // An `after` past it gives nothing.
        assert!(
            s.list_prefix(Kind::Enrollment, "dev-", Some("dex"), 10)
                .expect("db")
                .is_empty()
        );
        let everything = s.list_prefix(Kind::Enrollment, "", None, 100).expect("db");
        assert_eq!(everything.len(), 8);
        let rest = s
            .list_prefix(Kind::Enrollment, "", Some("dew"), 100)
            .expect("db");
        assert_eq!(ids(&rest), ["x"]);
        assert!(
            s.list_prefix(Kind::Enrollment, "nothing", None, 10)
                .expect("db")
                .is_empty()
        );
    }

    /// With 100,000 individual enrollments, every page shape seeks in the primary key rather
    /// than scanning the table (the plan, not a timing: timings belong to the bench).
    #[test]
    fn a_page_of_100000_enrollments_is_read_through_the_primary_key() {
        let s = Store::in_memory().expect("store");
        s.with(|c| {
            c.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
                 INSERT INTO records (kind, id_lower, id, parent, etag, body)
                 SELECT 'enrollment', printf('device-%06d', i), printf('Device-%06d', i), NULL,
                        'e', printf('{\"registrationId\":\"Device-%06d\"}', i)
                 FROM n;
                 ANALYZE;",
            )?;
            Ok(())
        })
        .expect("fill");
        assert_eq!(s.count(Kind::Enrollment).expect("db"), 100_000);
        for (prefix, after) in [
            ("", None),
            ("", Some("device-050000")),
            ("device-0999", None),
            ("device-0999", Some("device-099950")),
        ] {
            let range = Range::new(prefix, after);
            let plan: Vec<String> = s
                .with(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {}", range.sql()))?;
                    let rows = stmt
                        .query_map(params!["enrollment", range.lower, range.upper, 51], |r| {
                            r.get::<_, String>(3)
                        })?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .expect("plan");
            let plan = plan.join("; ");
            assert!(
                plan.contains("SEARCH records USING PRIMARY KEY (kind=? AND id_lower>"),
                "{prefix:?} after {after:?}: {plan}"
            );
            assert!(!plan.contains("SCAN"), "{prefix:?} after {after:?}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "sorted by the key: {plan}");
            let page = s
                .list_prefix(Kind::Enrollment, prefix, after, 51)
                .expect("db");
            assert!(!page.is_empty(), "{prefix:?} after {after:?}");
        }
        let page = s
            .list_prefix(Kind::Enrollment, "device-0999", Some("device-099950"), 51)
            .expect("db");
        assert_eq!(page.len(), 49);
        assert_eq!(page[0].id, "Device-099951");
    }
}
