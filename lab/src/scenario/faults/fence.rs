//! `fence`: ask the cluster to fence a member, as an operator would (`stonith_admin --fence`
//! on another member): pacemaker's fencer picks the device and runs the fence agent. The
//! step returns when the fencer reports the result.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::{Applied, Check, Fault, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

/// How long pacemaker may take to carry out a `fence` step's request (stonith_admin --timeout).
const STONITH_TIMEOUT_S: u64 = 120;

pub const VERB: Verb = Verb {
    name: "fence",
    doc: "fence a member through the cluster (stonith_admin --fence on another member; pacemaker with fencing on): off, or off and on with `fencing.action: reboot`",
    fields: &[NODE],
    example: "{ kind: fence, node: \"@standby\" }",
    part: None,
    check,
};

#[derive(Debug)]
struct Fence {
    node: Target,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let cluster = cx.needs_cluster();
    Some(Arc::new(Fence { node: node.filter(|_| cluster)? }))
}

impl Fault for Fence {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        let cl = lab.plan.cluster.as_ref().context("fence needs a cluster")?;
        if !cl.fencing.on(cl.stack) {
            bail!("this lab does not fence (stack {}, fencing {})", cl.stack, cl.fencing.method.map(|m| m.name()).unwrap_or("off"));
        }
        let asker = cl.members.iter().find(|m| **m != node && lab.running(m)).context("no other member is running to fence from")?;
        // stonith_admin's `--fence` is always `off`, whatever the cluster's stonith-action:
        // the lab's fencing action picks the request, as pacemaker itself would.
        let request = if cl.fencing.action == "reboot" { "--reboot" } else { "--fence" };
        // pacemaker's own limit on the fencing, and ours on the command a script's time beyond.
        let limit = STONITH_TIMEOUT_S.to_string();
        let o = lab.node(asker)?.exec(
            &["stonith_admin", request, &node, "--timeout", &limit],
            None,
            Duration::from_secs(STONITH_TIMEOUT_S) + crate::cmd::limit::SCRIPT,
        )?;
        if !o.status.success() {
            bail!("stonith_admin {request} {node} on {asker} failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(Applied::on(node))
    }
}
