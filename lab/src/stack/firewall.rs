//! Stateful nftables for a cluster member (or, with no firewall configured, connection tracking
//! only): forward policy drop, established/related accepted,
//! new connections only in the configured directions, invalid dropped and counted; VRRP,
//! corosync and conntrackd allowed on the interfaces that carry them.

use crate::topology::{Plan, PlanCluster, PlanNode};

/// corosync/knet and conntrackd ports.
pub const KNET_PORTS: &str = "5405-5412";
/// The nft table of the stack's firewall on every member.
pub const TABLE: &str = "inet halab";
pub const CONNTRACKD_PORT: u16 = 3780;

fn ifname(plan: &Plan, network: &str) -> String {
    plan.network(network).map(|n| n.ifname.clone()).unwrap_or_else(|| network.to_string())
}

fn set(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("{{ {} }}", quoted.join(", "))
}

pub fn ruleset(plan: &Plan, cl: &PlanCluster, node: &PlanNode) -> String {
    let vip_ifs: Vec<String> = {
        let mut v: Vec<String> = cl.vips.iter().map(|v| v.ifname.clone()).collect();
        v.dedup();
        v
    };
    let mut hb_ifs: Vec<String> = cl.corosync.links.iter().map(|l| ifname(plan, l)).collect();
    if let Some(n) = &cl.sync.network {
        hb_ifs.push(ifname(plan, n));
    }
    hb_ifs.sort();
    hb_ifs.dedup();
    let mut input = String::new();
    input.push_str("        iif \"lo\" accept\n");
    input.push_str("        ct state established,related accept\n");
    input.push_str(&format!("        iifname \"{}\" accept\n", crate::labstate::MGMT_IF));
    input.push_str("        meta l4proto icmp accept\n");
    input.push_str("        tcp dport 22 accept\n");
    if !vip_ifs.is_empty() {
        // VRRP is IP protocol 112.
        input.push_str(&format!("        iifname {} ip protocol 112 accept\n", set(&vip_ifs)));
    }
    if !hb_ifs.is_empty() {
        input.push_str(&format!("        iifname {} udp dport {KNET_PORTS} accept\n", set(&hb_ifs)));
        input.push_str(&format!("        iifname {} udp dport {CONNTRACKD_PORT} accept\n", set(&hb_ifs)));
    }
    let mut forward = String::from("        ct state established,related accept\n        ct state invalid counter name \"invalid\" drop\n");
    for (from, to) in &cl.firewall.new_connections {
        let (fi, ti) = (ifname(plan, from), ifname(plan, to));
        if node.interfaces.iter().any(|i| i.ifname == fi) && node.interfaces.iter().any(|i| i.ifname == ti) {
            forward.push_str(&format!("        iifname \"{fi}\" oifname \"{ti}\" ct state new accept\n"));
        }
    }
    // Without `cluster.firewall` (but with conntrackd) the ruleset only tracks connections, so
    // conntrackd has state to sync: both policies accept; invalid packets are still counted and
    // dropped, as nf_conntrack_tcp_loose=0 means.
    let policy = if cl.firewall.enabled { "drop" } else { "accept" };
    format!(
        "# halab: stateful firewall of {node} (generated)\n\
         table {TABLE}\n\
         delete table {TABLE}\n\
         table {TABLE} {{\n    counter invalid {{ }}\n\n    chain input {{\n        type filter hook input priority filter; policy {policy};\n{input}    }}\n\n    chain forward {{\n        type filter hook forward priority filter; policy {policy};\n{forward}    }}\n}}\n",
        node = node.name
    )
}
