//! Nodes the topology puts on netns (`provider: netns`) in a lab of another provider: a
//! client and a server on the machine that runs halab, wired to the VMs' networks. Only a
//! provider whose networks are bridges on this machine can take them, and cluster members
//! stay on the lab's provider (fencing, the stack's timings and its kernel are the provider's).
//! Refused before anything is made, at the node's `provider:` line.

use crate::diag::{Diagnostic, InputError};

pub fn check(plan: &super::Plan, provider: &str, takes_netns_nodes: bool) -> Result<(), InputError> {
    if provider == "netns" {
        return Ok(());
    }
    let members: Vec<&str> = plan.cluster.iter().flat_map(|c| c.members.iter().map(String::as_str)).collect();
    let mut out = Vec::new();
    for node in &plan.nodes {
        let Some(at) = &node.netns else { continue };
        let field = format!("nodes.{}.provider", node.name);
        if !takes_netns_nodes {
            let msg = format!("the {provider} provider cannot place node `{}` on netns: its networks are not bridges on this machine", node.name);
            out.push(Diagnostic::at(at, &field, &msg, "leave `provider:` out to run it on the lab's provider"));
        } else if members.contains(&node.name.as_str()) {
            let msg = format!("node `{}` is a cluster member: members run on the lab's provider ({provider})", node.name);
            out.push(Diagnostic::at(at, &field, &msg, "put only clients and servers on netns"));
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(InputError { diagnostics: out })
    }
}
