//! The topology file as the user writes it (strict: unknown fields are errors).

use serde::Deserialize;

use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    pub name: Spanned<String>,
    /// An image recipe in images/ (file stem), e.g. `debian-bookworm-ha`.
    #[serde(default)]
    pub image: Option<Spanned<String>>,
    /// Management network (host-side address .1); default: a free /24 from 198.19.0.0/16.
    #[serde(default)]
    pub management: Option<ManagementSpec>,
    pub networks: OrderedMap<NetworkSpec>,
    pub nodes: OrderedMap<NodeSpec>,
    #[serde(default)]
    pub cluster: Option<ClusterSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementSpec {
    pub subnet: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub subnet: Spanned<String>,
    /// Interface name inside the nodes (default: the network's name; at most 15 characters).
    #[serde(default)]
    pub ifname: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// network name -> address of this node on it (the prefix comes from the network).
    #[serde(default)]
    pub interfaces: OrderedMap<Spanned<String>>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Extra services the node runs besides sshd: `web`, `iperf3`.
    #[serde(default)]
    pub services: Vec<Spanned<String>>,
    /// IPv4 forwarding; default: on for nodes with two or more interfaces.
    #[serde(default)]
    pub forwarding: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub to: Spanned<String>,
    pub via: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub members: Vec<Spanned<String>>,
    /// network name -> virtual address held by the active member.
    #[serde(default)]
    pub vips: OrderedMap<Spanned<String>>,
    /// `none` (the first member holds the VIPs statically), `keepalived` or `pacemaker`.
    #[serde(default)]
    pub stack: Option<Spanned<String>>,
}
