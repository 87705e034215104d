//! Is a difference between two stacks beyond run-to-run noise, and how big is it? A two-sided
//! Mann–Whitney U test (a rank test: one run far out cannot carry it, and fully separated
//! samples get the smallest p their sizes allow) and the Hodges–Lehmann shift with its
//! distribution-free confidence interval. Exact when the pool is small enough to count.

use serde::Serialize;

use super::rank_test::{counts, floor, normal_p, tail, variance, z_two_sided, EXACT_UP_TO};

/// How the p value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The exact null distribution of U, every split of the pooled runs counted.
    Exact,
    /// Ties: the exact distribution of U over the pooled midranks.
    ExactMidranks,
    /// More than `EXACT_UP_TO` runs: normal approximation, tie and continuity corrected.
    Normal,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Exact => "exact",
            Method::ExactMidranks => "exact over midranks (ties)",
            Method::Normal => "normal approximation with tie correction",
        })
    }
}

/// Where every run of A lies when the samples do not overlap at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Every run of A below every run of B.
    Below,
    Above,
}

/// A confidence interval for the shift b - a.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
    /// The exact coverage: at least the level asked for, as U takes few values. None when the
    /// interval comes from the normal approximation.
    pub coverage: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub n_a: usize,
    pub n_b: usize,
    /// Pairs (a_i, b_j) with a_i above b_j, ties counted half: 0 when every a is below every b.
    pub u: f64,
    pub p_value: f64,
    pub method: Method,
    /// The smallest p these sizes (and ties) can give, whatever the values: 3 vs 3 never goes
    /// below 0.1 (2 of 20 splits), so it can never show a difference at 0.05.
    pub min_p: f64,
    pub alpha: f64,
    pub beyond_noise: bool,
    pub separated: Option<Side>,
    /// Every run of both gave the same number: nothing to tell apart, whatever the sizes.
    pub all_equal: bool,
    /// Hodges–Lehmann: the median of all pairwise differences b_j - a_i.
    pub shift: f64,
    /// At level 1 - alpha.
    pub shift_ci: Option<Interval>,
    /// Why there is no interval.
    pub no_ci: Option<String>,
}

fn tie_groups(sorted: &[f64]) -> Vec<usize> {
    let mut groups: Vec<usize> = Vec::new();
    for (i, x) in sorted.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if sorted[i - 1] == *x => *g += 1,
            _ => groups.push(1),
        }
    }
    groups
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The k-th smallest and k-th largest pairwise differences, k the largest with
/// P(U < k) <= alpha/2 under the null without ties (Lehmann's interval for a shift).
fn shift_interval(diffs: &[f64], m: usize, n: usize, alpha: f64) -> Result<Interval, String> {
    let mn = diffs.len();
    let (k, coverage) = if m + n <= EXACT_UP_TO {
        let c = counts(&vec![1; m + n], m);
        let total = c.iter().sum::<u128>() as f64;
        let (mut k, mut below) = (0, 0u128);
        while k < mn && (below + c[2 * k]) as f64 / total <= alpha / 2.0 {
            below += c[2 * k];
            k += 1;
        }
        (k, Some(1.0 - 2.0 * below as f64 / total))
    } else {
        let half = mn as f64 / 2.0 - z_two_sided(alpha) * variance(m, n, &[]).sqrt();
        (half.round().max(0.0) as usize, None)
    };
    if k == 0 {
        // 2 / C(m + n, m), in f64: past EXACT_UP_TO the count would not fit a u128.
        let floor = 2.0 / (0..m).fold(1.0, |c, i| c * (n + i + 1) as f64 / (i + 1) as f64);
        return Err(format!("{m} vs {n} runs give no {:.0} % interval: the smallest possible p is {floor:.3}, above {alpha}", (1.0 - alpha) * 100.0));
    }
    Ok(Interval { lo: diffs[k - 1], hi: diffs[mn - k], coverage })
}

/// Compare samples `a` and `b` at level `alpha`; None when either has no finite number.
pub fn mann_whitney(a: &[f64], b: &[f64], alpha: f64) -> Option<Comparison> {
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (m, n) = (a.len(), b.len());
    let mut pooled: Vec<f64> = a.iter().chain(&b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let groups = tie_groups(&pooled);
    // 2U: two for each pair with a above b, one for each tie.
    let u2: usize = a.iter().map(|x| b.iter().map(|y| 2 * usize::from(x > y) + usize::from(x == y)).sum::<usize>()).sum();
    let (p_value, min_p, method) = if m + n <= EXACT_UP_TO {
        let c = counts(&groups, m);
        let method = if groups.len() < m + n { Method::ExactMidranks } else { Method::Exact };
        (tail(&c, u2, m * n), floor(&c, m * n), method)
    } else {
        (normal_p(u2 as f64 / 2.0, m, n, &groups), normal_p(0.0, m, n, &groups), Method::Normal)
    };
    let separated = if u2 == 0 {
        Some(Side::Below)
    } else if u2 == 2 * m * n {
        Some(Side::Above)
    } else {
        None
    };
    let mut diffs: Vec<f64> = b.iter().flat_map(|y| a.iter().map(move |x| y - x)).collect();
    diffs.sort_by(f64::total_cmp);
    let (shift_ci, no_ci) = match shift_interval(&diffs, m, n, alpha) {
        Ok(i) => (Some(i), None),
        Err(why) => (None, Some(why)),
    };
    Some(Comparison {
        n_a: m,
        n_b: n,
        u: u2 as f64 / 2.0,
        p_value,
        method,
        min_p,
        alpha,
        beyond_noise: p_value < alpha,
        separated,
        all_equal: groups.len() == 1,
        shift: median(&diffs),
        shift_ci,
        no_ci,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mw(a: &[f64], b: &[f64]) -> Comparison {
        mann_whitney(a, b, 0.05).unwrap()
    }

    #[test]
    fn separated_samples_get_the_floor_of_their_sizes() {
        // 3 vs 3 apart: U = 0, and only it and its mirror are that far out: 2 of C(6,3) = 20.
        let c = mw(&[3.22, 3.23, 3.24], &[6.37, 7.1, 7.92]);
        assert_eq!((c.u, c.p_value, c.min_p, c.method, c.beyond_noise), (0.0, 0.1, 0.1, Method::Exact, false), "{c:?}");
        assert_eq!(c.separated, Some(Side::Below));
        assert!(c.shift_ci.is_none());
        assert_eq!(c.no_ci.as_deref(), Some("3 vs 3 runs give no 95 % interval: the smallest possible p is 0.100, above 0.05"));
        // 5 vs 5 apart: 2 of C(10,5) = 252, below 0.05; the other way round, Above.
        let c = mw(&[50.0, 60.0, 70.0, 80.0, 90.0], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((c.u, c.p_value, c.min_p, c.beyond_noise), (25.0, 2.0 / 252.0, 2.0 / 252.0, true), "{c:?}");
        assert_eq!(c.separated, Some(Side::Above));
        // 4 vs 4 apart: 2 of 70 = 0.029, which the test of medians (4 of 70) could not reach.
        assert_eq!(mw(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]).p_value, 2.0 / 70.0);
    }

    /// a = 1 3 5 7, b = 2 4 6 8 9: U = 0 + 1 + 2 + 3 = 6 of mn = 20. Splits with U <= 6 among
    /// C(9,4) = 126: partitions of 0..6 into at most 4 parts of at most 5: 1+1+2+3+5+6+8 = 26;
    /// as many with U >= 14: p = 52/126 (R's wilcox.test: W = 6, p-value = 0.4127).
    #[test]
    fn hand_computed_u_and_p() {
        let c = mw(&[1.0, 3.0, 5.0, 7.0], &[2.0, 4.0, 6.0, 8.0, 9.0]);
        assert_eq!((c.u, c.p_value, c.min_p, c.separated), (6.0, 52.0 / 126.0, 2.0 / 126.0, None), "{c:?}");
    }

    /// a = 1 2 2, b = 2 3 4: the three 2s share midrank 3, U = 0.5 + 0.5 = 1 of 9. Over the 20
    /// splits U is 1 (3 ways), 3 (4), 4 (3), 5 (3), 6 (4), 8 (3): as far from 4.5 as 1 are only
    /// U = 1 and U = 8: p = 6/20, and with these ties no split gets lower.
    #[test]
    fn ties_use_the_exact_distribution_over_midranks() {
        let c = mw(&[1.0, 2.0, 2.0], &[2.0, 3.0, 4.0]);
        assert_eq!((c.u, c.p_value, c.min_p, c.method, c.separated), (1.0, 0.3, 0.3, Method::ExactMidranks, None), "{c:?}");
        let c = mw(&[4.0, 4.0], &[4.0, 4.0, 4.0]);
        assert_eq!((c.u, c.p_value, c.shift, c.all_equal), (3.0, 1.0, 0.0, true), "all equal: no evidence, no shift");
    }

    /// 60 runs of 1 vs 30 of 1 and 30 of 2: 120 runs, beyond counting. U = 60 x 30 / 2 = 900,
    /// mn/2 = 1800; Var = 300 (121 - (90^3 - 90 + 30^3 - 30) / (120 x 119)) = 20420.17;
    /// z = (900 - 0.5) / 142.90 = 6.2946; p = erfc(z / sqrt 2) = 3.0810e-10 (Python's math.erfc).
    #[test]
    fn large_pools_use_the_normal_approximation_with_tie_correction() {
        let b: Vec<f64> = [1.0; 30].into_iter().chain([2.0; 30]).collect();
        let c = mw(&[1.0; 60], &b);
        assert_eq!((c.u, c.method), (900.0, Method::Normal));
        assert!((c.p_value / 3.0810e-10 - 1.0).abs() < 1e-4, "{c:?}");
        assert!(c.shift_ci.is_some_and(|i| i.coverage.is_none()), "an approximate interval says so");
    }

    #[test]
    fn hodges_lehmann_shift_of_a_known_offset() {
        let a = [1.0, 2.0, 4.0, 7.0, 11.0];
        let b: Vec<f64> = a.iter().map(|x| x + 1.5).collect();
        assert_eq!(mw(&a, &b).shift, 1.5, "differences a_j - a_i are symmetric around 0");
    }

    /// a = 1..5, b = 6..10: the 25 differences are 1..9 with counts 1 2 3 4 5 4 3 2 1, median 5.
    /// 5 vs 5: P(U <= 2) = (1 + 1 + 2)/252 <= 0.025 < P(U <= 3) = 7/252, so k = 3: the 3rd
    /// smallest (2) and 3rd largest (8) differences, coverage 1 - 8/252.
    #[test]
    fn hodges_lehmann_interval_by_hand() {
        let c = mw(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(c.shift, 5.0);
        assert_eq!(c.shift_ci, Some(Interval { lo: 2.0, hi: 8.0, coverage: Some(1.0 - 8.0 / 252.0) }));
        assert!(c.no_ci.is_none());
    }

    #[test]
    fn nothing_to_compare() {
        assert!(mann_whitney(&[], &[1.0], 0.05).is_none());
        assert!(mann_whitney(&[f64::NAN], &[1.0], 0.05).is_none());
    }
}
