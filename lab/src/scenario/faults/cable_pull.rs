//! `cable_pull`: the node loses carrier on one interface.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{node_and_iface, Applied, Check, Fault, Undo, Verb, DURATION, IFACE, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "cable_pull",
    doc: "pull the node's cable on one interface: the node sees NO-CARRIER and keeps its addresses",
    fields: &[NODE, IFACE, DURATION],
    example: "{ kind: cable_pull, node: \"@active\", iface: inet, duration: 5s }",
    part: Some(crate::provider::Part::Cable),
    check,
};

#[derive(Debug)]
struct CablePull {
    node: Target,
    iface: String,
    duration: Option<Duration>,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let (node, iface) = node_and_iface(cx);
    let duration = cx.duration()?;
    Some(Arc::new(CablePull { node: node?, iface: iface?, duration }))
}

impl Fault for CablePull {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        lab.actuators(&node)?.set_link(&self.iface, false, self.duration)?;
        let (n, i) = (node.clone(), self.iface.clone());
        let undo = Undo::after(self.duration, format!("plug {i} back"), move |lab| {
            lab.actuators(&n)?.set_link(&i, true, None).with_context(|| format!("plugging {n}'s {i} back"))
        });
        Ok(Applied { node, undo })
    }
}
