//! Namespaces, bridges and veths: the lab's "hardware". Each is written to the ledger before
//! it is created. Bridges live in the fabric namespace; the host only gains one veth. A netns
//! node in another provider's lab is cabled to that provider's bridges in the host instead.

use anyhow::Result;

use super::names::*;
use crate::cmd;
use crate::labstate::LabState;
use crate::ledger::{Ledger, Object};
use crate::provider::HostWiring;

/// Bridges for every network and for management: no STP, no forwarding delay, no multicast
/// snooping (VRRP, corosync and conntrackd multicast are lost otherwise).
const BRIDGE_OPTS: &str = "type bridge stp_state 0 forward_delay 0 mcast_snooping 0";

pub fn create_fabric(st: &LabState, ledger: &mut Ledger) -> Result<()> {
    let plan = &st.plan;
    let fabric = fabric_ns(plan);
    let (host, peer) = (host_link(plan), host_link_peer(plan));
    ledger.record_all([Object::Netns { name: fabric.clone() }, Object::Link { netns: None, name: host.clone() }])?;
    let host_batch = format!(
        "netns add {fabric}\nlink add {host} type veth peer name {peer} netns {fabric}\naddr add {}/{} dev {host}\nlink set {host} up\n",
        st.host_addr,
        st.management.prefix_len()
    );
    cmd::run_input("ip", &["-batch", "-"], Some(&host_batch))?;
    let mut fab = String::new();
    for (i, _) in plan.networks.iter().enumerate() {
        fab.push_str(&format!("link add {} {BRIDGE_OPTS}\nlink set {} up\n", bridge(plan, i), bridge(plan, i)));
    }
    let mb = mgmt_bridge(plan);
    fab.push_str(&format!("link add {mb} {BRIDGE_OPTS}\nlink set {mb} up\nlink set {peer} master {mb} up\n"));
    cmd::run_input("ip", &["-n", &fabric, "-batch", "-"], Some(&fab))?;
    Ok(())
}

/// The other provider's bridges this lab's netns nodes plug into (a netns node in a VM lab),
/// or None: the lab's own fabric namespace.
fn host_wiring(st: &LabState) -> Option<HostWiring> {
    crate::provider::get(&st.provider.kind).ok()?.host_wiring(st)
}

/// Create the namespaces and cables of the given nodes (by plan index).
pub fn wire_nodes(st: &LabState, ledger: &mut Ledger, nodes: &[usize]) -> Result<()> {
    let plan = &st.plan;
    let hw = host_wiring(st);
    // The switch side: the fabric namespace, or the host's (`None`) with another provider's bridges.
    let switch_ns = if hw.is_some() { None } else { Some(fabric_ns(plan)) };
    let mut objs = Vec::new();
    let mut host = String::new();
    let mut fab = String::new();
    for &ni in nodes {
        let node = &plan.nodes[ni];
        let ns = node_ns(plan, &node.name);
        objs.push(Object::Netns { name: ns.clone() });
        host.push_str(&format!("netns add {ns}\n"));
        let into = switch_ns.as_ref().map(|f| format!(" netns {f}")).unwrap_or_default();
        let mp = switch_port(plan, hw.as_ref(), ni, None);
        objs.push(Object::Link { netns: switch_ns.clone(), name: mp.clone() });
        // Fixed MACs: after a power cycle the host's ARP cache still matches.
        let mac = crate::topology::validate::mac_for(&plan.lab, &node.name, NODE_MGMT_IF);
        host.push_str(&format!("link add {mp}{into} type veth peer name {NODE_MGMT_IF} address {mac} netns {ns}\n"));
        let mb = hw.as_ref().map(|h| h.mgmt_bridge.clone()).unwrap_or_else(|| mgmt_bridge(plan));
        fab.push_str(&format!("link set {mp} master {mb} up\n"));
        for (ii, iface) in node.interfaces.iter().enumerate() {
            let p = switch_port(plan, hw.as_ref(), ni, Some(ii));
            let net_index = plan.networks.iter().position(|n| n.name == iface.network).unwrap_or(0);
            objs.push(Object::Link { netns: switch_ns.clone(), name: p.clone() });
            host.push_str(&format!("link add {p}{into} type veth peer name {} address {} netns {ns}\n", iface.ifname, iface.mac));
            let br = match &hw {
                Some(h) => h.bridges.get(net_index).cloned().unwrap_or_default(),
                None => bridge(plan, net_index),
            };
            fab.push_str(&format!("link set {p} master {br} up\n"));
        }
    }
    ledger.record_all(objs)?;
    cmd::run_input("ip", &["-batch", "-"], Some(&host))?;
    match &switch_ns {
        Some(f) => cmd::run_input("ip", &["-n", f, "-batch", "-"], Some(&fab))?,
        None => cmd::run_input("ip", &["-batch", "-"], Some(&fab))?,
    };
    Ok(())
}

/// The switch-side end of node `ni`'s interface `iface` (None: management): a port of the
/// fabric, or the host-side port another provider names.
fn switch_port(plan: &crate::topology::Plan, hw: Option<&HostWiring>, ni: usize, iface: Option<usize>) -> String {
    match (hw, iface) {
        (Some(h), _) => (h.port)(plan, ni, iface),
        (None, Some(ii)) => port(plan, ni, ii),
        (None, None) => mgmt_port(plan, ni),
    }
}

/// `ip` on the switch side: in the fabric namespace, or the host's.
fn ip_switch(st: &LabState, hw: Option<&HostWiring>, args: &[&str], input: Option<&str>) -> Result<String> {
    let fabric = fabric_ns(&st.plan);
    let mut a: Vec<&str> = Vec::new();
    if hw.is_none() {
        a.extend(["-n", fabric.as_str()]);
    }
    a.extend(args);
    match input {
        Some(i) => cmd::run_input("ip", &a, Some(i)),
        None => cmd::run("ip", &a),
    }
}

/// Remove one node's cables and namespace (power off): its kernel state is gone, as on a real
/// machine that lost power. Switch-side ends go first: namespace deletion is asynchronous and
/// would otherwise race a re-creation with the same names.
pub fn unwire_node(st: &LabState, ledger: &mut Ledger, ni: usize) -> Result<()> {
    let plan = &st.plan;
    let hw = host_wiring(st);
    let switch_ns = if hw.is_some() { None } else { Some(fabric_ns(plan)) };
    let node = &plan.nodes[ni];
    let mut ports = vec![switch_port(plan, hw.as_ref(), ni, None)];
    ports.extend((0..node.interfaces.len()).map(|ii| switch_port(plan, hw.as_ref(), ni, Some(ii))));
    let batch: String = ports.iter().map(|p| format!("link del {p}\n")).collect();
    let _ = ip_switch(st, hw.as_ref(), &["-force", "-batch", "-"], Some(&batch));
    let ns = node_ns(plan, &node.name);
    delete_netns(&ns)?;
    ledger.forget(|o| match o {
        Object::Netns { name } => *name == ns,
        Object::Link { netns, name } => *netns == switch_ns && ports.contains(name),
        _ => false,
    })
}

pub fn delete_netns(name: &str) -> Result<()> {
    if std::path::Path::new("/run/netns").join(name).exists() {
        cmd::run("ip", &["netns", "del", name])?;
    }
    Ok(())
}

pub fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

/// Cable pull / plug: the switch-side end goes down, so the node sees NO-CARRIER.
pub fn set_port(st: &LabState, ni: usize, ifname: &str, up: bool) -> Result<()> {
    let plan = &st.plan;
    let hw = host_wiring(st);
    let node = &plan.nodes[ni];
    let p = if ifname == NODE_MGMT_IF {
        switch_port(plan, hw.as_ref(), ni, None)
    } else {
        let Some(ii) = node.interfaces.iter().position(|i| i.ifname == ifname) else {
            let names: Vec<&str> = node.interfaces.iter().map(|i| i.ifname.as_str()).collect();
            anyhow::bail!("node `{}` has no interface `{ifname}` (it has: {}, mgmt)", node.name, names.join(", "));
        };
        switch_port(plan, hw.as_ref(), ni, Some(ii))
    };
    ip_switch(st, hw.as_ref(), &["link", "set", &p, if up { "up" } else { "down" }], None)?;
    Ok(())
}
