//! `switchover`: the planned move of every VIP, as `halab switchover` does it.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Field, Verb};
use crate::lab::Lab;
use crate::stack::switchover::switchover;

pub const VERB: Verb = Verb {
    name: "switchover",
    doc: "move every VIP (and the conntrackd primary) to another member; returns when the stack is ready",
    fields: &[TO],
    example: "{ kind: switchover, to: fw2 }",
    part: None,
    check,
};

const TO: Field = Field { name: "to", required: false, doc: "the member to move to (default: another one)", hint: "" };

#[derive(Debug)]
struct Switchover {
    to: Option<String>,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    if !cx.needs_cluster() {
        return None;
    }
    let members = cx.plan.cluster.as_ref().map(|c| c.members.clone()).unwrap_or_default();
    let to = cx.text("to");
    if let Some(t) = to.as_ref().filter(|t| !members.contains(t)) {
        cx.report(Some("to"), &format!("`{t}` is not a member of the cluster"), &format!("members: {}", members.join(", ")));
        return None;
    }
    Some(Arc::new(Switchover { to }))
}

impl Fault for Switchover {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        // The node the fault "hit" is the new holder.
        let holder = switchover(lab, self.to.as_deref()).context("the switchover failed")?;
        Ok(Applied::on(holder))
    }
}
