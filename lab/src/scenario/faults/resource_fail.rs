//! `resource_fail`: a resource the cluster runs fails under it, the node and the stack's
//! daemons staying up: conntrackd killed, or the VIPs removed by hand. What recovers it, and
//! how fast, is the stack's business (pacemaker's monitors; keepalived watches neither).

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Field, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "resource_fail",
    doc: "fail a cluster resource on the node, its daemons left running: `conntrackd` (kill -9) or `vip` (every VIP removed by hand)",
    fields: &[NODE, RESOURCE],
    example: "{ kind: resource_fail, node: \"@active\", resource: vip }",
    part: None,
    check,
};

const RESOURCE: Field = Field { name: "resource", required: true, doc: "`conntrackd` or `vip`", hint: "conntrackd or vip" };

#[derive(Debug)]
enum Resource {
    Conntrackd,
    Vip,
}

#[derive(Debug)]
struct ResourceFail {
    node: Target,
    resource: Resource,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    let resource = match cx.text("resource")?.as_str() {
        "conntrackd" => Resource::Conntrackd,
        "vip" => Resource::Vip,
        other => {
            cx.report(Some("resource"), &format!("unknown resource `{other}`"), "conntrackd or vip");
            return None;
        }
    };
    Some(Arc::new(ResourceFail { node: node.filter(|_| cluster)?, resource }))
}

impl Fault for ResourceFail {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        let cl = lab.plan.cluster.as_ref().context("resource_fail needs a cluster")?;
        let n = lab.node(&node)?;
        match self.resource {
            Resource::Conntrackd => super::kill_daemon::kill9(&n, "conntrackd")?,
            Resource::Vip => {
                let held: Vec<_> =
                    cl.vips.iter().filter(|v| n.succeeds(&["sh", "-c", &format!("ip -br addr show dev {} | grep -qw {}", v.ifname, v.address)])).collect();
                anyhow::ensure!(!held.is_empty(), "`{node}` holds no VIP to remove");
                // One go: keepalived sees the first removal over netlink and drops the rest of
                // its sync group itself before a second `ip` would run.
                let del: Vec<String> = held.iter().map(|v| format!("ip addr del {}/{} dev {} 2>/dev/null", v.address, v.prefix_len, v.ifname)).collect();
                n.sh(&format!("{}; true", del.join("; ")))?;
            }
        }
        Ok(Applied::on(node))
    }
}
