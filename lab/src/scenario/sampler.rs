//! halab's own sampler: a thread on the host that wakes every 10 ms while a run's steps
//! execute and records how late each wake came. Every run then has a starvation figure,
//! whether it runs a probe or not (`sampler_tick_late_p99`): the same kind of wake-up as the
//! probe's ticks, and as halab's own threads that stamp faults, VIP polls and stack events.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::measure::clock::figure;
use crate::measure::metrics::{run as rm, Metrics};
use crate::measure::stats::percentile;

pub const EVERY: Duration = Duration::from_millis(10);

/// Its raw samples, beside the probe's: how many wakes came how late (ms, to 0.1 ms, the
/// resolution the figures are kept to, so they recompute exactly from this file).
pub const SAMPLES: &str = "sampler.json";

pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<f64>>>,
}

impl Sampler {
    pub fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut late = Vec::new();
            let mut next = Instant::now() + EVERY;
            while !s2.load(Ordering::Relaxed) {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                let woke = Instant::now();
                late.push(figure(woke.saturating_duration_since(next).as_secs_f64() * 1000.0));
                // After a stall longer than a tick the schedule restarts from the wake: one late
                // wake, not a burst of catch-up wakes that would each look on time.
                next = if next + EVERY <= woke { woke + EVERY } else { next + EVERY };
            }
            late
        });
        Sampler { stop, handle: Some(handle) }
    }

    /// Stop it: the lateness of every wake, ms.
    pub fn finish(mut self) -> Vec<f64> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `sampler_tick_late_p99`, `sampler_tick_late_max` (ms), and the counts behind them in
/// `samples/sampler.json`.
pub fn put(m: &mut Metrics, late: &[f64], samples: &Path) -> Result<()> {
    if let Some(p) = percentile(late, 99.0) {
        m.put(&rm::SAMPLER_TICK_LATE_P99, p);
    }
    if let Some(x) = late.iter().copied().reduce(f64::max) {
        m.put(&rm::SAMPLER_TICK_LATE_MAX, x);
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for x in late {
        *counts.entry(format!("{x:.1}")).or_default() += 1;
    }
    std::fs::create_dir_all(samples)?;
    let raw = serde_json::json!({ "every_ms": EVERY.as_millis() as u64, "late_ms_counts": counts });
    std::fs::write(samples.join(SAMPLES), serde_json::to_vec(&raw)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sampler wakes every 10 ms (fewer wakes when the box is busy: tests run beside labs).
    #[test]
    fn it_wakes_every_10_ms_and_stops() {
        let s = Sampler::start();
        std::thread::sleep(Duration::from_millis(300));
        let late = s.finish();
        assert!((3..=31).contains(&late.len()), "{} wakes in 300 ms", late.len());
        assert!(late.iter().all(|x| *x >= 0.0), "{late:?}");
    }

    /// The figures recompute exactly from the counts written.
    #[test]
    fn the_figures_recompute_from_the_counts() {
        let late: Vec<f64> = (1..=200).map(|i| f64::from(i) / 10.0).chain([250.0]).collect();
        let dir = std::env::temp_dir().join(format!("halab-sampler-{}", std::process::id()));
        let mut m = Metrics::default();
        put(&mut m, &late, &dir).unwrap();
        assert_eq!(m.f64(&rm::SAMPLER_TICK_LATE_MAX), Some(250.0));
        assert_eq!(m.f64(&rm::SAMPLER_TICK_LATE_P99), Some(19.9));
        let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(SAMPLES)).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let back: Vec<f64> = raw["late_ms_counts"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(k, n)| std::iter::repeat_n(k.parse::<f64>().unwrap(), n.as_u64().unwrap() as usize))
            .collect();
        assert_eq!(back.len(), late.len());
        assert_eq!(percentile(&back, 99.0), m.f64(&rm::SAMPLER_TICK_LATE_P99));
    }
}
