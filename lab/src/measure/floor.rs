//! The protocol's floor under a failover: what the stack must wait by its own rules before any
//! member may act, from the lab's settings. A report puts it beside the measured numbers, so
//! "measured minus floor" is the stack's own work (noticing, deciding, moving the addresses).
//!
//! - VRRP (RFC 5798, keepalived): a backup declares the master down after `3 x advert_int +
//!   skew`, skew = (256 - its priority) x advert_int / 256 (VRRPv2: (256 - priority) / 256 s,
//!   not scaled). In a sync group a backup goes MASTER only when every instance of the group
//!   wants to (keepalived vrrp_sync_can_goto_master): a cable pull sends priority 0 on the links
//!   still up, but the instance on the pulled link still waits its full timer, so the floor is
//!   the same as a crash's.
//! - corosync: a silent member is lost after the token (lengthened by 650 ms per member beyond
//!   two) and a new membership forms within consensus: token + consensus.
//! - pacemaker with fencing: the member that ran the resources is fenced only after
//!   priority-fencing-delay (and a random pcmk_delay_max, whose floor is 0).
//! A planned move (switchover, failback) and pacemaker's carrier monitor (ethmonitor, polled)
//! wait for no protocol timer: no floor.

use crate::topology::{PlanCluster, Stack};

#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    pub ms: f64,
    /// How it is made up, in the settings' own words.
    pub basis: String,
}

/// Faults after which the survivors learn of the loss only by silence.
fn silent(kind: &str) -> bool {
    matches!(kind, "crash" | "freeze" | "heartbeat_partition" | "power_off" | "kill_daemon")
}

/// The floor of the gap after the first fault `kind`, `holder` holding the VIPs at the fault.
pub fn floor(cl: &PlanCluster, kind: &str, holder: Option<&str>) -> Option<Floor> {
    match cl.stack {
        Stack::Keepalived if silent(kind) || kind == "cable_pull" => Some(vrrp(cl, holder)),
        Stack::Pacemaker if silent(kind) => {
            let co = &cl.corosync;
            let token = co.token_ms + 650 * (cl.members.len().saturating_sub(2) as u32);
            let mut f = Floor { ms: f64::from(token + co.consensus_ms), basis: format!("corosync token {token} ms + consensus {} ms", co.consensus_ms) };
            // The fenced one is the holder after a crash: its fencing waits the priority delay.
            let fenced_first = matches!(kind, "crash" | "freeze" | "power_off" | "kill_daemon");
            if cl.fencing.on(cl.stack) && fenced_first && cl.fencing.priority_delay_ms > 0 {
                f.ms += f64::from(cl.fencing.priority_delay_ms);
                f.basis += &format!(" + priority-fencing-delay {} ms", cl.fencing.priority_delay_ms);
            }
            Some(f)
        }
        _ => None,
    }
}

/// The master-down interval of the backup that takes over (the highest priority but the holder's).
fn vrrp(cl: &PlanCluster, holder: Option<&str>) -> Floor {
    let k = &cl.keepalived;
    let prio = k.priorities.iter().filter(|(m, _)| Some(m.as_str()) != holder).map(|(_, p)| *p).max().unwrap_or(100);
    let a = f64::from(k.advert_int_ms);
    let skew = if k.version == 2 { f64::from(256 - prio) * 1000.0 / 256.0 } else { f64::from(256 - prio) * a / 256.0 };
    Floor { ms: 3.0 * a + skew, basis: format!("3 x advert_int {} ms + skew {:.0} ms (backup priority {prio}, VRRPv{})", k.advert_int_ms, skew, k.version) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(stack: Stack) -> PlanCluster {
        let t = "name: f\nnetworks: { lan: { subnet: 198.18.1.0/24 }, sync: { subnet: 198.18.2.0/24 } }\nnodes:\n  a: { interfaces: { lan: 198.18.1.11, sync: 198.18.2.11 } }\n  b: { interfaces: { lan: 198.18.1.12, sync: 198.18.2.12 } }\ncluster:\n  members: [a, b]\n  vips: { lan: 198.18.1.1 }\n  sync: { network: sync }\n  fencing: { method: halab }\n";
        let mut plan = crate::topology::load_str(std::path::Path::new("f.yaml"), t, None).expect("a valid topology");
        plan.set_stack(stack).expect("the stack fits");
        plan.cluster.expect("a cluster")
    }

    #[test]
    fn the_floors_follow_the_settings() {
        let k = floor(&cluster(Stack::Keepalived), "crash", Some("a")).unwrap();
        // Backup b has priority 100: skew = 156/256 x 1000 ms.
        assert!((k.ms - 3609.375).abs() < 1e-6, "{k:?}");
        assert_eq!(floor(&cluster(Stack::Keepalived), "cable_pull", Some("a")).unwrap().ms, k.ms);
        let p = floor(&cluster(Stack::Pacemaker), "crash", Some("a")).unwrap();
        assert_eq!(p.ms, 3000.0 + 3600.0 + 2000.0, "{p:?}");
        assert_eq!(floor(&cluster(Stack::Pacemaker), "heartbeat_partition", Some("a")).unwrap().ms, 6600.0);
        assert!(floor(&cluster(Stack::Pacemaker), "cable_pull", Some("a")).is_none());
        assert!(floor(&cluster(Stack::Keepalived), "switchover", Some("a")).is_none());
    }
}
