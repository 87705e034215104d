//! What `halab status` shows of a stack: per member its role, the VIPs it holds, its daemons
//! and conntrackd's cache counts; per lab the settings that change the numbers.

use serde::Serialize;

use super::{conntrackd, ready};
use crate::lab::Lab;
use crate::topology::PlanCluster;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MemberStatus {
    pub name: String,
    /// MASTER/BACKUP/FAULT/starting (keepalived), promoted/unpromoted/online/offline
    /// (pacemaker), holder/- (none); off for a member powered off.
    pub role: String,
    pub vips: Vec<String>,
    pub daemons: Vec<(String, bool)>,
    pub conntrackd_internal: Option<u64>,
    pub conntrackd_external: Option<u64>,
}

/// Settings a reader of the numbers must know, including what the lab gives up (fencing).
pub fn settings(cl: &PlanCluster) -> Vec<String> {
    let mut s = vec![format!("stack {}", cl.stack)];
    s.extend(super::of(cl.stack).settings(cl));
    let mut ct = format!("conntrackd {} over {}", cl.sync.conntrackd, cl.sync.network.as_deref().unwrap_or("-"));
    // pacemaker runs it under an agent whose monitor decides whether a dead one is noticed.
    if cl.stack == crate::topology::Stack::Pacemaker && cl.sync.conntrackd != crate::topology::ConntrackdMode::Off {
        ct += &format!(", under ocf:{}:{}", cl.sync.agent.0, cl.sync.agent.1);
    }
    s.push(ct);
    if cl.sync.conntrackd == crate::topology::ConntrackdMode::Ftfw && cl.members.len() > 2 {
        s.push(format!(
            "conntrackd FTFW among {} members drops messages: it tracks one sequence for all its peers (see `sync.out_of_sequence`; docs/conntrackd-ftfw-three-members.md)",
            cl.members.len()
        ));
    }
    s
}

/// Internal and external cache counts from `conntrackd -s`.
pub fn parse_cache_counts(stats: &str) -> (Option<u64>, Option<u64>) {
    let mut which = "";
    let (mut int, mut ext) = (None, None);
    for line in stats.lines() {
        if line.starts_with("cache internal") {
            which = "int";
        } else if line.starts_with("cache external") {
            which = "ext";
        } else if let Some(rest) = line.strip_prefix("current active connections:") {
            let n = rest.trim().parse().ok();
            match which {
                "int" => int = int.or(n),
                "ext" => ext = ext.or(n),
                _ => {}
            }
        }
    }
    (int, ext)
}

/// Every member's status; `off` for a member that is powered off.
pub fn members(st: &Lab, cl: &PlanCluster) -> Vec<MemberStatus> {
    let role_of = super::of(cl.stack).roles(st, cl);
    let mut out = Vec::new();
    for m in &cl.members {
        let Ok(n) = st.node(m) else { continue };
        if !st.running(m) {
            out.push(MemberStatus { name: m.clone(), role: "off".into(), vips: vec![], daemons: vec![], conntrackd_internal: None, conntrackd_external: None });
            continue;
        }
        let vips: Vec<String> = ready::vips_held(&n, cl).unwrap_or_default().iter().map(|a| a.to_string()).collect();
        let role = role_of(&n, &vips);
        let stats = if conntrackd::enabled(cl) {
            n.exec(&["/usr/sbin/conntrackd", "-C", conntrackd::CONFIG, "-s"], None, crate::cmd::limit::QUERY).ok().filter(|o| o.status.success())
        } else {
            None
        };
        let (ci, ce) = stats.as_ref().map(|o| parse_cache_counts(&String::from_utf8_lossy(&o.stdout))).unwrap_or((None, None));
        let daemons = super::daemons(cl)
            .into_iter()
            .map(|d| {
                let up = if d == "conntrackd" { stats.is_some() } else { n.service_running(d) };
                (d.to_string(), up)
            })
            .collect();
        out.push(MemberStatus { name: m.clone(), role, vips, daemons, conntrackd_internal: ci, conntrackd_external: ce });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cache_counts_from_conntrackd_stats() {
        let s = "cache internal:\ncurrent active connections:\t           3\nconnections created:\t\t   3\tfailed:\t    0\n\ncache external:\ncurrent active connections:\t           1\n";
        assert_eq!(super::parse_cache_counts(s), (Some(3), Some(1)));
        assert_eq!(super::parse_cache_counts(""), (None, None));
    }
}
