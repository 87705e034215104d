//! A running lab's state (lab.json beside the ledger): its plan and what `up` decided.

use std::collections::BTreeMap;
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
    /// The provider and what it decided at `up` (one tagged value, read only by that provider).
    pub provider: ProviderState,
    pub management: Ipv4Net,
    /// The host's own address on the management network.
    pub host_addr: Ipv4Addr,
    /// Each node's management address: chosen from the subnet for netns and VMs; a real
    /// machine brings its own.
    pub mgmt_addrs: BTreeMap<String, Ipv4Addr>,
    pub image_hash: String,
    pub rootfs: PathBuf,
    /// Packages layers over `rootfs`, top first (overlay lower directories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<PathBuf>,
    /// What the cluster's stack runs and keeps on a member, decided at `up` by `stack`: a
    /// provider that takes existing machines (hosts) checks and resets them by it without
    /// knowing the stacks.
    #[serde(default)]
    pub footprint: Footprint,
}

/// A stack's daemons (conntrackd included when it syncs), the directories where it keeps state
/// across restarts, and its nftables table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Footprint {
    pub daemons: Vec<String>,
    pub state_dirs: Vec<String>,
    pub nft_table: String,
}

impl LabState {
    /// The image's overlay lower directories, top first: layers, then the base rootfs.
    pub fn lowers(&self) -> Vec<PathBuf> {
        self.layers.iter().cloned().chain([self.rootfs.clone()]).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProviderState {
    /// The provider's name (`netns`, `libvirt`).
    pub kind: String,
    /// What that provider decided (e.g. libvirt's URI and KVM/TCG), in its own shape.
    #[serde(default)]
    pub settings: serde_json::Value,
}

/// The management interface inside every node, on every provider.
pub const MGMT_IF: &str = "mgmt";

impl LabState {
    /// Management address of the node at `index` in the plan.
    pub fn node_mgmt_addr(&self, index: usize) -> Ipv4Addr {
        self.plan.nodes.get(index).and_then(|n| self.mgmt_addrs.get(&n.name)).copied().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
    /// Management address of a node, by name.
    pub fn mgmt_addr(&self, node: &str) -> Result<Ipv4Addr> {
        self.node_index(node).map(|i| self.node_mgmt_addr(i))
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

pub use crate::topology::MGMT_POOL;

/// Subnets routed on the host (except the default route), from `ip -j route show table all`.
pub fn host_routes() -> Result<Vec<Ipv4Net>> {
    let out = crate::cmd::run("ip", &["-j", "-4", "route", "show", "table", "all"])?;
    let routes = crate::iproute::routes(out.as_bytes(), "ip -j route show table all")?;
    Ok(routes
        .iter()
        .filter_map(|r| r.dst.as_deref())
        .filter(|d| *d != "default")
        .filter_map(|d| if d.contains('/') { d.parse().ok() } else { format!("{d}/32").parse().ok() })
        .collect())
}

/// The management network a lab gets: its subnet, the host's address on it and one address
/// per node.
pub struct Management {
    pub subnet: Ipv4Net,
    pub host_addr: Ipv4Addr,
    pub nodes: BTreeMap<String, Ipv4Addr>,
}

/// Choose the lab's management subnet: the requested one if it is free, else the first free
/// /24 of the pool. Free = no other lab has it, it overlaps no host route and no network of
/// the lab itself (validation already refused a lab network on a requested subnet). The host
/// is .1, node i is .10+i.
pub fn choose_management(plan: &Plan) -> Result<Management> {
    let routes = host_routes()?;
    let taken: Vec<Ipv4Net> = all_labs().iter().filter_map(|l| LabState::load(l).ok()).map(|s| s.management).collect();
    let own: Vec<Ipv4Net> = plan.networks.iter().map(|n| n.subnet).collect();
    let overlaps = |a: &Ipv4Net, b: &Ipv4Net| a.contains(b) || b.contains(a);
    let n = plan.nodes.len();
    let subnet = match plan.management {
        Some(net) => {
            if let Some(r) = routes.iter().find(|r| overlaps(r, &net)) {
                bail!("the management subnet {net} overlaps the host route {r}: a host-side address there could cut this machine off its network; choose another `management.subnet`");
            }
            if let Some(t) = taken.iter().find(|t| overlaps(t, &net)) {
                bail!("the management subnet {net} overlaps {t}, used by another lab");
            }
            if (net.hosts().count()) < n + 11 {
                bail!("the management subnet {net} is too small for {n} nodes");
            }
            net
        }
        None => {
            if n > 240 {
                bail!("a lab has at most 240 nodes on a /24 management network ({n} given)");
            }
            let pool: Ipv4Net = MGMT_POOL.parse()?;
            let free = |c: &Ipv4Net| ![&routes, &taken, &own].iter().any(|l| l.iter().any(|r| overlaps(r, c)));
            pool.subnets(24)?.find(free).with_context(|| format!("no free management subnet left in {MGMT_POOL} (labs in {})", state_root().display()))?
        }
    };
    let nodes = plan.nodes.iter().enumerate().map(|(i, node)| (node.name.clone(), nth(subnet, 10 + i as u32))).collect();
    Ok(Management { subnet, host_addr: nth(subnet, 1), nodes })
}
