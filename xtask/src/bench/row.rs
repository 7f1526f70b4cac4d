//! One result row of any scenario group, its issue-7 targets, and its report JSON.

use super::stats::{self, Summary};
use serde_json::{Map, Value, json};

/// What a row's numbers measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Seconds,
    Millis,
    PerSecond,
    Megabytes,
}

impl Unit {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Seconds => "s",
            Self::Millis => "ms",
            Self::PerSecond => "/s",
            Self::Megabytes => "MB",
        }
    }

    /// The label as written after a number: `" s"`, `"/s"`.
    fn suffix(self) -> String {
        match self {
            Self::PerSecond => self.label().to_owned(),
            _ => format!(" {}", self.label()),
        }
    }

    /// A value for the table, or "-".
    pub(crate) fn format(self, value: Option<f64>) -> String {
        match (self, value) {
            (Self::Seconds, v) => stats::format_seconds(v),
            (_, None) => "-".to_owned(),
            (Self::Millis, Some(v)) => format!("{v:.2}"),
            (Self::PerSecond | Self::Megabytes, Some(v)) => format!("{v:.1}"),
        }
    }
}

/// A goal from issue 7, checked against the median (or the ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    /// The median must be below this.
    Below(f64),
    /// The median must be at least this.
    AtLeast(f64),
    /// The ratio against the reference must be at least this.
    RatioAtLeast(f64),
    /// The median must be at least another row's median, named here (e.g. MQTT against HTTPS).
    AtLeastRow(f64, &'static str),
}

impl Target {
    fn text(self, unit: Unit) -> String {
        match self {
            Self::Below(v) => format!("< {v}{}", unit.suffix()),
            Self::AtLeast(v) => format!(">= {v}{}", unit.suffix()),
            Self::RatioAtLeast(v) => format!(">= {v}x"),
            Self::AtLeastRow(v, name) => {
                format!(">= {name} ({}{})", unit.format(Some(v)), unit.suffix())
            }
        }
    }

    /// `None` when it cannot be judged (a ratio target without a reference).
    fn met(self, row: &Row) -> Option<bool> {
        match self {
            Self::Below(v) => Some(row.ours.median < v),
            Self::AtLeast(v) | Self::AtLeastRow(v, _) => Some(row.ours.median >= v),
            Self::RatioAtLeast(v) => row.ratio().map(|r| r >= v),
        }
    }
}

/// What fraction a row's median is of a limit measured in the same run (e.g. registrations
/// per second against bare TLS handshakes per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Share {
    pub(crate) fraction: f64,
    /// What the limit is: "the TLS ceiling".
    pub(crate) of: &'static str,
}

impl Share {
    /// "31% of the TLS ceiling" (one decimal under 10%).
    pub(crate) fn text(self) -> String {
        let pct = self.fraction * 100.0;
        if pct < 10.0 {
            format!("{pct:.1}% of {}", self.of)
        } else {
            format!("{pct:.0}% of {}", self.of)
        }
    }
}

/// One scenario (or one measure of a scenario) of one group.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) group: &'static str,
    pub(crate) description: String,
    pub(crate) runs: u32,
    pub(crate) unit: Unit,
    /// The report key of our samples (`dpsCli` for certs, `dpsRs` elsewhere).
    pub(crate) ours_key: &'static str,
    pub(crate) ours: Summary,
    pub(crate) reference: Option<Summary>,
    /// What the reference is, for the report.
    pub(crate) reference_tool: Option<&'static str>,
    /// Why `reference` is missing.
    pub(crate) reference_note: Option<String>,
    pub(crate) targets: Vec<Target>,
    /// Its share of a limit, shown in its own column.
    pub(crate) share: Option<Share>,
    /// More report fields (algorithm, counts, latency percentiles...).
    pub(crate) extra: Map<String, Value>,
}

impl Row {
    /// A row without reference, targets or extra fields.
    pub(crate) fn new(
        group: &'static str,
        name: impl Into<String>,
        description: impl Into<String>,
        unit: Unit,
        ours: Summary,
    ) -> Self {
        Self {
            name: name.into(),
            group,
            description: description.into(),
            runs: u32::try_from(ours.samples.len()).unwrap_or(u32::MAX),
            unit,
            ours_key: "dpsRs",
            ours,
            reference: None,
            reference_tool: None,
            reference_note: None,
            targets: Vec::new(),
            share: None,
            extra: Map::new(),
        }
    }

    /// Reference median / our median: how many times faster we are.
    pub(crate) fn ratio(&self) -> Option<f64> {
        stats::ratio(&self.ours, self.reference.as_ref())
    }

    /// "< 10 s met", ">= 10x MISSED", "" without targets.
    pub(crate) fn target_text(&self) -> String {
        self.targets
            .iter()
            .map(|t| {
                let verdict = match t.met(self) {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "n/a",
                };
                format!("{} {verdict}", t.text(self.unit))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "group": self.group,
            "description": self.description,
            "runs": self.runs,
            "unit": self.unit.label(),
            self.ours_key: self.ours.to_json(),
            "reference": self.reference.as_ref().map(|r| {
                let mut r = r.to_json();
                if let (Some(obj), Some(tool)) = (r.as_object_mut(), self.reference_tool) {
                    obj.insert("tool".to_owned(), json!(tool));
                }
                r
            }),
            "ratio": self.ratio().map(|r| (r * 1000.0).round() / 1000.0),
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(note) = &self.reference_note {
                obj.insert("referenceNote".to_owned(), json!(note));
            }
            if !self.targets.is_empty() {
                let targets: Vec<Value> = self
                    .targets
                    .iter()
                    .map(|t| json!({"target": t.text(self.unit), "met": t.met(self)}))
                    .collect();
                obj.insert("targets".to_owned(), Value::Array(targets));
            }
            if let Some(share) = self.share {
                obj.insert(
                    "share".to_owned(),
                    json!({
                        "of": share.of,
                        "fraction": (share.fraction * 10_000.0).round() / 10_000.0,
                        "text": share.text(),
                    }),
                );
            }
            for (k, val) in &self.extra {
                obj.insert(k.clone(), val.clone());
            }
        }
        v
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn summary(v: &[f64]) -> Summary {
        Summary::of(v).unwrap_or_else(|| panic!("empty"))
    }

    pub(crate) fn rows() -> Vec<Row> {
        let mut timed = Row::new(
            "service",
            "service-10k",
            "all",
            Unit::Seconds,
            summary(&[0.1, 0.3]),
        );
        timed.reference = Some(summary(&[1.5, 1.5]));
        timed.reference_tool = Some("python");
        timed.targets = vec![Target::Below(10.0), Target::RatioAtLeast(10.0)];
        let mut rate = Row::new(
            "devices",
            "devices-1000",
            "rate",
            Unit::PerSecond,
            summary(&[250.0]),
        );
        rate.targets = vec![Target::AtLeast(300.0)];
        rate.reference_note = Some("no reference".into());
        rate.extra.insert("p99Ms".into(), json!(12.5));
        vec![timed, rate]
    }

    #[test]
    fn shares_and_row_targets() {
        let mut row = rows().remove(1);
        assert_eq!(row.to_json().get("share"), None);
        row.share = Some(Share {
            fraction: 0.31234,
            of: "the TLS ceiling",
        });
        row.targets = vec![Target::AtLeastRow(240.0, "HTTPS")];
        let j = row.to_json();
        assert_eq!(
            j["share"],
            json!({"of": "the TLS ceiling", "fraction": 0.3123, "text": "31% of the TLS ceiling"})
        );
        assert_eq!(
            j["targets"][0],
            json!({"target": ">= HTTPS (240.0/s)", "met": true})
        );
        row.targets = vec![Target::AtLeastRow(260.0, "HTTPS")];
        assert_eq!(row.target_text(), ">= HTTPS (260.0/s) MISSED");
        let small = Share {
            fraction: 0.0456,
            of: "x",
        };
        assert_eq!(small.text(), "4.6% of x");
    }

    #[test]
    fn json_has_the_summary_reference_targets_and_extras() {
        let rows = rows();
        let j = rows[0].to_json();
        assert_eq!(j["dpsRs"]["median"], json!(0.2));
        assert_eq!(j["reference"]["tool"], json!("python"));
        assert_eq!(j["ratio"], json!(7.5));
        assert_eq!(j["unit"], json!("s"));
        assert_eq!(j["targets"][1], json!({"target": ">= 10x", "met": false}));
        let j = rows[1].to_json();
        assert_eq!(j["reference"], Value::Null);
        assert_eq!(j["ratio"], Value::Null);
        assert_eq!(j["referenceNote"], json!("no reference"));
        assert_eq!(j["p99Ms"], json!(12.5));
        assert_eq!(j["runs"], json!(1));
    }
}
