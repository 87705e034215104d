//! `remove_config`: the stack's configuration file is deleted and the stack restarted on the
//! node, so the loss shows (a chmod 000 did nothing: root reads it anyway, and nothing
//! reloaded). With `duration`, the file comes back and the stack starts again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Undo, Verb, DURATION, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "remove_config",
    doc: "delete the stack's configuration file on the node and restart the stack there, which then cannot start",
    fields: &[NODE, DURATION],
    example: "{ kind: remove_config, node: fw2, duration: 20s }",
    part: None,
    check,
};

#[derive(Debug)]
struct RemoveConfig {
    node: Target,
    duration: Option<Duration>,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    let duration = cx.duration()?;
    Some(Arc::new(RemoveConfig { node: node.filter(|_| cluster)?, duration }))
}

impl Fault for RemoveConfig {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        let cl = lab.plan.cluster.as_ref().context("remove_config needs a cluster")?;
        let (stack, n) = (crate::stack::of(cl.stack), lab.node(&node)?);
        n.run(&["rm", "-f", stack.config_file()])?;
        // The restart is the point: its start fails without the file (keepalived exits,
        // corosync refuses to start), which the run records, not an error of the fault.
        crate::stack::stop_all(stack, &n)?;
        if let Err(e) = stack.start(lab, cl, &n) {
            crate::progress::info(&format!("{node}: the stack does not start without its config: {e:#}"));
        }
        let m = node.clone();
        let undo = Undo::after(self.duration, format!("give {m} its config back"), move |lab| {
            let cl = lab.plan.cluster.as_ref().context("remove_config needs a cluster")?;
            let (stack, n) = (crate::stack::of(cl.stack), lab.node(&m)?);
            crate::stack::stop_all(stack, &n)?;
            stack.configure(lab, cl, &n).and_then(|_| stack.start(lab, cl, &n))
        });
        Ok(Applied { node, undo })
    }
}
