//! The protocol's floor under a failover: the least the stack must wait by its own rules after
//! the fault before any member may act, from the lab's settings. A report puts it beside the
//! measured numbers, so "measured minus floor" is the stack's own work (noticing, deciding,
//! moving the addresses) plus where in the protocol's cycle the fault fell.
//!
//! - VRRP (RFC 5798, keepalived): a backup declares the master down `3 x advert_int + skew`
//!   after the last advert it heard, skew = (256 - its priority) x advert_int / 256 (VRRPv2:
//!   (256 - priority) / 256 s, not scaled). That advert came up to one interval before the
//!   fault, so after the fault the wait is between `2 x advert_int + skew` (the floor) and
//!   `3 x advert_int + skew`. In a sync group a backup goes MASTER only when every instance of the group
//!   wants to (keepalived vrrp_sync_can_goto_master): a cable pull sends priority 0 on the links
//!   still up, but the instance on the pulled link still waits its full timer, so the floor is
//!   the same as a crash's. With one instance advertising over another network (`adverts`),
//!   the master's FAULT reaches the backup as priority 0 and the floor is the skew alone.
//! - corosync: a silent member is lost after the token (lengthened by 650 ms per member beyond
//!   two) and a new membership forms within consensus: token + consensus after the last token
//!   the survivor held, which an idle ring passes on only after its hold time
//!   (token / 4.2 x 0.8 - 10 ms, corosync's default): the floor is token + consensus - hold.
//! - pacemaker with fencing: the member that ran the resources is fenced only after
//!   priority-fencing-delay (and a random pcmk_delay_max, whose floor is 0).
//!
//! A planned move (switchover, failback) and pacemaker's carrier monitor (ethmonitor, polled)
//! wait for no protocol timer: no floor.

use crate::topology::{PlanCluster, Stack};

#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    pub ms: f64,
    /// How it is made up, in the settings' own words.
    pub basis: String,
}

/// Faults after which the VIPs must move and the survivors learn of it only by the protocol:
/// silence (a crash, a freeze; keepalived killed) or, for keepalived, a pulled cable. A
/// heartbeat partition moves nothing (keepalived advertises elsewhere; pacemaker's fencing
/// keeps the VIPs where they are), a planned move waits for no timer: no floor. Reports apply
/// this rule to recorded runs too, so a floor recorded under an older rule is not shown.
pub fn applies(stack: &str, kind: &str) -> bool {
    match stack {
        "keepalived" => matches!(kind, "crash" | "freeze" | "power_off" | "kill_daemon" | "cable_pull"),
        "pacemaker" => matches!(kind, "crash" | "freeze" | "power_off"),
        _ => false,
    }
}

/// The floor of the gap after the first fault (its kind and the interface it names), `holder`
/// holding the VIPs at the fault.
pub fn floor(cl: &PlanCluster, (kind, iface): (&str, Option<&str>), holder: Option<&str>) -> Option<Floor> {
    match cl.stack {
        Stack::Keepalived if kind == "cable_pull" && pulled_elsewhere(cl, iface) => {
            let (skew, prio) = skew(cl, holder);
            let over = cl.keepalived.adverts.as_deref().unwrap_or("");
            Some(Floor {
                ms: skew,
                basis: format!("skew {skew:.0} ms alone (backup priority {prio}): the master in FAULT sends priority 0 over {over} at once"),
            })
        }
        Stack::Keepalived if applies("keepalived", kind) => Some(vrrp(cl, holder)),
        Stack::Pacemaker if applies("pacemaker", kind) => {
            let co = &cl.corosync;
            let token = co.token_ms + 650 * (cl.members.len().saturating_sub(2) as u32);
            // corosync's totemconfig.c: token_retransmit = token / 4.2, hold = retransmit x 0.8 - 10.
            let hold = (f64::from((f64::from(token) / 4.2) as u32) * 0.8 - 10.0).floor().max(0.0);
            let mut f = Floor {
                ms: f64::from(token + co.consensus_ms) - hold,
                basis: format!(
                    "corosync token {token} ms + consensus {} ms - the token's hold {hold:.0} ms (the last token may have come that long before the fault)",
                    co.consensus_ms
                ),
            };
            // The fenced one is the holder: its fencing waits the priority delay.
            if cl.fencing.on(cl.stack) && cl.fencing.priority_delay_ms > 0 {
                f.ms += f64::from(cl.fencing.priority_delay_ms);
                f.basis += &format!(" + priority-fencing-delay {} ms", cl.fencing.priority_delay_ms);
            }
            Some(f)
        }
        _ => None,
    }
}

/// With one instance (`adverts`), a cable pulled on another interface than its adverts'.
fn pulled_elsewhere(cl: &PlanCluster, iface: Option<&str>) -> bool {
    let Some(net) = &cl.keepalived.adverts else { return false };
    let dev = cl.vips.iter().find(|v| &v.network == net).map_or(net.as_str(), |v| v.ifname.as_str());
    iface.is_some_and(|i| i != dev)
}

/// The skew of the backup that takes over (the highest priority but the holder's), and its
/// priority.
fn skew(cl: &PlanCluster, holder: Option<&str>) -> (f64, u32) {
    let k = &cl.keepalived;
    let prio = k.priorities.iter().filter(|(m, _)| Some(m.as_str()) != holder).map(|(_, p)| *p).max().unwrap_or(100);
    let a = f64::from(k.advert_int_ms);
    (if k.version == 2 { f64::from(256 - prio) * 1000.0 / 256.0 } else { f64::from(256 - prio) * a / 256.0 }, prio)
}

/// The backup's master-down interval, counted from an advert up to one interval before the fault.
fn vrrp(cl: &PlanCluster, holder: Option<&str>) -> Floor {
    let k = &cl.keepalived;
    let (skew, prio) = skew(cl, holder);
    let a = f64::from(k.advert_int_ms);
    Floor {
        ms: 2.0 * a + skew,
        basis: format!(
            "2 x advert_int {} ms + skew {skew:.0} ms (backup priority {prio}, VRRPv{}): its 3-advert master-down interval runs from the last advert, up to one interval before the fault, so at most {:.0} ms",
            k.advert_int_ms,
            k.version,
            3.0 * a + skew
        ),
    }
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
        let k = floor(&cluster(Stack::Keepalived), ("crash", None), Some("a")).unwrap();
        // Backup b has priority 100: skew = 156/256 x 1000 ms, after 2 of the 3 adverts.
        assert!((k.ms - 2609.375).abs() < 1e-6, "{k:?}");
        assert_eq!(floor(&cluster(Stack::Keepalived), ("cable_pull", Some("lan")), Some("a")).unwrap().ms, k.ms);
        let p = floor(&cluster(Stack::Pacemaker), ("crash", None), Some("a")).unwrap();
        // hold = int(3000 / 4.2) x 0.8 - 10 = 714 x 0.8 - 10 = 561.
        assert_eq!(p.ms, 3000.0 + 3600.0 - 561.0 + 2000.0, "{p:?}");
        assert!(floor(&cluster(Stack::Pacemaker), ("heartbeat_partition", None), Some("a")).is_none(), "a partition moves no VIP");
        assert!(floor(&cluster(Stack::Pacemaker), ("cable_pull", Some("lan")), Some("a")).is_none());
        assert!(floor(&cluster(Stack::Keepalived), ("switchover", None), Some("a")).is_none());
        // One instance over sync: a cable pulled on lan costs the skew only.
        let mut one = cluster(Stack::Keepalived);
        one.keepalived.adverts = Some("sync".into());
        let f = floor(&one, ("cable_pull", Some("lan")), Some("a")).unwrap();
        assert!((f.ms - 609.375).abs() < 1e-6, "{f:?}");
        assert_eq!(floor(&one, ("cable_pull", Some("sync")), Some("a")).unwrap().ms, k.ms, "its own link pulled: the full interval");
    }
}
