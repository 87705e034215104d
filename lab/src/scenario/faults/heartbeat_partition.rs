//! `heartbeat_partition`: a node cut off the cluster's own networks (corosync links and the
//! state-sync network), while the service networks keep working.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::{Applied, Check, Fault, Undo, Verb, DURATION, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "heartbeat_partition",
    doc: "drop every frame of the node on the corosync and state-sync networks (the service networks keep working)",
    fields: &[NODE, DURATION],
    example: "{ kind: heartbeat_partition, node: \"@standby\", duration: 20s }",
    part: Some(crate::provider::Part::Loss),
    check,
};

#[derive(Debug)]
struct HeartbeatPartition {
    node: Target,
    duration: Option<Duration>,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    let duration = cx.duration()?;
    Some(Arc::new(HeartbeatPartition { node: node.filter(|_| cluster)?, duration }))
}

impl Fault for HeartbeatPartition {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        let cl = lab.plan.cluster.as_ref().context("heartbeat_partition needs a cluster")?;
        let mut nets: Vec<&String> = cl.corosync.links.iter().chain(&cl.sync.network).collect();
        nets.sort();
        nets.dedup();
        let pn = lab.plan.node(&node).with_context(|| format!("the plan has no node `{node}`"))?;
        let ifs: Vec<String> = pn.interfaces.iter().filter(|i| nets.contains(&&i.network)).map(|i| i.ifname.clone()).collect();
        if ifs.is_empty() {
            bail!("{node} has no interface on the cluster's heartbeat networks");
        }
        let a = lab.actuators(&node)?;
        for i in &ifs {
            a.set_loss(i, 100, self.duration)?;
        }
        let n = node.clone();
        let undo = Undo::after(self.duration, format!("let {} through again", ifs.join(", ")), move |lab| {
            let a = lab.actuators(&n)?;
            for i in &ifs {
                a.set_loss(i, 0, None).with_context(|| format!("lifting the partition of {n}'s {i}"))?;
            }
            Ok(())
        });
        Ok(Applied { node, undo })
    }
}
