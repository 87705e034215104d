//! `stop_stack`: a clean stop of the HA stack on one member.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "stop_stack",
    doc: "stop the HA stack cleanly on the node (keepalived, or pacemaker): the others take over",
    fields: &[NODE],
    example: "{ kind: stop_stack, node: \"@active\" }",
    part: None,
    check,
};

#[derive(Debug)]
struct StopStack {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    Some(Arc::new(StopStack { node: node.filter(|_| cluster)? }))
}

impl Fault for StopStack {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        let cl = lab.plan.cluster.as_ref().context("stop_stack needs a cluster")?;
        crate::stack::of(cl.stack).stop(&lab.node(&node)?)?;
        Ok(Applied::on(node))
    }
}
