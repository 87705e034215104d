//! The topology file as the user writes it (strict: unknown fields are errors).

use serde::Deserialize;

use crate::yaml::{OrderedMap, Spanned};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    pub name: Spanned<String>,
    /// An image recipe in images/ (file stem), e.g. `debian-trixie-ha` (Debian 13, the default) or `debian-bookworm-ha` (Debian 12).
    #[serde(default)]
    pub image: Option<Spanned<String>>,
    /// Extra Debian packages, installed as a cached layer over the image for every node.
    #[serde(default)]
    pub packages: Vec<Spanned<String>>,
    /// Management network (host-side address .1); default: a free /24 from 198.19.0.0/16.
    #[serde(default)]
    pub management: Option<ManagementSpec>,
    /// How long a netns node takes from power-on to its network and services, as a machine
    /// boots (VMs and hosts take their own); `0s` boots at once.
    #[serde(default)]
    pub boot_time: Option<Spanned<String>>,
    pub networks: OrderedMap<NetworkSpec>,
    pub nodes: OrderedMap<NodeSpec>,
    #[serde(default)]
    pub cluster: Option<ClusterSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagementSpec {
    pub subnet: Spanned<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    pub subnet: Spanned<String>,
    /// Interface name inside the nodes (default: the network's name; at most 15 characters).
    #[serde(default)]
    pub ifname: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
    /// Size of the node as a VM (libvirt provider); ignored by the netns provider.
    #[serde(default)]
    pub vm: Option<VmSpec>,
    /// Files copied into the node at `up` (host path relative to the topology file).
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// `netns`: the node runs on the machine that runs halab whatever the lab's provider (a
    /// client or server beside VM members); left out: on the lab's provider.
    #[serde(default)]
    pub provider: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    /// MiB of guest memory (default 640).
    #[serde(default)]
    pub memory_mib: Option<Spanned<u32>>,
    /// Virtual CPUs (default 1).
    #[serde(default)]
    pub vcpus: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub to: Spanned<String>,
    pub via: Spanned<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub members: Vec<Spanned<String>>,
    /// network name -> virtual address held by the active member.
    #[serde(default)]
    pub vips: OrderedMap<Spanned<String>>,
    /// `none` (the first member holds the VIPs statically), `keepalived` or `pacemaker`.
    #[serde(default)]
    pub stack: Option<Spanned<String>>,
    #[serde(default)]
    pub keepalived: Option<KeepalivedSpec>,
    #[serde(default)]
    pub corosync: Option<CorosyncSpec>,
    #[serde(default)]
    pub pacemaker: Option<PacemakerSpec>,
    /// Connection-state sync between the members (conntrackd).
    #[serde(default)]
    pub sync: Option<SyncSpec>,
    /// Stateful nftables on the members.
    #[serde(default)]
    pub firewall: Option<FirewallSpec>,
    /// `auto` (default): a member that boots again starts its firewall and stack and rejoins;
    /// `manual`: it stays out until an operator starts the stack (as after a fence).
    #[serde(default)]
    pub rejoin: Option<Spanned<String>>,
    /// How pacemaker fences (keepalived has no fencing).
    #[serde(default)]
    pub fencing: Option<FencingSpec>,
    /// The user's own pacemaker resources (`resources.rs`), beside halab's.
    #[serde(default)]
    pub resources: OrderedMap<ResourceSpec>,
    #[serde(default)]
    pub constraints: Vec<ConstraintSpec>,
    /// A CIB fragment file for what the typed form lacks.
    #[serde(default)]
    pub cib: Option<Spanned<String>>,
    /// OCF provider -> directory of the user's agents, installed in every member.
    #[serde(default)]
    pub agents: OrderedMap<Spanned<String>>,
    /// Files copied into every member.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Commands (sh) run on every member before its stack starts: at `up` on all members at
    /// once, and again on a member that boots again (e.g. a DRBD device's backing).
    #[serde(default)]
    pub prepare: Vec<Spanned<String>>,
}

/// Fencing (pacemaker): `method` `off`, `halab` (the lab's own fencer, any provider) or `virt`
/// (libvirt: Debian's fence_virt to fence_virtd on the host); default the provider's. `action` reboot
/// (pacemaker's default) or off. Against a two-node fence race: `delay` (pcmk_delay_max, a
/// random delay up to it) or `priority_delay` (priority-fencing-delay: the member running the
/// VIPs wins; default 2s with two members).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FencingSpec {
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    #[serde(default)]
    pub delay: Option<Spanned<String>>,
    #[serde(default)]
    pub priority_delay: Option<Spanned<String>>,
}

/// keepalived (VRRP). Defaults: advert_int 1s, VRRP version 3, priorities 150 for the first
/// member then 100, 99, ..., preempt on (keepalived's own default), garp as keepalived's.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepalivedSpec {
    #[serde(default)]
    pub advert_int: Option<Spanned<String>>,
    #[serde(default)]
    pub version: Option<Spanned<u8>>,
    /// member -> priority (1-254).
    #[serde(default)]
    pub priorities: OrderedMap<Spanned<u32>>,
    #[serde(default)]
    pub preempt: Option<bool>,
    #[serde(default)]
    pub garp_master_delay: Option<Spanned<String>>,
    #[serde(default)]
    pub garp_master_repeat: Option<u32>,
    /// name -> a script keepalived runs every interval; a failure lowers the member's
    /// priority by `weight` (or, weight 0, puts it in FAULT) and the VIPs move.
    #[serde(default)]
    pub track_scripts: OrderedMap<TrackScriptSpec>,
    /// A command told of every VRRP transition, in order: `GROUP|INSTANCE name STATE priority`.
    #[serde(default)]
    pub notify: Option<Spanned<String>>,
    /// `each` (default): one VRRP instance per VIP network, in a sync group. A network's name:
    /// one instance advertising over that network, holding every VIP and tracking every VIP
    /// interface, so a pulled cable elsewhere puts the master in FAULT, which tells the backup
    /// at once (priority 0) instead of after its master-down interval
    /// (docs/keepalived-cable-pull.md).
    #[serde(default)]
    pub adverts: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackScriptSpec {
    pub script: Spanned<String>,
    /// Whole seconds (default 1s).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// Priority change on failure (negative) or success (positive); 0 (keepalived's default):
    /// FAULT on failure.
    #[serde(default)]
    pub weight: Option<Spanned<i32>>,
    #[serde(default)]
    pub fall: Option<Spanned<u32>>,
    #[serde(default)]
    pub rise: Option<Spanned<u32>>,
}

/// corosync (knet). Defaults: the sync network as link0, token 3000ms and consensus
/// 1.2 x token (corosync's own defaults), two_node for exactly two members.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorosyncSpec {
    #[serde(default)]
    pub link: Option<Spanned<String>>,
    #[serde(default)]
    pub second_link: Option<Spanned<String>>,
    #[serde(default)]
    pub token: Option<Spanned<String>>,
    #[serde(default)]
    pub consensus: Option<Spanned<String>>,
}

/// pacemaker. Defaults: dc-deadtime 2s pre-seeded (pacemaker's own is 20s), stickiness 100,
/// the first member preferred, link monitoring with ethmonitor on every VIP interface.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PacemakerSpec {
    #[serde(default)]
    pub dc_deadtime: Option<Spanned<String>>,
    #[serde(default)]
    pub stickiness: Option<u32>,
    #[serde(default)]
    pub preferred: Option<Spanned<String>>,
    #[serde(default)]
    pub link_monitor: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// The network conntrackd (and by default corosync) talks over.
    pub network: Spanned<String>,
    /// `ftfw` (default for two members), `alarm`, `notrack` (default for more) or `off`.
    #[serde(default)]
    pub conntrackd: Option<Spanned<String>>,
    /// `multicast` (default) or `udp` (two members only).
    #[serde(default)]
    pub transport: Option<Spanned<String>>,
    /// The OCF agent pacemaker runs conntrackd with (default `ocf:halab:conntrackd`, the stock
    /// agent with its monitor fixed: `stack/pacemaker/conntrackd-agent.sh`): the
    /// user's own copy under another provider (in `cluster.agents`) replaces it.
    #[serde(default)]
    pub agent: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallSpec {
    /// Directions in which new connections may cross the members.
    pub new_connections: Vec<DirectionSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectionSpec {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
}

// The user's own service (`cluster.resources` ...), checked in resources.rs.

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// `ocf:PROVIDER:TYPE`, `systemd:UNIT` or `lsb:SCRIPT` (a primitive).
    #[serde(default)]
    pub agent: Option<Spanned<String>>,
    /// Members of a group, in start order (a group).
    #[serde(default)]
    pub group: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub params: OrderedMap<Spanned<String>>,
    /// operation name -> { interval, timeout, role }
    #[serde(default)]
    pub ops: OrderedMap<OpSpec>,
    #[serde(default)]
    pub meta: OrderedMap<Spanned<String>>,
    /// `true` (a clone on every member) or `promotable`.
    #[serde(default)]
    pub clone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    /// The operation (default: the key). Lets one resource have two monitors, one per role:
    /// `monitor-promoted: { name: monitor, interval: 10s, role: Promoted }`.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub role: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    #[serde(default)]
    pub colocate: Option<Spanned<String>>,
    #[serde(default)]
    pub with: Option<Spanned<String>>,
    #[serde(default)]
    pub with_role: Option<Spanned<String>>,
    #[serde(default)]
    pub order: Option<Spanned<String>>,
    #[serde(default)]
    pub then: Option<Spanned<String>>,
    #[serde(default)]
    pub first_action: Option<Spanned<String>>,
    #[serde(default)]
    pub then_action: Option<Spanned<String>>,
    #[serde(default)]
    pub locate: Option<Spanned<String>>,
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// A number or INFINITY / -INFINITY (colocation and location; default INFINITY).
    #[serde(default)]
    pub score: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// On the host, relative to the topology file.
    pub from: Spanned<String>,
    /// In the node (absolute).
    pub to: Spanned<String>,
    /// Octal, e.g. "0644" (default 0644).
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
}
