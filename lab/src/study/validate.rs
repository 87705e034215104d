//! Study validation: every problem at once with file:line:col, nothing run. A swept value is
//! applied to each scenario's topology and checked there (`patch`); what the topology's checks
//! refuse is reported at the value's line in the study.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::model::StudyFile;
use super::{patch, Axis, Cell, Combine, Study};
use crate::diag::{Diagnostic, InputError};
use crate::scenario::Scenario;
use crate::topology::Stack;
use crate::yaml::Spanned;

type V<'a> = crate::topology::validate::Checker<'a>;

pub fn load(path: &Path) -> Result<Study, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::one(Diagnostic::whole_file(path, "", &format!("cannot read the study: {e}"), "check the path")))?;
    let file: StudyFile = crate::yaml::parse(path, &text)?;
    check(path, &file)
}

fn check(path: &Path, f: &StudyFile) -> Result<Study, InputError> {
    let mut v = V { file: path, out: Vec::new() };
    v.name(&f.name, "name", "study");
    let stacks = stacks(&mut v, f);
    let repeats = match &f.repeats {
        Some(r) if !(1..=1000).contains(&r.value) => {
            v.at(r, "repeats", &format!("{} repeats", r.value), "1 to 1000 runs of every cell");
            1
        }
        Some(r) => r.value,
        None => 5,
    };
    let negligible_ms = v.duration(&f.negligible, "negligible", std::time::Duration::from_millis(10)).as_secs_f64() * 1000.0;
    let combine = v.choice(f.combine.as_ref(), "combine", "combination", &[("cross", Combine::Cross), ("zip", Combine::Zip)], Combine::Cross);
    let scenarios = scenarios(&mut v, f, path);
    let axes = axes(&mut v, f, &stacks);
    let points = points(&mut v, f, &axes, combine);
    let mut cells = Vec::new();
    if !scenarios.is_empty() {
        cells = make_cells(&mut v, f, &scenarios, &stacks, &axes, &points);
        if cells.is_empty() && v.out.is_empty() {
            v.at(&f.name, "scenarios", "no scenario runs on the study's stacks", "name stacks the scenarios' `stacks:` list");
        }
    }
    if !v.out.is_empty() {
        v.out.sort_by_key(|d| (d.file.clone(), d.line, d.col));
        v.out.dedup();
        return Err(InputError { diagnostics: v.out });
    }
    let seed = f.seed.as_ref().map_or(1, |s| s.value);
    let scenarios = scenarios.into_iter().map(|(s, _)| s).collect();
    Ok(Study { name: f.name.value.clone(), file: path.to_path_buf(), seed, repeats, stacks, negligible_ms, combine, axes, scenarios, cells })
}

fn stacks(v: &mut V, f: &StudyFile) -> Vec<Stack> {
    if f.stacks.is_empty() {
        return vec![Stack::Keepalived, Stack::Pacemaker];
    }
    let mut out = Vec::new();
    for s in &f.stacks {
        match Stack::parse(&s.value) {
            Some(st) if out.contains(&st) => v.at(s, "stacks", &format!("stack `{}` is listed twice", s.value), ""),
            Some(st) => out.push(st),
            None => v.at(s, "stacks", &format!("unknown stack `{}`", s.value), &format!("one of: {}", Stack::names().join(", "))),
        }
    }
    out
}

/// Each scenario loaded (its problems reported with its own file's lines), with its
/// topology's text for the sweep.
fn scenarios(v: &mut V, f: &StudyFile, path: &Path) -> Vec<(Scenario, String)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out: Vec<(Scenario, String)> = Vec::new();
    if f.scenarios.is_empty() {
        v.at(&f.name, "scenarios", "the study names no scenario", "list scenario files, e.g. scenarios: [ ../scenarios/switchover.yaml ]");
    }
    for (i, s) in f.scenarios.iter().enumerate() {
        let field = format!("scenarios[{i}]");
        let p: PathBuf = dir.join(&s.value);
        match crate::scenario::load(&p) {
            Ok(sc) if out.iter().any(|(o, _)| o.name == sc.name) => v.at(s, &field, &format!("scenario `{}` is listed twice", sc.name), ""),
            Ok(sc) => match std::fs::read_to_string(&sc.topology) {
                Ok(t) => out.push((sc, t)),
                Err(e) => v.at(s, &field, &format!("cannot read its topology {}: {e}", sc.topology.display()), ""),
            },
            Err(e) => {
                v.at(s, &field, &format!("the scenario {} is not usable ({} problem(s))", p.display(), e.diagnostics.len()), "run `halab validate` on it");
                v.out.extend(e.diagnostics);
            }
        }
    }
    out
}

fn axes(v: &mut V, f: &StudyFile, stacks: &[Stack]) -> Vec<Axis> {
    let mut out: Vec<Axis> = Vec::new();
    for (key, values) in f.sweep.iter() {
        let field = format!("sweep.{}", key.value);
        if out.iter().any(|a| a.path == key.value) {
            v.at(key, &field, "this setting is swept twice", "one axis per setting");
            continue;
        }
        let reader = patch::reader(&key.value);
        if let Some(r) = reader.filter(|r| !stacks.contains(r)) {
            let names: Vec<String> = stacks.iter().map(|s| s.to_string()).collect();
            v.at(
                key,
                &field,
                &format!("only {r} reads `{}`, and the study runs {}", key.value, names.join(", ")),
                &format!("add {r} to `stacks:` or drop the axis"),
            );
        }
        if values.is_empty() {
            v.at(key, &field, "an axis without values", "list at least one value, e.g. [ 1s, 500ms ]");
        }
        let mut seen = BTreeSet::new();
        for (i, x) in values.iter().enumerate() {
            if !matches!(x.value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                v.at(x, &format!("{field}[{i}]"), "not a single value", "a duration, a name, a number or true/false");
            } else if !seen.insert(patch::text(&x.value)) {
                v.at(x, &format!("{field}[{i}]"), &format!("`{}` is listed twice", patch::text(&x.value)), "");
            }
        }
        out.push(Axis { path: key.value.clone(), values: values.iter().map(|x| x.value.clone()).collect(), reader });
    }
    out
}

/// The points of the sweep: one value index per axis.
fn points(v: &mut V, f: &StudyFile, axes: &[Axis], combine: Combine) -> Vec<Vec<usize>> {
    match combine {
        Combine::Zip => {
            let n = axes.first().map_or(1, |a| a.values.len());
            for ((key, _), a) in f.sweep.iter().zip(axes).filter(|(_, a)| a.values.len() != n) {
                v.at(key, &format!("sweep.{}", key.value), &format!("{} values where the first axis has {n}", a.values.len()), "zipped axes have one length");
            }
            (0..n).map(|i| vec![i; axes.len()]).collect()
        }
        Combine::Cross => axes
            .iter()
            .fold(vec![Vec::new()], |acc, a| acc.into_iter().flat_map(|p| (0..a.values.len()).map(move |i| p.iter().copied().chain([i]).collect())).collect()),
    }
}

/// Every (scenario, stack, point of the axes that stack reads), each applied and validated.
fn make_cells(v: &mut V, f: &StudyFile, scenarios: &[(Scenario, String)], stacks: &[Stack], axes: &[Axis], points: &[Vec<usize>]) -> Vec<Cell> {
    let spans: Vec<(&Spanned<String>, &Vec<Spanned<Value>>)> = f.sweep.iter().collect();
    // Each value alone first, so a refusal is reported at that value's line.
    let mut refused = BTreeSet::new();
    for (sc, text) in scenarios {
        for (ai, a) in axes.iter().enumerate() {
            for (vi, x) in a.values.iter().enumerate() {
                // Not a single value: reported with the axis.
                if !matches!(x, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    refused.insert((ai, vi));
                    continue;
                }
                if let Err(ds) = apply(sc, text, &[(a.path.as_str(), x)]) {
                    refused.insert((ai, vi));
                    report(v, &spans[ai], vi, &sc.name, &ds, None);
                }
            }
        }
    }
    let mut cells = Vec::new();
    for (si, (sc, text)) in scenarios.iter().enumerate() {
        for &stack in stacks.iter().filter(|s| sc.stacks.contains(s)) {
            let reads: Vec<usize> = (0..axes.len()).filter(|&i| axes[i].reader.is_none_or(|r| r == stack)).collect();
            let mut seen: Vec<Vec<usize>> = Vec::new();
            for p in points {
                let sub: Vec<usize> = reads.iter().map(|&i| p[i]).collect();
                if seen.contains(&sub) {
                    continue;
                }
                seen.push(sub.clone());
                if reads.iter().zip(&sub).any(|(&ai, &vi)| refused.contains(&(ai, vi))) {
                    continue;
                }
                let settings: Vec<(&str, &Value)> = reads.iter().zip(&sub).map(|(&ai, &vi)| (axes[ai].path.as_str(), &axes[ai].values[vi])).collect();
                match apply(sc, text, &settings) {
                    Ok((plan, topology)) => {
                        let named: Vec<(String, String)> = settings.iter().map(|(p, x)| (p.to_string(), patch::text(x))).collect();
                        let label = label(axes, &reads, &named);
                        cells.push(Cell { scenario: si, stack, label, settings: named, plan, topology });
                    }
                    // Only the combination is refused: at its last value, naming the others.
                    Err(ds) => match reads.iter().zip(&sub).next_back() {
                        Some((&ai, &vi)) => {
                            let with: Vec<String> = settings.iter().take(settings.len() - 1).map(|(p, x)| format!("{p} {}", patch::text(x))).collect();
                            report(v, &spans[ai], vi, &sc.name, &ds, Some(&with.join(", ")));
                        }
                        // No setting changed, yet the topology does not pass: halab's own round
                        // trip failed, said at the scenario.
                        None => {
                            let what: Vec<String> = ds.iter().map(|d| d.to_string()).collect();
                            v.at(&f.scenarios[si], "scenarios", &format!("its topology does not survive halab's rewrite: {}", what.join("; ")), "");
                        }
                    },
                }
            }
        }
    }
    cells
}

/// The scenario's topology with `settings` applied, validated; or the problems found.
fn apply(sc: &Scenario, text: &str, settings: &[(&str, &Value)]) -> Result<(crate::topology::Plan, String), Vec<Diagnostic>> {
    let patched = patch::apply(text, settings).map_err(|e| vec![Diagnostic::whole_file(&sc.topology, "", &e, "")])?;
    let plan = crate::topology::load_str(&sc.topology, &patched, None).map_err(|e| e.diagnostics)?;
    Ok((plan, patched))
}

/// The topology's problems with a value, at the value's line (a bad path at the axis' key).
fn report(v: &mut V, (key, values): &(&Spanned<String>, &Vec<Spanned<Value>>), vi: usize, scenario: &str, ds: &[Diagnostic], with: Option<&str>) {
    let field = format!("sweep.{}", key.value);
    for d in ds {
        let bad_path = d.message.starts_with("unknown field") || d.message.contains("is not a section") || d.message.contains("has no `");
        let with = with.filter(|w| !w.is_empty()).map(|w| format!(" together with {w}")).unwrap_or_default();
        let what = if d.field.is_empty() { d.message.clone() } else { format!("{}: {}", d.field, d.message) };
        if bad_path {
            v.at(
                *key,
                &field,
                &format!("not a setting of the topology of {scenario}: {what}"),
                "write the path as in a topology file, e.g. cluster.corosync.token",
            );
        } else {
            let x = &values[vi];
            let msg = format!("`{}`{with} is refused in the topology of {scenario}: {what}", patch::text(&x.value));
            v.at(x, &format!("{field}[{vi}]"), &msg, &d.hint);
        }
    }
}

fn label(axes: &[Axis], reads: &[usize], named: &[(String, String)]) -> String {
    if named.is_empty() {
        return "defaults".into();
    }
    // The last key names an axis unless two axes share it.
    let short = |ai: usize| {
        let s = axes[ai].short();
        if axes.iter().filter(|a| a.short() == s).count() > 1 {
            axes[ai].path.clone()
        } else {
            s.to_string()
        }
    };
    reads.iter().zip(named).map(|(&ai, (_, x))| format!("{} {x}", short(ai))).collect::<Vec<_>>().join(", ")
}
