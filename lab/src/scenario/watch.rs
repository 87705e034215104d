//! Watches who holds the VIPs while a scenario runs (every 100 ms): the holder timeline, and
//! split brain (one VIP on two members at once).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::lab::Lab;
use crate::measure::clock::now_ns;
use crate::stack::ready;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// (t_ns, members holding at least one VIP) at every change.
    pub holders: Vec<(u64, Vec<String>)>,
    /// For each change, when the round before it had its answers: the change happened between
    /// the two stamps (0: no round before).
    pub since: Vec<u64>,
    /// Intervals (start_ns, end_ns) during which a VIP was on two members at once.
    pub overlaps: Vec<(u64, u64)>,
}

/// A VIP on two members for longer than this is split brain; shorter overlaps are the normal
/// handover transient of a takeover (VRRP preemption), reported but not called split brain.
pub const SPLIT_BRAIN_MS: f64 = 1000.0;

impl Timeline {
    /// The longest time a VIP was held by two members at once, in ms.
    pub fn max_overlap_ms(&self) -> f64 {
        self.overlaps.iter().map(|(a, b)| crate::measure::clock::ms_between(*a, *b)).fold(0.0, f64::max)
    }
}

pub struct Watcher {
    stop: Arc<AtomicBool>,
    data: Arc<Mutex<Timeline>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(st: &Lab) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let data = Arc::new(Mutex::new(Timeline::default()));
        let (st, s2, d2) = (st.clone(), stop.clone(), data.clone());
        let handle = std::thread::spawn(move || {
            let Some(cl) = st.plan.cluster.clone() else { return };
            let mut last = 0;
            while !s2.load(Ordering::Relaxed) {
                let mut holders = Vec::new();
                let mut seen = BTreeSet::new();
                let mut split = false;
                for m in &cl.members {
                    if !&st.running(m) {
                        continue;
                    }
                    let Ok(n) = st.node(m) else { continue };
                    let held = ready::vips_held(&n, &cl).unwrap_or_default();
                    if !held.is_empty() {
                        holders.push(m.clone());
                    }
                    for a in held {
                        split |= !seen.insert(a);
                    }
                }
                // Stamped when the round has its answers, not when it began: on VMs a round can
                // take seconds (SSH to a dying VM hangs), and a start stamp dated a VIP on the
                // survivor 65 ms after a crash it took 2.7 s to notice. A change is now dated at
                // most one round late, never early.
                let t = now_ns();
                if let Ok(mut d) = d2.lock() {
                    if d.holders.last().map(|x| &x.1) != Some(&holders) {
                        d.holders.push((t, holders));
                        d.since.push(last);
                    }
                    // An overlap lasts from the first sample that saw it to the first that did not.
                    match (split, d.overlaps.last_mut()) {
                        (true, Some(last)) if last.1 == u64::MAX => {}
                        (true, _) => d.overlaps.push((t, u64::MAX)),
                        (false, Some(last)) if last.1 == u64::MAX => last.1 = t,
                        (false, _) => {}
                    }
                }
                last = t;
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Watcher { stop, data, handle: Some(handle) }
    }

    pub fn current(&self) -> Timeline {
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn finish(mut self) -> Timeline {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let mut t = self.current();
        let now = now_ns();
        for o in t.overlaps.iter_mut().filter(|o| o.1 == u64::MAX) {
            o.1 = now;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_longer_than_a_second_are_split_brain() {
        let t = Timeline { holders: vec![], since: vec![], overlaps: vec![(0, 110_000_000), (2_000_000_000, 3_500_000_000)] };
        assert_eq!(t.max_overlap_ms(), 1500.0);
        assert!(t.max_overlap_ms() > SPLIT_BRAIN_MS);
        let handover = Timeline { holders: vec![], since: vec![], overlaps: vec![(0, 110_000_000)] };
        assert!(handover.max_overlap_ms() < SPLIT_BRAIN_MS, "a takeover's handover transient is not split brain");
    }
}
