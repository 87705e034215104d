//! The steps of one run on a running lab, in order and on one clock. The undos of timed
//! faults are kept here and applied from the waits once due (they poll every 50 ms), and
//! whatever is left at the end of the run, on error too; each becomes an event.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::conditions::{Condition, Now};
use super::events::{EventLog, What};
use super::faults::Undo;
use super::plan::{Scenario, Step};
use super::target::resolve;
use super::traffic::{self, Running};
use super::verdict::StepsEnd;
use super::watch::Watcher;
use crate::lab::Lab;
use crate::progress::Step as Progress;
use crate::stack::{ctstate, ready};

const POLL: Duration = Duration::from_millis(50);

pub(super) struct Ctx<'a> {
    pub lab: &'a Lab,
    pub log: EventLog,
    pub traffics: Vec<Running>,
    pub first_fault_ns: Option<u64>,
    /// The last fault's time (a failback's power_on): its own gap is measured after it.
    pub last_fault_ns: Option<u64>,
    /// Connection state just before the first fault: each member's counters, and parity
    /// (flows the active tracks, the most any other member lacks).
    pub ct_before: Option<(BTreeMap<String, ctstate::Counters>, Option<ctstate::Parity>)>,
    pub holder_at_fault: Option<String>,
    pending: Vec<Pending>,
    next_port: u16,
    progress: Option<Progress>,
    /// This run's draws of the ranged waits.
    drawn: Vec<super::schedule::Drawn>,
}

/// An undo the run owes the lab.
struct Pending {
    due: Instant,
    kind: &'static str,
    node: String,
    undo: Undo,
}

impl<'a> Ctx<'a> {
    pub fn new(lab: &'a Lab, t0: u64, drawn: Vec<super::schedule::Drawn>) -> Ctx<'a> {
        Ctx {
            drawn,
            lab,
            log: EventLog::new(t0),
            traffics: Vec::new(),
            first_fault_ns: None,
            last_fault_ns: None,
            ct_before: None,
            holder_at_fault: None,
            pending: Vec::new(),
            next_port: 7070,
            progress: None,
        }
    }

    /// Record an event and show it: a step's start and end frame a progress line, the other
    /// events are its messages. Returns the event's time.
    pub fn event(&mut self, what: What) -> u64 {
        let e = self.log.push(what);
        let (t, line) = (e.t_ns, e.what.to_string());
        match e.what {
            What::StepStarted { .. } => self.progress = Some(Progress::start(line)),
            What::StepFinished { .. } => self.end_step("done"),
            // `halab run` prints each run's outcome itself, with the scenario and stack.
            What::RunFinished { .. } => {}
            _ => match &self.progress {
                Some(p) => p.message(&line),
                None => crate::progress::info(&line),
            },
        }
        t
    }

    fn end_step(&mut self, outcome: &str) {
        if let Some(p) = self.progress.take() {
            p.done(outcome);
        }
    }

    /// Apply the undos that are due; one that fails breaks the run (the lab is not what the
    /// scenario says any more).
    fn undo_due(&mut self) -> Result<()> {
        let now = Instant::now();
        while let Some(i) = self.pending.iter().position(|p| p.due <= now) {
            let p = self.pending.remove(i);
            self.undo(p)?;
        }
        Ok(())
    }

    /// At the end of the run, on error too: every undo still owed, in the order they were due.
    pub fn undo_all(&mut self) {
        let mut left = std::mem::take(&mut self.pending);
        left.sort_by_key(|p| p.due);
        for p in left {
            // A failure is in the event; the lab is going down or kept for a look.
            let _ = self.undo(p);
        }
    }

    fn undo(&mut self, p: Pending) -> Result<()> {
        let what = p.undo.what.clone();
        let r = p.undo.apply(self.lab);
        let error = r.as_ref().err().map(|e| format!("{e:#}"));
        self.event(What::FaultUndone { kind: p.kind.into(), node: p.node.clone(), what, error });
        r.with_context(|| format!("undoing fault {} on {}", p.kind, p.node))
    }

    /// Poll `done` until it says true (true) or `timeout` passes (false), applying due undos.
    fn wait(&mut self, timeout: Duration, mut done: impl FnMut(&mut Self) -> Result<bool>) -> Result<bool> {
        let end = Instant::now() + timeout;
        loop {
            crate::interrupt::check()?;
            self.undo_due()?;
            if done(self)? {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= end {
                return Ok(false);
            }
            std::thread::sleep((end - now).min(POLL));
        }
    }
}

/// Run every step; how they ended decides the run (see `verdict`).
pub(super) fn run_steps(sc: &Scenario, ctx: &mut Ctx, watcher: &Watcher) -> StepsEnd {
    let end = steps(sc, ctx, watcher).unwrap_or_else(|e| match e.downcast_ref::<crate::interrupt::Interrupted>() {
        Some(_) => StepsEnd::Interrupted,
        None => StepsEnd::Broke(format!("{e:#}")),
    });
    let outcome = match end {
        StepsEnd::Done => "done",
        StepsEnd::ConditionFailed { .. } => "FAILED",
        StepsEnd::Broke(_) => "broke",
        StepsEnd::Interrupted => "interrupted",
    };
    ctx.end_step(outcome);
    end
}

fn steps(sc: &Scenario, ctx: &mut Ctx, watcher: &Watcher) -> Result<StepsEnd> {
    let deadline = Instant::now() + sc.timeout;
    for (i, step) in sc.steps.iter().enumerate() {
        crate::interrupt::check()?;
        ctx.undo_due()?;
        let left = deadline.checked_duration_since(Instant::now()).context("the scenario's global timeout ran out")?;
        let started = Instant::now();
        ctx.event(What::StepStarted { step: i + 1, of: sc.steps.len(), what: step.describe() });
        match step {
            Step::Traffic(t) => {
                let port = ctx.next_port;
                ctx.next_port += 1;
                let r = traffic::start(ctx.lab, t, port).with_context(|| format!("failed to start traffic {}", t.name))?;
                ctx.traffics.push(r);
                ctx.event(What::TrafficStarted { name: t.name.clone(), kind: t.kind.name().into(), from: t.from.clone(), to: t.to.clone() });
            }
            Step::Wait { min, .. } => {
                let d = super::schedule::wait_of(&ctx.drawn, i + 1, *min);
                ctx.wait(d.min(left), |_| Ok(false))?;
            }
            Step::WaitUntil { condition, timeout } => {
                if !wait_until(ctx, watcher, condition, *timeout, left)? {
                    return Ok(StepsEnd::ConditionFailed { condition: condition.to_string(), timeout: *timeout });
                }
            }
            Step::WaitFor { traffic: name, timeout } => {
                let i = ctx.traffics.iter().position(|r| &r.t.name == name).with_context(|| format!("no traffic `{name}` was started"))?;
                // A traffic that does not finish in time is a measurement, not an error: its
                // metrics (e.g. scp not completed) decide the expectations.
                let finished = ctx.wait((*timeout).min(left), |c| traffic::finished(c.lab, &mut c.traffics[i]))?;
                ctx.event(What::TrafficFinished { name: name.clone(), finished });
            }
            Step::Stop(name) => {
                let r = ctx.traffics.iter_mut().find(|r| &r.t.name == name).with_context(|| format!("no traffic `{name}` was started"))?;
                traffic::stop(ctx.lab, r)?;
                ctx.event(What::TrafficStopped { name: name.clone() });
            }
            Step::Fault(f) => {
                let holder = watcher.current().holders.last().and_then(|h| h.1.first().cloned());
                if ctx.first_fault_ns.is_none() {
                    ctx.ct_before = ct_snapshot(ctx.lab, holder.as_deref());
                }
                let t = ctx.event(What::FaultInjected { step: i + 1, kind: f.kind.into(), fields: f.field_map() });
                ctx.last_fault_ns = Some(t);
                if ctx.first_fault_ns.is_none() {
                    (ctx.first_fault_ns, ctx.holder_at_fault) = (Some(t), holder);
                }
                let applied = f.fault.apply(ctx.lab).with_context(|| format!("fault {} failed", f.describe()))?;
                let actuator = f.part.and_then(|p| Some(ctx.lab.actuators(&applied.node).ok()?.describe(p)));
                ctx.event(What::FaultApplied { kind: f.kind.into(), node: applied.node.clone(), actuator });
                if let Some(undo) = applied.undo {
                    ctx.pending.push(Pending { due: Instant::now() + undo.after, kind: f.kind, node: applied.node, undo });
                }
            }
            Step::Succeed { node, cmd, timeout } | Step::Fail { node, cmd, timeout } => {
                let want = matches!(step, Step::Succeed { .. });
                let name = resolve(ctx.lab, node)?;
                let o = ctx.lab.node(&name)?.exec(&["sh", "-c", cmd], None, (*timeout).min(left))?;
                if o.status.success() != want {
                    bail!(
                        "on {name}: `{cmd}` {} ({}): {}",
                        if want { "failed" } else { "succeeded but should fail" },
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                }
            }
        }
        ctx.event(What::StepFinished { step: i + 1, ms: crate::measure::clock::figure(started.elapsed().as_secs_f64() * 1e3) });
    }
    Ok(StepsEnd::Done)
}

/// Wait for a condition; false when it did not come true within the step's own timeout.
fn wait_until(ctx: &mut Ctx, watcher: &Watcher, condition: &Condition, timeout: Duration, left: Duration) -> Result<bool> {
    let cl = ctx.lab.plan.cluster.clone().with_context(|| format!("{condition} needs a cluster"))?;
    let before = ctx.holder_at_fault.clone();
    let target = match condition.node() {
        Some(t) => Some(resolve(ctx.lab, t)?),
        None => None,
    };
    let limit = timeout.min(left);
    let met = ctx.wait(limit, |c| {
        let holders = watcher.current().holders.last().map(|x| x.1.clone()).unwrap_or_default();
        condition.met(&Now { lab: c.lab, cluster: &cl, holders, before: before.as_deref(), target: target.as_deref() })
    })?;
    if met {
        ctx.event(What::ConditionMet { condition: condition.to_string() });
        return Ok(true);
    }
    if limit < timeout {
        bail!("the scenario's global timeout ran out while waiting for {condition}");
    }
    let diagnosis = ready::diagnose(ctx.lab, &cl);
    ctx.event(What::ConditionTimedOut { condition: condition.to_string(), timeout_s: timeout.as_secs_f64(), diagnosis: diagnosis.clone() });
    crate::progress::info(&format!("what the members showed:\n{diagnosis}"));
    Ok(false)
}

/// Connection state before the first fault (taken before its timestamp, so the fault's time
/// stays exact): counters on every member, and parity for the flows between the nodes that
/// are not members (the traffic's ends) as the active tracks them.
fn ct_snapshot(lab: &Lab, active: Option<&str>) -> Option<(BTreeMap<String, ctstate::Counters>, Option<ctstate::Parity>)> {
    let cl = lab.plan.cluster.as_ref().filter(|c| crate::stack::conntrackd::enabled(c) && crate::stack::of(c.stack).runs())?;
    let ends: BTreeSet<String> =
        lab.plan.nodes.iter().filter(|n| !cl.members.contains(&n.name)).flat_map(|n| n.interfaces.iter().map(|i| i.address.to_string())).collect();
    let parity = active.and_then(|a| ctstate::missing(lab, cl, a, &ends));
    Some((ctstate::counters(lab, cl), parity))
}
