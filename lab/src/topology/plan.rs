//! The Plan: a topology with every decision made. Providers and stacks only read it.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    /// The lab's name (the topology's, or `--name`): prefix of everything created on the host.
    pub lab: String,
    /// Short id carried by interface names (6 hex digits of a hash of the lab name).
    pub id: String,
    pub topology: PathBuf,
    pub image: String,
    /// None: `up` takes a free /24 from 198.19.0.0/16.
    pub management: Option<Ipv4Net>,
    pub networks: Vec<PlanNetwork>,
    pub nodes: Vec<PlanNode>,
    pub cluster: Option<PlanCluster>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanNetwork {
    pub name: String,
    pub subnet: Ipv4Net,
    /// Interface name inside the nodes.
    pub ifname: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanNode {
    pub name: String,
    pub interfaces: Vec<PlanInterface>,
    pub routes: Vec<PlanRoute>,
    pub services: Vec<String>,
    pub forwarding: bool,
    #[serde(default)]
    pub vm: VmSize,
}

/// A node's size as a VM (libvirt provider).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct VmSize {
    pub memory_mib: u32,
    pub vcpus: u32,
}

impl Default for VmSize {
    fn default() -> Self {
        // 640 MiB runs pacemaker + conntrackd with room to spare; 1 vCPU boots fastest under TCG.
        VmSize { memory_mib: 640, vcpus: 1 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanInterface {
    pub network: String,
    pub ifname: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanRoute {
    pub to: Ipv4Net,
    pub via: Ipv4Addr,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stack {
    None,
    Keepalived,
    Pacemaker,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanCluster {
    pub members: Vec<String>,
    pub vips: Vec<PlanVip>,
    pub stack: Stack,
    pub keepalived: KeepalivedSettings,
    pub corosync: CorosyncSettings,
    pub pacemaker: PacemakerSettings,
    pub sync: SyncSettings,
    pub firewall: FirewallSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeepalivedSettings {
    pub advert_int_ms: u32,
    pub version: u8,
    /// (member, priority), in member order.
    pub priorities: Vec<(String, u32)>,
    pub preempt: bool,
    pub garp_master_delay_s: Option<u32>,
    pub garp_master_repeat: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CorosyncSettings {
    /// Networks carrying knet links (link0, optional link1); empty when no link could be chosen.
    pub links: Vec<String>,
    pub token_ms: u32,
    pub consensus_ms: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PacemakerSettings {
    pub dc_deadtime_ms: u32,
    pub stickiness: u32,
    pub preferred: String,
    pub link_monitor: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConntrackdMode {
    Ftfw,
    Alarm,
    Notrack,
    Off,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyncTransport {
    Multicast,
    Udp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SyncSettings {
    pub network: Option<String>,
    pub conntrackd: ConntrackdMode,
    pub transport: SyncTransport,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirewallSettings {
    pub enabled: bool,
    /// (from network, to network) in which new connections may cross.
    pub new_connections: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanVip {
    pub network: String,
    pub ifname: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

impl Plan {
    pub fn node(&self, name: &str) -> Option<&PlanNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
    pub fn network(&self, name: &str) -> Option<&PlanNetwork> {
        self.networks.iter().find(|n| n.name == name)
    }
}
