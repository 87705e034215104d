//! Watches who holds the VIPs while a scenario runs: the holder timeline, and split brain (one
//! VIP on two members at once). Each member is asked every 100 ms by its own thread, so a
//! member that does not answer (a frozen or dying machine) delays only its own answers, never
//! what the others report: the survivor's takeover is seen when it happens.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
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
    /// For each change, when the member whose answer made it had answered before: the change
    /// happened between the two stamps (0: no answer before).
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

/// Every member's last answer, and the timeline they make.
#[derive(Default)]
struct Answers {
    /// How many members there are: the timeline starts once each has answered.
    members: usize,
    /// member -> (when it last answered, the VIPs it held then)
    last: BTreeMap<String, (u64, Vec<Ipv4Addr>)>,
    timeline: Timeline,
}

impl Answers {
    /// A member answered at `t`. A member that is off or whose query failed holds nothing; one
    /// whose query is still out keeps its last answer.
    fn answer(&mut self, member: &str, t: u64, held: Vec<Ipv4Addr>) {
        let before = self.last.insert(member.to_string(), (t, held)).map_or(0, |(b, _)| b);
        if self.last.len() < self.members {
            return;
        }
        let mut holders = Vec::new();
        let mut seen = BTreeSet::new();
        let mut split = false;
        for (m, (_, held)) in &self.last {
            if !held.is_empty() {
                holders.push(m.clone());
            }
            for a in held {
                split |= !seen.insert(*a);
            }
        }
        let d = &mut self.timeline;
        if d.holders.last().map(|x| &x.1) != Some(&holders) {
            // Stamped when the answer came, not when it was asked: on VMs a query can take
            // seconds, and a change is then dated at most one query late, never early.
            d.holders.push((t, holders));
            d.since.push(before);
        }
        // An overlap lasts from the first answer that showed it to the first that did not.
        match (split, d.overlaps.last_mut()) {
            (true, Some(last)) if last.1 == u64::MAX => {}
            (true, _) => d.overlaps.push((t, u64::MAX)),
            (false, Some(last)) if last.1 == u64::MAX => last.1 = t,
            (false, _) => {}
        }
    }
}

pub struct Watcher {
    stop: Arc<AtomicBool>,
    data: Arc<Mutex<Answers>>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(st: &Lab) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let members = st.plan.cluster.as_ref().map_or(0, |c| c.members.len());
        let data = Arc::new(Mutex::new(Answers { members, ..Default::default() }));
        let Some(cl) = st.plan.cluster.clone() else { return Watcher { stop, data, handles: vec![] } };
        let handles = cl
            .members
            .iter()
            .map(|m| {
                let (st, cl, m, stop, data) = (st.clone(), cl.clone(), m.clone(), stop.clone(), data.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let held = if st.running(&m) { st.node(&m).and_then(|n| ready::vips_held(&n, &cl)).unwrap_or_default() } else { vec![] };
                        let t = now_ns();
                        if let Ok(mut d) = data.lock() {
                            d.answer(&m, t, held);
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
            })
            .collect();
        Watcher { stop, data, handles }
    }

    pub fn current(&self) -> Timeline {
        self.data.lock().map(|d| d.timeline.clone()).unwrap_or_default()
    }

    pub fn finish(mut self) -> Timeline {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
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

    #[test]
    fn a_member_that_does_not_answer_delays_only_its_own_answers() {
        let vip: Ipv4Addr = "198.18.1.1".parse().unwrap();
        let mut a = Answers { members: 2, ..Default::default() };
        a.answer("fw2", 10, vec![]);
        assert!(a.timeline.holders.is_empty(), "the timeline starts once every member has answered");
        a.answer("fw1", 20, vec![vip]);
        // fw1 is frozen from here: its query is out, its last answer stands.
        a.answer("fw2", 110, vec![]);
        a.answer("fw2", 210, vec![vip]);
        let t = &a.timeline;
        assert_eq!(t.holders, vec![(20, vec!["fw1".to_string()]), (210, vec!["fw1".to_string(), "fw2".to_string()])]);
        assert_eq!(t.since, vec![0, 110], "the takeover happened after fw2's previous answer");
        assert_eq!(t.overlaps, vec![(210, u64::MAX)], "both members hold the VIP");
        a.answer("fw1", 5000, vec![]);
        assert_eq!(a.timeline.overlaps, vec![(210, 5000)]);
        assert_eq!(a.timeline.holders.last(), Some(&(5000, vec!["fw2".to_string()])));
    }
}
