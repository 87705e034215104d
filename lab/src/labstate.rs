//! A running lab's state (lab.json beside the ledger): its plan and what `up` decided.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::ledger::{all_labs, lab_dir, state_root};
use crate::topology::Plan;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabState {
    pub plan: Plan,
    pub provider: crate::provider::Kind,
    pub management: Ipv4Net,
    pub image_hash: String,
    pub rootfs: PathBuf,
    /// What `up` decided for a libvirt lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libvirt: Option<LibvirtState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibvirtState {
    pub uri: String,
    /// KVM when /dev/kvm really works, else TCG.
    pub kvm: bool,
}

impl LabState {
    pub fn host_addr(&self) -> Ipv4Addr {
        nth(self.management, 1)
    }
    /// Management address of the node at `index` in the plan.
    pub fn node_mgmt_addr(&self, index: usize) -> Ipv4Addr {
        nth(self.management, 10 + index as u32)
    }
    /// How much slower than a netns node this lab's nodes run: TCG VMs emulate every
    /// instruction, so a stack's waits (pacemaker's resource agents fork a lot) get longer.
    pub fn time_scale(&self) -> u32 {
        match &self.libvirt {
            Some(l) if !l.kvm => 4,
            _ => 1,
        }
    }
    pub fn node_index(&self, node: &str) -> Result<usize> {
        match self.plan.nodes.iter().position(|n| n.name == node) {
            Some(i) => Ok(i),
            None => {
                let names: Vec<&str> = self.plan.nodes.iter().map(|n| n.name.as_str()).collect();
                bail!("lab `{}` has no node `{node}` (nodes: {})", self.plan.lab, names.join(", "))
            }
        }
    }
    pub fn save(&self) -> Result<()> {
        let path = lab_dir(&self.plan.lab).join("lab.json");
        std::fs::write(&path, serde_json::to_vec_pretty(self)?).with_context(|| format!("failed to write {}", path.display()))
    }
    pub fn load(lab: &str) -> Result<LabState> {
        let path = lab_dir(lab).join("lab.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("no lab `{lab}` (try `halab ls`)"))?;
        serde_json::from_str(&text).with_context(|| format!("failed to parse {}", path.display()))
    }
}

fn nth(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

/// Pool of management subnets: /24s of 198.19.0.0/16 (RFC 2544 benchmark space).
pub const MGMT_POOL: &str = "198.19.0.0/16";

/// Subnets routed on the host (except the default route), from `ip -j route show table all`.
pub fn host_routes() -> Result<Vec<Ipv4Net>> {
    let out = crate::cmd::run("ip", &["-j", "-4", "route", "show", "table", "all"])?;
    let routes: Vec<serde_json::Value> = serde_json::from_str(&out).context("failed to parse `ip -j route`")?;
    Ok(routes
        .iter()
        .filter_map(|r| r.get("dst")?.as_str())
        .filter(|d| *d != "default")
        .filter_map(|d| if d.contains('/') { d.parse().ok() } else { format!("{d}/32").parse().ok() })
        .collect())
}

/// Choose the lab's management subnet: the requested one if it is free, else the first free
/// /24 of the pool. Free = no other lab has it and it overlaps no host route.
pub fn choose_management(requested: Option<Ipv4Net>, max_nodes: usize) -> Result<Ipv4Net> {
    let routes = host_routes()?;
    let taken: Vec<Ipv4Net> = all_labs().iter().filter_map(|l| LabState::load(l).ok()).map(|s| s.management).collect();
    let overlaps = |a: &Ipv4Net, b: &Ipv4Net| a.contains(b) || b.contains(a);
    if let Some(net) = requested {
        if let Some(r) = routes.iter().find(|r| overlaps(r, &net)) {
            bail!("the management subnet {net} overlaps the host route {r}: a host-side address there could cut this machine off its network; choose another `management.subnet`");
        }
        if let Some(t) = taken.iter().find(|t| overlaps(t, &net)) {
            bail!("the management subnet {net} overlaps {t}, used by another lab");
        }
        if (net.hosts().count()) < max_nodes + 11 {
            bail!("the management subnet {net} is too small for {max_nodes} nodes");
        }
        return Ok(net);
    }
    let pool: Ipv4Net = MGMT_POOL.parse()?;
    let cand = pool.subnets(24)?.find(|c| !routes.iter().any(|r| overlaps(r, c)) && !taken.iter().any(|t| overlaps(t, c)));
    if max_nodes > 240 {
        bail!("the netns provider supports at most 240 nodes per lab");
    }
    cand.with_context(|| format!("no free management subnet left in {MGMT_POOL} (labs in {})", state_root().display()))
}
