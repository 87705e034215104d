//! Reports from raw run records: statistics per cell (scenario x stack), comparisons between
//! stacks against run-to-run noise, starved runs left out (and said so), and the writers:
//! Markdown, self-contained HTML with SVG plots, JSON, JUnit.

pub mod html;
pub mod junit;
pub mod lab_graph;
pub mod markdown;
pub mod outcome;
pub mod phase;
pub mod plots;
pub mod starvation;
pub mod study;
pub mod study_render;
pub mod verdict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::measure::compare::{mann_whitney, Comparison};
use crate::measure::stats::{summary, Summary};
use crate::scenario::plan;
use crate::scenario::results::{Outcome, RunRecord};
use outcome::Sample;
pub use starvation::{lateness, lateness_text, starvation_allowance, starved, Lateness, STARVED_SHARE, STARVED_TICK_MS};

/// The level of every comparison.
pub const ALPHA: f64 = 0.05;

/// How the numbers are made, said under every report.
/// The report's title: the stacks that ran, as compared.
pub fn title(a: &Analysis) -> String {
    match a.stacks.len() {
        0 => "halab report".into(),
        1 => format!("{}, measured with halab", a.stacks[0]),
        _ => format!("{}, measured with halab", a.stacks.join(" vs ")),
    }
}

pub const METHODS: &str = "stacks compared by a two-sided Mann–Whitney U test at 0.05 (exact up to 100 runs: every split of the pooled runs counted, ties by midranks; beyond, the normal approximation with tie correction); shift = Hodges–Lehmann (the median of all pairwise differences) with its distribution-free confidence interval; percentiles nearest-rank, p5–p95 shown from 20 runs on.";

/// Said instead of an empty headline table.
pub const NO_HEADLINES: &str =
    "No headline table: no run left a number for the metrics its scenario's `report:` block lists (every run left out below, or older run records without such a block).";

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub dir: PathBuf,
    pub record: RunRecord,
    pub starved: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub scenario: String,
    pub stack: String,
    /// A study's cell: its swept settings in words (`advert_int 500ms`); empty outside studies
    /// and for a study's cells at the topology's own settings.
    pub variant: String,
    pub runs: usize,
    pub used: usize,
    pub passed: usize,
    pub errors: usize,
    /// Over the runs in which the metric recovered, when it has an outcome (`outcome_of`).
    pub numbers: BTreeMap<String, Summary>,
    /// metric -> outcome in words -> runs in which it did not recover (left out of `numbers`).
    pub not_recovered: BTreeMap<String, BTreeMap<String, usize>>,
    /// metric -> (true count, runs with the metric)
    pub flags: BTreeMap<String, (usize, usize)>,
    /// The ranged waits its runs drew (`wait: 3s..4s`).
    pub waits: Vec<phase::Waits>,
    /// The settings of this cell's lab that not every run of its stack shares (fencing on in
    /// one cell, off in another): its basis, beside its numbers.
    pub settings: Vec<String>,
}

/// One row of the headline table: a question, answered per stack.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub row: String,
    pub scenario: String,
    pub variant: String,
    pub metric: String,
    /// `ms`, `flag` or a unit shown as is, from the scenario's `report:` block.
    pub unit: String,
    /// stack -> the text shown in the table
    pub cells: BTreeMap<String, String>,
    pub comparison: Option<Comparison>,
    /// The comparison in words, as the report prints it after the row.
    pub comparison_text: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub schema: String,
    pub stacks: Vec<String>,
    pub git_revisions: Vec<String>,
    pub versions: BTreeMap<String, String>,
    pub settings: BTreeMap<String, Vec<String>>,
    pub cells: Vec<Cell>,
    pub headlines: Vec<Headline>,
    pub starved: Vec<String>,
    /// A study's own section (`halab study`), when the runs are a study's.
    pub study: Option<study::Section>,
    pub runs: Vec<Run>,
}

/// Did the run get to its measurements? Broken and interrupted runs say nothing about a stack.
fn concluded(o: Outcome) -> bool {
    matches!(o, Outcome::Passed | Outcome::Failed)
}

/// Every results.json below the given folders.
pub fn load_runs(dirs: &[PathBuf]) -> Result<Vec<Run>> {
    let mut found = Vec::new();
    for d in dirs {
        walk(d, &mut found)?;
    }
    // Folders given twice, or a run folder and its parent, are one run each.
    found.sort();
    found.dedup();
    let mut runs = Vec::new();
    for dir in found {
        let mut record = RunRecord::load(&dir).with_context(|| format!("failed to read {}", dir.join("results.json").display()))?;
        crate::scenario::results::split_gap(&mut record.metrics);
        let starved = starved(&record);
        runs.push(Run { dir, record, starved });
    }
    Ok(runs)
}

fn walk(d: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if d.join("results.json").is_file() && d.join("events.jsonl").is_file() {
        out.push(d.to_path_buf());
        return Ok(());
    }
    for e in std::fs::read_dir(d).with_context(|| format!("failed to read {}", d.display()))?.flatten() {
        if e.path().is_dir() {
            walk(&e.path(), out)?;
        }
    }
    Ok(())
}

/// A run counts in the statistics unless the host starved it or the lab broke.
pub fn used(r: &Run) -> bool {
    r.starved.is_none() && concluded(r.record.outcome)
}

/// The cell a run belongs to beyond its scenario and stack: its study cell's settings in words,
/// empty outside studies and at the topology's own settings.
pub fn variant(r: &RunRecord) -> &str {
    r.study.as_ref().map(|p| p.cell.as_str()).filter(|c| *c != "defaults").unwrap_or("")
}

fn in_cell(r: &Run, scenario: &str, stack: &str, v: &str) -> bool {
    r.record.scenario == scenario && r.record.stack == stack && variant(&r.record) == v
}

/// The runs the statistics of `metric` in a cell rest on, with their numbers: used runs,
/// recovered ones only.
pub fn recovered_runs<'a>(runs: &'a [Run], (scenario, stack, v): (&str, &str, &str), metric: &str) -> Vec<(&'a Run, f64)> {
    runs.iter()
        .filter(|r| used(r) && in_cell(r, scenario, stack, v))
        .filter_map(|r| match outcome::sample(&r.record.metrics, metric) {
            Some(Sample::Value(x)) => Some((r, x)),
            _ => None,
        })
        .collect()
}

/// The numbers of `metric` the statistics of a cell rest on.
pub fn recovered_samples(runs: &[Run], cell: (&str, &str, &str), metric: &str) -> Vec<f64> {
    recovered_runs(runs, cell, metric).into_iter().map(|(_, x)| x).collect()
}

pub fn analyse(runs: Vec<Run>) -> Analysis {
    let mut stacks: Vec<String> = runs.iter().map(|r| r.record.stack.clone()).collect();
    stacks.sort();
    stacks.dedup();
    // A study's cells in the study's order of cells; runs outside studies have one per stack.
    let mut keys: Vec<(String, String, u32, String)> = runs
        .iter()
        .map(|r| (r.record.scenario.clone(), r.record.stack.clone(), r.record.study.as_ref().map_or(0, |p| p.cell_index), variant(&r.record).to_string()))
        .collect();
    keys.sort();
    keys.dedup();
    // Per stack, the settings every one of its runs shares; a cell names the rest.
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &runs {
        settings.entry(r.record.stack.clone()).and_modify(|s| s.retain(|l| r.record.settings.contains(l))).or_insert_with(|| r.record.settings.clone());
    }
    let mut cells = Vec::new();
    for (sc, stack, _, v) in &keys {
        let all: Vec<&Run> = runs.iter().filter(|r| in_cell(r, sc, stack, v)).collect();
        let used: Vec<&Run> = all.iter().copied().filter(|r| used(r)).collect();
        let (mut numbers, mut not_recovered, mut flags) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let names: std::collections::BTreeSet<&String> = used.iter().flat_map(|r| r.record.metrics.keys()).collect();
        for m in names {
            let vals: Vec<&serde_json::Value> = used.iter().filter_map(|r| r.record.metrics.get(m)).collect();
            if vals.iter().all(|v| v.is_boolean()) {
                flags.insert(m.clone(), (vals.iter().filter(|v| v.as_bool() == Some(true)).count(), vals.len()));
                continue;
            }
            let (mut xs, mut left) = (Vec::new(), BTreeMap::new());
            for s in used.iter().filter_map(|r| outcome::sample(&r.record.metrics, m)) {
                match s {
                    Sample::Value(x) => xs.push(x),
                    Sample::NotRecovered(o) => *left.entry(o).or_insert(0usize) += 1,
                }
            }
            if let Some(s) = summary(&xs) {
                numbers.insert(m.clone(), s);
            }
            if !left.is_empty() {
                not_recovered.insert(m.clone(), left);
            }
        }
        cells.push(Cell {
            scenario: sc.clone(),
            stack: stack.clone(),
            variant: v.clone(),
            runs: all.len(),
            used: used.len(),
            passed: all.iter().filter(|r| r.record.outcome == Outcome::Passed).count(),
            errors: all.iter().filter(|r| !concluded(r.record.outcome)).count(),
            numbers,
            not_recovered,
            flags,
            waits: phase::waits(all.iter().copied()),
            settings: all.first().map(|r| r.record.settings.iter().filter(|l| !settings[stack].contains(l)).cloned().collect()).unwrap_or_default(),
        });
    }
    let headlines = headlines(&cells, &runs, &stacks);
    let mut versions = BTreeMap::new();
    let mut revs = Vec::new();
    for r in &runs {
        versions.extend(r.record.versions.clone());
        revs.push(r.record.git_revision.clone());
    }
    revs.sort();
    revs.dedup();
    let starved =
        runs.iter().filter_map(|r| r.starved.as_ref().map(|s| format!("{} {} #{}: {s}", r.record.scenario, r.record.stack, r.record.repeat))).collect();
    let mut a = Analysis { schema: "halab.report/1".into(), stacks, git_revisions: revs, versions, settings, cells, headlines, starved, study: None, runs };
    a.study = study::section(&a);
    a
}

impl Cell {
    /// Runs in which `metric` did not recover, in words ("1 of 2 never recovered").
    pub fn left_out(&self, metric: &str) -> Option<String> {
        let left = self.not_recovered.get(metric)?;
        let of = self.numbers.get(metric).map_or(0, |s| s.n) + left.values().sum::<usize>();
        Some(outcome::left_out(left, of))
    }
}

/// The text of one table cell; the report and its tests format numbers through this only.
/// Runs that did not recover are counted after n, never in the numbers; p5 and p95 appear
/// from `stats::TAILS_FROM` runs on.
pub fn cell_text(cell: &Cell, metric: &str, unit: &str) -> Option<String> {
    if unit == "flag" {
        return cell.flags.get(metric).map(|(t, n)| format!("{t}/{n}"));
    }
    let Some(s) = cell.numbers.get(metric) else { return cell.not_recovered.get(metric).map(outcome::none_recovered) };
    let left = cell.left_out(metric).map(|t| format!("; {t}")).unwrap_or_default();
    let (scale, digits, shown) = match unit {
        "ms" => (1000.0, 2, "s"),
        "s" => (1.0, 2, "s"),
        _ => (1.0, 0, unit),
    };
    let f = |x: f64| format!("{:.*}", digits, x / scale);
    let tails = match (s.p5, s.p95) {
        (Some(lo), Some(hi)) => format!(", p5–p95 {}–{}", f(lo), f(hi)),
        _ => String::new(),
    };
    Some(format!("{} {shown} ({}–{}{tails}, n={}{left})", f(s.median), f(s.min), f(s.max), s.n))
}

/// The headline rows the runs ask for: each scenario's `report:` block, in its order; scenarios
/// in the order they first ran (a bench runs them in the order given). Runs of one scenario add
/// up; the earliest run to name a metric gives its label and unit.
fn headline_specs(runs: &[Run]) -> Vec<(String, Vec<plan::Headline>)> {
    let mut order: Vec<&Run> = runs.iter().collect();
    order.sort_by_key(|r| r.record.started_unix);
    let mut out: Vec<(String, Vec<plan::Headline>)> = Vec::new();
    for r in order {
        let sc = &r.record.scenario;
        let i = match out.iter().position(|(s, _)| s == sc) {
            Some(i) => i,
            None => {
                out.push((sc.clone(), Vec::new()));
                out.len() - 1
            }
        };
        for h in &r.record.report.headline {
            if !out[i].1.iter().any(|x| x.metric == h.metric) {
                out[i].1.push(h.clone());
            }
        }
    }
    out
}

/// One row per headline metric and study cell (a study's swept settings make a row each; a
/// row compares the stacks when both have that cell).
fn headlines(cells: &[Cell], runs: &[Run], stacks: &[String]) -> Vec<Headline> {
    let mut out = Vec::new();
    for (sc, specs) in headline_specs(runs) {
        let mut variants: Vec<&str> = Vec::new();
        for c in cells.iter().filter(|c| c.scenario == sc) {
            if !variants.contains(&c.variant.as_str()) {
                variants.push(&c.variant);
            }
        }
        for h in specs {
            for &v in &variants {
                let mut texts = BTreeMap::new();
                for st in stacks {
                    if let Some(t) = cells.iter().find(|c| c.scenario == sc && &c.stack == st && c.variant == v).and_then(|c| cell_text(c, &h.metric, &h.unit))
                    {
                        texts.insert(st.clone(), t);
                    }
                }
                if texts.is_empty() {
                    continue;
                }
                let sample = |st: &str| recovered_samples(runs, (&sc, st, v), &h.metric);
                let comparison = if h.unit != "flag" && stacks.len() == 2 && texts.len() == 2 {
                    mann_whitney(&sample(&stacks[0]), &sample(&stacks[1]), ALPHA)
                } else {
                    None
                };
                let left_out: Vec<String> = cells
                    .iter()
                    .filter(|c| c.scenario == sc && c.variant == v)
                    .filter_map(|c| c.left_out(&h.metric).map(|t| format!("{}: {t}", c.stack)))
                    .collect();
                let comparison_text = comparison.as_ref().map(|c| verdict::comparison_text(c, &stacks[0], &stacks[1], &h.unit, &left_out));
                let row = if v.is_empty() { h.label.clone() } else { format!("{} ({v})", h.label) };
                out.push(Headline {
                    row,
                    scenario: sc.clone(),
                    variant: v.to_string(),
                    metric: h.metric.clone(),
                    unit: h.unit.clone(),
                    cells: texts,
                    comparison,
                    comparison_text,
                });
            }
        }
    }
    out
}

/// Write report.md, report.html, results.json and junit.xml into `out`.
pub fn write_all(a: &Analysis, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let graphs = lab_graph::graphs(a);
    for (file, svg) in &graphs {
        std::fs::write(out.join(file), svg)?;
    }
    std::fs::write(out.join("report.md"), lab_graph::into_markdown(&markdown::render(a), &graphs))?;
    std::fs::write(out.join("report.html"), lab_graph::into_html(&html::render(a), &graphs))?;
    std::fs::write(out.join("results.json"), serde_json::to_vec_pretty(a)?)?;
    std::fs::write(out.join("junit.xml"), junit::render(a)?)?;
    if let Some(s) = &a.study {
        std::fs::write(out.join("figures.md"), study_render::figures(s, &out.display().to_string()))?;
    }
    Ok(())
}
