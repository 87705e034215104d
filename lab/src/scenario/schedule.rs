//! Waits written as a range (`wait: 3s..4s`) are drawn per run from the run's own seed. The
//! stacks run periodic timers (a VRRP advert every second, monitor intervals, the corosync
//! token), so a failover gap depends on where in that period the fault falls; every run of a
//! bench starts a fresh lab, and a fixed wait would hit nearly the same phase every time. A
//! range samples the phase. The run seed derives from `--seed`, the scenario, the stack and
//! the repeat, and is recorded with every drawn value, so a run can be replayed exactly.
//! The repeats of one bench cell are stratified: repeat r of n draws within the r-th n-th of
//! the range, so six runs cover the whole advert cycle instead of, by chance, one corner of it
//! (independent draws left six waits within 216 ms of a 1 s range in one early bench).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::plan::Step;

/// One wait drawn for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    /// The step, counted from 1 as progress lines show it.
    pub step: usize,
    pub min_ms: f64,
    pub max_ms: f64,
    pub value_ms: f64,
    /// The slice of the range this repeat drew in: `[k, n]` = the k-th n-th (1-based).
    #[serde(default)]
    pub slice: [u32; 2],
}

/// The seed of one run: the same (`--seed`, scenario, stack, repeat) always gives the same one.
pub fn run_seed(seed: u64, scenario: &str, stack: &str, repeat: u32) -> u64 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("halab-run/{seed}/{scenario}/{stack}/{repeat}").as_bytes());
    h.iter().take(8).fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// splitmix64: small, well mixed, and the same on every machine (no dependency to pin).
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Draw every ranged wait of `steps` for repeat `repeat` of `repeats` (from 1) with this run
/// seed, in step order: uniform within the repeat's slice of the range.
pub fn draw(steps: &[Step], run_seed: u64, repeat: u32, repeats: u32) -> Vec<Drawn> {
    let n = repeats.max(1);
    let k = (repeat.max(1) - 1) % n;
    let mut rng = SplitMix(run_seed);
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if let Step::Wait { min, max } = s {
            if max > min {
                let span = (*max - *min).as_secs_f64();
                let value = min.as_secs_f64() + span * (f64::from(k) + rng.unit()) / f64::from(n);
                // Whole milliseconds: what the record shows is exactly what ran.
                let ms = (value * 1000.0).round();
                out.push(Drawn { step: i + 1, min_ms: min.as_secs_f64() * 1e3, max_ms: max.as_secs_f64() * 1e3, value_ms: ms, slice: [k + 1, n] });
            }
        }
    }
    out
}

/// How long step `step` (from 1) waits in this run: its drawn value, or its fixed length.
pub fn wait_of(drawn: &[Drawn], step: usize, min: Duration) -> Duration {
    drawn.iter().find(|d| d.step == step).map(|d| Duration::from_secs_f64(d.value_ms / 1e3)).unwrap_or(min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<Step> {
        vec![
            Step::Wait { min: Duration::from_secs(1), max: Duration::from_secs(1) },
            Step::Wait { min: Duration::from_secs(3), max: Duration::from_secs(4) },
            Step::Stop("probe".into()),
            Step::Wait { min: Duration::from_millis(100), max: Duration::from_millis(900) },
        ]
    }

    #[test]
    fn the_same_seed_draws_the_same_schedule_and_another_seed_another() {
        let a = draw(&steps(), run_seed(7, "crash", "keepalived", 1), 1, 1);
        assert_eq!(a, draw(&steps(), run_seed(7, "crash", "keepalived", 1), 1, 1));
        assert_eq!(a.iter().map(|d| d.step).collect::<Vec<_>>(), vec![2, 4], "only ranges are drawn");
        for (other, why) in [
            (run_seed(8, "crash", "keepalived", 1), "seed"),
            (run_seed(7, "crash", "keepalived", 2), "repeat"),
            (run_seed(7, "crash", "pacemaker", 1), "stack"),
        ] {
            assert_ne!(a, draw(&steps(), other, 1, 1), "another {why}, another schedule");
        }
        assert_eq!(wait_of(&a, 1, Duration::from_secs(1)), Duration::from_secs(1), "a fixed wait is its length");
        assert_eq!(wait_of(&a, 2, Duration::from_secs(3)).as_secs_f64() * 1e3, a[0].value_ms);
    }

    #[test]
    fn draws_stay_in_their_range_and_cover_it() {
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for seed in 0..2000 {
            for d in draw(&steps(), run_seed(seed, "s", "keepalived", 1), 1, 1) {
                assert!(d.value_ms >= d.min_ms && d.value_ms <= d.max_ms, "{d:?}");
                if d.step == 2 {
                    lo = lo.min(d.value_ms);
                    hi = hi.max(d.value_ms);
                }
            }
        }
        assert!(lo < 3010.0 && hi > 3990.0, "2000 draws cover 3-4 s: {lo}-{hi}");
    }

    #[test]
    fn the_repeats_of_a_cell_each_draw_in_their_own_slice() {
        for seed in 0..200 {
            let v: Vec<f64> = (1..=6).map(|r| draw(&steps(), run_seed(seed, "s", "keepalived", r), r, 6)[0].value_ms).collect();
            for (i, x) in v.iter().enumerate() {
                let lo = 3000.0 + 1000.0 * i as f64 / 6.0;
                assert!(*x >= lo.floor() && *x <= (lo + 1000.0 / 6.0).ceil(), "repeat {} drew {x}", i + 1);
            }
        }
        assert_eq!(draw(&steps(), 5, 8, 6)[0].slice, [2, 6], "repeat 8 of 6 wraps to the second slice");
    }
}
