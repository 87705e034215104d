//! Readiness: `up` and `switchover` return only when the stack is really ready. Shared by
//! every stack: exactly one member holds every VIP and, when the stack runs conntrackd, every
//! member's conntrackd answers. The stack adds its own part (`HaStack::ready`): keepalived,
//! that member MASTER and the others BACKUP; pacemaker, every member online, every resource
//! started, the promoted conntrackd on the VIP holder, the controller idle.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Result;

use super::conntrackd;
use crate::lab::Lab;
use crate::node::Node;
use crate::topology::PlanCluster;

/// The cluster's VIPs this node holds now.
pub fn vips_held(node: &Node, cl: &PlanCluster) -> Result<Vec<Ipv4Addr>> {
    let out = node.run(&["ip", "-j", "-4", "addr", "show"])?;
    let links = crate::iproute::links(out.as_bytes(), &format!("ip -j addr on {}", node.name))?;
    Ok(links.iter().flat_map(|l| l.ipv4()).map(|(a, _)| a).filter(|a| cl.vips.iter().any(|v| v.address == *a)).collect())
}

/// The node holding every VIP when the stack is ready, else None.
pub fn check(st: &Lab, cl: &PlanCluster) -> Result<Option<String>> {
    let nodes: Vec<Node> = cl.members.iter().map(|m| st.node(m)).collect::<Result<_>>()?;
    let mut holders = Vec::new();
    // A member that does not answer (a VM still booting after a fence) is a cluster that is
    // not ready yet, not an error: on timeout, `diagnose` shows what it answered.
    for n in &nodes {
        let Ok(held) = vips_held(n, cl) else { return Ok(None) };
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
    let stack = super::of(cl.stack);
    if !stack.ready(st, cl, &nodes, &holder).unwrap_or(false) {
        return Ok(None);
    }
    if conntrackd::enabled(cl) && stack.runs() && !nodes.iter().all(conntrackd::answers) {
        return Ok(None);
    }
    Ok(Some(holder))
}

/// Wait until ready; the error shows the state that was not reached.
pub fn wait(st: &Lab, cl: &PlanCluster, timeout: Duration) -> Result<String> {
    let mut holder = None;
    crate::wait::until(
        timeout,
        crate::wait::EVERY,
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
    let stack = super::of(cl.stack);
    let mut out = String::new();
    for m in &cl.members {
        let Ok(n) = st.node(m) else { continue };
        let vips = vips_held(&n, cl).map(|v| v.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",")).unwrap_or_else(|e| format!("? ({e})"));
        out.push_str(&format!("  {m}: VIPs [{vips}]"));
        out.push_str(&stack.member_detail(&n));
        out.push('\n');
        for d in super::daemons(cl) {
            let tail = n.logs(d, 5).unwrap_or_default();
            if !tail.trim().is_empty() {
                out.push_str(&format!("    {d} log tail:\n{}", tail.lines().map(|l| format!("      {l}\n")).collect::<String>()));
            }
        }
    }
    out.push_str(&stack.diagnose(st, cl));
    out
}
