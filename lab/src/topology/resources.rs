//! The user's own HA service in the topology: pacemaker resources and constraints (typed, or a
//! CIB fragment file), their OCF agents, and files for the nodes. Checked here against the
//! file; agents are checked against the image at `up` (`at_up.rs`), before anything is made.
//!
//! ```yaml
//! cluster:
//!   resources:
//!     web: { agent: "ocf:heartbeat:nginx", params: { ... }, ops: { monitor: { interval: 5s } } }
//!     kv:  { agent: "ocf:example:kv", clone: promotable }
//!     svc: { group: [ svc-ip, web ] }
//!   constraints:
//!     - { colocate: web, with: vips }          # score INFINITY; with_role: Promoted
//!     - { order: vips, then: web }             # first_action / then_action: start
//!     - { locate: web, on: fw1, score: 50 }
//!   cib: extra.xml        # <resources>/<constraints> children, verified with crm_verify
//!   agents: { example: agents/ }               # provider -> directory of OCF agents
//!   files: [ { from: web/index.html, to: /var/www/html/index.html, mode: "0644" } ]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{ClusterSpec, ConstraintSpec, FileSpec, ResourceSpec};

use super::validate::{known, valid_name, Checker};
use crate::yaml::{OrderedMap, Spanned};

/// A user's resource, resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub enum Kind {
    Primitive { class: String, provider: Option<String>, kind: String },
    Group(Vec<String>),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanResource {
    pub id: String,
    pub kind: Kind,
    pub params: Vec<(String, String)>,
    /// (name, interval, timeout, role)
    pub ops: Vec<(String, String, String, Option<String>)>,
    pub meta: Vec<(String, String)>,
    /// None, `clone` or `promotable`.
    pub clone: Option<String>,
    /// Where the topology wrote the agent (file, line, column): a missing agent is said there.
    pub at: crate::diag::Span,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub enum Constraint {
    Colocate {
        rsc: String,
        with: String,
        role: Option<String>,
        score: String,
    },
    Order {
        first: String,
        then: String,
        first_action: String,
        then_action: String,
    },
    /// `role`: only that role of a promotable clone.
    Locate {
        rsc: String,
        node: String,
        score: String,
        role: Option<String>,
    },
    /// Never where node attribute `attribute` is not defined or not `value` (halab's link
    /// rule: the VIPs off a member whose ethmonitor says its link is down).
    Avoid {
        rsc: String,
        attribute: String,
        value: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PlanFile {
    pub from: PathBuf,
    pub to: String,
    pub mode: u32,
}

impl PlanResource {
    /// A primitive's agent as written: `ocf:heartbeat:IPaddr2`, `systemd:nginx`.
    pub fn agent(&self) -> Option<String> {
        let Kind::Primitive { class, provider, kind } = &self.kind else { return None };
        Some([Some(class.as_str()), provider.as_deref(), Some(kind.as_str())].into_iter().flatten().collect::<Vec<_>>().join(":"))
    }
}

/// What the user brings to the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, schemars::JsonSchema)]
pub struct PlanService {
    pub resources: Vec<PlanResource>,
    pub constraints: Vec<Constraint>,
    /// A CIB fragment file (its `<resources>` and `<constraints>` children are added).
    pub cib: Option<PathBuf>,
    /// OCF provider -> directory of agents (host paths).
    pub agents: Vec<(String, PathBuf)>,
    /// For every member.
    pub files: Vec<PlanFile>,
    /// Commands run on each member before its stack starts (`cluster.prepare`).
    pub prepare: Vec<String>,
}

impl PlanService {
    pub fn is_empty(&self) -> bool {
        *self == PlanService::default()
    }

    /// The id a constraint names for a resource: a cloned resource is its clone.
    pub fn cib_id(&self, id: &str) -> String {
        match self.resources.iter().find(|r| r.id == id) {
            Some(r) if r.clone.is_some() => format!("{id}-clone"),
            _ => id.to_string(),
        }
    }
}

fn host_path(c: &mut Checker, s: &Spanned<String>, field: &str, dir: bool) -> Option<PathBuf> {
    let base = c.file.parent().unwrap_or(Path::new("."));
    let p = base.join(&s.value);
    let ok = if dir { p.is_dir() } else { p.is_file() };
    if !ok {
        c.at(
            s,
            field,
            &format!("no {} `{}` (from {})", if dir { "directory" } else { "file" }, s.value, p.display()),
            "paths are relative to the topology file",
        );
        return None;
    }
    Some(std::fs::canonicalize(&p).unwrap_or(p))
}

pub(super) fn files(c: &mut Checker, specs: &[FileSpec], field: &str) -> Vec<PlanFile> {
    let mut out = Vec::new();
    for (i, f) in specs.iter().enumerate() {
        let fld = format!("{field}[{i}]");
        let from = host_path(c, &f.from, &format!("{fld}.from"), false);
        if !f.to.value.starts_with('/') {
            c.at(&f.to, &format!("{fld}.to"), &format!("`{}` is not an absolute path", f.to.value), "write the path in the node, e.g. /etc/myservice.conf");
        }
        let mode = match &f.mode {
            None => 0o644,
            Some(m) => u32::from_str_radix(&m.value, 8).ok().filter(|m| *m <= 0o7777).unwrap_or_else(|| {
                c.at(m, &format!("{fld}.mode"), &format!("`{}` is not an octal mode", m.value), "write it like \"0644\" or \"0755\"");
                0o644
            }),
        };
        if let Some(from) = from {
            out.push(PlanFile { from, to: f.to.value.clone(), mode });
        }
    }
    out
}

const SCORE_HINT: &str = "a number, INFINITY or -INFINITY";

fn score(c: &mut Checker, s: &Option<Spanned<String>>, field: &str) -> String {
    match s {
        None => "INFINITY".into(),
        Some(v) if matches!(v.value.as_str(), "INFINITY" | "-INFINITY" | "+INFINITY") || v.value.parse::<i64>().is_ok() => v.value.clone(),
        Some(v) => {
            c.at(v, field, &format!("`{}` is not a score", v.value), SCORE_HINT);
            "INFINITY".into()
        }
    }
}

/// `recipe`: the ids halab's own resources have (`vips`, `conntrackd-clone`), which
/// constraints may name too.
pub(super) fn check(c: &mut Checker, cl: &ClusterSpec, members: &[String], recipe: &[String]) -> PlanService {
    let mut out = PlanService::default();
    let ids: Vec<&str> = cl.resources.iter().map(|(k, _)| k.value.as_str()).collect();
    let mut seen = std::collections::HashSet::new();
    for (id, r) in cl.resources.iter() {
        let f = format!("cluster.resources.{}", id.value);
        if !valid_name(&id.value) || recipe.contains(&id.value) || id.value.starts_with("fence-") {
            let hint = "letters, digits and dashes; not vips, conntrackd-clone, link-*, fence-* (halab's own)";
            c.at(id, &f, &format!("`{}` cannot name a resource", id.value), hint);
        }
        if !seen.insert(id.value.clone()) {
            c.at(id, &f, &format!("resource `{}` is defined twice", id.value), "");
            continue;
        }
        let Some(kind) = kind(c, id, r, &cl.resources, &ids) else { continue };
        let ops = ops(c, r, &f);
        let clones = [("false", None), ("true", Some("clone")), ("promotable", Some("promotable"))];
        let clone = c.choice(r.clone.as_ref(), &format!("{f}.clone"), "clone", &clones, None).map(str::to_string);
        let at = r.agent.as_ref().or(r.group.as_ref().and_then(|g| g.first())).unwrap_or(id);
        let kv = |m: &OrderedMap<Spanned<String>>| m.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect();
        let (params, meta) = (kv(&r.params), kv(&r.meta));
        out.resources.push(PlanResource { id: id.value.clone(), kind, params, ops, meta, clone, at: c.span(at) });
    }
    let names: Vec<&str> = ids.iter().copied().chain(recipe.iter().map(String::as_str)).collect();
    for (i, k) in cl.constraints.iter().enumerate() {
        if let Some(k) = constraint(c, k, &format!("cluster.constraints[{i}]"), &names, members) {
            out.constraints.push(k);
        }
    }
    out.cib = cl.cib.as_ref().and_then(|s| host_path(c, s, "cluster.cib", false));
    for (provider, dir) in cl.agents.iter() {
        let field = format!("cluster.agents.{}", provider.value);
        if !valid_name(&provider.value) {
            c.at(provider, &field, &format!("`{}` cannot name an OCF provider", provider.value), "letters, digits and dashes");
        }
        if let Some(d) = host_path(c, dir, &field, true) {
            out.agents.push((provider.value.clone(), d));
        }
    }
    out.files = files(c, &cl.files, "cluster.files");
    out
}

/// A resource is a primitive (`agent`) or a group of primitives that are not cloned.
fn kind(c: &mut Checker, id: &Spanned<String>, r: &ResourceSpec, resources: &OrderedMap<ResourceSpec>, ids: &[&str]) -> Option<Kind> {
    let f = format!("cluster.resources.{}", id.value);
    match (&r.agent, &r.group) {
        (Some(a), None) => match a.value.split(':').collect::<Vec<_>>().as_slice() {
            ["ocf", p, t] if !p.is_empty() && !t.is_empty() => {
                Some(Kind::Primitive { class: "ocf".into(), provider: Some(p.to_string()), kind: t.to_string() })
            }
            [cls @ ("systemd" | "lsb" | "service"), t] if !t.is_empty() => {
                Some(Kind::Primitive { class: cls.to_string(), provider: None, kind: t.to_string() })
            }
            _ => {
                c.at(a, &format!("{f}.agent"), &format!("`{}` is not an agent", a.value), "ocf:PROVIDER:TYPE, systemd:UNIT or lsb:SCRIPT");
                None
            }
        },
        (None, Some(g)) => {
            for m in g {
                match resources.iter().find(|(k, _)| k.value == m.value) {
                    None => c.at(m, &format!("{f}.group"), &format!("unknown resource `{}`", m.value), &known("resources", ids.iter().copied())),
                    Some((_, ir)) if ir.agent.is_none() || ir.clone.is_some() => {
                        c.at(m, &format!("{f}.group"), &format!("`{}` cannot be in a group", m.value), "a group holds primitives that are not cloned")
                    }
                    _ => {}
                }
            }
            Some(Kind::Group(g.iter().map(|m| m.value.clone()).collect()))
        }
        _ => {
            c.at(id, &f, "a resource needs either `agent` (a primitive) or `group` (its members)", "");
            None
        }
    }
}

/// A resource's operations: (name, interval, timeout, role), durations in pacemaker's `Nms`.
fn ops(c: &mut Checker, r: &ResourceSpec, f: &str) -> Vec<(String, String, String, Option<String>)> {
    let mut ops = Vec::new();
    for (name, op) in r.ops.iter() {
        let of = format!("{f}.ops.{}", name.value);
        let interval = c.duration(&op.interval, &format!("{of}.interval"), std::time::Duration::ZERO);
        let timeout = c.duration(&op.timeout, &format!("{of}.timeout"), std::time::Duration::from_secs(20));
        let role = op.role.as_ref().map(|r| {
            if !matches!(r.value.as_str(), "Promoted" | "Unpromoted" | "Started") {
                c.at(r, &format!("{of}.role"), &format!("unknown role `{}`", r.value), "Promoted, Unpromoted or Started");
            }
            r.value.clone()
        });
        let op_name = op.name.as_ref().unwrap_or(name);
        if !valid_name(&op_name.value) {
            c.at(op_name, &format!("{of}.name"), &format!("`{}` cannot name an operation", op_name.value), "e.g. monitor, start, stop, promote");
        }
        ops.push((op_name.value.clone(), format!("{}ms", interval.as_millis()), format!("{}ms", timeout.as_millis()), role));
    }
    ops
}

const CONSTRAINT_FORMS: &str = "one of: { colocate, with }, { order, then }, { locate, on }";

/// One constraint, in one of its three forms, naming known resources (`names`) and members.
fn constraint(c: &mut Checker, k: &ConstraintSpec, f: &str, names: &[&str], members: &[String]) -> Option<Constraint> {
    let rsc = |c: &mut Checker, s: &Spanned<String>, field: &str| -> String {
        if !names.contains(&s.value.as_str()) {
            c.at(s, field, &format!("unknown resource `{}`", s.value), &known("resources", names.iter().copied()));
        }
        s.value.clone()
    };
    let action = |c: &mut Checker, a: &Option<Spanned<String>>, field: &str| match a {
        None => "start".to_string(),
        Some(a) if matches!(a.value.as_str(), "start" | "stop" | "promote" | "demote") => a.value.clone(),
        Some(a) => {
            c.at(a, field, &format!("unknown action `{}`", a.value), "start, stop, promote or demote");
            "start".into()
        }
    };
    match (&k.colocate, &k.with, &k.order, &k.then, &k.locate, &k.on) {
        (Some(a), Some(b), None, None, None, None) => {
            let (rsc_a, with) = (rsc(c, a, &format!("{f}.colocate")), rsc(c, b, &format!("{f}.with")));
            let score = score(c, &k.score, &format!("{f}.score"));
            Some(Constraint::Colocate { rsc: rsc_a, with, role: k.with_role.as_ref().map(|r| r.value.clone()), score })
        }
        (None, None, Some(a), Some(b), None, None) => {
            let (first, then) = (rsc(c, a, &format!("{f}.order")), rsc(c, b, &format!("{f}.then")));
            let (fa, ta) = (action(c, &k.first_action, &format!("{f}.first_action")), action(c, &k.then_action, &format!("{f}.then_action")));
            Some(Constraint::Order { first, then, first_action: fa, then_action: ta })
        }
        (None, None, None, None, Some(a), Some(n)) => {
            let r = rsc(c, a, &format!("{f}.locate"));
            if !members.contains(&n.value) {
                c.at(n, &format!("{f}.on"), &format!("`{}` is not a cluster member", n.value), &known("members", members.iter().map(String::as_str)));
            }
            let score = score(c, &k.score, &format!("{f}.score"));
            Some(Constraint::Locate { rsc: r, node: n.value.clone(), score, role: None })
        }
        _ => {
            let at = k.colocate.as_ref().or(k.order.as_ref()).or(k.locate.as_ref()).or(k.with.as_ref()).or(k.then.as_ref()).or(k.on.as_ref());
            match at {
                Some(at) => c.at(at, f, &format!("a constraint is {CONSTRAINT_FORMS}"), ""),
                None => c.out.push(crate::diag::Diagnostic::whole_file(c.file, f, "an empty constraint", CONSTRAINT_FORMS)),
            }
            None
        }
    }
}
