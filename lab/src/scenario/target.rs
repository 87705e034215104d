//! The node a step acts on, as the user wrote it: a node name, `@active` (the member holding
//! the VIPs when the step runs) or `@standby`. Checked against the topology at validation and
//! resolved against the running lab by one helper, for faults, commands and conditions alike.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::lab::Lab;
use crate::stack::ready;
use crate::topology::Plan;
use crate::yaml::Spanned;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Target {
    Node(String),
    /// The member holding the VIPs when the step runs.
    Active,
    /// A member not holding them.
    Standby,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Node(n) => f.write_str(n),
            Target::Active => f.write_str("@active"),
            Target::Standby => f.write_str("@standby"),
        }
    }
}

/// The target `s` names in `plan`; a problem is reported at `s` under `field`.
pub(crate) fn check(v: &mut crate::topology::validate::Checker, plan: &Plan, s: &Spanned<String>, field: &str) -> Option<Target> {
    let has_cluster = plan.cluster.as_ref().is_some_and(|c| !c.members.is_empty());
    match s.value.as_str() {
        "@active" | "@standby" if !has_cluster => {
            v.at(s, field, &format!("`{}` needs a cluster in the topology", s.value), "");
            None
        }
        "@active" => Some(Target::Active),
        "@standby" => Some(Target::Standby),
        n if plan.node(n).is_some() => Some(Target::Node(n.to_string())),
        n => {
            let names: Vec<&str> = plan.nodes.iter().map(|x| x.name.as_str()).collect();
            v.at(s, field, &format!("unknown node `{n}`"), &format!("known nodes: {}, or @active / @standby", names.join(", ")));
            None
        }
    }
}

/// The node `t` names now: `@active` is the first running member holding a VIP, `@standby`
/// another member.
pub fn resolve(lab: &Lab, t: &Target) -> Result<String> {
    match t {
        Target::Node(n) => Ok(n.clone()),
        Target::Active | Target::Standby => {
            let cl = lab.plan.cluster.as_ref().with_context(|| format!("`{t}` needs a cluster"))?;
            let mut holder = None;
            for m in &cl.members {
                if lab.running(m) && !ready::vips_held(&lab.node(m)?, cl)?.is_empty() {
                    holder = Some(m.clone());
                    break;
                }
            }
            let holder = holder.with_context(|| format!("`{t}`: no member holds the VIPs now"))?;
            if *t == Target::Active {
                return Ok(holder);
            }
            cl.members.iter().find(|m| **m != holder).cloned().context("`@standby`: there is no standby member")
        }
    }
}
