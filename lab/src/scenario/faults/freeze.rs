//! `freeze` / `thaw`: the node stops dead and resumes, as a hung machine or a long GC pause.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Undo, Verb, DURATION, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const FREEZE: Verb = Verb {
    name: "freeze",
    doc: "freeze the node: every process stops (netns: SIGSTOP to its PID namespace, whose kernel side still answers; VM: paused)",
    fields: &[NODE, DURATION],
    example: "{ kind: freeze, node: \"@active\", duration: 10s }",
    part: Some(crate::provider::Part::Freeze),
    check: check_freeze,
};

pub const THAW: Verb = Verb {
    name: "thaw",
    doc: "thaw a frozen node: its processes go on where they stopped",
    fields: &[NODE],
    example: "{ kind: thaw, node: fw1 }",
    part: Some(crate::provider::Part::Freeze),
    check: check_thaw,
};

#[derive(Debug)]
struct Freeze {
    node: Target,
    frozen: bool,
    duration: Option<Duration>,
}

fn check_freeze(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let duration = cx.duration()?;
    Some(Arc::new(Freeze { node: node?, frozen: true, duration }))
}

fn check_thaw(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    Some(Arc::new(Freeze { node: cx.node()?, frozen: false, duration: None }))
}

impl Fault for Freeze {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        if self.frozen {
            lab.actuators(&node)?.freeze(true)?;
        } else {
            thaw(lab, &node)?;
        }
        let n = node.clone();
        let undo = Undo::after(self.duration.filter(|_| self.frozen), format!("thaw {n}"), move |lab| thaw(lab, &n));
        Ok(Applied { node, undo })
    }
}

/// Thaw a frozen node. One the cluster fenced meanwhile is off or booting again: the power cut
/// ended its freeze (its stopped processes died with it), so there is nothing to thaw.
fn thaw(lab: &Lab, node: &str) -> Result<()> {
    if !lab.running(node) {
        crate::progress::info(&format!("{node} was powered off while frozen (fenced): nothing to thaw"));
        return Ok(());
    }
    lab.actuators(node)?.freeze(false).with_context(|| format!("thawing {node}"))
}
