//! `wait_until` conditions: their names and docs (for validation and `halab vocabulary`), how
//! they are parsed and when they are met.

use anyhow::Result;
use serde::Serialize;

use super::target::{self, Target};
use crate::lab::Lab;
use crate::stack::ready;
use crate::topology::validate::Checker;
use crate::topology::{Plan, PlanCluster};
use crate::yaml::Spanned;

pub struct ConditionDef {
    pub name: &'static str,
    /// The argument after the name, if it takes one.
    pub arg: Option<&'static str>,
    pub doc: &'static str,
}

pub const CONDITIONS: &[ConditionDef] = &[
    ConditionDef { name: "vip_moved", arg: None, doc: "one member alone holds the VIPs, not the one that held them at the first fault" },
    ConditionDef { name: "ready", arg: None, doc: "the stack is ready, as `halab up` waits for it" },
    ConditionDef { name: "vip_on", arg: Some("NODE"), doc: "NODE alone holds the VIPs (`@active`/`@standby` are resolved when the step starts)" },
    ConditionDef {
        name: "rejoined",
        arg: Some("NODE"),
        doc: "NODE is back in the cluster: keepalived MASTER or BACKUP there, or pacemaker online with conntrackd running there",
    },
];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Condition {
    VipMoved,
    Ready,
    VipOn(Target),
    Rejoined(Target),
}

impl Condition {
    /// The node the condition names, if any.
    pub fn node(&self) -> Option<&Target> {
        match self {
            Condition::VipOn(t) | Condition::Rejoined(t) => Some(t),
            _ => None,
        }
    }
}

/// As the user wrote it: `vip_moved`, `vip_on fw2`, `vip_on @standby`.
impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::VipMoved => f.write_str("vip_moved"),
            Condition::Ready => f.write_str("ready"),
            Condition::VipOn(t) => write!(f, "vip_on {t}"),
            Condition::Rejoined(t) => write!(f, "rejoined {t}"),
        }
    }
}

/// `vip_moved, ready, vip_on NODE`
pub fn names() -> String {
    let v: Vec<String> = CONDITIONS.iter().map(|c| c.arg.map(|a| format!("{} {a}", c.name)).unwrap_or_else(|| c.name.to_string())).collect();
    v.join(", ")
}

/// Parse a condition; problems are reported at `s` (`field` is the step's).
pub(crate) fn parse(v: &mut Checker, plan: &Plan, s: &Spanned<String>, field: &str) -> Option<Condition> {
    let c = s.value.as_str();
    let condition = match c.split_once(' ').map(|(n, a)| (n, a.trim())).unwrap_or((c, "")) {
        ("vip_moved", "") => Some(Condition::VipMoved),
        ("ready", "") => Some(Condition::Ready),
        ("vip_on", node) if !node.is_empty() => target::check(v, plan, &Spanned { value: node.to_string(), ..s.clone() }, field).map(Condition::VipOn),
        ("rejoined", node) if !node.is_empty() => target::check(v, plan, &Spanned { value: node.to_string(), ..s.clone() }, field).map(Condition::Rejoined),
        _ => {
            v.at(s, &format!("{field}.condition"), &format!("unknown condition `{c}`"), &format!("one of: {}", names()));
            return None;
        }
    };
    if condition.is_some() && plan.cluster.as_ref().is_none_or(|c| c.members.is_empty()) {
        v.at(s, &format!("{field}.condition"), "this condition needs a cluster in the topology", "");
    }
    condition
}

/// What a condition is checked against, polled while the step waits.
pub struct Now<'a> {
    pub lab: &'a Lab,
    pub cluster: &'a PlanCluster,
    /// The members holding a VIP now (the watcher's last sample).
    pub holders: Vec<String>,
    /// Who held the VIPs at the first fault.
    pub before: Option<&'a str>,
    /// The condition's node (`vip_on`, `rejoined`), resolved when the step started.
    pub target: Option<&'a str>,
}

impl Condition {
    pub fn met(&self, now: &Now) -> Result<bool> {
        let alone = (now.holders.len() == 1).then(|| now.holders[0].as_str());
        Ok(match self {
            Condition::VipMoved => alone.is_some() && alone != now.before,
            Condition::VipOn(_) => alone.is_some() && alone == now.target,
            Condition::Ready => ready::check(now.lab, now.cluster)?.is_some(),
            Condition::Rejoined(_) => match now.target {
                Some(n) if now.lab.running(n) => crate::stack::of(now.cluster.stack).joined(now.lab, now.cluster, &now.lab.node(n)?)?,
                _ => false,
            },
        })
    }
}
