//! The null distribution of the Mann–Whitney U statistic. Counted exactly: over all C(N, m)
//! ways to say which m of the N pooled runs are A's, how many give each U. Tied runs share
//! their midrank, so U moves in halves: counts are indexed by 2U. For pools too big to count,
//! the normal approximation with tie and continuity correction.

/// Counting stays exact up to this many pooled runs: every count fits a u128 (C(100, 50) is
/// about 1e29) and the table (m x 2mN) stays small.
pub const EXACT_UP_TO: usize = 100;

fn binom(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |c, i| c * (n - i) as u128 / (i as u128 + 1))
}

/// How many splits give each 2U (the index, 0..=2mn), where U counts the pairs in which one of
/// the `m` picked runs is above one of the others, ties counted half. `groups`: the sizes of
/// the runs of equal value, in value order (all 1 without ties).
pub fn counts(groups: &[usize], m: usize) -> Vec<u128> {
    let total: usize = groups.iter().sum();
    // Counted by doubled rank sum S2; 2U = S2 - m(m + 1).
    let top = m * (2 * total - m + 1);
    let mut dp = vec![vec![0u128; top + 1]; m + 1];
    dp[0][0] = 1;
    let mut first = 1;
    for &t in groups {
        let rank2 = 2 * first + t - 1;
        // Taking j of this group's t runs adds j doubled midranks, in C(t, j) ways. Higher k
        // first, so dp[k - j] is still the count before this group.
        for k in (1..=m.min(first - 1 + t)).rev() {
            let (lower, upper) = dp.split_at_mut(k);
            for j in (1..=t.min(k)).filter(|j| k - j < first) {
                let (ways, add, had) = (binom(t, j), j * rank2, k - j);
                // k - j runs of the first - 1 reach a doubled sum of at most this.
                let reach = had * (2 * (first - 1) - had + 1);
                for (dst, src) in upper[0][add..].iter_mut().zip(&lower[had][..=reach]) {
                    *dst += src * ways;
                }
            }
        }
        first += t;
    }
    let base = m * (m + 1);
    dp.swap_remove(m).split_off(base)
}

fn share(hits: u128, counts: &[u128]) -> f64 {
    hits as f64 / counts.iter().sum::<u128>() as f64
}

/// Two-sided p: the share of splits whose U lies as far from mn/2 as the observed one, or
/// farther (`u2` and the result in doubled units, so the comparison is exact).
pub fn tail(counts: &[u128], u2: usize, mn: usize) -> f64 {
    let far = |x: usize| x.abs_diff(mn);
    share(counts.iter().enumerate().filter(|(x, _)| far(*x) >= far(u2)).map(|(_, c)| c).sum(), counts)
}

/// The smallest p these sizes (and ties) can give: the share of splits as far from the middle
/// as any split can be. Without ties 2 / C(N, m).
pub fn floor(counts: &[u128], mn: usize) -> f64 {
    let reach = counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(x, _)| x.abs_diff(mn)).max().unwrap_or(0);
    tail(counts, mn + reach, mn)
}

/// erfc(x), Chebyshev fit (Numerical Recipes' erfcc): relative error below 1.2e-7.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The z with P(|Z| >= z) = p for a standard normal Z, by bisection on erfc.
pub fn z_two_sided(p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 40.0);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if erfc(mid / std::f64::consts::SQRT_2) > p {
            lo = mid
        } else {
            hi = mid
        }
    }
    (lo + hi) / 2.0
}

/// Var(U) under the null, its ties shrinking it: mn/12 ((N + 1) - sum(t^3 - t) / (N (N - 1))).
pub fn variance(m: usize, n: usize, groups: &[usize]) -> f64 {
    let (mf, nf, all) = (m as f64, n as f64, (m + n) as f64);
    let ties: f64 = groups.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    if all < 2.0 {
        return 0.0;
    }
    mf * nf / 12.0 * ((all + 1.0) - ties / (all * (all - 1.0)))
}

/// Two-sided p of U by the normal approximation, tie and continuity corrected.
pub fn normal_p(u: f64, m: usize, n: usize, groups: &[usize]) -> f64 {
    let var = variance(m, n, groups);
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - (m * n) as f64 / 2.0).abs() - 0.5).max(0.0) / var.sqrt();
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split enumerated, U counted pair by pair: what `counts` must agree with.
    fn brute(values: &[f64], m: usize) -> Vec<u128> {
        let n = values.len() - m;
        let mut out = vec![0u128; 2 * m * n + 1];
        for mask in 0u32..(1 << values.len()) {
            if mask.count_ones() as usize != m {
                continue;
            }
            let picked = |i: usize| mask & (1 << i) != 0;
            let a: Vec<f64> = (0..values.len()).filter(|i| picked(*i)).map(|i| values[i]).collect();
            let b: Vec<f64> = (0..values.len()).filter(|i| !picked(*i)).map(|i| values[i]).collect();
            let vs = |x: f64, y: f64| usize::from(x > y) * 2 + usize::from(x == y);
            let u2: usize = a.iter().map(|x| b.iter().map(|y| vs(*x, *y)).sum::<usize>()).sum();
            out[u2] += 1;
        }
        out
    }

    #[test]
    fn counts_equal_every_split_enumerated() {
        for (values, m) in [
            (vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3),
            (vec![1.0, 2.0, 2.0, 2.0, 3.0, 4.0], 3),
            (vec![1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 5.0], 4),
            (vec![7.0; 5], 2),
            (vec![1.0, 2.0, 3.0, 3.0], 1),
        ] {
            let mut groups = Vec::new();
            for (i, v) in values.iter().enumerate() {
                if i > 0 && values[i - 1] == *v {
                    *groups.last_mut().unwrap() += 1
                } else {
                    groups.push(1)
                }
            }
            assert_eq!(counts(&groups, m), brute(&values, m), "{values:?} m={m}");
        }
    }

    #[test]
    fn known_distributions() {
        // 3 vs 3 without ties: U = 0..9 in 1, 1, 2, 3, 3, 3, 3, 2, 1, 1 of the 20 splits.
        let c = counts(&[1; 6], 3);
        let by_u: Vec<u128> = c.iter().step_by(2).copied().collect();
        assert_eq!(by_u, [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
        assert!(c.iter().skip(1).step_by(2).all(|x| *x == 0), "no half U without ties");
        assert_eq!((tail(&c, 0, 9), floor(&c, 9)), (0.1, 0.1));
        // 1 vs 3 over 1, 2, 3, 3: U = 0, 1, 2.5, 2.5; the 3s reach only 1 from the middle.
        let c = counts(&[1, 1, 2], 1);
        assert_eq!((tail(&c, 0, 3), floor(&c, 3)), (0.25, 0.25));
    }

    #[test]
    fn normal_tail_and_quantile() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.959_963_985 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-8);
        assert!((z_two_sided(0.05) - 1.959_964).abs() < 1e-5);
        assert_eq!(normal_p(3.0, 2, 2, &[4]), 1.0, "all tied: no spread, no evidence");
    }
}
