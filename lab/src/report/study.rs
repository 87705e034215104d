//! A study's own section of the report: per fault, every cell's gap, detection, takeover and
//! TCP stall beside the protocol's floor (`measure/floor.rs`); the comparisons (stack against
//! stack, each swept value against the axis' first) with Holm's correction per metric and a
//! practical threshold; the drift check; each cell's full configuration. And the merge check
//! for shard folders.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{recovered_runs, Analysis, Run, ALPHA};
use crate::measure::compare::{mann_whitney, Comparison};
use crate::measure::metrics::run as rm;
use crate::measure::stats::{summary, Summary};

/// The columns of a fault's table: (key in the section, what it is called).
pub const COLUMNS: [(&str, &str); 4] = [("gap", "gap"), ("detection", "detection"), ("takeover", "takeover"), ("stall", "TCP stall")];

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub stack: String,
    /// The cell's swept settings in words (`defaults` at the topology's own).
    pub cell: String,
    pub variant: String,
    pub runs: usize,
    /// Runs whose every expectation held (the rest failed one, or broke).
    pub passed: usize,
    /// column key -> summary over the cell's used, recovered runs.
    pub numbers: BTreeMap<String, Summary>,
    /// column key -> the run metric it is.
    pub metrics: BTreeMap<String, String>,
    pub floor_ms: Option<f64>,
    pub floor_basis: Option<String>,
    /// Median gap minus the floor: the stack's own work.
    pub gap_minus_floor_ms: Option<f64>,
    /// The cell's settings (the lab's own words) and where its topology is.
    pub settings: Vec<String>,
    pub topology: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub scenario: String,
    pub column: String,
    /// `keepalived` vs `pacemaker`, or `pacemaker token 1000ms` vs `pacemaker token 3000ms`.
    pub a: String,
    pub b: String,
    pub comparison: Comparison,
    /// Holm-adjusted p within the comparisons of this column.
    pub p_holm: f64,
    /// `clear`, `negligible` (clear but smaller than the threshold) or `not shown`.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub runs: usize,
    /// Median of the gaps' distances to their cell's median, first half of the study's order
    /// and second half.
    pub first_ms: Option<f64>,
    pub second_ms: Option<f64>,
    pub comparison: Option<Comparison>,
    pub failed: bool,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub name: String,
    pub file: String,
    pub seed: u64,
    pub runs_expected: u32,
    pub runs_present: usize,
    pub missing: Vec<u32>,
    pub jobs: Vec<u32>,
    pub shards: Vec<[u32; 2]>,
    pub negligible_ms: f64,
    pub rows: Vec<Row>,
    pub comparisons: Vec<Compared>,
    pub drift: Drift,
}

/// The metric behind a column in a scenario's runs: its headline gap (`probe.gap`), that
/// probe's TCP stall (`probe.tcp.gap`), detection and takeover.
fn column_metric(runs: &[&Run], column: &str) -> Option<String> {
    let gap = runs.iter().flat_map(|r| r.record.report.headline.iter()).map(|h| h.metric.clone()).find(|m| m.ends_with(".gap") && !m.contains(".tcp."));
    let gap = gap.unwrap_or_else(|| "probe.gap".into());
    let m = match column {
        "gap" => gap,
        "stall" => gap.replace(".gap", ".tcp.gap"),
        "detection" => rm::DETECTION.def.key.to_string(),
        _ => rm::TAKEOVER.def.key.to_string(),
    };
    runs.iter().any(|r| r.record.metrics.contains_key(&m)).then_some(m)
}

pub fn section(a: &Analysis) -> Option<Section> {
    let places: Vec<&crate::scenario::results::StudyPlace> = a.runs.iter().filter_map(|r| r.record.study.as_ref()).collect();
    let first = places.first()?;
    let present: std::collections::BTreeSet<u32> = places.iter().map(|p| p.position).collect();
    let mut jobs: Vec<u32> = places.iter().map(|p| p.jobs).collect();
    jobs.sort();
    jobs.dedup();
    let mut shards: Vec<[u32; 2]> = places.iter().filter_map(|p| p.shard).collect();
    shards.sort();
    shards.dedup();
    let mut rows = Vec::new();
    for c in &a.cells {
        let runs: Vec<&Run> = a.runs.iter().filter(|r| super::in_cell(r, &c.scenario, &c.stack, &c.variant)).collect();
        let mut numbers = BTreeMap::new();
        let mut metrics = BTreeMap::new();
        for (col, _) in COLUMNS {
            if let Some(m) = column_metric(&runs, col) {
                let xs: Vec<f64> = recovered_runs(&a.runs, (&c.scenario, &c.stack, &c.variant), &m).into_iter().map(|(_, x)| x).collect();
                if let Some(s) = summary(&xs) {
                    numbers.insert(col.to_string(), s);
                }
                metrics.insert(col.to_string(), m);
            }
        }
        // The floor as recorded, where today's rule says it bounds the gap.
        let floored: Vec<&&Run> = runs
            .iter()
            .filter(|r| crate::scenario::events::first_fault(&r.record.events).is_some_and(|(k, _)| crate::measure::floor::applies(&r.record.stack, &k)))
            .collect();
        let floor_ms = floored.iter().find_map(|r| r.record.metrics.f64(&rm::FLOOR));
        let floor_basis = floored.iter().find_map(|r| r.record.metrics.get(rm::FLOOR_BASIS.def.key).and_then(|v| v.as_str()).map(str::to_string));
        let cell = runs.iter().find_map(|r| r.record.study.as_ref()).map_or("defaults".to_string(), |p| p.cell.clone());
        rows.push(Row {
            scenario: c.scenario.clone(),
            stack: c.stack.clone(),
            cell,
            variant: c.variant.clone(),
            runs: c.runs,
            passed: c.passed,
            gap_minus_floor_ms: floor_ms.zip(numbers.get("gap")).map(|(f, s)| s.median - f),
            numbers,
            metrics,
            floor_ms,
            floor_basis,
            settings: runs.first().map(|r| r.record.settings.clone()).unwrap_or_default(),
            topology: runs.first().map(|r| r.dir.join("topology.yaml")).filter(|p| p.is_file()),
        });
    }
    let comparisons = comparisons(a, &rows, first.negligible_ms);
    Some(Section {
        name: first.study.clone(),
        file: first.file.clone(),
        seed: a.runs.iter().find(|r| r.record.study.is_some()).map_or(0, |r| r.record.seed),
        runs_expected: first.runs,
        runs_present: places.len(),
        missing: (1..=first.runs).filter(|p| !present.contains(p)).collect(),
        jobs,
        shards,
        negligible_ms: first.negligible_ms,
        drift: drift(a, &rows),
        rows,
        comparisons,
    })
}

/// Stack against stack where both ran a cell, and within a stack each cell against the
/// scenario's first cell of that stack (the first value of every axis); Holm per column.
fn comparisons(a: &Analysis, rows: &[Row], negligible_ms: f64) -> Vec<Compared> {
    let mut pairs: Vec<(&Row, &Row, String, String)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        for o in &rows[i + 1..] {
            if o.scenario != r.scenario {
                continue;
            }
            if o.stack != r.stack && o.variant == r.variant {
                pairs.push((r, o, r.stack.clone(), o.stack.clone()));
            }
        }
        let base = rows.iter().find(|b| b.scenario == r.scenario && b.stack == r.stack);
        if let Some(b) = base.filter(|b| !std::ptr::eq(*b, r)) {
            pairs.push((b, r, format!("{} {}", b.stack, b.cell), format!("{} {}", r.stack, r.cell)));
        }
    }
    let mut out = Vec::new();
    for (col, _) in COLUMNS {
        let mut family: Vec<Compared> = Vec::new();
        for (x, y, an, bn) in &pairs {
            let (Some(mx), Some(my)) = (x.metrics.get(col), y.metrics.get(col)) else { continue };
            let sx: Vec<f64> = recovered_runs(&a.runs, (&x.scenario, &x.stack, &x.variant), mx).into_iter().map(|(_, v)| v).collect();
            let sy: Vec<f64> = recovered_runs(&a.runs, (&y.scenario, &y.stack, &y.variant), my).into_iter().map(|(_, v)| v).collect();
            if let Some(c) = mann_whitney(&sx, &sy, ALPHA) {
                family.push(Compared {
                    scenario: x.scenario.clone(),
                    column: col.into(),
                    a: an.clone(),
                    b: bn.clone(),
                    comparison: c,
                    p_holm: 1.0,
                    verdict: String::new(),
                });
            }
        }
        let adjusted = holm(&family.iter().map(|c| c.comparison.p_value).collect::<Vec<_>>());
        for (c, p) in family.iter_mut().zip(adjusted) {
            c.p_holm = p;
            c.verdict = if p >= ALPHA {
                "not shown".into()
            } else if c.comparison.shift.abs() < negligible_ms {
                "negligible".into()
            } else {
                "clear".into()
            };
        }
        out.extend(family);
    }
    out
}

/// Holm's step-down adjustment: the i-th smallest p times (m - i), never below the one before,
/// at most 1. Controls the chance of any false "clear" in the family at the level used.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&i, &j| ps[i].total_cmp(&ps[j]));
    let mut out = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        running = running.max((ps[i] * (m - rank) as f64).min(1.0));
        out[i] = running;
    }
    out
}

/// Drift: each run's gap minus its cell's median, the first half of the study's order against
/// the second (a rank test over every cell at once: per cell, 2 or 3 runs a half could never
/// show anything).
fn drift(a: &Analysis, rows: &[Row]) -> Drift {
    let mut pts: Vec<(u32, f64)> = Vec::new();
    for r in rows {
        let (Some(m), Some(s)) = (r.metrics.get("gap"), r.numbers.get("gap")) else { continue };
        for (run, x) in recovered_runs(&a.runs, (&r.scenario, &r.stack, &r.variant), m) {
            if let Some(p) = &run.record.study {
                pts.push((p.position, x - s.median));
            }
        }
    }
    pts.sort_by_key(|p| p.0);
    let half = pts.len() / 2;
    let (first, second): (Vec<f64>, Vec<f64>) = (pts[..half].iter().map(|p| p.1).collect(), pts[pts.len() - half..].iter().map(|p| p.1).collect());
    let med = |xs: &[f64]| crate::measure::stats::percentile(xs, 50.0);
    let mut comparison = mann_whitney(&first, &second, ALPHA);
    // No "-0 ms": a shift under half a millisecond is shown as 0.
    if let Some(c) = comparison.as_mut().filter(|c| c.shift.abs() < 0.5) {
        c.shift = 0.0;
    }
    let failed = comparison.as_ref().is_some_and(|c| c.beyond_noise);
    let text = match &comparison {
        None => "not checked: no gap measured in both halves".to_string(),
        Some(c) if failed => format!(
            "FAILED: the second half's gaps sit {:+.0} ms from their cells' medians against the first half's (Mann–Whitney p = {:.3}, {} vs {} runs): the bench drifted; its comparisons rest on runs that did not see the same host",
            c.shift, c.p_value, c.n_a, c.n_b
        ),
        Some(c) => format!(
            "passed: first and second half of the order do not differ beyond noise (gaps relative to their cells' medians, shift {:+.0} ms, Mann–Whitney p = {:.3}, {} vs {} runs)",
            c.shift, c.p_value, c.n_a, c.n_b
        ),
    };
    Drift { runs: pts.len(), first_ms: med(&first), second_ms: med(&second), comparison, failed, text }
}

/// Shard folders merge only when they are shards of one study at one commit and seed, and no
/// run is in two of them: bad input, exit 2, nothing written.
pub fn check_merge(dirs: &[PathBuf]) -> Result<(), crate::diag::InputError> {
    use crate::diag::{Diagnostic, InputError};
    use crate::study::execute::{Manifest, MANIFEST};
    let mut found: Vec<(PathBuf, Manifest)> = Vec::new();
    let mut plain = Vec::new();
    for d in dirs {
        match Manifest::load(d) {
            Ok(Some(m)) => found.push((d.join(MANIFEST), m)),
            Ok(None) => plain.push(d.clone()),
            Err(e) => return Err(InputError::one(Diagnostic::whole_file(&d.join(MANIFEST), "", &format!("{e:#}"), ""))),
        }
    }
    let Some((p0, m0)) = found.first() else { return Ok(()) };
    let mut out = Vec::new();
    let mut seen: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for (p, m) in &found {
        for (what, mine, theirs) in [
            ("study", m.study.clone(), m0.study.clone()),
            ("study file (SHA-256)", m.hash.clone(), m0.hash.clone()),
            ("commit", m.git_revision.clone(), m0.git_revision.clone()),
            ("seed", m.seed.to_string(), m0.seed.to_string()),
            ("cells", m.cells.join("; "), m0.cells.join("; ")),
            ("repeats", m.repeats.to_string(), m0.repeats.to_string()),
        ] {
            if mine != theirs {
                let msg = format!("another {what} than {}: `{mine}` here, `{theirs}` there", p0.display());
                out.push(Diagnostic::whole_file(p, what, &msg, "merge only the shards of one study run at one commit with one seed"));
            }
        }
        for pos in &m.positions {
            if let Some(other) = seen.insert(*pos, p.clone()) {
                out.push(Diagnostic::whole_file(p, "positions", &format!("run {pos} is also in {}", other.display()), "give each shard once"));
            }
        }
    }
    for d in plain {
        out.push(Diagnostic::whole_file(&d, "", "not a study folder (no study.json) among study shards", "merge a study's shard folders only"));
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(InputError { diagnostics: out })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn holm_multiplies_by_the_remaining_count_and_stays_monotone() {
        let p = super::holm(&[0.01, 0.04, 0.03, 0.5]);
        assert_eq!(p, vec![0.04, 0.09, 0.09, 0.5]);
        assert_eq!(super::holm(&[0.6, 0.2]), vec![0.6, 0.4]);
    }
}
