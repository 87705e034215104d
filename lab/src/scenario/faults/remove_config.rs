//! `remove_config`: the stack's configuration file becomes unreadable.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "remove_config",
    doc: "make the stack's configuration file on the node unreadable (chmod 000)",
    fields: &[NODE],
    example: "{ kind: remove_config, node: fw2 }",
    check,
};

#[derive(Debug)]
struct RemoveConfig {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    Some(Arc::new(RemoveConfig { node: node.filter(|_| cluster)? }))
}

impl Fault for RemoveConfig {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        let cl = lab.plan.cluster.as_ref().context("remove_config needs a cluster")?;
        lab.node(&node)?.run(&["chmod", "000", crate::stack::of(cl.stack).config_file()])?;
        Ok(Applied::on(node))
    }
}
