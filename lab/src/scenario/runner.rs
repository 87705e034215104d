//! `halab run`: for each stack and repeat, a fresh lab, the steps on one clock, the metrics,
//! the expectations, the run record; the lab goes down again unless `keep`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::plan::{Condition, Scenario, Step};
use super::results::{Event, ExpectResult, Outcome, RunRecord, SCHEMA};
use super::traffic::{self, Running};
use super::watch::Watcher;
use super::{evidence, faults};
use crate::lab::Lab;
use crate::measure::clock::now_ns;
use crate::progress::Step as Progress;
use crate::stack::{self, ready};
use crate::topology::{ConntrackdMode, Stack};

#[derive(Clone)]
pub struct Options {
    pub stacks: Option<Vec<Stack>>,
    pub repeat: u32,
    pub seed: u64,
    pub keep: bool,
    pub out: PathBuf,
    /// Where the labs run (netns by default).
    pub provider: crate::provider::Options,
}

/// The lab of one run: named after the stack, the scenario, this process and the repeat, so
/// two runs never collide, not even two CI jobs running the same scenario on one machine.
fn lab_plan(sc: &Scenario, stack: Stack, rep: u32) -> Result<crate::topology::Plan> {
    let mut plan = sc.plan.clone();
    let short = &crate::topology::validate::lab_id(&sc.name)[..4];
    plan.lab = format!("run-{stack}-{short}-{:x}-{rep}", std::process::id());
    plan.id = crate::topology::validate::lab_id(&plan.lab);
    plan.set_stack(stack)?;
    if let Some(cl) = plan.cluster.as_mut() {
        if sc.conntrackd_off {
            cl.sync.conntrackd = ConntrackdMode::Off;
        }
    }
    Ok(plan)
}

/// Run the matrix; returns every run record (also written under `opts.out`).
pub fn run(sc: &Scenario, opts: &Options) -> Result<Vec<RunRecord>> {
    let stacks = opts.stacks.clone().unwrap_or_else(|| sc.stacks.clone());
    let mut records = Vec::new();
    for stack in stacks {
        for rep in 1..=opts.repeat.max(1) {
            crate::interrupt::check()?;
            let dir = opts.out.join(format!("{}-{}-{rep}", sc.name, stack));
            let rec = run_once(sc, stack, rep, opts, &dir);
            crate::progress::info(&format!(
                "run {} on {} #{rep}: {:?}{}",
                sc.name,
                stack,
                rec.outcome,
                rec.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
            ));
            rec.write(&dir)?;
            records.push(rec);
        }
    }
    Ok(records)
}

struct Ctx<'a> {
    st: &'a Lab,
    t0: u64,
    events: Vec<Event>,
    traffics: Vec<Running>,
    first_fault_ns: Option<u64>,
    holder_at_fault: Option<String>,
    undo: Vec<std::thread::JoinHandle<()>>,
    next_port: u16,
}

impl Ctx<'_> {
    fn event(&mut self, kind: &str, detail: String) {
        let t = now_ns();
        self.events.push(Event { t_ms: (t.saturating_sub(self.t0)) as f64 / 1e6, t_ns: t, kind: kind.into(), detail });
    }
}

fn run_once(sc: &Scenario, stack: Stack, rep: u32, opts: &Options, dir: &Path) -> RunRecord {
    let (seed, keep) = (opts.seed, opts.keep);
    let started = Instant::now();
    let load_start = super::results::loadavg();
    let planned = lab_plan(sc, stack, rep);
    let plan = planned.as_ref().unwrap_or(&sc.plan);
    let mut rec = RunRecord {
        schema: SCHEMA.into(),
        scenario: sc.name.clone(),
        scenario_file: sc.file.display().to_string(),
        stack: stack.to_string(),
        repeat: rep,
        seed,
        lab: plan.lab.clone(),
        outcome: Outcome::Error,
        error: None,
        started_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        wall_s: 0.0,
        t0_ns: now_ns(),
        git_revision: super::results::git_revision(&sc.file),
        versions: BTreeMap::new(),
        settings: plan
            .cluster
            .as_ref()
            .map(stack::status::settings)
            .unwrap_or_default()
            .into_iter()
            .chain([format!("provider {}", opts.provider.provider)])
            .collect(),
        host_load: (load_start, String::new()),
        metrics: BTreeMap::new(),
        expectations: Vec::new(),
        vip_timeline: Vec::new(),
        events: Vec::new(),
        report: sc.report.clone(),
    };
    let _ = std::fs::remove_dir_all(dir);
    let plan = match planned {
        Ok(p) => p,
        Err(e) => {
            rec.error = Some(format!("{e:#}"));
            return rec;
        }
    };
    let up = crate::lifecycle::UpOptions { provider: opts.provider.clone(), keep_on_failure: false, held: !keep };
    let st = match crate::lifecycle::up(&plan, &up) {
        Ok(st) => st,
        Err(e) => {
            rec.error = Some(format!("the lab did not come up: {e:#}"));
            rec.wall_s = started.elapsed().as_secs_f64();
            return rec;
        }
    };
    rec.versions = image_versions(&st);
    let mut ctx =
        Ctx { st: &st, t0: now_ns(), events: Vec::new(), traffics: Vec::new(), first_fault_ns: None, holder_at_fault: None, undo: Vec::new(), next_port: 7070 };
    rec.t0_ns = ctx.t0;
    let watcher = Watcher::start(&st);
    let result = steps(sc, &mut ctx, &watcher);
    // Collect every traffic, even after a failed step: the samples are the evidence.
    let samples = dir.join("samples");
    let mut metrics = BTreeMap::new();
    let mut collect_err = None;
    let fault = ctx.first_fault_ns;
    for r in ctx.traffics.iter_mut() {
        if let Err(e) = traffic::collect(&st, r, fault, &samples, &mut metrics) {
            collect_err.get_or_insert(format!("collecting {}: {e:#}", r.t.name));
        }
    }
    for h in ctx.undo.drain(..) {
        let _ = h.join();
    }
    let timeline = watcher.finish();
    metrics.insert("vip_overlap_ms".into(), json!(traffic::round(timeline.max_overlap_ms())));
    metrics.insert("split_brain".into(), json!(timeline.max_overlap_ms() > super::watch::SPLIT_BRAIN_MS));
    if let (Some(f), Some(h)) = (fault, ctx.holder_at_fault.clone()) {
        let moved = timeline.holders.iter().find(|(t, hs)| *t > f && hs.len() == 1 && hs[0] != h);
        metrics.insert("vip_moved".into(), json!(moved.is_some()));
        if let Some((t, _)) = moved {
            metrics.insert("failover".into(), json!(traffic::round((t - f) as f64 / 1e6)));
        }
    }
    super::results::split_gap(&mut metrics);
    rec.vip_timeline = timeline.holders.iter().map(|(t, h)| ((t.saturating_sub(ctx.t0)) as f64 / 1e6, h.clone())).collect();
    match result.err().map(|e| format!("{e:#}")).or(collect_err) {
        Some(e) => {
            rec.error = Some(e);
            rec.outcome = Outcome::Error;
        }
        None => {
            rec.expectations = sc
                .expect
                .iter()
                .map(|e| {
                    let (held, actual) = super::expect::eval(e, &metrics);
                    ExpectResult { expect: e.text.clone(), held, actual }
                })
                .collect();
            rec.outcome = if rec.expectations.iter().all(|e| e.held) { Outcome::Passed } else { Outcome::Failed };
        }
    }
    if rec.outcome != Outcome::Passed {
        evidence::collect(&st, dir);
    }
    rec.metrics = metrics;
    rec.events = std::mem::take(&mut ctx.events);
    rec.host_load.1 = super::results::loadavg();
    if !keep {
        if let Err(e) = crate::lifecycle::down(&st.plan.lab) {
            rec.error.get_or_insert(format!("down failed: {e:#}"));
        }
    }
    rec.wall_s = started.elapsed().as_secs_f64();
    rec
}

fn image_versions(st: &Lab) -> BTreeMap<String, String> {
    let mut v: BTreeMap<String, String> = std::fs::read_to_string(st.rootfs.parent().unwrap_or(Path::new("/")).join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| serde_json::from_value(m["versions"].clone()).ok())
        .unwrap_or_default();
    if let Ok(k) = crate::cmd::run("uname", &["-r"]) {
        v.insert("kernel".into(), k.trim().into());
    }
    v
}

fn steps(sc: &Scenario, ctx: &mut Ctx, watcher: &Watcher) -> Result<()> {
    let deadline = Instant::now() + sc.timeout;
    let cl = ctx.st.plan.cluster.clone();
    for (i, step) in sc.steps.iter().enumerate() {
        crate::interrupt::check()?;
        let left = deadline.checked_duration_since(Instant::now()).context("the scenario's global timeout ran out")?;
        let p = Progress::start(format!("step {}/{}: {}", i + 1, sc.steps.len(), step.describe()));
        ctx.event("step", step.describe());
        match step {
            Step::Traffic(t) => {
                let port = ctx.next_port;
                ctx.next_port += 1;
                let r = traffic::start(ctx.st, t, port).with_context(|| format!("failed to start traffic {}", t.name))?;
                ctx.traffics.push(r);
            }
            Step::Wait(d) => sleep_checked((*d).min(left))?,
            Step::WaitUntil { condition, timeout } => {
                let cl = cl.as_ref().context("no cluster")?;
                let st = ctx.st;
                let before = ctx.holder_at_fault.clone();
                let target = match condition {
                    Condition::VipOn(t) => Some(faults::resolve(st, t)?),
                    _ => None,
                };
                ready::until(
                    (*timeout).min(left),
                    || {
                        let tl = watcher.current();
                        let now: Vec<String> = tl.holders.last().map(|x| x.1.clone()).unwrap_or_default();
                        Ok(match condition {
                            Condition::VipMoved => now.len() == 1 && Some(&now[0]) != before.as_ref(),
                            Condition::VipOn(_) => now.len() == 1 && Some(&now[0]) == target.as_ref(),
                            Condition::Ready => ready::check(st, cl)?.is_some(),
                        })
                    },
                    || format!("{condition:?} did not happen:\n{}", ready::diagnose(st, cl)),
                )?;
                ctx.event("condition", format!("{condition:?}"));
            }
            Step::WaitFor { traffic: name, timeout } => {
                let st = ctx.st;
                let r = ctx.traffics.iter_mut().find(|r| &r.t.name == name).context("unknown traffic")?;
                // A traffic that does not finish in time is a measurement, not an error: its
                // metrics (e.g. scp not completed) decide the expectations.
                let _ = ready::until((*timeout).min(left), || traffic::finished(st, r), String::new);
                ctx.event("traffic_done", name.clone());
            }
            Step::Stop(name) => {
                let st = ctx.st;
                let r = ctx.traffics.iter_mut().find(|r| &r.t.name == name).context("unknown traffic")?;
                traffic::stop(st, r)?;
            }
            Step::Fault(f) => {
                if ctx.first_fault_ns.is_none() {
                    ctx.holder_at_fault = watcher.current().holders.last().and_then(|h| h.1.first().cloned());
                    ctx.first_fault_ns = Some(now_ns());
                }
                ctx.event("fault", format!("{:?} {:?}", f.kind, f.node));
                let (node, undo) = faults::apply(ctx.st, f).with_context(|| format!("fault {:?} failed", f.kind))?;
                ctx.event("fault_applied", format!("{:?} on {node}", f.kind));
                ctx.undo.extend(undo);
            }
            Step::Succeed { node, cmd, timeout } | Step::Fail { node, cmd, timeout } => {
                let want = matches!(step, Step::Succeed { .. });
                let name = faults::resolve(ctx.st, node)?;
                let n = ctx.st.node(&name)?;
                let o = n.exec(&["sh", "-c", cmd], None, (*timeout).min(left))?;
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
        p.done("done");
    }
    Ok(())
}

fn sleep_checked(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        crate::interrupt::check()?;
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    Ok(())
}
