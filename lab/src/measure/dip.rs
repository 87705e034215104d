//! What a fault did to a rate: iperf3's throughput or the web server's request rate, in fixed
//! bins. One definition for every load traffic, so "dip" and "back to 90 %" mean the same thing
//! for Mbit/s and for requests.
//!
//! From the bins (end time in seconds from the traffic's start, rate):
//! - `before`: median of the bins that ended at or before the fault (the median, so the
//!   ramp-up of the first bins does not count);
//! - `min`: the lowest bin after the fault;
//! - `below_half_s`: the longest run of consecutive bins below half of `before`, after the
//!   fault (how long the rate dipped);
//! - `back_90_s`: from the fault to the end of the first bin, after the lowest one, at 90 % of
//!   `before` or more; None when it never got back;
//! - `after`: median of the bins from there on; `during`: mean rate from the fault to there.
//!
//! Resolution: one bin. The caller leaves out the tail where the traffic winds down (its last
//! requests, iperf3's last partial interval), which is not the fault's doing.

use serde::{Deserialize, Serialize};

use super::stats;

/// A rate over time, as a kind saves it in its samples (`NAME.rate.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    /// What is counted ("iperf3 throughput", "requests served (nginx log)").
    pub what: String,
    pub unit: String,
    pub width_s: f64,
    /// The traffic's start on the host clock (ns): bins are seconds from it.
    pub start_ns: u64,
    /// (bin end, seconds from `start_ns`; rate in `unit`).
    pub bins: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dip {
    pub before: Option<f64>,
    pub min: Option<f64>,
    pub below_half_s: Option<f64>,
    pub back_90_s: Option<f64>,
    pub during: Option<f64>,
    pub after: Option<f64>,
}

/// Timestamps (seconds from the start) into bins of `width` seconds as a rate per second,
/// from the first bin to the one holding the last timestamp.
pub fn bin(times: &[f64], width: f64) -> Vec<(f64, f64)> {
    let Some(last) = times.iter().copied().filter(|t| t.is_finite() && *t >= 0.0).reduce(f64::max) else { return Vec::new() };
    let n = (last / width).floor() as usize + 1;
    let mut counts = vec![0u32; n];
    for t in times.iter().filter(|t| t.is_finite() && **t >= 0.0) {
        counts[((t / width).floor() as usize).min(n - 1)] += 1;
    }
    counts.iter().enumerate().map(|(i, c)| ((i + 1) as f64 * width, *c as f64 / width)).collect()
}

/// The dip of `bins` after a fault at `fault_s` (seconds from the start); without a fault only
/// `before` (the median of every bin).
pub fn analyze(bins: &[(f64, f64)], width: f64, fault_s: Option<f64>) -> Dip {
    let med = |xs: Vec<f64>| stats::summary(&xs).map(|s| s.median);
    let Some(f) = fault_s else {
        return Dip { before: med(bins.iter().map(|b| b.1).collect()), ..Dip::default() };
    };
    let before = med(bins.iter().filter(|b| b.0 <= f).map(|b| b.1).collect());
    let after_f: Vec<(f64, f64)> = bins.iter().copied().filter(|b| b.0 > f + 1e-9).collect();
    let Some((imin, min)) = after_f.iter().enumerate().map(|(i, b)| (i, b.1)).min_by(|a, b| a.1.total_cmp(&b.1)) else {
        return Dip { before, ..Dip::default() };
    };
    let mut dip = Dip { before, min: Some(min), ..Dip::default() };
    let Some(pre) = before.filter(|p| *p > 0.0) else { return dip };
    let (mut run, mut longest) = (0usize, 0usize);
    for b in &after_f {
        run = if b.1 < pre / 2.0 { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    dip.below_half_s = Some(longest as f64 * width);
    if let Some(k) = (imin..after_f.len()).find(|&k| after_f[k].1 >= 0.9 * pre) {
        let back = after_f[k].0;
        dip.back_90_s = Some(back - f);
        let during: Vec<&(f64, f64)> = after_f[..=k].iter().collect();
        dip.during = Some(during.iter().map(|b| b.1).sum::<f64>() / during.len() as f64);
        dip.after = med(after_f[k..].iter().map(|b| b.1).collect());
    }
    dip
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 Mbit/s for 3 s, nothing for 1 s from the fault at 3.0, 5 for 0.3 s, 10 again.
    fn crash() -> Vec<(f64, f64)> {
        (1..=80)
            .map(|i| {
                let t = i as f64 * 0.1;
                let r = if t <= 3.0 + 1e-9 {
                    10.0
                } else if t <= 4.0 + 1e-9 {
                    0.0
                } else if t <= 4.3 + 1e-9 {
                    5.0
                } else {
                    10.0
                };
                (t, r)
            })
            .collect()
    }

    #[test]
    fn a_dip_is_measured_from_the_fault() {
        let d = analyze(&crash(), 0.1, Some(3.0));
        assert_eq!(d.before, Some(10.0));
        assert_eq!(d.min, Some(0.0));
        assert!((d.below_half_s.unwrap() - 1.0).abs() < 1e-9, "{d:?}");
        assert!((d.back_90_s.unwrap() - 1.4).abs() < 1e-9, "{d:?}");
        assert_eq!(d.after, Some(10.0));
        // 10 bins of 0, 3 of 5, one of 10.
        assert!((d.during.unwrap() - 25.0 / 14.0).abs() < 1e-9, "{d:?}");
        // A fault inside a bin still at full rate: recovery is counted after the lowest bin.
        let d = analyze(&crash(), 0.1, Some(2.95));
        assert!((d.back_90_s.unwrap() - 1.45).abs() < 1e-9, "{d:?}");
    }

    #[test]
    fn a_rate_that_never_comes_back_has_no_recovery() {
        let bins: Vec<(f64, f64)> = crash().into_iter().map(|(t, r)| (t, if t > 3.0 { 1.0 } else { r })).collect();
        let d = analyze(&bins, 0.1, Some(3.0));
        assert_eq!((d.back_90_s, d.after, d.during), (None, None, None));
        assert!((d.below_half_s.unwrap() - 5.0).abs() < 1e-9, "{d:?}");
    }

    #[test]
    fn without_a_fault_only_the_rate_is_given() {
        let d = analyze(&crash(), 0.1, None);
        assert_eq!(d.before, Some(10.0));
        assert_eq!(d.min, None);
    }

    #[test]
    fn timestamps_become_a_rate_per_second() {
        let b = bin(&[0.01, 0.02, 0.05, 0.31], 0.1);
        assert_eq!(b.iter().map(|x| x.1).collect::<Vec<_>>(), vec![30.0, 0.0, 0.0, 10.0]);
        assert!((b[3].0 - 0.4).abs() < 1e-9);
    }
}
