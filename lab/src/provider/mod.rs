//! Providers: where a lab's nodes and networks live. Each owns its whole lifecycle (preflight,
//! up, teardown from the ledger, when its lab is garbage), how a node is reached (its `Shell`)
//! and what breaks a node (its `Actuators`). Nothing outside this folder names a provider's
//! internals; a new provider is a folder plus one line in `PROVIDERS`.

pub mod fabric_loss;
pub mod hosts;
pub mod identity;
pub mod netns;

#[cfg(feature = "libvirt")]
pub mod libvirt;
#[cfg(not(feature = "libvirt"))]
mod unavailable;

use std::process::Command;
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::image::Image;
use crate::labstate::LabState;
use crate::ledger::Ledger;
use crate::node::Shell;

/// Every provider this halab has, the default first.
pub static PROVIDERS: &[&dyn Provider] = &[
    &netns::Netns,
    #[cfg(feature = "libvirt")]
    &libvirt::Libvirt,
    #[cfg(not(feature = "libvirt"))]
    &unavailable::NoLibvirt,
    &hosts::Hosts,
];

/// The provider called `name`.
pub fn get(name: &str) -> Result<&'static dyn Provider> {
    match PROVIDERS.iter().find(|p| p.name() == name) {
        Some(p) => Ok(*p),
        None => bail!("no provider `{name}` (providers: {})", names().join(", ")),
    }
}

/// The schemas of the providers' own files and outputs, listed by `halab schema` after
/// halab's own (`crate::schema`).
pub const SCHEMAS: &[crate::schema::Kind] = &[
    crate::schema::Kind { name: "inventory", about: "an inventory of existing machines (the hosts provider)", make: hosts::inventory::schema },
    crate::schema::Kind { name: "hosts-ls", about: "the output of `halab hosts ls --json`", make: hosts::listing::schema },
];

/// `halab validate` of an inventory: its name and how many hosts it lists.
pub fn check_inventory(path: &std::path::Path) -> Result<(String, usize), crate::diag::InputError> {
    hosts::inventory::load(path).map(|inv| (inv.name, inv.hosts.len()))
}

pub fn names() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.name()).collect()
}

/// Where a lab goes, as the command line says it: `--provider` and its options.
#[derive(Debug, Clone)]
pub struct Options {
    pub provider: String,
    /// libvirt: the connection URI (default qemu:///system, or HALAB_LIBVIRT_URI).
    pub libvirt_uri: Option<String>,
    /// hosts: the inventory of machines the lab may use.
    pub inventory: Option<std::path::PathBuf>,
    /// hosts: how long a lease lasts unless renewed.
    pub lease_ttl: Option<std::time::Duration>,
    /// hosts: how long `up` waits for hosts another lab holds.
    pub lease_wait: Option<std::time::Duration>,
    /// The image recipe instead of the topology's (`--image`).
    pub image: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options { provider: "netns".into(), libvirt_uri: None, inventory: None, lease_ttl: None, lease_wait: None, image: None }
    }
}

/// A provider: how labs of its kind come up, go down, and are reached and broken.
pub trait Provider: Sync {
    fn name(&self) -> &'static str;
    /// Tools and rights it needs on this host, checked before anything is created.
    fn preflight(&self) -> Result<()>;
    /// What this lab's nodes will run on (e.g. libvirt's URI and KVM or TCG), kept in lab.json.
    fn decide(&self, plan: &crate::topology::Plan, opts: &Options, img: &Image) -> Result<serde_json::Value>;
    /// The management network when the provider brings its own (real hosts have their
    /// addresses); None: halab chooses one.
    fn management(&self, _settings: &serde_json::Value) -> Result<Option<crate::labstate::Management>> {
        Ok(None)
    }
    /// Create the lab's nodes and networks, each written to the ledger before it exists. On
    /// error the caller tears down from the ledger.
    fn up(&self, st: &LabState, ledger: &mut Ledger, img: &Image) -> Result<()>;
    /// Remove this provider's objects of the ledger (idempotent; directories are the caller's).
    fn teardown(&self, ledger: &Ledger) -> Result<()>;
    /// Why an `up` lab of this provider is garbage (its nodes are gone), or None.
    fn garbage_reason(&self, ledger: &Ledger) -> Option<String>;
    /// How to reach a node.
    fn shell(&self, st: &LabState, node: &str) -> Result<Arc<dyn Shell>>;
    /// What breaks a node.
    fn actuators<'a>(&self, st: &'a LabState, node: &str) -> Result<Box<dyn Actuators + 'a>>;
    /// How much slower than a netns node this lab's nodes run (TCG VMs emulate every
    /// instruction), so a stack's waits scale with it.
    fn time_scale(&self, _st: &LabState) -> u32 {
        1
    }
    /// How many times halab's default priority-fencing-delay (2 s) this lab's members need:
    /// the time a member that lost the DC takes to elect itself and ask for the fence.
    fn fence_delay_scale(&self, st: &LabState) -> u32 {
        self.time_scale(st)
    }
    /// The provider as `status` shows it (e.g. `libvirt, qemu:///system, TCG`).
    fn describe(&self, _st: &LabState) -> String {
        self.name().to_string()
    }
    /// A host PID that stands for the node (a netns node's init), for `status`.
    fn host_pid(&self, _st: &LabState, _node: &str) -> Option<i32> {
        None
    }
    /// A command with the user's terminal attached, for `halab exec` (None: use the shell).
    fn interactive(&self, _st: &LabState, _node: &str, _argv: &[String]) -> Result<Option<Command>> {
        Ok(None)
    }
    /// The hypervisor connection its machines run under (libvirt's URI), for a fencer that
    /// talks to the hypervisor itself (fence_virtd); None where there is none.
    fn hypervisor_uri(&self, _st: &LabState) -> Result<Option<String>> {
        Ok(None)
    }
    /// The fencing methods it can do, its default first.
    fn fence_methods(&self) -> &'static [crate::topology::FenceMethod] {
        &[crate::topology::FenceMethod::Halab]
    }
    /// Does each node run its own kernel? netns nodes share this machine's.
    fn own_kernel(&self) -> bool {
        true
    }
    /// Can a topology put some of this provider's nodes on netns (`provider: netns`): are its
    /// networks bridges on this machine that a netns node can be cabled to?
    fn takes_netns_nodes(&self) -> bool {
        false
    }
    /// Where the netns nodes of this provider's lab plug in (see `HostWiring`); None: the
    /// netns fabric of their own (a netns lab).
    fn host_wiring(&self, _st: &LabState) -> Option<HostWiring> {
        None
    }
    /// The provider's own subcommand (`halab hosts ARGS`), parsed by the provider; None: it
    /// has none.
    fn command(&self, _args: &[String]) -> Option<Result<std::process::ExitCode>> {
        None
    }
    /// Before a suite (`halab nightly`): check the machines its runs will use, writing what
    /// was found under `out` (hosts: health checks, quarantine, health.xml). Nothing for a
    /// provider that makes its machines.
    fn check_machines(&self, _opts: &Options, _out: &std::path::Path) -> Result<()> {
        Ok(())
    }
    /// Run one of this provider's helper processes (`halab _helper PROVIDER NAME ARG`), such as
    /// a netns node's init.
    fn helper(&self, name: &str, _arg: &std::path::Path) -> Result<()> {
        bail!("provider `{}` has no helper `{name}`", self.name())
    }
}

/// A netns node in another provider's lab is cabled to that provider's bridges in the host
/// namespace: one per network (in plan order) and the management one. Its host-side ports
/// are named by that provider, so its cable and loss faults find them as they find a VM's.
pub struct HostWiring {
    pub bridges: Vec<String>,
    pub mgmt_bridge: String,
    /// Host-side port of node `n`'s interface `i` (None: its management interface).
    pub port: fn(&crate::topology::Plan, usize, Option<usize>) -> String,
}

/// What breaks one node: power, cables, loss, freeze. netns and libvirt provide them from
/// their own backend; a real machine gets them per machine (BMC, PDU, switch port).
pub trait Actuators {
    /// Is the node powered on?
    fn running(&self) -> bool;
    /// Powered on and still booting (a netns node within its topology's `boot_time`; a VM or
    /// host boots inside its `power_on`).
    fn booting(&self) -> bool {
        false
    }
    /// Pull (`up == false`) or plug the cable of one interface; the node sees carrier loss.
    /// `heal_after`: the run plugs it back after that long (None: a later step, the run's end
    /// or the user does). A provider whose controller can be lost meanwhile (hosts) also
    /// schedules the plug where the fault is made, so a lost controller never leaves a
    /// cluster cut.
    fn set_link(&self, ifname: &str, up: bool, heal_after: Option<std::time::Duration>) -> Result<()>;
    /// Power cut: nothing of the node's running state survives.
    fn power_off(&self) -> Result<()>;
    /// Boot a powered-off node; returns once it answers again.
    fn power_on(&self) -> Result<()>;
    /// Something other than halab booted the node (the cluster's fence_virtd): return once it
    /// answers, as `power_on` does.
    fn booted(&self) -> Result<()> {
        Ok(())
    }
    fn reboot(&self) -> Result<()>;
    /// Freeze (every process of the node stops, its links stay up) or thaw.
    fn freeze(&self, frozen: bool) -> Result<()>;
    /// Packet loss on one interface, in percent (0 = none, 100 = a clean cut).
    /// `heal_after` as for `set_link`.
    fn set_loss(&self, ifname: &str, percent: u32, heal_after: Option<std::time::Duration>) -> Result<()>;
    /// What produces a fault of this part, for the run's events (e.g. "power: ipmi BMC
    /// 198.19.0.5:623 (fence_ipmilan)"), so a result says which actuator made it.
    fn describe(&self, part: Part) -> String;
}

/// The part of a node a fault acts on through its actuators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Power,
    Cable,
    Loss,
    Freeze,
}
