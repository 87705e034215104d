//! Which host plays which topology node. A node takes, in this order: the host of its own
//! name, a host tagged with its name, a host tagged with its role (`member` for a cluster
//! member, `end` for any other node), then any untagged host; always one whose NICs are
//! cabled to every network the node is on, and that is not quarantined.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::inventory::{Host, Inventory};
use crate::topology::{Plan, PlanNode};

/// One lab NIC of a bound host: its MAC, the name the plan gives it, its network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nic {
    pub mac: String,
    pub ifname: String,
    pub network: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub node: String,
    pub host: Host,
    pub nics: Vec<Nic>,
}

fn role(plan: &Plan, node: &str) -> &'static str {
    if plan.cluster.as_ref().is_some_and(|c| c.members.iter().any(|m| m == node)) {
        "member"
    } else {
        "end"
    }
}

/// The host's NICs for the node's interfaces, or the networks it lacks.
fn nics_for(host: &Host, node: &PlanNode) -> Result<Vec<Nic>, Vec<String>> {
    let mut used = BTreeSet::new();
    let mut nics = Vec::new();
    let mut lacking = Vec::new();
    for i in &node.interfaces {
        match host.nics.iter().find(|(mac, net)| **net == i.network && !used.contains(*mac)) {
            Some((mac, _)) => {
                used.insert(mac.clone());
                nics.push(Nic { mac: mac.clone(), ifname: i.ifname.clone(), network: i.network.clone() });
            }
            None => lacking.push(i.network.clone()),
        }
    }
    if lacking.is_empty() {
        Ok(nics)
    } else {
        Err(lacking)
    }
}

/// Bind every node of `plan`; `unusable` names hosts that may not be used, with why
/// (quarantined). An error says, per node, why each host was not taken.
pub fn bind(plan: &Plan, inv: &Inventory, unusable: &[(String, String)]) -> Result<Vec<Binding>> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for node in &plan.nodes {
        let r = role(plan, &node.name);
        let rank = |h: &Host| -> Option<u8> {
            if h.name == node.name {
                Some(0)
            } else if h.tags.contains(&node.name) {
                Some(1)
            } else if h.tags.iter().any(|t| t == r) {
                Some(2)
            } else if h.tags.is_empty() {
                Some(3)
            } else {
                None
            }
        };
        let mut why = Vec::new();
        let mut best: Option<(u8, &Host, Vec<Nic>)> = None;
        for h in &inv.hosts {
            let Some(k) = rank(h) else {
                why.push(format!("{} is tagged {}", h.name, h.tags.join(", ")));
                continue;
            };
            if taken.contains(&h.name) {
                continue;
            }
            if let Some((_, reason)) = unusable.iter().find(|(n, _)| *n == h.name) {
                why.push(format!("{} is quarantined ({reason})", h.name));
                continue;
            }
            match nics_for(h, node) {
                Ok(nics) if best.as_ref().is_none_or(|(b, _, _)| k < *b) => best = Some((k, h, nics)),
                Ok(_) => {}
                Err(lacking) => why.push(format!("{} has no NIC on {}", h.name, lacking.join(", "))),
            }
        }
        let Some((_, host, nics)) = best else {
            let nets: Vec<&str> = node.interfaces.iter().map(|i| i.network.as_str()).collect();
            bail!(
                "no host of the inventory {} can play node `{}` (on {}): {}",
                inv.file.display(),
                node.name,
                nets.join(", "),
                if why.is_empty() { "every host is bound to another node".to_string() } else { why.join("; ") }
            );
        };
        taken.insert(host.name.clone());
        out.push(Binding { node: node.name.clone(), host: host.clone(), nics });
    }
    Ok(out)
}
