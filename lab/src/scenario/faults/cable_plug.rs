//! `cable_plug`: put a pulled cable back.

use std::sync::Arc;

use anyhow::Result;

use super::{node_and_iface, Applied, Check, Fault, Verb, IFACE, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "cable_plug",
    doc: "plug the node's cable on one interface back in",
    fields: &[NODE, IFACE],
    example: "{ kind: cable_plug, node: fw1, iface: inet }",
    part: Some(crate::provider::Part::Cable),
    check,
};

#[derive(Debug)]
struct CablePlug {
    node: Target,
    iface: String,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let (node, iface) = node_and_iface(cx);
    Some(Arc::new(CablePlug { node: node?, iface: iface? }))
}

impl Fault for CablePlug {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        lab.actuators(&node)?.set_link(&self.iface, true, None)?;
        Ok(Applied::on(node))
    }
}
