//! Namespaces, bridges and veths: the lab's "hardware". Each is written to the ledger before
//! it is created. Bridges live in the fabric namespace; the host only gains one veth.

use anyhow::Result;

use super::names::*;
use crate::cmd;
use crate::labstate::LabState;
use crate::ledger::{Ledger, Object};

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

/// Create the namespaces and cables of the given nodes (by plan index).
pub fn wire_nodes(st: &LabState, ledger: &mut Ledger, nodes: &[usize]) -> Result<()> {
    let plan = &st.plan;
    let fabric = fabric_ns(plan);
    let mut objs = Vec::new();
    let mut host = String::new();
    let mut fab = String::new();
    for &ni in nodes {
        let node = &plan.nodes[ni];
        let ns = node_ns(plan, &node.name);
        objs.push(Object::Netns { name: ns.clone() });
        host.push_str(&format!("netns add {ns}\n"));
        let mp = mgmt_port(plan, ni);
        objs.push(Object::Link { netns: Some(fabric.clone()), name: mp.clone() });
        // Fixed MACs: after a power cycle the host's ARP cache still matches.
        let mac = crate::topology::validate::mac_for(&plan.lab, &node.name, NODE_MGMT_IF);
        host.push_str(&format!("link add {mp} netns {fabric} type veth peer name {NODE_MGMT_IF} address {mac} netns {ns}\n"));
        fab.push_str(&format!("link set {mp} master {} up\n", mgmt_bridge(plan)));
        for (ii, iface) in node.interfaces.iter().enumerate() {
            let p = port(plan, ni, ii);
            let net_index = plan.networks.iter().position(|n| n.name == iface.network).unwrap_or(0);
            objs.push(Object::Link { netns: Some(fabric.clone()), name: p.clone() });
            host.push_str(&format!("link add {p} netns {fabric} type veth peer name {} address {} netns {ns}\n", iface.ifname, iface.mac));
            fab.push_str(&format!("link set {p} master {} up\n", bridge(plan, net_index)));
        }
    }
    ledger.record_all(objs)?;
    cmd::run_input("ip", &["-batch", "-"], Some(&host))?;
    cmd::run_input("ip", &["-n", &fabric, "-batch", "-"], Some(&fab))?;
    Ok(())
}

/// Remove one node's cables and namespace (power off): its kernel state is gone, as on a real
/// machine that lost power. Fabric-side ends go first: namespace deletion is asynchronous and
/// would otherwise race a re-creation with the same names.
pub fn unwire_node(st: &LabState, ledger: &mut Ledger, ni: usize) -> Result<()> {
    let plan = &st.plan;
    let fabric = fabric_ns(plan);
    let node = &plan.nodes[ni];
    let mut ports = vec![mgmt_port(plan, ni)];
    ports.extend((0..node.interfaces.len()).map(|ii| port(plan, ni, ii)));
    let batch: String = ports.iter().map(|p| format!("link del {p}\n")).collect();
    let _ = cmd::run_input("ip", &["-force", "-n", &fabric, "-batch", "-"], Some(&batch));
    let ns = node_ns(plan, &node.name);
    delete_netns(&ns)?;
    ledger.forget(|o| match o {
        Object::Netns { name } => *name == ns,
        Object::Link { netns: Some(f), name } => *f == fabric && ports.contains(name),
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

/// Cable pull / plug: the fabric-side end goes down, so the node sees NO-CARRIER.
pub fn set_port(st: &LabState, ni: usize, ifname: &str, up: bool) -> Result<()> {
    let plan = &st.plan;
    let node = &plan.nodes[ni];
    let p = if ifname == NODE_MGMT_IF {
        mgmt_port(plan, ni)
    } else {
        let Some(ii) = node.interfaces.iter().position(|i| i.ifname == ifname) else {
            let names: Vec<&str> = node.interfaces.iter().map(|i| i.ifname.as_str()).collect();
            anyhow::bail!("node `{}` has no interface `{ifname}` (it has: {}, mgmt)", node.name, names.join(", "));
        };
        port(plan, ni, ii)
    };
    cmd::run("ip", &["-n", &fabric_ns(plan), "link", "set", &p, if up { "up" } else { "down" }])?;
    Ok(())
}
