//! Statistics reported for every measured quantity: n, min, median, p95, max. Never a bare mean.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub p95: f64,
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
    Some(Summary { n, min: v[0], median, p95: pct(&v, 95.0), max: v[n - 1] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_samples() {
        let s = summary(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(s, Summary { n: 5, min: 1.0, median: 3.0, p95: 5.0, max: 5.0 });
        let s = summary(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.median, 2.5);
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(summary(&xs).unwrap().p95, 95.0);
        assert!(summary(&[]).is_none());
        assert_eq!(summary(&[f64::NAN, 7.0]).unwrap().n, 1);
    }
}
