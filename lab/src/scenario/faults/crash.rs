//! `crash`: a power cut.

use std::sync::Arc;

use anyhow::Result;

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "crash",
    doc: "cut the node's power: nothing of its running state survives (`power_on` boots it again)",
    fields: &[NODE],
    example: "{ kind: crash, node: \"@active\" }",
    part: Some(crate::provider::Part::Power),
    check,
};

#[derive(Debug)]
struct Crash {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    Some(Arc::new(Crash { node: cx.node()? }))
}

impl Fault for Crash {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        lab.actuators(&node)?.power_off()?;
        Ok(Applied::on(node))
    }
}
