//! `reboot`: the node goes down and comes back.

use std::sync::Arc;

use anyhow::Result;

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "reboot",
    doc: "reboot the node (a shutdown, then a boot); the step returns once it answers and a member has started its stack (`cluster.rejoin: auto`)",
    fields: &[NODE],
    example: "{ kind: reboot, node: \"@standby\" }",
    part: Some(crate::provider::Part::Power),
    check,
};

#[derive(Debug)]
struct Reboot {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    Some(Arc::new(Reboot { node: cx.node()? }))
}

impl Fault for Reboot {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        crate::power::reboot(lab, &node)?;
        Ok(Applied::on(node))
    }
}
