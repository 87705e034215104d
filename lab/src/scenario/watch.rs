//! Watches who holds the VIPs while a scenario runs: the holder timeline, and split brain (one
//! VIP on two members at once). Each member is asked every 100 ms by its own thread, so a
//! member that does not answer (a frozen or dying machine) delays only its own answers, never
//! what the others report: the survivor's takeover is seen when it happens.

use std::collections::BTreeMap;
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
    /// Intervals (start_ns, end_ns) during which a VIP was on two members at once, as both
    /// members' own answers prove it (see `Answers::overlaps`).
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

/// Two answers of one member that both show a VIP prove it held the VIP in between only if
/// they are at most this far apart: a longer silence is a frozen, powered-off or unreachable
/// machine whose last answer says nothing about the time since.
const CONTINUOUS_MS: u64 = 2000;

/// One member holding one VIP, from the first answer that showed it to the last one (answers
/// at most `CONTINUOUS_MS` apart).
#[derive(Debug, Clone, PartialEq)]
struct Run {
    member: String,
    vip: Ipv4Addr,
    start: u64,
    last: u64,
    open: bool,
}

/// Every member's last answer, and the timeline they make.
#[derive(Default)]
struct Answers {
    /// How many members there are: the timeline starts once each has answered.
    members: usize,
    /// member -> (when it last answered, the VIPs it held then)
    last: BTreeMap<String, (u64, Vec<Ipv4Addr>)>,
    runs: Vec<Run>,
    timeline: Timeline,
}

impl Answers {
    /// A member answered at `t`. A member that is off or whose query failed holds nothing; one
    /// whose query is still out keeps its last answer for `CONTINUOUS_MS`, then holds nothing.
    fn answer(&mut self, member: &str, t: u64, held: Vec<Ipv4Addr>) {
        self.track_runs(member, t, &held);
        let before = self.last.insert(member.to_string(), (t, held)).map_or(0, |(b, _)| b);
        if self.last.len() < self.members {
            return;
        }
        // A member silent for longer than CONTINUOUS_MS (powered off, frozen, unreachable while
        // its query is out) holds nothing as far as anyone can tell: its clients get no answer.
        let heard = |m: &str, at: u64| m == member || t.saturating_sub(at) <= CONTINUOUS_MS * 1_000_000;
        let holders: Vec<String> = self.last.iter().filter(|(m, (at, held))| !held.is_empty() && heard(m, *at)).map(|(m, _)| m.clone()).collect();
        let d = &mut self.timeline;
        if d.holders.last().map(|x| &x.1) != Some(&holders) {
            // Stamped when the answer came, not when it was asked: on VMs a query can take
            // seconds, and a change is then dated at most one query late, never early.
            d.holders.push((t, holders));
            d.since.push(before);
        }
    }

    /// Extends or starts `member`'s runs for the VIPs it holds at `t` and ends the others.
    fn track_runs(&mut self, member: &str, t: u64, held: &[Ipv4Addr]) {
        for r in self.runs.iter_mut().filter(|r| r.open && r.member == member) {
            let continues = held.contains(&r.vip) && t.saturating_sub(r.last) <= CONTINUOUS_MS * 1_000_000;
            if continues {
                r.last = t;
            } else {
                r.open = false;
            }
        }
        for vip in held {
            if !self.runs.iter().any(|r| r.open && r.member == member && r.vip == *vip) {
                self.runs.push(Run { member: member.to_string(), vip: *vip, start: t, last: t, open: true });
            }
        }
    }

    /// A VIP was on two members at once where both members' runs for it overlap: from the
    /// later first answer to the earlier last answer. A member's last answer stands for nothing
    /// while its query is out, so a machine that stopped answering (powered off, frozen) is
    /// never counted as holding the VIP its survivor has taken: that would be the watcher's
    /// blindness, not split brain on the wire.
    fn overlaps(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for (i, a) in self.runs.iter().enumerate() {
            for b in self.runs[i + 1..].iter().filter(|b| b.vip == a.vip && b.member != a.member) {
                let (s, e) = (a.start.max(b.start), a.last.min(b.last));
                if e > s {
                    out.push((s, e));
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn timeline(&self) -> Timeline {
        Timeline { overlaps: self.overlaps(), ..self.timeline.clone() }
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
        self.data.lock().map(|d| d.timeline()).unwrap_or_default()
    }

    pub fn finish(mut self) -> Timeline {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
        self.current()
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
        a.answer("fw1", 5000, vec![]);
        assert_eq!(a.timeline.holders.last(), Some(&(5000, vec!["fw2".to_string()])));
        assert!(a.timeline().overlaps.is_empty(), "fw1's stale answer proves no overlap: {:?}", a.timeline().overlaps);
    }

    /// Both members answer every 100 ms for 1.5 s with the VIP: split brain, dated by their answers.
    #[test]
    fn two_members_answering_with_one_vip_overlap_for_as_long_as_both_answers_show_it() {
        let vip: Ipv4Addr = "198.18.1.1".parse().unwrap();
        let ms = 1_000_000u64;
        let mut a = Answers { members: 2, ..Default::default() };
        for i in 0..=15u64 {
            a.answer("fw1", i * 100 * ms, vec![vip]);
            a.answer("fw2", (i * 100 + 50) * ms, if i >= 2 { vec![vip] } else { vec![] });
        }
        a.answer("fw1", 1600 * ms, vec![]);
        a.answer("fw2", 1650 * ms, vec![vip]);
        let t = a.timeline();
        assert_eq!(t.overlaps, vec![(250 * ms, 1500 * ms)]);
        assert!(t.max_overlap_ms() > SPLIT_BRAIN_MS);
    }

    /// A frozen member that thaws still holding the VIP overlaps only from its first answer after
    /// the thaw: its silence proves nothing.
    #[test]
    fn a_thawed_member_overlaps_from_its_first_answer_after_the_silence() {
        let vip: Ipv4Addr = "198.18.1.1".parse().unwrap();
        let ms = 1_000_000u64;
        let mut a = Answers { members: 2, ..Default::default() };
        a.answer("fw1", 0, vec![vip]);
        for i in 1..=80u64 {
            a.answer("fw2", i * 100 * ms, if i >= 30 { vec![vip] } else { vec![] });
        }
        a.answer("fw1", 8000 * ms, vec![vip]);
        a.answer("fw1", 8100 * ms, vec![vip]);
        a.answer("fw2", 8150 * ms, vec![vip]);
        a.answer("fw1", 8200 * ms, vec![]);
        assert_eq!(a.timeline().overlaps, vec![(8000 * ms, 8100 * ms)]);
    }

    /// A member whose query is out for longer than CONTINUOUS_MS (a powered-off VM) stops
    /// counting as a holder at the next answer of another: the survivor alone holds the VIP.
    #[test]
    fn a_silent_member_stops_holding_after_the_continuity_bound() {
        let vip: Ipv4Addr = "198.18.1.1".parse().unwrap();
        let ms = 1_000_000u64;
        let mut a = Answers { members: 2, ..Default::default() };
        a.answer("fw1", 0, vec![vip]);
        a.answer("fw2", 50 * ms, vec![]);
        a.answer("fw2", 1500 * ms, vec![vip]);
        assert_eq!(a.timeline.holders.last(), Some(&(1500 * ms, vec!["fw1".to_string(), "fw2".to_string()])));
        a.answer("fw2", 2100 * ms, vec![vip]);
        assert_eq!(a.timeline.holders.last(), Some(&(2100 * ms, vec!["fw2".to_string()])));
        assert!(a.timeline().overlaps.is_empty());
    }
}
