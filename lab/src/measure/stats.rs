//! Statistics reported for every measured quantity: n, min, median, max, and from 20 runs on
//! the 5th and 95th percentiles. Never a bare mean.
//!
//! Percentiles are nearest-rank: the p-th percentile is the smallest value with at least p % of
//! the sample at or below it, x[ceil(p n / 100)] (1-based, sorted): always a value that was
//! measured, never an interpolation between two runs.

use serde::{Deserialize, Serialize};

/// Below this many runs p5 and p95 are the extremes or next to them: not shown.
pub const TAILS_FROM: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    /// Only from `TAILS_FROM` runs on.
    pub p5: Option<f64>,
    pub p95: Option<f64>,
    pub max: f64,
}

/// Nearest-rank percentile on sorted data.
fn pct(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Nearest-rank percentile of unsorted data.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(pct(&v, p))
}

pub fn summary(xs: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    let tail = |p| (n >= TAILS_FROM).then(|| pct(&v, p));
    Some(Summary { n, min: v[0], median, p5: tail(5.0), p95: tail(95.0), max: v[n - 1] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_samples() {
        let s = summary(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(s, Summary { n: 5, min: 1.0, median: 3.0, p5: None, p95: None, max: 5.0 });
        let s = summary(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.median, 2.5);
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!((summary(&xs).unwrap().p5, summary(&xs).unwrap().p95), (Some(5.0), Some(95.0)));
        assert!(summary(&[]).is_none());
        assert_eq!(summary(&[f64::NAN, 7.0]).unwrap().n, 1);
    }

    /// 20 runs: p5 is the 1st value (ceil(1.0)), p95 the 19th; 19 runs have no tails.
    #[test]
    fn tails_from_20_runs_on() {
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = summary(&xs).unwrap();
        assert_eq!((s.p5, s.p95), (Some(1.0), Some(19.0)));
        let s = summary(&xs[..19]).unwrap();
        assert_eq!((s.p5, s.p95), (None, None));
    }
}
