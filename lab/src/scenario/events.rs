//! What happened during a run, typed and on one clock: kept in the run record, written to
//! `events.jsonl` and shown as progress lines.
//!
//! `events.jsonl`, schema `halab.events/1`: one JSON object per line, each with
//! - `schema`: `"halab.events/1"`,
//! - `t_ns`: the host's CLOCK_MONOTONIC in ns (the clock of the probe samples and the VIP
//!   timeline), `t_ms`: ms since the run's t0 (`t0_ns` in results.json),
//! - `event`: one of the names below, and that event's fields:
//!   - `run_started` {scenario, stack, repeat, lab}
//!   - `step_started` {step (from 1), of, what (the step as written)}, `step_finished` {step, ms}
//!   - `traffic_started` {name, kind, from, to}, `traffic_finished` {name, finished (false:
//!     still running when `wait_for` gave up)}, `traffic_stopped` {name}
//!   - `fault_injected` {step, kind (as written: `cable_pull`), fields (the others, as written)},
//!     `fault_applied` {kind, node (resolved)}, `fault_undone` {kind, node, what, error (absent
//!     when it worked)}
//!   - `condition_met` {condition (as written: `vip_on fw2`)}, `condition_timed_out`
//!     {condition, timeout_s, diagnosis}
//!   - `expectation_evaluated` {expect, held, actual}
//!   - `run_finished` {outcome (passed, failed, error), error}
//!
//! A new event or field keeps the version; a changed or removed one bumps it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer, Serialize};

use super::results::Outcome;
use crate::measure::clock::now_ns;

pub const SCHEMA: &str = "halab.events/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Host CLOCK_MONOTONIC, ns.
    pub t_ns: u64,
    /// ms since the run's t0.
    pub t_ms: f64,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    RunStarted {
        scenario: String,
        stack: String,
        repeat: u32,
        lab: String,
    },
    StepStarted {
        step: usize,
        of: usize,
        what: String,
    },
    StepFinished {
        step: usize,
        ms: f64,
    },
    TrafficStarted {
        name: String,
        kind: String,
        from: String,
        to: String,
    },
    TrafficFinished {
        name: String,
        finished: bool,
    },
    TrafficStopped {
        name: String,
    },
    FaultInjected {
        step: usize,
        kind: String,
        fields: BTreeMap<String, String>,
    },
    FaultApplied {
        kind: String,
        node: String,
        /// What produced it (the provider's or the inventory's actuator).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actuator: Option<String>,
    },
    FaultUndone {
        kind: String,
        node: String,
        what: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    ConditionMet {
        condition: String,
    },
    ConditionTimedOut {
        condition: String,
        timeout_s: f64,
        diagnosis: String,
    },
    ExpectationEvaluated {
        expect: String,
        held: bool,
        actual: Option<serde_json::Value>,
    },
    RunFinished {
        outcome: Outcome,
        error: Option<String>,
    },
}

/// The progress line of an event.
impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::RunStarted { scenario, stack, repeat, lab } => write!(f, "run {scenario} on {stack} #{repeat} in lab {lab}"),
            What::StepStarted { step, of, what } => write!(f, "step {step}/{of}: {what}"),
            What::StepFinished { step, ms } => write!(f, "step {step} done ({:.2} s)", ms / 1000.0),
            What::TrafficStarted { name, kind, from, to } => write!(f, "traffic {name} ({kind}) {from} -> {to} started"),
            What::TrafficFinished { name, finished: true } => write!(f, "traffic {name} finished"),
            What::TrafficFinished { name, finished: false } => write!(f, "traffic {name} still runs; going on"),
            What::TrafficStopped { name } => write!(f, "traffic {name} stopped"),
            What::FaultInjected { kind, .. } => write!(f, "fault {kind} injected"),
            What::FaultApplied { kind, node, actuator: None } => write!(f, "fault {kind} hit {node}"),
            What::FaultApplied { kind, node, actuator: Some(a) } => write!(f, "fault {kind} hit {node} ({a})"),
            What::FaultUndone { kind, node, what, error: None } => write!(f, "fault {kind} on {node} undone: {what}"),
            What::FaultUndone { kind, node, what, error: Some(e) } => write!(f, "fault {kind} on {node}: failed to {what}: {e}"),
            What::ConditionMet { condition } => write!(f, "{condition}"),
            What::ConditionTimedOut { condition, timeout_s, .. } => write!(f, "{condition} did not happen within {}", secs(*timeout_s)),
            What::ExpectationEvaluated { expect, held, actual } => {
                let actual = actual.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "missing".into());
                write!(f, "expect {expect}: {} (actual: {actual})", if *held { "held" } else { "did NOT hold" })
            }
            What::RunFinished { outcome, error: None } => write!(f, "run {outcome}"),
            What::RunFinished { outcome, error: Some(e) } => write!(f, "run {outcome}: {e}"),
        }
    }
}

/// `60 s`, `1.5 s`.
pub fn secs(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The events of one run as they happen, timed against its t0.
pub struct EventLog {
    t0: u64,
    pub events: Vec<Event>,
}

impl EventLog {
    pub fn new(t0: u64) -> EventLog {
        EventLog { t0, events: Vec::new() }
    }

    pub fn push(&mut self, what: What) -> &Event {
        let t_ns = now_ns();
        let t_ms = (t_ns.saturating_sub(self.t0) as f64 / 1e4).round() / 100.0;
        self.events.push(Event { t_ns, t_ms, what });
        &self.events[self.events.len() - 1]
    }
}

/// When the first fault was injected (the origin of the probe timelines).
pub fn first_fault_ns(events: &[Event]) -> Option<u64> {
    events.iter().find(|e| matches!(e.what, What::FaultInjected { .. })).map(|e| e.t_ns)
}

/// The kind of the first fault (`crash`, `cable_pull`) and the interface it named, if any:
/// what the protocol's floor depends on.
pub fn first_fault(events: &[Event]) -> Option<(String, Option<String>)> {
    events.iter().find_map(|e| match &e.what {
        What::FaultInjected { kind, fields, .. } => Some((kind.clone(), fields.get("iface").cloned())),
        _ => None,
    })
}

#[derive(Serialize)]
struct Line<'a> {
    schema: &'a str,
    #[serde(flatten)]
    event: &'a Event,
}

#[derive(Deserialize)]
struct OwnedLine {
    schema: String,
    #[serde(flatten)]
    event: Event,
}

pub fn write_jsonl(path: &Path, events: &[Event]) -> Result<()> {
    let mut out = String::new();
    for e in events {
        out.push_str(&serde_json::to_string(&Line { schema: SCHEMA, event: e })?);
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Read an `events.jsonl` back; every line must be of this schema.
pub fn read_jsonl(path: &Path) -> Result<Vec<Event>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: OwnedLine = serde_json::from_str(l).with_context(|| format!("{}:{}: not an event of {SCHEMA}", path.display(), i + 1))?;
        if line.schema != SCHEMA {
            bail!("{}:{}: schema `{}`, expected {SCHEMA}", path.display(), i + 1, line.schema);
        }
        out.push(line.event);
    }
    Ok(out)
}

/// A run record's events. Records written before the events were typed held
/// `{kind, detail}` pairs: their fault (the timelines' origin) is kept, the rest dropped.
pub fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Event>, D::Error> {
    let raw: Vec<serde_json::Value> = Vec::deserialize(d)?;
    Ok(raw.into_iter().filter_map(|v| serde_json::from_value(v.clone()).ok().or_else(|| untyped_fault(&v))).collect())
}

fn untyped_fault(v: &serde_json::Value) -> Option<Event> {
    if v["kind"] != "fault" {
        return None;
    }
    // `Crash Some(Active)`: a Rust name; `cable_pull` is what the scenario wrote.
    let rust = v["detail"].as_str()?.split_whitespace().next()?;
    let mut kind = String::new();
    for (i, c) in rust.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            kind.push('_');
        }
        kind.push(c.to_ascii_lowercase());
    }
    let what = What::FaultInjected { step: 0, kind, fields: BTreeMap::new() };
    Some(Event { t_ns: v["t_ns"].as_u64()?, t_ms: v["t_ms"].as_f64().unwrap_or(0.0), what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_jsonl_round_trips_with_its_schema() {
        let mut log = EventLog::new(now_ns());
        let fields: BTreeMap<String, String> = [("node".to_string(), "@active".to_string()), ("iface".to_string(), "inet".to_string())].into();
        log.push(What::FaultInjected { step: 3, kind: "cable_pull".into(), fields });
        log.push(What::FaultApplied { kind: "cable_pull".into(), node: "fw1".into(), actuator: None });
        log.push(What::ConditionTimedOut { condition: "vip_on fw2".into(), timeout_s: 60.0, diagnosis: "  fw1: VIPs []\n".into() });
        log.push(What::FaultUndone { kind: "cable_pull".into(), node: "fw1".into(), what: "plug inet back".into(), error: None });
        log.push(What::RunFinished { outcome: Outcome::Failed, error: None });
        let path = std::env::temp_dir().join(format!("halab-events-{}.jsonl", std::process::id()));
        write_jsonl(&path, &log.events).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 5);
        for l in &lines {
            assert_eq!(l["schema"], SCHEMA, "{l}");
            assert!(l["t_ns"].is_u64() && l["t_ms"].is_f64() && l["event"].is_string(), "{l}");
        }
        assert_eq!((&lines[0]["event"], &lines[0]["kind"], &lines[0]["fields"]["node"]), (&"fault_injected".into(), &"cable_pull".into(), &"@active".into()));
        assert_eq!((&lines[1]["event"], &lines[1]["node"]), (&"fault_applied".into(), &"fw1".into()));
        assert_eq!(lines[4]["outcome"], "failed");
        assert_eq!(log.events[2].what.to_string(), "vip_on fw2 did not happen within 60 s");
        assert_eq!(read_jsonl(&path).unwrap(), log.events);
        // The run record keeps them without the per-line schema, and reads them back.
        let in_record = serde_json::to_value(&log.events).unwrap();
        assert_eq!(lenient(in_record).unwrap(), log.events);
        std::fs::write(&path, text.replace(SCHEMA, "halab.events/0")).unwrap();
        assert!(read_jsonl(&path).unwrap_err().to_string().contains("schema `halab.events/0`"));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn untyped_records_keep_their_fault() {
        let old = serde_json::json!([{ "t_ms": 3000.0, "t_ns": 4_000_000_000u64, "kind": "fault", "detail": "CablePull Some(Active)" },
                                     { "t_ms": 1.0, "t_ns": 5u64, "kind": "step", "detail": "wait 3.0 s" }]);
        let evs = lenient(old).unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!(first_fault_ns(&evs), Some(4_000_000_000));
        assert!(matches!(&evs[0].what, What::FaultInjected { kind, .. } if kind == "cable_pull"));
    }
}
