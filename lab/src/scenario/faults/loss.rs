//! `block` and `loss`: frames of one interface dropped on the fabric side. The node sees no
//! carrier change, so only the stack's own timers notice (a switch failing, not a cable).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{node_and_iface, Applied, Check, Fault, Field, Undo, Verb, DURATION, IFACE, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const BLOCK: Verb = Verb {
    name: "block",
    doc: "drop every frame of the node's interface on the fabric side (no carrier change)",
    fields: &[NODE, IFACE, DURATION],
    example: "{ kind: block, node: \"@active\", iface: lan, duration: 10s }",
    part: Some(crate::provider::Part::Loss),
    check: check_block,
};

pub const LOSS: Verb = Verb {
    name: "loss",
    doc: "drop `percent` % of the frames of the node's interface on the fabric side",
    fields: &[NODE, IFACE, PERCENT, DURATION],
    example: "{ kind: loss, node: fw2, iface: heartbeat, percent: 30 }",
    part: Some(crate::provider::Part::Loss),
    check: check_loss,
};

const PERCENT: Field = Field { name: "percent", required: true, doc: "how many frames to drop, 0-100", hint: "" };

#[derive(Debug)]
struct Loss {
    node: Target,
    iface: String,
    percent: u32,
    duration: Option<Duration>,
}

fn check_block(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let (node, iface) = node_and_iface(cx);
    let duration = cx.duration()?;
    Some(Arc::new(Loss { node: node?, iface: iface?, percent: 100, duration }))
}

fn check_loss(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let (node, iface) = node_and_iface(cx);
    let percent = match cx.text("percent").map(|p| p.trim().parse::<u32>()) {
        None => None,
        Some(Ok(p)) if p <= 100 => Some(p),
        Some(Ok(_)) => {
            cx.report(Some("percent"), "loss is 0-100 %", "");
            None
        }
        Some(Err(_)) => {
            let msg = format!("`{}` is not a percentage", cx.text("percent").unwrap_or_default());
            cx.report(Some("percent"), &msg, "a whole number 0-100");
            None
        }
    };
    let duration = cx.duration()?;
    Some(Arc::new(Loss { node: node?, iface: iface?, percent: percent?, duration }))
}

impl Fault for Loss {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        lab.actuators(&node)?.set_loss(&self.iface, self.percent, self.duration)?;
        let (n, i) = (node.clone(), self.iface.clone());
        let undo = Undo::after(self.duration, format!("let {i}'s frames through again"), move |lab| {
            lab.actuators(&n)?.set_loss(&i, 0, None).with_context(|| format!("lifting the loss on {n}'s {i}"))
        });
        Ok(Applied { node, undo })
    }
}
