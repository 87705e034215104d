//! keepalived + conntrackd: VRRP moves the VIPs, the notify script drives conntrackd and
//! records the state halab reads (primary/backup/fault).

mod config;
pub mod notify;

pub use config::{config, CONFIG};

use std::time::Duration;

use anyhow::{Context, Result};

use super::{conntrackd, HaStack, Roles};
use crate::lab::Lab;
use crate::node::Node;
use crate::topology::PlanCluster;

pub struct Keepalived;

/// keepalived's state on a node as the notify script recorded it.
pub fn state(node: &Node) -> String {
    node.exec(&["cat", notify::STATE_FILE], None, crate::cmd::limit::QUERY)
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The cluster with `target` on top: it gets the highest priority plus 10, whoever was on top
/// drops 10 below it, so the new priorities also hold after the reload.
fn favour(cl: &PlanCluster, target: &str) -> PlanCluster {
    let mut cl2 = cl.clone();
    let top = cl2.keepalived.priorities.iter().map(|(_, p)| *p).max().unwrap_or(150);
    for (m, p) in cl2.keepalived.priorities.iter_mut() {
        if *m == target {
            *p = (top + 10).min(254);
        } else if *p >= top {
            *p = top.saturating_sub(10).max(1);
        }
    }
    cl2
}

impl HaStack for Keepalived {
    fn name(&self) -> &'static str {
        "keepalived"
    }
    fn daemons(&self) -> &'static [&'static str] {
        &["keepalived"]
    }
    fn state_dirs(&self) -> &'static [&'static str] {
        &[]
    }
    fn log_files(&self, daemon: &str) -> &'static [&'static str] {
        match daemon {
            "keepalived" => &["/var/log/halab/keepalived.log", "/var/log/halab/ha-notify.log", crate::stack::events::LOG],
            _ => &[],
        }
    }
    fn config_file(&self) -> &'static str {
        CONFIG
    }
    fn settings(&self, cl: &PlanCluster) -> Vec<String> {
        let k = &cl.keepalived;
        let layout = match &k.adverts {
            Some(net) => format!("one instance advertising over {net} holding every VIP, FAULT on any VIP interface's carrier"),
            None => "one instance per VIP network in a sync group".to_string(),
        };
        vec![format!(
            "keepalived advert_int {} ms, VRRP v{}, preempt {}, {layout}, no fencing (keepalived has none: a partition leaves both members MASTER)",
            k.advert_int_ms,
            k.version,
            if k.preempt { "on" } else { "off" }
        )]
    }
    fn starting(&self) -> &'static str {
        "starting conntrackd and keepalived"
    }
    fn configure(&self, st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
        let pn = st.plan.node(&node.name).context("member not in plan")?;
        node.put(notify::SCRIPT, &notify::script(notify::unit(cl), cl.keepalived.notify.as_deref()), 0o755, "root:root")?;
        node.put(CONFIG, &config(cl, pn), 0o644, "root:root")
    }
    fn start(&self, st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
        // keepalived creates the FIFO but not its directory; a state left from before a crash
        // must not pass for the new one.
        node.sh(&format!("mkdir -p /run/halab && rm -f {}", notify::STATE_FILE))?;
        // conntrackd first: keepalived's first notify runs conntrackd commands against it.
        if conntrackd::enabled(cl) {
            node.service_start("conntrackd", &["/usr/sbin/conntrackd", "-C", conntrackd::CONFIG])?;
            crate::wait::until(
                Duration::from_secs(10) * st.time_scale(),
                crate::wait::EVERY,
                || Ok(conntrackd::answers(node)),
                || format!("conntrackd does not answer on `{}`", node.name),
            )?;
        }
        node.service_start(
            "keepalived",
            &["/usr/sbin/keepalived", "-n", "-l", "-D", "-f", CONFIG, "-p", "/run/keepalived.pid", "-r", "/run/keepalived_vrrp.pid"],
        )
    }
    fn stop(&self, node: &Node) -> Result<()> {
        node.service_stop("keepalived")
    }
    fn joined(&self, _: &Lab, _: &PlanCluster, node: &Node) -> Result<bool> {
        Ok(matches!(state(node).as_str(), "primary" | "backup"))
    }
    /// Exactly one MASTER (the holder), the others BACKUP, as their notify scripts recorded.
    fn ready(&self, _: &Lab, _: &PlanCluster, nodes: &[Node], holder: &str) -> Result<bool> {
        Ok(nodes.iter().all(|n| state(n) == if n.name == holder { "primary" } else { "backup" }))
    }
    fn roles(&self, _: &Lab, _: &PlanCluster) -> Roles {
        Box::new(|n, _| {
            match state(n).as_str() {
                "primary" => "MASTER",
                "backup" => "BACKUP",
                "fault" => "FAULT",
                _ => "starting",
            }
            .into()
        })
    }
    /// The target gets the highest priority and every member reloads its config (the new
    /// priorities stay).
    fn switchover(&self, st: &Lab, cl: &PlanCluster, _current: &str, target: &str) -> Result<()> {
        let cl2 = favour(cl, target);
        for m in &cl2.members {
            let n = st.node(m)?;
            let pn = st.plan.node(m).ok_or_else(|| anyhow::anyhow!("no node {m}"))?;
            n.put(CONFIG, &config(&cl2, pn), 0o644, "root:root")?;
            n.sh("kill -HUP \"$(cat /run/keepalived.pid)\"")?;
        }
        Ok(())
    }
    /// The member's priority drops to 1 (the lowest) and it reloads; off, the topology's
    /// priorities again. With `preempt: false` a MASTER keeps the VIPs whatever its priority,
    /// as VRRP says: standby then moves nothing until that member fails.
    fn standby(&self, st: &Lab, cl: &PlanCluster, node: &str, on: bool) -> Result<()> {
        let mut cl2 = cl.clone();
        if on {
            cl2.keepalived.priorities.iter_mut().filter(|(m, _)| m == node).for_each(|(_, p)| *p = 1);
        }
        let (n, pn) = (st.node(node)?, st.plan.node(node).context("member not in plan")?);
        n.put(CONFIG, &config(&cl2, pn), 0o644, "root:root")?;
        n.sh("kill -HUP \"$(cat /run/keepalived.pid)\"").map(drop)
    }
    fn member_detail(&self, node: &Node) -> String {
        format!(", keepalived state `{}`", state(node))
    }
}

#[cfg(test)]
mod tests {
    use crate::topology::Stack;

    #[test]
    fn switchover_puts_the_target_on_top() {
        let cl = crate::stack::tests::cluster("fw-trio.yaml", Stack::Keepalived);
        assert_eq!(cl.keepalived.priorities, [("fw1".into(), 150), ("fw2".into(), 100), ("fw3".into(), 99)]);
        let p = super::favour(&cl, "fw2").keepalived.priorities;
        assert_eq!(p, [("fw1".into(), 140), ("fw2".into(), 160), ("fw3".into(), 99)]);
    }
}
