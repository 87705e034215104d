//! The run record: results.json (versioned schema), events.jsonl, raw samples, evidence.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::measure::metrics::{run as rm, traffic as tm, Metrics};

pub use super::events::Event;

pub const SCHEMA: &str = "halab.results/1";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// An expectation did not hold (exit 1).
    Failed,
    /// The lab or a step broke (exit 3): infrastructure, kept apart from expectations.
    Error,
    /// A signal (Ctrl-C, SIGTERM) stopped the run (exit 130): the samples so far are kept,
    /// nothing is concluded from them.
    Interrupted,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Interrupted => "interrupted",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectResult {
    pub expect: String,
    pub held: bool,
    pub actual: Option<serde_json::Value>,
}

/// One event of a stack or of the fencer, as results.json keeps it: `[ms, member, what]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "(f64, String, String)", into = "(f64, String, String)")]
pub struct StackEvent {
    /// ms since the run started (`t0_ns`), on the host clock.
    pub ms: f64,
    /// The member it happened on, or `fencer`.
    pub member: String,
    pub what: String,
}

impl From<(f64, String, String)> for StackEvent {
    fn from((ms, member, what): (f64, String, String)) -> Self {
        StackEvent { ms, member, what }
    }
}

impl From<StackEvent> for (f64, String, String) {
    fn from(e: StackEvent) -> Self {
        (e.ms, e.member, e.what)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    pub scenario: String,
    pub scenario_file: String,
    pub stack: String,
    pub repeat: u32,
    /// `--seed` of the bench or run.
    pub seed: u64,
    /// This run's own seed (from `--seed`, scenario, stack and repeat) and what it drew.
    #[serde(default)]
    pub run_seed: u64,
    #[serde(default)]
    pub drawn: Vec<super::schedule::Drawn>,
    pub lab: String,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub started_unix: u64,
    pub wall_s: f64,
    /// ns on the run clock when the run started.
    pub t0_ns: u64,
    pub git_revision: String,
    pub versions: BTreeMap<String, String>,
    pub settings: Vec<String>,
    /// /proc/loadavg at the start and at the end of the run.
    pub host_load: (String, String),
    pub metrics: Metrics,
    pub expectations: Vec<ExpectResult>,
    pub vip_timeline: Vec<(f64, Vec<String>)>,
    /// The stacks' own events (`stack/events.rs`) and the fencer's actions.
    #[serde(default)]
    pub stack_events: Vec<StackEvent>,
    /// As in events.jsonl (`halab.events/1`), without the per-line schema.
    #[serde(deserialize_with = "super::events::lenient")]
    pub events: Vec<Event>,
    /// The scenario's `report:` block (older records have none).
    #[serde(default)]
    pub report: super::plan::Report,
    /// Where the run sat in a study (`halab study`); none for `run` and `bench`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<StudyPlace>,
}

/// A study's run: its cell and its place in the study's seeded order, so a report can check
/// drift (first half against second half of each cell) and merge shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyPlace {
    pub study: String,
    pub file: String,
    /// The cell's settings in words (`advert_int 500ms`, `defaults`), and its index in the
    /// study's cells (the order reports list them in).
    pub cell: String,
    #[serde(default)]
    pub cell_index: u32,
    /// (topology path, value) of every swept setting this cell's stack reads.
    pub settings: Vec<(String, String)>,
    /// The block (the repeat of its cell) and the 1-based position in the whole order.
    pub block: u32,
    pub position: u32,
    /// Runs in the whole study (every shard).
    pub runs: u32,
    /// `[K, N]` when a shard ran it.
    pub shard: Option<[u32; 2]>,
    /// Labs the study ran at once.
    pub jobs: u32,
    /// When the run started (Unix ms): with `position`, the drift check's time axis.
    pub started_ms: u64,
    /// The study's practical threshold: a shift smaller than this is negligible (ms).
    #[serde(default)]
    pub negligible_ms: f64,
}

impl RunRecord {
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("results.json"), serde_json::to_vec_pretty(self)?)?;
        super::events::write_jsonl(&dir.join("events.jsonl"), &self.events)?;
        Ok(())
    }

    pub fn load(dir: &Path) -> Result<RunRecord> {
        Ok(serde_json::from_str(&std::fs::read_to_string(dir.join("results.json"))?)?)
    }
}

/// The commit the scenario's files are at, `+changes` when tracked files differ from it (the
/// numbers then rest on files no commit has).
pub fn git_revision(near: &Path) -> String {
    let dir = near.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = dir.to_string_lossy();
    let Ok(rev) = crate::cmd::run("git", &["-C", &dir, "rev-parse", "--short=12", "HEAD"]) else { return "unknown".into() };
    let clean = crate::cmd::run("git", &["-C", &dir, "diff", "--quiet", "HEAD", "--"]).is_ok();
    format!("{}{}", rev.trim(), if clean { "" } else { "+changes" })
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The outcome a run recorded for `metric`, if the metric has one. The rule: the record's
/// `<metric>_outcome` (`probe.gap` -> `probe.gap_outcome`, `takeover` -> `takeover_outcome`);
/// a gap `P.gap` may keep it in `P.outcome` instead (`probe.tcp.gap` -> `probe.tcp.outcome`).
/// Any outcome but `recovered` makes the metric's number a lower bound (the silence up to the
/// end of the run) or nothing: statistics count such runs apart, never with real numbers.
pub fn outcome_of<'a>(m: &'a BTreeMap<String, serde_json::Value>, metric: &str) -> Option<&'a serde_json::Value> {
    m.get(&format!("{metric}_outcome")).or_else(|| metric.strip_suffix(".gap").and_then(|p| m.get(&format!("{p}.outcome"))))
}

/// The gap split in two: detection = fault -> the stack's first own reaction (`detection`, from
/// the stacks' events, which the runner records); takeover = that reaction -> traffic flowing,
/// i.e. every probe traffic (`<name>.recovered_after_fault`, whatever the probe is called)
/// flowing. Never clamped: a negative takeover means traffic flowed before the stack reacted
/// (e.g. the old active forwarded on), a finding, not noise to hide. The same split from 100 ms
/// polling of the VIPs (`failover`) is kept beside it as `detection_polled`/`takeover_polled`.
/// A probe's `recovered_after_fault` is where its gap ended: it has the gap's outcome, and
/// takeover the first that is not `recovered` (a lower bound when some probe never flowed).
pub fn split_gap(m: &mut Metrics) {
    let outcomes: Vec<(String, Value)> =
        m.of_traffics(&tm::PROBE_RECOVERED_AFTER_FAULT).filter_map(|(p, _)| Some((p.to_string(), m.of(p, &tm::GAP_OUTCOME)?.clone()))).collect();
    for (p, o) in &outcomes {
        m.put_of(p, &tm::PROBE_RECOVERED_AFTER_FAULT_OUTCOME, o.clone());
    }
    let recovered = m.of_traffics(&tm::PROBE_RECOVERED_AFTER_FAULT).filter_map(|(_, v)| v.as_f64()).reduce(f64::max);
    let outcome = outcomes.iter().find(|(_, o)| o.as_str() != Some("recovered")).or(outcomes.first()).map(|(_, o)| o.clone());
    for (from, det, tk, tk_outcome) in [
        (&rm::DETECTION, &rm::DETECTION, &rm::TAKEOVER, &rm::TAKEOVER_OUTCOME),
        (&rm::FAILOVER, &rm::DETECTION_POLLED, &rm::TAKEOVER_POLLED, &rm::TAKEOVER_POLLED_OUTCOME),
    ] {
        if let (Some(d), Some(rec)) = (m.f64(from), recovered) {
            m.put(det, d);
            m.put(tk, crate::measure::clock::figure(rec - d));
            if let Some(o) = &outcome {
                m.put(tk_outcome, o.clone());
            }
        }
    }
}
