//! The stacks' own transitions, as their hooks wrote them on each member: keepalived's notify
//! FIFO reader (`keepalived/notify.rs`) and pacemaker's alert agent (`pacemaker/alert.rs`),
//! one line per event, `<wall-clock ns> <what>`, in `LOG`. Collected after a run and moved
//! onto the host's monotonic clock (the one every other timestamp uses), they time detection
//! from the stack's own reaction instead of polling the VIPs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lab::Lab;
use crate::node::ClockReading;
use crate::topology::PlanCluster;

pub const LOG: &str = "/var/log/halab/ha-events.log";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StackEvent {
    /// Host CLOCK_MONOTONIC, ns (the run's clock).
    pub t_ns: u64,
    pub node: String,
    /// The line as the hook wrote it, after the stamp: `INSTANCE "vi_lan" MASTER 150`,
    /// `node fw1 - - lost`.
    pub what: String,
}

/// Every running member's clock reading, by name (taken before the steps, to bound the drift).
pub fn clocks(lab: &Lab, cl: &PlanCluster) -> BTreeMap<String, ClockReading> {
    cl.members.iter().filter(|m| lab.running(m)).filter_map(|m| Some((m.clone(), lab.node(m).ok()?.clock().ok()?))).collect()
}

/// Every running member's events, sorted by time, and how far off each member's times may be,
/// in ms: the error of the clock read that moved its stamps onto the host clock (half its round
/// trip, 0 on netns) plus how much its wall clock moved against the host's since `at_start`
/// (a TCG guest's clock drifts; a rebooted guest's restarts from its RTC, whole seconds). A
/// member that is off is skipped.
pub fn collect(lab: &Lab, cl: &PlanCluster, at_start: &BTreeMap<String, ClockReading>) -> (Vec<StackEvent>, BTreeMap<String, f64>) {
    let mut all = Vec::new();
    let mut bounds = BTreeMap::new();
    for m in cl.members.iter().filter(|m| lab.running(m)) {
        let Ok(node) = lab.node(m) else { continue };
        let Ok(clock) = node.clock() else { continue };
        let drift = at_start.get(m).map_or(0, |s| (clock.shift_ns - s.shift_ns).unsigned_abs());
        bounds.insert(m.clone(), (u128::from(clock.error_ns) + drift) as f64 / 1e6);
        if let Ok(text) = node.sh(&format!("cat {LOG} 2>/dev/null || true")) {
            all.extend(text.lines().filter_map(|l| parse(l, clock.shift_ns, m)));
        }
    }
    all.sort_by_key(|e| e.t_ns);
    (all, bounds)
}

/// `<wall ns> <what>` -> an event at `wall - shift` on the host clock.
fn parse(line: &str, shift: i128, node: &str) -> Option<StackEvent> {
    let (stamp, what) = line.split_once(' ')?;
    let t = stamp.parse::<i128>().ok()? - shift;
    Some(StackEvent { t_ns: u64::try_from(t).ok()?, node: node.to_string(), what: what.trim().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_moves_onto_the_host_clock() {
        // Wall clock 1_000 s ahead of the node's monotonic one, node 5 ms ahead of the host.
        let shift = 1_000_000_000_000 + 5_000_000;
        let e = parse("1007000000000 INSTANCE \"vi_lan\" MASTER 150", shift, "fw2").unwrap();
        assert_eq!(e.t_ns, 6_995_000_000);
        assert_eq!(e.what, "INSTANCE \"vi_lan\" MASTER 150");
        assert!(parse("garbage", 0, "fw2").is_none());
        assert!(parse("5 before the clock started", 10, "fw2").is_none());
    }
}
