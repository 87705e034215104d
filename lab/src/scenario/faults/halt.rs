//! `halt`: a clean shutdown of a node: a member's stack stops first, so the others take over
//! as from a planned stop (keepalived sends priority 0, pacemaker moves its resources), then
//! the power goes. `power_on` boots it again.

use std::sync::Arc;

use anyhow::Result;

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "halt",
    doc: "shut the node down cleanly: a member's stack stops first (the others take over as planned), then the power goes",
    fields: &[NODE],
    example: "{ kind: halt, node: \"@active\" }",
    part: Some(crate::provider::Part::Power),
    check,
};

#[derive(Debug)]
struct Halt {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    Some(Arc::new(Halt { node: cx.node()? }))
}

impl Fault for Halt {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        if let Some(cl) = lab.plan.cluster.as_ref().filter(|c| c.members.contains(&node)) {
            crate::stack::stop_all(crate::stack::of(cl.stack), &lab.node(&node)?)?;
        }
        lab.actuators(&node)?.power_off()?;
        Ok(Applied::on(node))
    }
}
