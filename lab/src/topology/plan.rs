//! The Plan: a topology with every decision made. Providers and stacks only read it.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Plan {
    /// The lab's name (the topology's, or `--name`): prefix of everything created on the host.
    pub lab: String,
    /// Short id carried by interface names (6 hex digits of a hash of the lab name).
    pub id: String,
    pub topology: PathBuf,
    pub image: String,
    /// Extra packages: a layer over the image (`crate::image::layer`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PlanPackage>,
    /// None: `up` takes a free /24 from 198.19.0.0/16.
    #[schemars(with = "Option<String>")]
    pub management: Option<Ipv4Net>,
    /// A netns node's time from power-on to its network (`boot_time`; 0: at once).
    #[serde(default = "default_boot_time_ms")]
    pub boot_time_ms: u32,
    pub networks: Vec<PlanNetwork>,
    pub nodes: Vec<PlanNode>,
    pub cluster: Option<PlanCluster>,
}

fn default_boot_time_ms() -> u32 {
    super::validate::BOOT_TIME_MS
}

/// An extra package, and where the topology names it (only apt can tell that it exists).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanPackage {
    pub name: String,
    pub at: crate::diag::Span,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanNetwork {
    pub name: String,
    #[schemars(with = "String")]
    pub subnet: Ipv4Net,
    /// Interface name inside the nodes.
    pub ifname: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanNode {
    pub name: String,
    pub interfaces: Vec<PlanInterface>,
    pub routes: Vec<PlanRoute>,
    pub services: Vec<String>,
    pub forwarding: bool,
    #[serde(default)]
    pub vm: VmSize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<super::resources::PlanFile>,
    /// Where the topology put this node on netns whatever the lab's provider (`provider:
    /// netns`), or None: on the lab's provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<crate::diag::Span>,
}

impl PlanNode {
    /// Does this node run on netns in a lab of another provider?
    pub fn on_netns(&self) -> bool {
        self.netns.is_some()
    }
}

/// A node's size as a VM (libvirt provider).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanInterface {
    pub network: String,
    pub ifname: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub mac: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanRoute {
    #[schemars(with = "String")]
    pub to: Ipv4Net,
    pub via: Ipv4Addr,
}

/// The HA stack a cluster runs; its behaviour lives in the stack module, its names here (the
/// same in topology files, on the command line and in reports).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stack {
    None,
    Keepalived,
    Pacemaker,
}

impl Stack {
    /// The stack called `name`, as a user writes it.
    pub fn parse(name: &str) -> Option<Stack> {
        <Stack as clap::ValueEnum>::from_str(name, false).ok()
    }
    /// Every stack's name, for messages that list them.
    pub fn names() -> Vec<String> {
        <Stack as clap::ValueEnum>::value_variants().iter().map(|s| s.to_string()).collect()
    }
}

impl std::fmt::Display for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = clap::ValueEnum::to_possible_value(self).ok_or(std::fmt::Error)?;
        f.write_str(v.get_name())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanCluster {
    pub members: Vec<String>,
    pub vips: Vec<PlanVip>,
    pub stack: Stack,
    pub keepalived: KeepalivedSettings,
    pub corosync: CorosyncSettings,
    pub pacemaker: PacemakerSettings,
    pub sync: SyncSettings,
    pub firewall: FirewallSettings,
    /// Does a member that boots again start its stack by itself?
    #[serde(default = "auto")]
    pub rejoin: Rejoin,
    #[serde(default)]
    pub fencing: FencingSettings,
    /// The user's resources, agents and files.
    #[serde(default, skip_serializing_if = "super::resources::PlanService::is_empty")]
    pub service: super::resources::PlanService,
}

/// How the cluster fences a member it lost (pacemaker only).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FenceMethod {
    Off,
    /// halab's fence agent (fence_halab) asking the lab's fencer on the management network.
    Halab,
    /// Debian's fence_virt in the members, fence_virtd on the host (libvirt).
    Virt,
}

impl FenceMethod {
    pub const ALL: [FenceMethod; 3] = [FenceMethod::Off, FenceMethod::Halab, FenceMethod::Virt];
    pub fn name(self) -> &'static str {
        match self {
            FenceMethod::Off => "off",
            FenceMethod::Halab => "halab",
            FenceMethod::Virt => "virt",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct FencingSettings {
    /// None: the provider's own method, chosen at `up`.
    pub method: Option<FenceMethod>,
    /// `reboot` or `off` (pacemaker's stonith-action).
    pub action: String,
    /// pcmk_delay_max on every fence device (0: none).
    pub delay_max_ms: u32,
    /// priority-fencing-delay (0: none).
    pub priority_delay_ms: u32,
    /// Did the topology give the priority delay? (halab's default scales with the provider.)
    #[serde(default)]
    pub priority_delay_given: bool,
    /// Where the topology named the method (file, line, column): a provider that cannot use it
    /// says so there.
    pub at: Option<crate::diag::Span>,
}

impl FencingSettings {
    /// halab's default priority delay times the provider's `fence_delay_scale` (TCG VMs: 10):
    /// the member that lost the DC must elect itself and run the scheduler before it can ask
    /// to fence (on TCG, 2 s and then 8 s were not enough: the VIP holder lost the race).
    pub fn scale_default_delay(&mut self, scale: u32) {
        if !self.priority_delay_given {
            self.priority_delay_ms *= scale.max(1);
        }
    }

    /// Is the lab fencing (after `up` chose the method)?
    pub fn on(&self, stack: Stack) -> bool {
        stack == Stack::Pacemaker && self.method.is_some_and(|m| m != FenceMethod::Off)
    }
}

fn auto() -> Rejoin {
    Rejoin::Auto
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rejoin {
    Auto,
    Manual,
}

/// Why a cluster with these corosync links cannot run `stack`, or None.
pub fn stack_unfit(stack: Stack, corosync_links: &[String]) -> Option<&'static str> {
    (stack == Stack::Pacemaker && corosync_links.is_empty()).then_some("pacemaker needs a corosync link: set `cluster.sync.network` or `cluster.corosync.link`")
}

impl PlanCluster {
    /// With stack `none` nothing moves the VIPs: the first member holds them from boot on, so
    /// the lab still routes end to end.
    pub fn static_vip_holder(&self) -> Option<&str> {
        (self.stack == Stack::None).then(|| self.members.first().map(String::as_str)).flatten()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct KeepalivedSettings {
    pub advert_int_ms: u32,
    pub version: u8,
    /// (member, priority), in member order.
    pub priorities: Vec<(String, u32)>,
    pub preempt: bool,
    pub garp_master_delay_s: Option<u32>,
    pub garp_master_repeat: Option<u32>,
    /// The user's `vrrp_script`s, tracked by every instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_scripts: Vec<super::keepalived::TrackScript>,
    /// The user's command told of every transition, in order (`type name state priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_at: Option<crate::diag::Span>,
    /// The network one VRRP instance advertises over, holding every VIP; None: one instance
    /// per VIP network (`adverts: each`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adverts: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct CorosyncSettings {
    /// Networks carrying knet links (link0, optional link1); empty when no link could be chosen.
    pub links: Vec<String>,
    pub token_ms: u32,
    pub consensus_ms: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PacemakerSettings {
    pub dc_deadtime_ms: u32,
    pub stickiness: u32,
    pub preferred: String,
    pub link_monitor: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConntrackdMode {
    Ftfw,
    Alarm,
    Notrack,
    Off,
}

impl std::fmt::Display for ConntrackdMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConntrackdMode::Ftfw => "ftfw",
            ConntrackdMode::Alarm => "alarm",
            ConntrackdMode::Notrack => "notrack",
            ConntrackdMode::Off => "off",
        })
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncTransport {
    Multicast,
    Udp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SyncSettings {
    pub network: Option<String>,
    pub conntrackd: ConntrackdMode,
    pub transport: SyncTransport,
    /// pacemaker's conntrackd agent: OCF (provider, type).
    #[serde(default = "default_conntrackd_agent")]
    pub agent: (String, String),
    /// Where the topology named it (a missing agent is said there at `up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_at: Option<crate::diag::Span>,
}

/// The default agent conntrackd runs under: halab's (`stack/pacemaker/conntrackd-agent.sh`),
/// the stock ocf:heartbeat:conntrackd with the fixes a careful operator makes; the stock one
/// reports a killed conntrackd as running on the promoted member.
pub fn default_conntrackd_agent() -> (String, String) {
    ("halab".into(), "conntrackd".into())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct FirewallSettings {
    pub enabled: bool,
    /// (from network, to network) in which new connections may cross.
    pub new_connections: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
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
    /// Does the node forward from the moment it boots? A cluster member does not: it starts
    /// forwarding once its firewall is loaded (`stack::base_start`), as a firewall whose
    /// ruleset loads before its network comes up. A netns node boots in ~0.1 s: forwarding at
    /// boot, a member fenced with `reboot` forwarded the clients' traffic (their ARP caches
    /// still pointed at it) with no ruleset, before the survivor had taken the VIPs.
    pub fn forwards_at_boot(&self, node: &PlanNode) -> bool {
        node.forwarding && !self.cluster.as_ref().is_some_and(|c| c.members.contains(&node.name))
    }
    /// Run the cluster on another stack (`--stack`, a scenario's `stacks:`), checked as the
    /// topology's own `cluster.stack` is.
    pub fn set_stack(&mut self, stack: Stack) -> anyhow::Result<()> {
        let Some(cl) = self.cluster.as_mut() else {
            anyhow::bail!("{} has no `cluster:` section, so stack `{stack}` has nothing to run on", self.topology.display());
        };
        if let Some(why) = stack_unfit(stack, &cl.corosync.links) {
            anyhow::bail!("{}: {why}", self.topology.display());
        }
        cl.stack = stack;
        Ok(())
    }
}
