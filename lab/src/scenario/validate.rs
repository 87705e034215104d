//! Scenario validation: every problem at once, with file:line:col, against the topology.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{self, ScenarioFile};
use super::plan::*;
use super::{conditions, faults, target, traffic};
use crate::diag::{Diagnostic, InputError};
use crate::measure::metrics::run as rm;
use crate::topology::{self, Stack};
use crate::yaml::Spanned;

/// The same checker as topologies: every problem at once, with positions.
type V<'a> = crate::topology::validate::Checker<'a>;

pub fn load(path: &Path) -> Result<Scenario, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::one(Diagnostic::whole_file(path, "", &format!("cannot read the scenario: {e}"), "check the path")))?;
    let file: ScenarioFile = crate::yaml::parse(path, &text)?;
    check(path, &file)
}

fn check(path: &Path, f: &ScenarioFile) -> Result<Scenario, InputError> {
    let mut v = V { file: path, out: Vec::new() };
    let topo_path: PathBuf = path.parent().unwrap_or(Path::new(".")).join(&f.topology.value);
    let plan = match topology::load(&topo_path, None) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("the topology {} is not usable ({} problem(s))", topo_path.display(), e.diagnostics.len());
            v.at(&f.topology, "topology", &msg, "run `halab validate` on it");
            let mut out = v.out;
            out.extend(e.diagnostics);
            return Err(InputError { diagnostics: out });
        }
    };
    let stacks = stacks(&mut v, f, &plan);
    let mut off = |s: Option<&Spanned<String>>, field: &str| match s {
        None => false,
        Some(s) if s.value == "off" => true,
        Some(s) => {
            v.at(s, field, &format!("`{}` is not an override", s.value), "only `off` is");
            false
        }
    };
    let conntrackd_off = off(f.overrides.as_ref().and_then(|o| o.conntrackd.as_ref()), "overrides.conntrackd");
    let fencing_off = off(f.overrides.as_ref().and_then(|o| o.fencing.as_ref()), "overrides.fencing");
    let timeout = v.duration(&f.timeout, "timeout", Duration::from_secs(300));
    let mut traffic_names: HashSet<String> = HashSet::new();
    let mut steps = Vec::new();
    for (i, step) in f.steps.iter().enumerate() {
        steps.extend(self::step(&mut v, &plan, step, &format!("steps[{i}]"), &mut traffic_names));
    }
    let traffics = traffics(&traffic_names, &steps);
    let mut expect = Vec::new();
    for e in &f.expect {
        match super::expect::parse(&e.value) {
            Ok(x) => {
                known_metric(&mut v, e, "expect", &x.metric, &traffics);
                expect.push(x);
            }
            Err(msg) => v.at(e, "expect", &msg, ""),
        }
    }
    let report = report(&mut v, f, &traffics);
    if !v.out.is_empty() {
        v.out.sort_by_key(|d| (d.line, d.col));
        return Err(InputError { diagnostics: v.out });
    }
    let name = f.name.value.clone();
    Ok(Scenario { name, file: path.to_path_buf(), topology: topo_path, plan, stacks, conntrackd_off, fencing_off, timeout, steps, expect, report })
}

/// The stacks to run: those named that the topology's cluster can run, else the cluster's own.
fn stacks(v: &mut V, f: &ScenarioFile, plan: &topology::Plan) -> Vec<Stack> {
    let mut stacks = Vec::new();
    for s in &f.stacks {
        match (Stack::parse(&s.value), plan.cluster.as_ref()) {
            (None, _) => v.at(s, "stacks", &format!("unknown stack `{}`", s.value), &format!("one of: {}", Stack::names().join(", "))),
            (Some(_), None) => v.at(s, "stacks", &format!("stack `{}` needs a `cluster:` section in the topology", s.value), ""),
            (Some(stack), Some(cl)) => match topology::plan::stack_unfit(stack, &cl.corosync.links) {
                Some(why) => v.at(s, "stacks", why, ""),
                None => stacks.push(stack),
            },
        }
    }
    if stacks.is_empty() {
        stacks.push(plan.cluster.as_ref().map(|c| c.stack).unwrap_or(Stack::None));
    }
    stacks
}

/// One step, checked against the plan and the traffics started before it (`traffic_names`).
fn step(v: &mut V, plan: &topology::Plan, step: &model::Step, field: &str, traffic_names: &mut HashSet<String>) -> Option<Step> {
    let started = |v: &mut V, n: &Spanned<String>, field: &str| {
        if !traffic_names.contains(&n.value) {
            v.at(n, field, &format!("no traffic `{}` was started before this step", n.value), "");
        }
    };
    match step {
        model::Step::Traffic(t) => traffic::check(v, plan, t, field, traffic_names).map(Step::Traffic),
        model::Step::Wait(d) => wait_range(v, d, field),
        model::Step::WaitUntil(w) => {
            let timeout = v.duration(&w.timeout, &format!("{field}.timeout"), Duration::from_secs(60));
            conditions::parse(v, plan, &w.condition, field).map(|condition| Step::WaitUntil { condition, timeout })
        }
        model::Step::WaitFor(w) => {
            started(v, &w.traffic, &format!("{field}.traffic"));
            Some(Step::WaitFor { traffic: w.traffic.value.clone(), timeout: v.duration(&w.timeout, &format!("{field}.timeout"), Duration::from_secs(300)) })
        }
        model::Step::Stop(n) => {
            started(v, n, field);
            Some(Step::Stop(n.value.clone()))
        }
        model::Step::Succeed(c) | model::Step::Fail(c) => {
            let node = target::check(v, plan, &c.node, &format!("{field}.node"));
            let timeout = v.duration(&c.timeout, &format!("{field}.timeout"), Duration::from_secs(30));
            let (node, cmd) = (node?, c.cmd.value.clone());
            Some(if matches!(step, model::Step::Succeed(_)) { Step::Succeed { node, cmd, timeout } } else { Step::Fail { node, cmd, timeout } })
        }
        model::Step::Fault(fs) => faults::check(v, plan, fs, field).map(Step::Fault),
    }
}

/// The traffics of a scenario by name, each with what its kind records (none when the
/// traffic itself was not valid: its own error says why).
type Traffics = BTreeMap<String, Option<&'static traffic::KindDef>>;

fn traffics(names: &HashSet<String>, steps: &[Step]) -> Traffics {
    let mut out: Traffics = names.iter().map(|n| (n.clone(), None)).collect();
    for s in steps {
        if let Step::Traffic(t) = s {
            out.insert(t.name.clone(), traffic::KINDS.iter().copied().find(|k| k.name == t.kind.name()));
        }
    }
    out
}

/// Expectations and headlines name a metric of the run or of a traffic of this scenario, as
/// `measure::metrics` defines them: a misspelt one would never hold, silently.
fn known_metric(v: &mut V, at: &Spanned<String>, field: &str, metric: &str, traffics: &Traffics) {
    if rm::ALL.iter().any(|d| d.matches(metric)) {
        return;
    }
    let (head, rest) = metric.split_once('.').unwrap_or((metric, ""));
    match traffics.get(head) {
        Some(None) => {}
        Some(Some(kind)) if kind.metrics.iter().any(|d| d.matches(rest)) => {}
        Some(Some(kind)) => {
            let keys: Vec<&str> = kind.metrics.iter().map(|d| d.key).collect();
            v.at(
                at,
                field,
                &format!("traffic `{head}` (kind {}) records no `{rest}`", kind.name),
                &format!("a {} traffic records: {}", kind.name, keys.join(", ")),
            );
        }
        None => {
            let names: Vec<&str> = traffics.keys().map(String::as_str).collect();
            let run: Vec<String> = rm::ALL.iter().map(|d| d.key.replace('*', "<member>")).collect();
            v.at(
                at,
                field,
                &format!("`{metric}` names no traffic of this scenario"),
                &format!("traffics: {}; run metrics: {}", names.join(", "), run.join(", ")),
            );
        }
    }
}

/// The `report:` block: each headline names a known metric, a label and a unit.
fn report(v: &mut V, f: &ScenarioFile, traffics: &Traffics) -> Report {
    let mut out = Report::default();
    for (i, h) in f.report.iter().flat_map(|r| &r.headline).enumerate() {
        let field = format!("report.headline[{i}]");
        match super::expect::check_metric(&h.metric.value) {
            Ok(()) => known_metric(v, &h.metric, &format!("{field}.metric"), &h.metric.value, traffics),
            Err(msg) => v.at(&h.metric, &format!("{field}.metric"), &msg, ""),
        }
        // One row per metric: the report keeps rows apart by their metric.
        if out.headline.iter().any(|x| x.metric == h.metric.value) {
            v.at(&h.metric, &format!("{field}.metric"), &format!("`{}` is headlined twice", h.metric.value), "");
        }
        if h.label.value.trim().is_empty() {
            v.at(&h.label, &format!("{field}.label"), "the label is empty", "the row's text in the report's headline table");
        }
        if h.unit.value.trim().is_empty() {
            v.at(&h.unit, &format!("{field}.unit"), "the unit is empty", "ms, flag, or a unit shown as is, like Mbit/s");
        }
        out.headline.push(Headline { metric: h.metric.value.clone(), label: h.label.value.trim().into(), unit: h.unit.value.trim().into() });
    }
    out
}

/// `3s` or a range `3s..4s`, drawn per run (`scenario::schedule`).
fn wait_range(v: &mut V, d: &Spanned<String>, field: &str) -> Option<Step> {
    let Some((a, b)) = d.value.split_once("..") else {
        let t = v.duration(&Some(d.clone()), field, Duration::ZERO);
        return Some(Step::Wait { min: t, max: t });
    };
    let parse = |s: &str| crate::topology::duration::parse(s.trim());
    match (parse(a), parse(b)) {
        (Some(min), Some(max)) if min <= max => Some(Step::Wait { min, max }),
        (Some(_), Some(_)) => {
            v.at(d, field, &format!("the range `{}` ends before it starts", d.value), "write it low..high, like 3s..4s");
            None
        }
        _ => {
            v.at(d, field, &format!("`{}` is not a duration or a range", d.value), "write it like 3s, or 3s..4s for a wait drawn per run");
            None
        }
    }
}
