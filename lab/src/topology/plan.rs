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
