//! `halab status` and `halab ls`: what runs, from the lab's state and the nodes themselves.

use serde::Serialize;

use crate::lab::Lab;
use crate::labstate::MGMT_IF;
use crate::ledger::{all_labs, Ledger};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NodeStatus {
    pub name: String,
    pub state: String,
    pub init_pid: Option<i32>,
    pub mgmt: String,
    /// `ifname address/prefix state` per interface, read from inside the node.
    pub links: Vec<LinkStatus>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LinkStatus {
    pub ifname: String,
    pub addresses: Vec<String>,
    pub carrier: bool,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LabStatus {
    pub lab: String,
    pub provider: String,
    pub phase: String,
    pub management: String,
    pub host_addr: String,
    pub stack: String,
    pub image: String,
    pub settings: Vec<String>,
    pub members: Vec<crate::stack::status::MemberStatus>,
    pub nodes: Vec<NodeStatus>,
}

pub fn lab_status(lab: &str) -> anyhow::Result<LabStatus> {
    let st = Lab::open(lab)?;
    let ledger = Ledger::open(lab)?;
    let mut nodes = Vec::new();
    for (i, n) in st.plan.nodes.iter().enumerate() {
        let pid = st.provider().host_pid(&st, &n.name);
        let node = st.node(&n.name)?;
        let running = st.running(&n.name);
        // A node that does not answer shows no links; its state column says why.
        let links = if running { node.run(&["ip", "-j", "addr", "show"]).and_then(|o| links_of(&o, &node.name)).unwrap_or_default() } else { Vec::new() };
        nodes.push(NodeStatus {
            name: n.name.clone(),
            state: if running { "running" } else { "off" }.into(),
            init_pid: pid,
            mgmt: st.node_mgmt_addr(i).to_string(),
            links,
        });
    }
    let stack = st.plan.cluster.as_ref().map(|c| c.stack.to_string()).unwrap_or_else(|| "none".into());
    let (settings, members) = match &st.plan.cluster {
        Some(cl) => (crate::stack::status::settings(cl), crate::stack::status::members(&st, cl)),
        None => (Vec::new(), Vec::new()),
    };
    Ok(LabStatus {
        settings,
        members,
        lab: lab.into(),
        provider: st.provider().describe(&st),
        phase: ledger.data.phase.to_string(),
        management: st.management.to_string(),
        host_addr: st.host_addr.to_string(),
        stack,
        image: st.image_hash.clone(),
        nodes,
    })
}

/// Links from `ip -j addr show` run in the node.
fn links_of(out: &str, node: &str) -> anyhow::Result<Vec<LinkStatus>> {
    let links = crate::iproute::links(out.as_bytes(), &format!("ip -j addr on {node}"))?;
    Ok(links
        .iter()
        .filter(|l| l.ifname != "lo")
        .map(|l| LinkStatus { ifname: l.ifname.clone(), addresses: l.ipv4().map(|(a, p)| format!("{a}/{p}")).collect(), carrier: l.carrier() })
        .collect())
}

pub fn render(s: &LabStatus) -> String {
    let mut out =
        format!("lab {} ({}, {}), stack {}, management {} (host {}), image {}\n", s.lab, s.provider, s.phase, s.stack, s.management, s.host_addr, s.image);
    out.push_str(&format!("{:<12} {:<8} {:>8}  {:<15} {}\n", "NODE", "STATE", "INIT", "MGMT", "INTERFACES"));
    for n in &s.nodes {
        let links: Vec<String> = n
            .links
            .iter()
            .filter(|l| l.ifname != MGMT_IF)
            .map(|l| format!("{} {}{}", l.ifname, l.addresses.join(","), if l.carrier { "" } else { " NO-CARRIER" }))
            .collect();
        let pid = n.init_pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        out.push_str(&format!("{:<12} {:<8} {:>8}  {:<15} {}\n", n.name, n.state, pid, n.mgmt, links.join("; ")));
    }
    if !s.members.is_empty() {
        out.push_str(&format!("cluster: {}\n", s.settings.join("; ")));
        out.push_str(&format!("{:<12} {:<11} {:<30} {:<36} {}\n", "MEMBER", "ROLE", "VIPS", "DAEMONS", "CONNTRACKD int/ext"));
        for m in &s.members {
            let d: Vec<String> = m.daemons.iter().map(|(n, up)| format!("{n}:{}", if *up { "up" } else { "DOWN" })).collect();
            let ct = match (m.conntrackd_internal, m.conntrackd_external) {
                (Some(i), Some(e)) => format!("{i}/{e}"),
                _ => "-".into(),
            };
            out.push_str(&format!("{:<12} {:<11} {:<30} {:<36} {}\n", m.name, m.role, m.vips.join(","), d.join(" "), ct));
        }
    }
    out
}

/// One lab as `halab ls` shows it (`halab ls --json`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LabEntry {
    pub lab: String,
    /// netns, libvirt or hosts (empty when the lab's state cannot be read).
    pub provider: String,
    /// The ledger's phase: creating, up, removing (`?` when it cannot be read).
    pub phase: String,
    pub nodes: usize,
    /// Why the lab is stale, when its halab process is gone (`halab gc` removes it).
    pub stale: Option<String>,
}

/// Every lab the ledgers know.
pub fn list() -> Vec<LabEntry> {
    all_labs()
        .iter()
        .map(|lab| {
            let l = Ledger::open(lab).ok();
            let st = crate::labstate::LabState::load(lab).ok();
            LabEntry {
                lab: lab.clone(),
                provider: st.as_ref().map(|s| s.provider.kind.clone()).unwrap_or_default(),
                phase: l.as_ref().map(|l| l.data.phase.to_string()).unwrap_or_else(|| "?".into()),
                nodes: st.as_ref().map(|s| s.plan.nodes.len()).unwrap_or(0),
                stale: l.as_ref().and_then(crate::lifecycle::garbage_reason),
            }
        })
        .collect()
}

/// One line per lab.
pub fn list_line(e: &LabEntry) -> String {
    let garbage = e.stale.as_ref().map(|r| format!(" (stale: {r}; `halab gc` removes it)")).unwrap_or_default();
    format!("{:<20} {:<8} {:<10} {} nodes{garbage}", e.lab, e.provider, e.phase, e.nodes)
}
