//! Summaries of timing samples and the speed-up wording. Pure functions only.

use serde_json::{Value, json};

/// Median, min and max of one tool's samples in one scenario, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) samples: Vec<f64>,
}

impl Summary {
    /// Summarises `samples` (in run order); `None` when there are none.
    pub(crate) fn of(samples: &[f64]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Some(Self {
            median,
            min,
            max,
            samples: samples.to_vec(),
        })
    }

    /// `{"median", "min", "max", "samples"}`, seconds rounded to the microsecond.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "median": round_us(self.median),
            "min": round_us(self.min),
            "max": round_us(self.max),
            "samples": self.samples.iter().copied().map(round_us).collect::<Vec<_>>(),
        })
    }
}

fn round_us(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// How many times faster dps-cli is: reference median / dps-cli median. `None` without a
/// reference, or when a median is not a positive number.
pub(crate) fn ratio(dps_cli: &Summary, reference: Option<&Summary>) -> Option<f64> {
    let reference = reference?;
    let r = reference.median / dps_cli.median;
    (r.is_finite() && r > 0.0).then_some(r)
}

/// "12.3x faster", "2.0x slower", or "-" without a ratio.
pub(crate) fn format_ratio(ratio: Option<f64>) -> String {
    match ratio {
        None => "-".to_owned(),
        Some(r) if r >= 1.0 => format!("{}x faster", one_decimal_or_whole(r)),
        Some(r) => format!("{}x slower", one_decimal_or_whole(1.0 / r)),
    }
}

fn one_decimal_or_whole(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The `p`-th percentile (0 to 100) of `samples` by the nearest-rank method: the smallest
/// sample with at least `p` percent of the samples at or below it. `None` when empty.
pub(crate) fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // Nearest rank: ceil(p / 100 * n), at least 1; computed in integers to stay exact.
    let permille = (p.clamp(0.0, 100.0) * 10.0).round() as usize;
    let rank = (permille * n).div_ceil(1000).max(1);
    sorted.get(rank - 1).copied()
}

/// Seconds for the table: three decimals, or "-" for a missing value.
pub(crate) fn format_seconds(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "-".to_owned(), |s| format!("{s:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(samples: &[f64]) -> Summary {
        Summary::of(samples).unwrap_or_else(|| panic!("no summary for {samples:?}"))
    }

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn single_sample() {
        let s = summary(&[1.5]);
        assert_eq!((s.median, s.min, s.max), (1.5, 1.5, 1.5));
    }

    #[test]
    fn odd_count_median_is_the_middle_sample() {
        let s = summary(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        // Samples stay in run order.
        assert_eq!(s.samples, vec![3.0, 1.0, 2.0]);
    }

    #[test]
    fn even_count_median_is_the_mean_of_the_middle_two() {
        let s = summary(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
    }

    #[test]
    fn json_rounds_to_microseconds() {
        let s = summary(&[0.123_456_789]);
        assert_eq!(s.to_json()["median"], json!(0.123_457));
        assert_eq!(s.to_json()["samples"], json!([0.123_457]));
    }

    #[test]
    fn ratio_is_reference_over_dps_cli() {
        let dps = summary(&[0.5]);
        let reference = summary(&[5.0]);
        assert_eq!(ratio(&dps, Some(&reference)), Some(10.0));
        assert_eq!(ratio(&dps, None), None);
        assert_eq!(ratio(&summary(&[0.0]), Some(&reference)), None);
    }

    #[test]
    fn ratio_wording() {
        assert_eq!(format_ratio(None), "-");
        assert_eq!(format_ratio(Some(12.34)), "12.3x faster");
        assert_eq!(format_ratio(Some(1.0)), "1.0x faster");
        assert_eq!(format_ratio(Some(0.5)), "2.0x slower");
        assert_eq!(format_ratio(Some(1234.4)), "1234x faster");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 99.9), Some(100.0));
        let small = [3.0, 1.0, 2.0];
        assert_eq!(percentile(&small, 50.0), Some(2.0));
        assert_eq!(percentile(&small, 99.0), Some(3.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        let thousand: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&thousand, 99.0), Some(990.0));
        assert_eq!(percentile(&thousand, 50.0), Some(500.0));
    }

    #[test]
    fn seconds_wording() {
        assert_eq!(format_seconds(Some(1.23456)), "1.235");
        assert_eq!(format_seconds(None), "-");
    }
}
