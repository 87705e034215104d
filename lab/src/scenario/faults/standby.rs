//! `standby` / `unstandby`: a member stays up but may not hold the VIPs (pacemaker: node
//! standby; keepalived: its priority dropped to 1, so a member with preempt takes over).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Undo, Verb, DURATION, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const STANDBY: Verb = Verb {
    name: "standby",
    doc: "put a member in standby: it stays up but gives the VIPs away (pacemaker: node standby; keepalived: priority 1, so only preempt moves them)",
    fields: &[NODE, DURATION],
    example: "{ kind: standby, node: \"@active\", duration: 10s }",
    part: None,
    check: check_standby,
};

pub const UNSTANDBY: Verb = Verb {
    name: "unstandby",
    doc: "take a member out of standby (keepalived: the topology's priorities again)",
    fields: &[NODE],
    example: "{ kind: unstandby, node: fw1 }",
    part: None,
    check: check_unstandby,
};

#[derive(Debug)]
struct Standby {
    node: Target,
    on: bool,
    duration: Option<Duration>,
}

fn check_standby(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    let duration = cx.duration()?;
    Some(Arc::new(Standby { node: node.filter(|_| cluster)?, on: true, duration }))
}

fn check_unstandby(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    Some(Arc::new(Standby { node: node.filter(|_| cluster)?, on: false, duration: None }))
}

fn set(lab: &Lab, node: &str, on: bool) -> Result<()> {
    let cl = lab.plan.cluster.as_ref().context("standby needs a cluster")?;
    crate::stack::of(cl.stack).standby(lab, cl, node, on)
}

impl Fault for Standby {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        set(lab, &node, self.on)?;
        let n = node.clone();
        let undo = Undo::after(self.duration.filter(|_| self.on), format!("take {n} out of standby"), move |lab| set(lab, &n, false));
        Ok(Applied { node, undo })
    }
}
