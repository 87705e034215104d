//! `maintenance`: the cluster manager stops managing its resources (pacemaker's
//! maintenance-mode): they keep running where they are, and nothing recovers them.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Field, Verb};
use crate::lab::Lab;

pub const VERB: Verb = Verb {
    name: "maintenance",
    doc: "cluster maintenance mode on or off (pacemaker's maintenance-mode: resources stay where they are, unmanaged; keepalived has none)",
    fields: &[MODE],
    example: "{ kind: maintenance, mode: \"on\" }",
    part: None,
    check,
};

const MODE: Field = Field { name: "mode", required: true, doc: "`on` or `off`", hint: "on or off" };

#[derive(Debug)]
struct Maintenance {
    on: bool,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let cluster = cx.needs_cluster();
    let on = match cx.text("mode")?.as_str() {
        "on" => true,
        "off" => false,
        other => {
            cx.report(Some("mode"), &format!("unknown mode `{other}`"), "on or off");
            return None;
        }
    };
    cluster.then(|| Arc::new(Maintenance { on }) as Arc<dyn Fault>)
}

impl Fault for Maintenance {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let cl = lab.plan.cluster.as_ref().context("maintenance needs a cluster")?;
        crate::stack::of(cl.stack).maintenance(lab, cl, self.on)?;
        Ok(Applied::on(cl.members.join(",")))
    }
}
