//! Names of what the netns provider creates: all carry the lab's name or short id.

use crate::topology::Plan;

/// Node namespace: `<lab>.<node>`.
pub fn node_ns(plan: &Plan, node: &str) -> String {
    format!("{}.{}", plan.lab, node)
}

/// The lab's switch namespace holding every bridge: `<lab>+fabric` (`+` is not allowed in
/// node names, so it cannot collide with a node).
pub fn fabric_ns(plan: &Plan) -> String {
    format!("{}+fabric", plan.lab)
}

/// Bridge of network `i` inside the fabric namespace.
pub fn bridge(plan: &Plan, net_index: usize) -> String {
    format!("{}b{}", plan.id, net_index)
}

pub fn mgmt_bridge(plan: &Plan) -> String {
    format!("{}bm", plan.id)
}

/// Fabric-side end of node `n`'s interface `i` (the "switch port": pulling a cable downs it).
pub fn port(plan: &Plan, node_index: usize, iface_index: usize) -> String {
    format!("{}n{}i{}", plan.id, node_index, iface_index)
}

/// Fabric-side end of node `n`'s management interface.
pub fn mgmt_port(plan: &Plan, node_index: usize) -> String {
    format!("{}n{}m", plan.id, node_index)
}

/// The lab's single interface in the host namespace, and its peer on the management bridge.
pub fn host_link(plan: &Plan) -> String {
    format!("hl{}", plan.id)
}

pub fn host_link_peer(plan: &Plan) -> String {
    format!("hl{}f", plan.id)
}

/// The management interface inside every node.
pub use crate::labstate::MGMT_IF as NODE_MGMT_IF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit_linux_limit() {
        let plan = Plan {
            lab: "a-very-long-lab-name-of-32-chars".into(),
            id: "abcdef".into(),
            topology: "t.yaml".into(),
            image: "x".into(),
            packages: vec![],
            management: None,
            boot_time_ms: 0,
            networks: vec![],
            nodes: vec![],
            cluster: None,
        };
        for n in [port(&plan, 999, 99), mgmt_port(&plan, 999), bridge(&plan, 99), host_link_peer(&plan)] {
            assert!(n.len() <= 15, "{n} is too long");
        }
    }
}
