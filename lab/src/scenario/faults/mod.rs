//! Faults: one verb per file, each its own type that checks its fields (with file:line:col),
//! applies itself to a running lab and hands back what undoes it. The runner owns the undos
//! and applies them when due, so no thread holds on to the lab. Adding a fault is one file and
//! one line in `VERBS`; its name, fields and doc line reach `halab vocabulary` and docs/scenarios.md
//! from there.

mod cable_plug;
mod cable_pull;
mod crash;
mod fence;
mod freeze;
mod halt;
mod heartbeat_partition;
mod kill_daemon;
mod loss;
mod maintenance;
mod power_on;
mod reboot;
mod remove_config;
mod resource_fail;
mod standby;
mod stop_stack;
mod switchover;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::target::{self, Target};
use crate::lab::Lab;
use crate::topology::validate::Checker;
use crate::topology::Plan;
use crate::yaml::{OrderedMap, Spanned};

/// Every fault, in the order `halab vocabulary` lists them.
pub const VERBS: &[&Verb] = &[
    &crash::VERB,
    &power_on::VERB,
    &reboot::VERB,
    &halt::VERB,
    &freeze::FREEZE,
    &freeze::THAW,
    &cable_pull::VERB,
    &cable_plug::VERB,
    &loss::BLOCK,
    &loss::LOSS,
    &switchover::VERB,
    &stop_stack::VERB,
    &standby::STANDBY,
    &standby::UNSTANDBY,
    &maintenance::VERB,
    &kill_daemon::VERB,
    &resource_fail::VERB,
    &heartbeat_partition::VERB,
    &fence::VERB,
    &remove_config::VERB,
];

/// A fault as the scenario file writes it: `kind:` and the verb's own fields, each with its
/// position (the verb decides which fields it takes).
pub type FaultSpec = Spanned<OrderedMap<Spanned<String>>>;

/// One fault verb: its YAML name, its fields and how a step using it is checked.
pub struct Verb {
    pub name: &'static str,
    /// One line: what the fault does to the lab.
    pub doc: &'static str,
    pub fields: &'static [Field],
    /// The fields of a step using it, checked by the tests and shown by `halab vocabulary`.
    pub example: &'static str,
    /// The part of a node it acts on through the provider's actuators (power, cable...),
    /// so its event names the actuator; None when it goes through the node's shell.
    pub part: Option<crate::provider::Part>,
    /// Check the fields (every problem reported through `Check`); None when any is wrong.
    pub check: fn(&mut Check) -> Option<Arc<dyn Fault>>,
}

/// A field of a fault step.
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    pub doc: &'static str,
    /// Shown when the field is missing.
    pub hint: &'static str,
}

pub const NODE: Field = Field { name: "node", required: true, doc: "a node name, `@active` or `@standby`", hint: "a node name, @active or @standby" };
pub const IFACE: Field =
    Field { name: "iface", required: true, doc: "one of the node's interfaces (a network's ifname)", hint: "the interface's name, e.g. inet" };
pub const DURATION: Field = Field {
    name: "duration",
    required: false,
    doc: "undo the fault after this long while the steps go on, or when the run ends if that is sooner (default: the fault stays)",
    hint: "",
};

/// A checked fault, ready to apply.
pub trait Fault: std::fmt::Debug + Send + Sync {
    /// Break the lab; returns the node hit (resolved) and what undoes it, if it is timed.
    fn apply(&self, lab: &Lab) -> Result<Applied>;
}

pub struct Applied {
    pub node: String,
    pub undo: Option<Undo>,
}

impl Applied {
    pub fn on(node: String) -> Applied {
        Applied { node, undo: None }
    }
}

/// What a timed fault leaves to be done later: the runner applies it `after` the fault, or at
/// the end of the run, whichever comes first.
pub struct Undo {
    pub after: Duration,
    /// What it does, for the run's events: `plug inet back`.
    pub what: String,
    action: UndoFn,
}

type UndoFn = Box<dyn FnOnce(&Lab) -> Result<()> + Send>;

impl Undo {
    /// An undo when `after` is set (the fault's `duration:`), none otherwise.
    pub fn after(after: Option<Duration>, what: String, action: impl FnOnce(&Lab) -> Result<()> + Send + 'static) -> Option<Undo> {
        after.map(|after| Undo { after, what, action: Box::new(action) })
    }

    pub fn apply(self, lab: &Lab) -> Result<()> {
        (self.action)(lab)
    }
}

impl std::fmt::Debug for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Undo({} after {} ms)", self.what, self.after.as_millis())
    }
}

/// A fault step of a validated scenario.
#[derive(Debug, Clone)]
pub struct FaultStep {
    /// The verb's name as the user wrote it (`cable_pull`).
    pub kind: &'static str,
    /// Its verb's part (`Verb::part`).
    pub part: Option<crate::provider::Part>,
    /// The other fields as written, in file order.
    pub fields: Vec<(String, String)>,
    pub fault: Arc<dyn Fault>,
}

impl FaultStep {
    /// `crash (node: @active)`, as written.
    pub fn describe(&self) -> String {
        if self.fields.is_empty() {
            return self.kind.to_string();
        }
        let f: Vec<String> = self.fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{} ({})", self.kind, f.join(", "))
    }

    pub fn field_map(&self) -> BTreeMap<String, String> {
        self.fields.iter().cloned().collect()
    }
}

/// Every fault's name, for messages that list them.
pub fn names() -> Vec<&'static str> {
    VERBS.iter().map(|v| v.name).collect()
}

/// Check one `fault:` step; every problem goes to `v` with its position.
pub(crate) fn check(v: &mut Checker, plan: &Plan, spec: &FaultSpec, field: &str) -> Option<FaultStep> {
    let all = format!("one of: {}", names().join(", "));
    let Some(kind) = spec.value.get("kind") else {
        v.at(spec, field, "a fault needs `kind:`", &all);
        return None;
    };
    let Some(verb) = VERBS.iter().find(|x| x.name == kind.value) else {
        v.at(kind, &format!("{field}.kind"), &format!("unknown fault `{}`", kind.value), &all);
        return None;
    };
    let mut ok = true;
    let mut seen = Vec::new();
    for (k, _) in spec.value.iter() {
        if seen.contains(&k.value) {
            v.at(k, &format!("{field}.{}", k.value), &format!("`{}` is given twice", k.value), "");
            ok = false;
        } else if k.value != "kind" && !verb.fields.iter().any(|f| f.name == k.value) {
            let takes: Vec<&str> = verb.fields.iter().map(|f| f.name).collect();
            let hint = if takes.is_empty() { "it takes no other field".to_string() } else { format!("its fields: {}", takes.join(", ")) };
            v.at(k, &format!("{field}.{}", k.value), &format!("fault `{}` has no field `{}`", verb.name, k.value), &hint);
            ok = false;
        }
        seen.push(k.value.clone());
    }
    for f in verb.fields.iter().filter(|f| f.required && spec.value.get(f.name).is_none()) {
        v.at(kind, field, &format!("fault `{}` needs `{}:`", verb.name, f.name), f.hint);
        ok = false;
    }
    let fault = (verb.check)(&mut Check { v, plan, field, kind, spec: &spec.value })?;
    let fields = spec.value.iter().filter(|(k, _)| k.value != "kind").map(|(k, x)| (k.value.clone(), x.value.clone())).collect();
    ok.then_some(FaultStep { kind: verb.name, part: verb.part, fields, fault })
}

/// What a verb's `check` works with: its fields and the topology, and where to report.
pub struct Check<'a, 'f> {
    v: &'a mut Checker<'f>,
    pub plan: &'a Plan,
    /// `steps[3]`
    pub field: &'a str,
    pub kind: &'a Spanned<String>,
    spec: &'a OrderedMap<Spanned<String>>,
}

impl Check<'_, '_> {
    pub fn get(&self, name: &str) -> Option<&Spanned<String>> {
        self.spec.get(name)
    }

    /// A field's text, unchecked.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|s| s.value.clone())
    }

    /// Report a problem with field `name` (at its value) or, for `None`, with the fault.
    pub fn report(&mut self, name: Option<&str>, msg: &str, hint: &str) {
        match name.and_then(|n| self.spec.get(n).map(|s| (n, s))) {
            Some((n, s)) => self.v.at(s, &format!("{}.{n}", self.field), msg, hint),
            None => self.v.at(self.kind, self.field, msg, hint),
        }
    }

    /// `node:` checked against the topology.
    pub fn node(&mut self) -> Option<Target> {
        let s = self.spec.get("node")?;
        target::check(self.v, self.plan, s, &format!("{}.node", self.field))
    }

    /// `iface:`: a network's interface name, and one `node` has when it is a fixed node.
    pub fn iface(&mut self, node: Option<&Target>) -> Option<String> {
        let i = self.spec.get("iface")?;
        let field = format!("{}.iface", self.field);
        let mut ok = true;
        if let Some(Target::Node(n)) = node {
            if !self.plan.node(n).is_some_and(|pn| pn.interfaces.iter().any(|x| x.ifname == i.value)) {
                self.v.at(i, &field, &format!("node `{n}` has no interface `{}`", i.value), "");
                ok = false;
            }
        }
        if !self.plan.networks.iter().any(|n| n.ifname == i.value) {
            self.v.at(i, &field, &format!("no network has the interface name `{}`", i.value), "");
            ok = false;
        }
        ok.then(|| i.value.clone())
    }

    /// `duration:`: `Some(None)` when absent; `None` when wrong (reported).
    pub fn duration(&mut self) -> Option<Option<Duration>> {
        let Some(d) = self.spec.get("duration") else { return Some(None) };
        let field = format!("{}.duration", self.field);
        match crate::topology::duration::parse(&d.value) {
            Some(x) => Some(Some(x)),
            None => {
                self.v.duration(&Some(d.clone()), &field, Duration::ZERO);
                None
            }
        }
    }

    /// The fault acts on the cluster's stack: the topology must have one.
    pub fn needs_cluster(&mut self) -> bool {
        let ok = self.plan.cluster.as_ref().is_some_and(|c| !c.members.is_empty());
        if !ok {
            let msg = format!("fault `{}` needs a cluster in the topology", self.kind.value);
            self.v.at(self.kind, self.field, &msg, "");
        }
        ok
    }
}

/// `node` and `iface` of the faults on one interface (cable, block, loss), checked together.
pub fn node_and_iface(cx: &mut Check) -> (Option<Target>, Option<String>) {
    let node = cx.node();
    let iface = cx.iface(node.as_ref());
    (node, iface)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique, and a field means the same in every fault that takes it (the
    /// vocabulary documents each field once).
    #[test]
    fn the_registry_is_consistent() {
        let mut names = names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), VERBS.len(), "a fault name is registered twice");
        for v in VERBS {
            assert!(v.example.contains(&format!("kind: {}", v.name)), "{}: its example is another fault", v.name);
            for f in v.fields {
                let other = VERBS.iter().flat_map(|w| w.fields).find(|g| g.name == f.name).map(|g| g.doc);
                assert_eq!(other, Some(f.doc), "field `{}` of `{}` is documented twice", f.name, v.name);
            }
        }
    }
}
