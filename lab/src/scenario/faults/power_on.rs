//! `power_on`: boot a node that is off.

use std::sync::Arc;

use anyhow::Result;

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "power_on",
    doc: "boot a powered-off node; the step returns once it answers (after the topology's `boot_time` on netns) and a member has started its stack (`cluster.rejoin: auto`); a node the cluster's fencing powered on is left to that boot",
    fields: &[NODE],
    example: "{ kind: power_on, node: fw1 }",
    part: Some(crate::provider::Part::Power),
    check,
};

#[derive(Debug)]
struct PowerOn {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    Some(Arc::new(PowerOn { node: cx.node()? }))
}

impl Fault for PowerOn {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        if lab.running(&node) || lab.booting(&node) {
            // The cluster fenced it with `reboot` since it went down: that boot brings it back.
            crate::progress::info(&format!("{node} is on already: the cluster's fencing booted it"));
        }
        crate::power::power_on(lab, &node)?;
        Ok(Applied::on(node))
    }
}
