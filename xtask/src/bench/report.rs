//! target/bench/report.json: building, merging with earlier runs, and the date stamp.

use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Merges a fresh report into the one already on disk.
///
/// The top-level fields (machine, date, runs) come from `fresh`. Scenarios are matched by
/// `name`: an existing entry with the same name is replaced where it stands, entries of other
/// names (other scenario groups, or scenarios left out by `--filter`) are kept, and new names are
/// appended in `fresh` order. An `existing` value that is not a report is ignored.
pub(crate) fn merge(existing: Option<&Value>, fresh: &Value) -> Value {
    let fresh_scenarios: Vec<Value> = scenarios(Some(fresh)).to_vec();
    let mut merged: Vec<Value> = scenarios(existing).to_vec();
    for scenario in fresh_scenarios {
        let name = scenario.get("name").and_then(Value::as_str);
        match merged
            .iter_mut()
            .find(|old| name.is_some() && old.get("name").and_then(Value::as_str) == name)
        {
            Some(old) => *old = scenario,
            None => merged.push(scenario),
        }
    }
    let mut out = fresh.clone();
    if let Some(obj) = out.as_object_mut() {
        obj.insert("scenarios".to_owned(), Value::Array(merged));
    }
    out
}

fn scenarios(report: Option<&Value>) -> &[Value] {
    report
        .and_then(|r| r.get("scenarios"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The `machine` object: logical CPUs, OS and architecture, kernel (`uname -sr`, if any) and the
/// `openssl version` line (null without openssl).
pub(crate) fn machine(openssl_version: Option<&str>) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let kernel = std::process::Command::new("uname")
        .arg("-sr")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    json!({
        "cpus": cpus,
        "os": format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        "kernel": kernel,
        "openssl": openssl_version,
    })
}

/// Now, as RFC 3339 UTC with whole seconds.
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, for non-negative days.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(report: &Value) -> Vec<&str> {
        scenarios(Some(report))
            .iter()
            .filter_map(|s| s.get("name").and_then(Value::as_str))
            .collect()
    }

    #[test]
    fn merge_into_nothing_is_the_fresh_report() {
        let fresh = json!({"runs": 3, "scenarios": [{"name": "a", "ratio": 1.0}]});
        assert_eq!(merge(None, &fresh), fresh);
    }

    #[test]
    fn merge_keeps_other_groups_and_replaces_same_names_in_place() {
        let existing = json!({
            "runs": 5,
            "date": "old",
            "scenarios": [
                {"name": "service-sas", "group": "service", "ratio": 2.0},
                {"name": "chain-p256", "group": "certs", "ratio": 1.0},
                {"name": "devices-100", "group": "devices", "ratio": 3.0},
            ],
        });
        let fresh = json!({
            "runs": 1,
            "date": "new",
            "scenarios": [
                {"name": "chain-p256", "group": "certs", "ratio": 9.0},
                {"name": "chain-rsa4096", "group": "certs", "ratio": 4.0},
            ],
        });
        let merged = merge(Some(&existing), &fresh);
        assert_eq!(merged["runs"], json!(1));
        assert_eq!(merged["date"], json!("new"));
        assert_eq!(
            names(&merged),
            ["service-sas", "chain-p256", "devices-100", "chain-rsa4096"]
        );
        assert_eq!(merged["scenarios"][1]["ratio"], json!(9.0));
        assert_eq!(merged["scenarios"][0]["ratio"], json!(2.0));
    }

    #[test]
    fn merge_ignores_a_file_that_is_not_a_report() {
        let fresh = json!({"scenarios": [{"name": "a"}]});
        assert_eq!(merge(Some(&json!([1, 2])), &fresh), fresh);
        assert_eq!(merge(Some(&json!({"scenarios": "x"})), &fresh), fresh);
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn machine_has_the_documented_fields() {
        let m = machine(Some("OpenSSL 3.0.19"));
        assert!(m["cpus"].as_u64().is_some_and(|n| n >= 1));
        assert!(m["os"].is_string());
        assert_eq!(m["openssl"], json!("OpenSSL 3.0.19"));
    }
}
