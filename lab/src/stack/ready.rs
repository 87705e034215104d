//! Readiness: `up` and `switchover` return only when the stack is really ready. keepalived:
//! exactly one MASTER holding every VIP, the others BACKUP, conntrackd answering. pacemaker:
//! every member online, every resource started, the promoted conntrackd on the VIP holder,
//! the controller idle.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::{conntrackd, pacemaker};
use crate::lab::Lab;
use crate::node::Node;
use crate::topology::{PlanCluster, Stack};

/// Poll `check` every 50 ms until it says true; on timeout fail with `why()`.
pub fn until(timeout: Duration, mut check: impl FnMut() -> Result<bool>, why: impl Fn() -> String) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        crate::interrupt::check()?;
        if check()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} (waited {:.0} s)", why(), timeout.as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The cluster's VIPs this node holds now.
pub fn vips_held(node: &Node, cl: &PlanCluster) -> Result<Vec<Ipv4Addr>> {
    let out = node.run(&["ip", "-j", "-4", "addr", "show"])?;
    let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_default();
    let held: Vec<Ipv4Addr> = v
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["local"].as_str().and_then(|s| s.parse().ok()))
        .filter(|a| cl.vips.iter().any(|v| v.address == *a))
        .collect();
    Ok(held)
}

/// keepalived's state on a node as the notify script recorded it.
pub fn ha_state(node: &Node) -> String {
    node.exec(&["cat", conntrackd::STATE_FILE], None, crate::node::EXEC_TIMEOUT)
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn conntrackd_ok(node: &Node) -> bool {
    node.succeeds(&["/usr/sbin/conntrackd", "-C", conntrackd::CONFIG, "-s"])
}

/// The node holding every VIP when the stack is ready, else None.
pub fn check(st: &Lab, cl: &PlanCluster) -> Result<Option<String>> {
    let nodes: Vec<Node> = cl.members.iter().map(|m| st.node(m)).collect::<Result<_>>()?;
    let mut holders = Vec::new();
    for n in &nodes {
        let held = vips_held(n, cl)?;
        if held.len() == cl.vips.len() && !held.is_empty() {
            holders.push(n.name.clone());
        } else if !held.is_empty() {
            return Ok(None); // VIPs split over nodes: not settled
        }
    }
    if holders.len() != 1 {
        return Ok(None);
    }
    let holder = holders.remove(0);
    match cl.stack {
        Stack::None => {}
        Stack::Keepalived => {
            for n in &nodes {
                let want = if n.name == holder { "primary" } else { "backup" };
                if ha_state(n) != want {
                    return Ok(None);
                }
            }
        }
        Stack::Pacemaker => {
            let Ok(crm) = pacemaker::state(&nodes[0]) else { return Ok(None) };
            if !cl.members.iter().all(|m| crm.nodes.iter().any(|n| &n.name == m && n.online)) {
                return Ok(None);
            }
            if crm.resources.is_empty() || crm.resources.iter().any(|r| r.failed || !r.active) {
                return Ok(None);
            }
            if conntrackd::enabled(cl) && crm.where_is("conntrackd", Some("Promoted")) != vec![holder.clone()] {
                return Ok(None);
            }
            let Some(dc) = crm.dc.clone() else { return Ok(None) };
            let dc_node = st.node(&dc)?;
            let idle = dc_node
                .exec(&["crmadmin", "-q", "-S", &dc], None, Duration::from_secs(5))
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("S_IDLE") || String::from_utf8_lossy(&o.stderr).contains("S_IDLE"))
                .unwrap_or(false);
            if !idle {
                return Ok(None);
            }
        }
    }
    if conntrackd::enabled(cl) && cl.stack != Stack::None && !nodes.iter().all(conntrackd_ok) {
        return Ok(None);
    }
    Ok(Some(holder))
}

/// Wait until ready; the error shows the state that was not reached.
pub fn wait(st: &Lab, cl: &PlanCluster, timeout: Duration) -> Result<String> {
    let mut holder = None;
    until(
        timeout,
        || {
            holder = check(st, cl)?;
            Ok(holder.is_some())
        },
        || format!("the {} stack was not ready:\n{}", cl.stack, diagnose(st, cl)),
    )?;
    Ok(holder.unwrap_or_default())
}

/// What a person needs to see when a stack is not ready.
pub fn diagnose(st: &Lab, cl: &PlanCluster) -> String {
    let mut out = String::new();
    for m in &cl.members {
        let Ok(n) = st.node(m) else { continue };
        let vips = vips_held(&n, cl).map(|v| v.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",")).unwrap_or_else(|e| format!("? ({e})"));
        out.push_str(&format!("  {m}: VIPs [{vips}]"));
        if cl.stack == Stack::Keepalived {
            out.push_str(&format!(", keepalived state `{}`", ha_state(&n)));
        }
        out.push('\n');
        for d in super::daemons(cl) {
            let tail = n.logs(d, 5).unwrap_or_default();
            if !tail.trim().is_empty() {
                out.push_str(&format!("    {d} log tail:\n{}", tail.lines().map(|l| format!("      {l}\n")).collect::<String>()));
            }
        }
    }
    if cl.stack == Stack::Pacemaker {
        if let Some(n) = cl.members.first().and_then(|m| st.node(m).ok()) {
            out.push_str(&format!(
                "  crm_mon -1:\n{}",
                n.exec(&["crm_mon", "-1"], None, Duration::from_secs(5))
                    .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(|l| format!("    {l}\n")).collect::<String>())
                    .unwrap_or_default()
            ));
        }
    }
    out
}
