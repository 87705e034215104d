//! Is a difference between two stacks beyond run-to-run noise? A two-sided permutation test on
//! the difference of medians: exact when the samples are small, else 20 000 seeded shuffles.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub p_value: f64,
    /// The smallest p this test can give with these sample sizes (n = 3 vs 3 can never go
    /// below 0.10, so it can never call a difference significant at 0.05).
    pub min_p: f64,
    pub beyond_noise: bool,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn stat(all: &[f64], pick: impl Fn(usize) -> bool) -> f64 {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, x) in all.iter().enumerate() {
        if pick(i) {
            a.push(*x)
        } else {
            b.push(*x)
        }
    }
    (median(&mut a) - median(&mut b)).abs()
}

/// xorshift64*: small, seeded, good enough for shuffles.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

pub fn permutation_test(a: &[f64], b: &[f64], alpha: f64, seed: u64) -> Option<Comparison> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let all: Vec<f64> = a.iter().chain(b).copied().collect();
    let (na, n) = (a.len(), all.len());
    let observed = stat(&all, |i| i < na) - 1e-12;
    let (mut hits, mut total) = (0u64, 0u64);
    if n <= 20 {
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize == na {
                total += 1;
                if stat(&all, |i| mask & (1 << i) != 0) >= observed {
                    hits += 1;
                }
            }
        }
    } else {
        let mut rng = Rng(seed.wrapping_add(0x9e37_79b9_7f4a_7c15) | 1);
        let mut idx: Vec<usize> = (0..n).collect();
        for _ in 0..20_000 {
            for i in (1..n).rev() {
                idx.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            total += 1;
            let chosen: std::collections::HashSet<usize> = idx[..na].iter().copied().collect();
            if stat(&all, |i| chosen.contains(&i)) >= observed {
                hits += 1;
            }
        }
    }
    let p_value = hits as f64 / total as f64;
    // Two arrangements (the observed one and its mirror) always reach the observed statistic.
    let min_p = if n <= 20 { (2.0 / total as f64).min(1.0) } else { 1.0 / total as f64 };
    Some(Comparison { p_value, min_p, beyond_noise: p_value < alpha })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_difference_and_noise() {
        let a = [3.2, 3.3, 3.2, 3.4, 3.3, 3.2];
        let b = [7.0, 7.1, 6.9, 7.2, 7.0, 7.1];
        let c = permutation_test(&a, &b, 0.05, 1).unwrap();
        assert!(c.beyond_noise && c.p_value < 0.05, "{c:?}");
        let d = permutation_test(&[3.2, 3.5, 3.3], &[3.4, 3.2, 3.3], 0.05, 1).unwrap();
        assert!(!d.beyond_noise, "{d:?}");
    }

    #[test]
    fn three_against_three_can_never_be_significant() {
        let c = permutation_test(&[1.0, 1.1, 1.2], &[9.0, 9.1, 9.2], 0.05, 1).unwrap();
        assert!((c.min_p - 0.1).abs() < 1e-9 && c.p_value >= 0.1, "{c:?}");
        assert!(!c.beyond_noise);
    }

    #[test]
    fn large_samples_use_seeded_shuffles() {
        let a: Vec<f64> = (0..15).map(|i| 3.0 + i as f64 * 0.01).collect();
        let b: Vec<f64> = (0..15).map(|i| 5.0 + i as f64 * 0.01).collect();
        let c1 = permutation_test(&a, &b, 0.05, 7).unwrap();
        let c2 = permutation_test(&a, &b, 0.05, 7).unwrap();
        assert_eq!(c1.p_value, c2.p_value, "same seed, same answer");
        assert!(c1.beyond_noise);
    }
}
