//! Where in the stacks' timer cycles each run's fault fell. A failover gap depends on it (a
//! crash just after a VRRP advert waits a whole advert longer than one just before the next),
//! so the report plots gap against phase, and lists the waits each run drew and its seed so
//! any run can be replayed.

use serde::Serialize;

use super::Run;
use crate::scenario::events::What;
use crate::scenario::schedule::Drawn;

/// The x axis of a phase plot: the ranged wait each run drew before its fault. (A phase
/// measured on the wire, such as the time since the last VRRP advert, would be better; no
/// run measures one yet.)
pub const AXIS: &str = "drawn wait before the fault (s)";

/// A run's phase in ms: the wait it drew before its first fault, if it drew one.
pub fn of(r: &Run) -> Option<f64> {
    wait_before_fault(r).map(|d| d.value_ms)
}

/// The ranged wait drawn last before the run's first fault step.
pub fn wait_before_fault(r: &Run) -> Option<&Drawn> {
    let fault = r.record.events.iter().find_map(|e| match &e.what {
        What::FaultInjected { step, .. } => Some(*step),
        _ => None,
    })?;
    r.record.drawn.iter().filter(|d| d.step < fault).max_by_key(|d| d.step)
}

/// One ranged wait over the runs of a cell: its range and what the runs drew.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waits {
    pub step: usize,
    pub min_ms: f64,
    pub max_ms: f64,
    pub drawn_lo_ms: f64,
    pub drawn_hi_ms: f64,
    pub runs: usize,
}

/// The ranged waits of `runs`, by step.
pub fn waits<'a>(runs: impl IntoIterator<Item = &'a Run>) -> Vec<Waits> {
    let mut out: Vec<Waits> = Vec::new();
    for d in runs.into_iter().flat_map(|r| &r.record.drawn) {
        match out.iter_mut().find(|w| w.step == d.step) {
            Some(w) => {
                w.min_ms = w.min_ms.min(d.min_ms);
                w.max_ms = w.max_ms.max(d.max_ms);
                w.drawn_lo_ms = w.drawn_lo_ms.min(d.value_ms);
                w.drawn_hi_ms = w.drawn_hi_ms.max(d.value_ms);
                w.runs += 1;
            }
            None => out.push(Waits { step: d.step, min_ms: d.min_ms, max_ms: d.max_ms, drawn_lo_ms: d.value_ms, drawn_hi_ms: d.value_ms, runs: 1 }),
        }
    }
    out.sort_by_key(|w| w.step);
    out
}

fn secs(ms: f64) -> String {
    format!("{:.3}", ms / 1000.0).trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Drawn waits are whole ms: all three digits, so the text is exactly what ran.
fn drawn_secs(ms: f64) -> String {
    format!("{:.3}", ms / 1000.0)
}

/// A cell's ranged waits in words: "step 3 in 3–4 s, drawn 3.012–3.987 s over 10 runs".
pub fn waits_text(w: &Waits) -> String {
    let (lo, hi) = (drawn_secs(w.drawn_lo_ms), drawn_secs(w.drawn_hi_ms));
    format!("step {} in {}–{} s, drawn {lo}–{hi} s over {} runs", w.step, secs(w.min_ms), secs(w.max_ms), w.runs)
}

/// A run's drawn waits, for its row in the run table: "step 3: 3.412 s", "-" for none.
pub fn drawn_text(drawn: &[Drawn]) -> String {
    if drawn.is_empty() {
        return "-".into();
    }
    drawn.iter().map(|d| format!("step {}: {} s", d.step, drawn_secs(d.value_ms))).collect::<Vec<_>>().join("; ")
}
