//! netns nodes in a libvirt lab (`provider: netns` in the topology): a client and a server on
//! this machine, cabled to the lab's libvirt bridges, so a VM lab runs only its members as
//! TCG guests and both ends of a probe read the host's clock. They are netns nodes in all but
//! their cables, whose host-side ports carry the names a VM's taps would have: a cable pull
//! downs that port, loss is the lab's own nft table on it, as for a VM.

use std::time::Duration;

use anyhow::Result;

use crate::labstate::LabState;
use crate::provider::netns;
use crate::provider::{HostWiring, Part};

/// The lab's bridges and tap names, for `netns::wiring`.
pub fn host_wiring(st: &LabState) -> HostWiring {
    HostWiring {
        bridges: (0..st.plan.networks.len()).map(|i| super::xml::bridge_name(&st.plan, i)).collect(),
        mgmt_bridge: super::xml::mgmt_bridge_name(&st.plan),
        port: super::xml::tap_name,
    }
}

/// Is this node of the lab a netns node? (false for a node the lab does not have)
pub fn is_netns(st: &LabState, node: &str) -> bool {
    st.plan.nodes.iter().any(|n| n.name == node && n.on_netns())
}

/// Plan indexes of the lab's VMs and of its netns nodes.
pub fn split(st: &LabState) -> (Vec<usize>, Vec<usize>) {
    (0..st.plan.nodes.len()).partition(|&ni| !st.plan.nodes[ni].on_netns())
}

/// One netns node's actuators in a libvirt lab.
pub struct HostNode<'a> {
    pub st: &'a LabState,
    pub node: String,
}

impl crate::provider::Actuators for HostNode<'_> {
    fn describe(&self, part: Part) -> String {
        match part {
            Part::Power => "netns node in a libvirt lab: SIGKILL of its init, its namespace and links removed (a power cut)",
            Part::Cable => "netns node in a libvirt lab: its port on the lab's host bridge set down (carrier loss)",
            Part::Loss => "netns node in a libvirt lab: nft drop on its port on the host bridge",
            Part::Freeze => "netns node in a libvirt lab: SIGSTOP to every process of the node",
        }
        .into()
    }
    fn running(&self) -> bool {
        netns::init_pid(&self.st.plan.lab, &self.node).is_some()
    }
    fn booting(&self) -> bool {
        netns::faults::booting(self.st, &self.node)
    }
    fn set_link(&self, ifname: &str, up: bool, _heal_after: Option<Duration>) -> Result<()> {
        netns::faults::set_link(self.st, &self.node, ifname, up)
    }
    fn power_off(&self) -> Result<()> {
        netns::faults::power_off(self.st, &self.node)
    }
    fn power_on(&self) -> Result<()> {
        netns::faults::power_on(self.st, &self.node)
    }
    fn reboot(&self) -> Result<()> {
        netns::faults::reboot(self.st, &self.node)
    }
    fn freeze(&self, frozen: bool) -> Result<()> {
        netns::faults::freeze(self.st, &self.node, frozen)
    }
    fn set_loss(&self, ifname: &str, percent: u32, _heal_after: Option<Duration>) -> Result<()> {
        super::faults::set_loss(self.st, &self.node, ifname, percent)
    }
}

/// Each netns node reaches a VM on every network it shares with one (a ping from the node
/// before any firewall is loaded), so a miscabled lab fails `up` with the network named
/// rather than a run with a silent client.
pub fn check_reach(st: &LabState, on_netns: &[usize]) -> Result<()> {
    use crate::node::Shell;
    for &ni in on_netns {
        let node = &st.plan.nodes[ni];
        let shell = netns::shell::NsShell::new(&st.plan.lab, &node.name);
        for iface in &node.interfaces {
            let vm = st.plan.nodes.iter().filter(|n| !n.on_netns()).find_map(|n| n.interfaces.iter().find(|i| i.network == iface.network).map(|i| (n, i)));
            let Some((vm, peer)) = vm else { continue };
            let addr = peer.address.to_string();
            let reached =
                || Ok(shell.exec(&["ping", "-c", "1", "-W", "1", "-I", &iface.ifname, &addr], None, Duration::from_secs(3)).is_ok_and(|o| o.status.success()));
            let why = || {
                format!(
                    "netns node `{}` cannot reach VM `{}` ({addr}) on network `{}`: its cable on the lab's bridge carries nothing",
                    node.name, vm.name, iface.network
                )
            };
            crate::wait::until(Duration::from_secs(10), Duration::from_millis(200), reached, why)?;
        }
    }
    Ok(())
}
