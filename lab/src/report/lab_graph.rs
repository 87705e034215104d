//! The lab at the top of a report: one picture per topology the runs used (`graph::svg`),
//! written beside report.md as `lab-NAME.svg` and inline in report.html. The plan comes from
//! the run folder (`plan.json`, written by every run since it exists), else the study's
//! `topology.yaml` there, else the scenario file the run names, if it still loads.

use std::path::Path;

use super::Analysis;
use crate::topology::Plan;

fn plan_of(dir: &Path, scenario_file: &str) -> Option<Plan> {
    if let Some(p) = std::fs::read_to_string(dir.join("plan.json")).ok().and_then(|t| serde_json::from_str(&t).ok()) {
        return Some(p);
    }
    let topo = dir.join("topology.yaml");
    if let Ok(p) = crate::topology::load(&topo, None) {
        return Some(p);
    }
    crate::scenario::load(Path::new(scenario_file)).ok().map(|s| s.plan)
}

/// `fw-pair` for topologies/fw-pair.yaml, `web-ha` for examples/web-ha/topology.yaml; `lab`
/// for a study's copy in the run folder.
fn name_of(topology: &Path, run_dir: &Path) -> String {
    let stem = topology.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = topology.parent().filter(|p| *p != run_dir && !p.as_os_str().is_empty());
    match (stem.as_str(), parent.and_then(|p| p.file_name())) {
        ("topology", Some(dir)) => dir.to_string_lossy().into_owned(),
        ("topology", None) | ("", _) => "lab".into(),
        _ => stem,
    }
}

/// (file name, SVG) per distinct topology, in the order the runs first use them.
pub fn graphs(a: &Analysis) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for r in &a.runs {
        let key = r.record.scenario_file.clone();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let Some(mut plan) = plan_of(&r.dir, &r.record.scenario_file) else { continue };
        // The run's own lab name is per run; the picture is of the topology, named after it.
        let topology = crate::scenario::load(Path::new(&r.record.scenario_file)).map(|s| s.topology).unwrap_or_else(|_| plan.topology.clone());
        plan.lab = name_of(&topology, &r.dir);
        let file = format!("lab-{}.svg", plan.lab);
        if !out.iter().any(|(f, _)| *f == file) {
            out.push((file, crate::graph::svg(&plan, None)));
        }
    }
    out
}

/// report.md with the pictures (files beside it) first.
pub fn into_markdown(md: &str, graphs: &[(String, String)]) -> String {
    let pics: String = graphs.iter().map(|(f, _)| format!("![the lab: {f}]({f})\n")).collect();
    if pics.is_empty() {
        return md.to_string();
    }
    format!("{pics}\n{md}")
}

/// report.html with the pictures inline under its title.
pub fn into_html(html: &str, graphs: &[(String, String)]) -> String {
    let pics: String = graphs.iter().map(|(_, svg)| format!("<div class=\"lab\">{svg}</div>\n")).collect();
    match html.find("</h1>") {
        Some(i) if !pics.is_empty() => format!("{}\n{pics}{}", &html[..i + 5], &html[i + 5..]),
        _ => html.to_string(),
    }
}
