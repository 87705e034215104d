//! The forwarding gap: the longest silence in the echoes around a fault. "Never recovered" is
//! its own outcome, found by comparing the last echo with the end of the run: a gap computed
//! only between received echoes would report a tiny maximum when echoes simply stop.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapOutcome {
    /// Echoes resumed; `gap_ms` is the longest silence.
    Recovered,
    /// No echo after the silence began, up to the end of the run; `gap_ms` is a lower bound.
    NeverRecovered,
    /// No echo at all.
    NoData,
    /// The samples end before the fault: nothing around it was measured (a probe whose
    /// `duration` ran out on a slow bench). Never a gap of 0.
    NotCovered,
}

impl std::fmt::Display for GapOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GapOutcome::Recovered => "recovered",
            GapOutcome::NeverRecovered => "never recovered",
            GapOutcome::NoData => "no data",
            GapOutcome::NotCovered => "not covered",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub outcome: GapOutcome,
    pub gap_ms: f64,
    /// When the silence started and ended (ns, same clock as the samples).
    pub from_ns: u64,
    pub to_ns: u64,
}

/// Longest silence between consecutive echo receive times (`times` need not be sorted) that
/// ends after `after_ns` (silences that ended before the fault are noise of another cause),
/// or from the last echo to `end_ns` when that is longer than `tail_slack_ms`. Samples that
/// end (`end_ns`) before `after_ns` did not cover the fault.
pub fn longest_gap(times: &[u64], after_ns: u64, end_ns: u64, tail_slack_ms: f64) -> Gap {
    let mut t: Vec<u64> = times.to_vec();
    t.sort_unstable();
    t.dedup();
    if end_ns <= after_ns {
        return Gap { outcome: GapOutcome::NotCovered, gap_ms: 0.0, from_ns: end_ns, to_ns: after_ns };
    }
    if t.is_empty() {
        return Gap { outcome: GapOutcome::NoData, gap_ms: 0.0, from_ns: after_ns, to_ns: end_ns };
    }
    let mut best = Gap { outcome: GapOutcome::Recovered, gap_ms: 0.0, from_ns: t[0], to_ns: t[0] };
    for w in t.windows(2) {
        if w[1] > after_ns {
            let g = super::clock::ms_between(w[0], w[1]);
            if g > best.gap_ms {
                best = Gap { outcome: GapOutcome::Recovered, gap_ms: g, from_ns: w[0], to_ns: w[1] };
            }
        }
    }
    let last = *t.last().unwrap_or(&0);
    let tail = super::clock::ms_between(last, end_ns);
    if tail > tail_slack_ms && tail > best.gap_ms {
        best = Gap { outcome: GapOutcome::NeverRecovered, gap_ms: tail, from_ns: last, to_ns: end_ns };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn ticks(from_ms: u64, to_ms: u64) -> Vec<u64> {
        (from_ms..to_ms).step_by(10).map(|ms| ms * 1_000_000).collect()
    }

    #[test]
    fn a_known_silence_is_measured() {
        let mut t = ticks(0, 1000);
        t.extend(ticks(1500, 3000));
        let g = longest_gap(&t, 900_000_000, 3_000_000_000, 200.0);
        assert_eq!(g.outcome, GapOutcome::Recovered);
        assert!((g.gap_ms - 510.0).abs() < 0.001, "{g:?}");
        assert_eq!(g.from_ns, 990_000_000);
    }

    #[test]
    fn echoes_that_stop_are_never_recovered_not_a_small_gap() {
        let t = ticks(0, 1000);
        let g = longest_gap(&t, 500_000_000, 5_000_000_000, 200.0);
        assert_eq!(g.outcome, GapOutcome::NeverRecovered);
        assert!(g.gap_ms > 4000.0, "{g:?}");
    }

    #[test]
    fn silences_before_the_fault_do_not_count() {
        let mut t = ticks(0, 100);
        t.extend(ticks(2000, 3000));
        let g = longest_gap(&t, 2_500_000_000, 3_000_000_000, 200.0);
        assert!(g.gap_ms <= 10.0 + 1e-9, "{g:?}");
        assert_eq!(longest_gap(&[], 0, 1, 1.0).outcome, GapOutcome::NoData);
    }

    #[test]
    fn samples_that_end_before_the_fault_cover_nothing() {
        // 40 s of clean echoes, the fault 8 s after their end: not a gap of 0.
        let g = longest_gap(&ticks(0, 40_000), 48_000 * MS, 40_000 * MS, 200.0);
        assert_eq!(g.outcome, GapOutcome::NotCovered);
        assert_eq!(longest_gap(&ticks(0, 40_000), 39_000 * MS, 45_000 * MS, 200.0).outcome, GapOutcome::NeverRecovered);
    }
}
