//! corosync + pacemaker: write corosync.conf and the pre-seeded CIB, start both daemons;
//! conntrackd runs as a promotable clone the VIPs follow.

pub mod cib;
pub mod corosync;
pub mod crm;
pub mod daemons;
mod recipe;
pub mod resources;
pub mod stonith;
mod verify;

use std::time::Duration;

use anyhow::{Context, Result};

pub mod alert;

use super::{conntrackd, ready, HaStack, Roles};
use crate::lab::Lab;
use crate::node::Node;
use crate::topology::PlanCluster;

pub const LOG: &str = "/var/log/pacemaker/pacemaker.log";

/// Directories pacemaker and crmsh expect, with the ownership they check.
pub(crate) const DIRS: &str = "mkdir -p /var/lib/pacemaker/cib /var/log/pacemaker /var/log/crmsh /run/crm && chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker && chmod 0770 /var/log/pacemaker && chmod 0750 /var/lib/pacemaker/cib";

/// halab's conntrackd agent (`ocf:halab:conntrackd`, the default `sync.agent`): the stock one
/// with the monitor and lock fixes a careful operator makes (the script says which).
pub const CONNTRACKD_AGENT: &str = include_str!("conntrackd-agent.sh");
pub const CONNTRACKD_AGENT_PATH: &str = "/usr/lib/ocf/resource.d/halab/conntrackd";

pub struct Pacemaker;

impl HaStack for Pacemaker {
    fn name(&self) -> &'static str {
        "pacemaker"
    }
    fn daemons(&self) -> &'static [&'static str] {
        &["corosync", "pacemaker"]
    }
    fn state_dirs(&self) -> &'static [&'static str] {
        &["/var/lib/pacemaker/cib", "/var/lib/corosync"]
    }
    fn log_files(&self, daemon: &str) -> &'static [&'static str] {
        match daemon {
            "corosync" => &["/var/log/halab/corosync.log", "/var/log/halab/corosync-events.log"],
            "pacemaker" => &[LOG, "/var/log/halab/pacemaker.log", crate::stack::events::LOG],
            _ => &[],
        }
    }
    fn config_file(&self) -> &'static str {
        corosync::CONFIG
    }
    /// What the lab gives up is said too: no fencing, and then with two members no quorum.
    fn settings(&self, cl: &PlanCluster) -> Vec<String> {
        let two = cl.members.len() == 2;
        let c = &cl.corosync;
        let p = &cl.pacemaker;
        vec![
            format!(
                "corosync knet over {}, token {} ms, consensus {} ms{}",
                c.links.join("+"),
                c.token_ms,
                c.consensus_ms,
                if two { ", two_node" } else { "" }
            ),
            format!(
                "pacemaker dc-deadtime {} ms (pre-seeded; pacemaker's default is 20 s), stickiness {}, link monitor {}, {}{}",
                p.dc_deadtime_ms,
                p.stickiness,
                if p.link_monitor { "ethmonitor" } else { "off" },
                stonith::describe(cl),
                if two && !cl.fencing.on(cl.stack) { ", no-quorum-policy=ignore" } else { "" }
            ),
        ]
    }
    fn starting(&self) -> &'static str {
        "starting corosync and pacemaker (pre-seeded CIB)"
    }
    fn configure(&self, st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
        node.put(corosync::CONFIG, &corosync::config(&st.plan, cl), 0o644, "root:root")?;
        node.sh(DIRS)?;
        node.sh("rm -f /var/lib/pacemaker/cib/cib.xml.sig /var/lib/pacemaker/cib/cib-*")?;
        node.put(alert::AGENT, &alert::agent(), 0o755, "root:root")?;
        node.sh("mkdir -p /usr/lib/ocf/resource.d/halab")?;
        node.put(CONNTRACKD_AGENT_PATH, CONNTRACKD_AGENT, 0o755, "root:root")?;
        match cl.fencing.method.filter(|_| cl.fencing.on(cl.stack)) {
            Some(crate::topology::FenceMethod::Halab) => {
                node.put(crate::fence::agent::PATH, crate::fence::agent::AGENT, 0o755, "root:root")?;
                node.put(crate::fence::KEY_FILE, &crate::fence::key(&st.plan.lab)?, 0o600, "root:root")?;
            }
            Some(crate::topology::FenceMethod::Virt) => {
                node.sh("mkdir -p /etc/cluster")?;
                node.put(crate::fence::VIRT_KEY_FILE, &crate::fence::key(&st.plan.lab)?, 0o600, "root:root")?;
            }
            _ => {}
        }
        let scale = st.time_scale();
        let cib_xml = cib::cib(&st.plan, cl, st.host_addr, scale)?;
        if scale > 1 && cl.members.first() == Some(&node.name) {
            crate::progress::info(&format!(
                "pacemaker: every operation's timeout x{scale} (TCG runs the resource agents ~{scale}x slower; the default 20 s becomes {} s)",
                20 * scale
            ));
        }
        node.put(cib::PATH, &cib_xml, 0o600, "hacluster:haclient")?;
        // The user's resources (typed or a fragment) checked by pacemaker's own rules before it
        // runs them; halab's recipe alone is covered by the tests.
        // Every member gets the same CIB: one check is enough.
        let svc = &cl.service;
        if (!svc.resources.is_empty() || svc.cib.is_some()) && cl.members.first() == Some(&node.name) {
            let o = node.exec(&["crm_verify", "--xml-file", cib::PATH], None, crate::cmd::limit::SCRIPT)?;
            if !o.status.success() {
                anyhow::bail!(
                    "the CIB made from {}{} does not verify (crm_verify on {}):\n{}",
                    st.plan.topology.display(),
                    svc.cib.as_ref().map(|f| format!(" and {}", f.display())).unwrap_or_default(),
                    node.name,
                    verify::locate(&String::from_utf8_lossy(&o.stderr), svc, &cib_xml, cib::PATH)
                );
            }
        }
        Ok(())
    }
    fn start(&self, st: &Lab, _: &PlanCluster, node: &Node) -> Result<()> {
        daemons::start(st, node)
    }
    fn stop(&self, node: &Node) -> Result<()> {
        node.service_stop("pacemaker")
    }
    fn standby(&self, st: &Lab, _: &PlanCluster, node: &str, on: bool) -> Result<()> {
        let value = if on { "on" } else { "off" };
        st.node(node)?.run(&["crm_attribute", "--node", node, "--name", "standby", "--update", value, "--lifetime", "forever"]).map(drop)
    }
    /// Set from the first member that answers: the CIB is the cluster's.
    fn maintenance(&self, st: &Lab, cl: &PlanCluster, on: bool) -> Result<()> {
        let value = if on { "true" } else { "false" };
        let n = cl.members.iter().filter(|m| st.running(m)).find_map(|m| st.node(m).ok()).context("no member is running")?;
        n.run(&["crm_attribute", "--type", "crm_config", "--name", "maintenance-mode", "--update", value]).map(drop)
    }
    /// Online in the cluster as its own crm_mon sees it, with conntrackd running there.
    fn joined(&self, _: &Lab, cl: &PlanCluster, node: &Node) -> Result<bool> {
        let Ok(crm) = crm::state(node) else { return Ok(false) };
        let online = crm.nodes.iter().any(|n| n.name == node.name && n.online);
        Ok(online && (!conntrackd::enabled(cl) || crm.where_is("conntrackd", None).contains(&node.name)))
    }
    /// Every member online, every resource started, the promoted conntrackd on the VIP
    /// holder, the controller (DC) idle: a transition still running may move things yet.
    fn ready(&self, st: &Lab, cl: &PlanCluster, nodes: &[Node], holder: &str) -> Result<bool> {
        let Some(Ok(crm)) = nodes.first().map(crm::state) else { return Ok(false) };
        if !cl.members.iter().all(|m| crm.nodes.iter().any(|n| &n.name == m && n.online)) {
            return Ok(false);
        }
        if crm.resources.is_empty() || crm.resources.iter().any(|r| r.failed || !r.active) {
            return Ok(false);
        }
        if conntrackd::enabled(cl) && crm.where_is("conntrackd", Some("Promoted")) != [holder] {
            return Ok(false);
        }
        let Some(dc) = crm.dc.clone() else { return Ok(false) };
        let dc_node = st.node(&dc)?;
        let idle = dc_node
            .exec(&["crmadmin", "-q", "-S", &dc], None, Duration::from_secs(5))
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("S_IDLE") || String::from_utf8_lossy(&o.stderr).contains("S_IDLE"))
            .unwrap_or(false);
        Ok(idle)
    }
    /// One crm_mon for all members, from the first that answers.
    fn roles(&self, st: &Lab, cl: &PlanCluster) -> Roles {
        let crm = cl.members.iter().find_map(|m| st.node(m).ok().and_then(|n| crm::state(&n).ok()));
        Box::new(move |n, _| {
            let m = &n.name;
            match &crm {
                Some(c) if c.where_is("conntrackd", Some("Promoted")).contains(m) => "promoted".into(),
                Some(c) if c.where_is("conntrackd", Some("Unpromoted")).contains(m) => "unpromoted".into(),
                Some(c) if c.nodes.iter().any(|x| &x.name == m && x.online) => "online".into(),
                _ => "offline".into(),
            }
        })
    }
    /// At start-up the VIPs go to the first member whose link monitors report (the VIPs avoid
    /// a member whose `ethmonitor-*` attribute is not yet defined), and stickiness keeps them
    /// there: on a loaded box that was the second member once in a CI run (its ethmonitor set
    /// its attribute through attrd 0.35 s before the first's). `up` moves them once ready,
    /// whatever made them land there. Where the user's own constraints (or CIB fragment) also place
    /// things, the preference is only one of the scores, and pacemaker's placement stands.
    fn preferred<'a>(&self, cl: &'a PlanCluster) -> Option<&'a str> {
        (cl.service.constraints.is_empty() && cl.service.cib.is_none()).then_some(cl.pacemaker.preferred.as_str())
    }
    /// The VIP group is moved, then the move constraint is cleared (stickiness keeps it there).
    fn switchover(&self, st: &Lab, cl: &PlanCluster, current: &str, target: &str) -> Result<()> {
        let n = st.node(current)?;
        n.run(&["crm_resource", "--move", "--resource", "vips", "--node", target])?;
        crate::wait::until(
            super::ready_timeout(st),
            crate::wait::EVERY,
            || Ok(ready::check(st, cl)?.as_deref() == Some(target)),
            || format!("the VIPs did not move to `{target}`:\n{}", ready::diagnose(st, cl)),
        )?;
        n.run(&["crm_resource", "--clear", "--resource", "vips"])?;
        Ok(())
    }
    fn diagnose(&self, st: &Lab, cl: &PlanCluster) -> String {
        let Some(n) = cl.members.first().and_then(|m| st.node(m).ok()) else { return String::new() };
        // A starved TCG guest once took longer than 5 s to answer: say so rather than nothing.
        let limit = Duration::from_secs(5) * st.time_scale();
        let shown = match n.exec(&["crm_mon", "-1"], None, limit) {
            Ok(o) => format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
            Err(e) => format!("(no answer from crm_mon on {} within {} s: {e:#})", n.name, limit.as_secs()),
        };
        format!("  crm_mon -1:\n{}", shown.lines().map(|l| format!("    {l}\n")).collect::<String>())
    }
}
