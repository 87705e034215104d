//! `halab run`: for each stack and repeat, a fresh lab, the steps on one clock, the metrics,
//! the expectations, the run record; the lab goes down again unless `keep`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::events::What;
use super::execute::{self, Ctx};
use super::plan::Scenario;
use super::results::{Outcome, RunRecord, StackEvent, SCHEMA};
use super::traffic;
use super::watch::Watcher;
use super::{evidence, verdict};
use crate::lab::Lab;
use crate::measure::clock::{figure, ms_between, now_ns};
use crate::measure::metrics::traffic::AB_LOAD_LIMIT;
use crate::measure::metrics::{run as metric, Metrics};
use crate::stack;
use crate::stack::ctstate;
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
    /// The run's place in a study (`study::execute`), recorded with it and naming its lab.
    pub place: Option<super::results::StudyPlace>,
}

/// The lab of one run: named after the stack, the scenario, this process and the repeat, so
/// two runs never collide, not even two CI jobs running the same scenario on one machine.
/// A study's runs of one scenario and repeat run side by side: its labs are named by position.
fn lab_plan(sc: &Scenario, stack: Stack, rep: u32, place: Option<&super::results::StudyPlace>) -> Result<crate::topology::Plan> {
    let mut plan = sc.plan.clone();
    let short = &crate::topology::validate::lab_id(&sc.name)[..4];
    let n = place.map_or(rep, |p| p.position);
    plan.lab = format!("run-{stack}-{short}-{:x}-{n}", std::process::id());
    plan.id = crate::topology::validate::lab_id(&plan.lab);
    plan.set_stack(stack)?;
    if let Some(cl) = plan.cluster.as_mut() {
        if sc.conntrackd_off {
            cl.sync.conntrackd = ConntrackdMode::Off;
        }
        if sc.fencing_off {
            cl.fencing.method = Some(crate::topology::FenceMethod::Off);
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
            // An interrupted run is recorded; the runs after it are not started.
            if crate::interrupt::interrupted() {
                return Ok(records);
            }
            let dir = opts.out.join(format!("{}-{}-{rep}", sc.name, stack));
            let rec = run_once(sc, stack, rep, opts, &dir);
            crate::progress::info(&format!(
                "run {} on {} #{rep}: {}{}",
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

/// One run of `sc` on `stack` (repeat `rep`) into `dir`; the record says how it went, even when
/// the lab did not come up.
pub fn run_once(sc: &Scenario, stack: Stack, rep: u32, opts: &Options, dir: &Path) -> RunRecord {
    let started = Instant::now();
    let planned = lab_plan(sc, stack, rep, opts.place.as_ref());
    let mut rec = new_record(sc, stack, rep, opts, planned.as_ref().unwrap_or(&sc.plan));
    let _ = std::fs::remove_dir_all(dir);
    // The lab as run, for the report's picture of it (`report::lab_graph`).
    if let Ok(p) = &planned {
        let _ = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(dir.join("plan.json"), serde_json::to_vec_pretty(p).unwrap_or_default()));
    }
    let Some(st) = bring_up(planned, opts, &mut rec) else {
        rec.wall_s = started.elapsed().as_secs_f64();
        return rec;
    };
    // The members' clocks before the steps: how far a VM's clock drifts during the run is part
    // of the error of its events' times.
    let clocks = st.plan.cluster.as_ref().map(|cl| stack::events::clocks(&st, cl)).unwrap_or_default();
    rec.t0_ns = now_ns();
    let mut ctx = Ctx::new(&st, rec.t0_ns, rec.drawn.clone());
    ctx.event(What::RunStarted { scenario: sc.name.clone(), stack: stack.to_string(), repeat: rep, lab: st.plan.lab.clone() });
    let watcher = Watcher::start(&st);
    let sampler = super::sampler::Sampler::start();
    let end = execute::run_steps(sc, &mut ctx, &watcher);
    let late = sampler.finish();
    let mut metrics = Metrics::default();
    let samples = dir.join("samples");
    let sampler_err = super::sampler::put(&mut metrics, &late, &samples).err();
    let collect_err = collect_traffics(&st, &mut ctx, &samples, &mut metrics);
    ctx.undo_all();
    conntrack_metrics(&st, &mut ctx, &mut metrics, &dir.join("evidence"));
    let fault = ctx.first_fault_ns;
    let confirmations = stack_event_metrics(&st, &mut rec, (fault, &clocks), &mut metrics);
    let timeline = watcher.finish();
    let holder = ctx.holder_at_fault.clone();
    let moved = vip_metrics(&timeline, fault, holder.as_deref(), &mut metrics);
    floor_metrics(&st, &ctx.log.events, holder.as_deref(), &mut metrics);
    let fence_err = fencing_metrics(&st, &mut rec, confirmations, (fault, holder.as_deref(), moved), &mut metrics).err();
    let collect_err = collect_err.or(fence_err.or(sampler_err).map(|e| format!("{e:#}")));
    super::results::split_gap(&mut metrics);
    rec.vip_timeline = timeline.holders.iter().map(|(t, h)| (ms_between(rec.t0_ns, *t), h.clone())).collect();
    let verdict = verdict::decide(&end, collect_err, &sc.expect, &metrics);
    for e in &verdict.expectations {
        ctx.event(What::ExpectationEvaluated { expect: e.expect.clone(), held: e.held, actual: e.actual.clone() });
    }
    (rec.outcome, rec.error, rec.expectations) = (verdict.outcome, verdict.error, verdict.expectations);
    ctx.event(What::RunFinished { outcome: rec.outcome, error: rec.error.clone() });
    if rec.outcome != Outcome::Passed {
        evidence::collect(&st, dir);
    }
    rec.metrics = metrics;
    rec.events = std::mem::take(&mut ctx.log.events);
    rec.host_load.1 = super::results::loadavg();
    if !opts.keep {
        if let Err(e) = crate::lifecycle::down(&st.plan.lab) {
            rec.error.get_or_insert(format!("down failed: {e:#}"));
        }
    }
    rec.wall_s = started.elapsed().as_secs_f64();
    rec
}

/// The run's lab, up, with the record saying what `up` chose; None (and the record saying why)
/// when it could not be planned or did not come up.
fn bring_up(planned: Result<crate::topology::Plan>, opts: &Options, rec: &mut RunRecord) -> Option<Lab> {
    let plan = match planned {
        Ok(p) => p,
        Err(e) => {
            rec.error = Some(format!("{e:#}"));
            return None;
        }
    };
    let up = crate::lifecycle::UpOptions { provider: opts.provider.clone(), keep_on_failure: false, held: !opts.keep };
    let st = match crate::lifecycle::up(&plan, &up) {
        Ok(st) => st,
        Err(e) => {
            if crate::interrupt::interrupted() {
                rec.outcome = Outcome::Interrupted;
            }
            rec.error = Some(format!("the lab did not come up: {e:#}"));
            return None;
        }
    };
    rec.versions = image_versions(&st);
    // `up` chose what the file left open (the provider's fencing method): the lab's own words.
    if let Some(cl) = &st.plan.cluster {
        let provider = rec.settings.pop();
        rec.settings = stack::status::settings(cl).into_iter().chain(provider).collect();
    }
    Some(st)
}

/// The protocol's floor under the first fault (`measure/floor.rs`), where it has one.
fn floor_metrics(st: &Lab, events: &[super::events::Event], holder: Option<&str>, metrics: &mut Metrics) {
    if let (Some(cl), Some((kind, iface))) = (&st.plan.cluster, super::events::first_fault(events)) {
        if let Some(f) = crate::measure::floor::floor(cl, (&kind, iface.as_deref()), holder) {
            metrics.put(&metric::FLOOR, figure(f.ms));
            metrics.put(&metric::FLOOR_BASIS, f.basis);
        }
    }
}

/// The provider, and for netns the boot it models: a machine that takes no time to boot can
/// end a fenced crash's gap itself, by forwarding again before the survivor takes over.
fn provider_setting(provider: &str, plan: &crate::topology::Plan) -> String {
    match (provider, plan.boot_time_ms) {
        ("netns", 0) => "provider netns, boot_time 0: a powered-on or fenced node is back at once, so a gap may end through the rebooted member".into(),
        ("netns", ms) => format!("provider netns, a powered-on or fenced node boots in {} s (boot_time)", ms as f64 / 1000.0),
        (p, _) => {
            // A mixed lab: which nodes ran on netns beside the provider's (their clock is the host's).
            let on_netns: Vec<&str> = plan.nodes.iter().filter(|n| n.on_netns()).map(|n| n.name.as_str()).collect();
            match on_netns.as_slice() {
                [] => format!("provider {p}"),
                nodes => format!("provider {p}, {} on netns (this machine's kernel and clock)", nodes.join(", ")),
            }
        }
    }
}

/// The record of a run before its lab exists: what was asked, drawn and known up front.
fn new_record(sc: &Scenario, stack: Stack, rep: u32, opts: &Options, plan: &crate::topology::Plan) -> RunRecord {
    let run_seed = super::schedule::run_seed(opts.seed, &sc.name, &stack.to_string(), rep);
    let settings = plan.cluster.as_ref().map(stack::status::settings).unwrap_or_default();
    RunRecord {
        schema: SCHEMA.into(),
        scenario: sc.name.clone(),
        scenario_file: sc.file.display().to_string(),
        stack: stack.to_string(),
        repeat: rep,
        seed: opts.seed,
        run_seed,
        drawn: super::schedule::draw(&sc.steps, run_seed, rep, opts.repeat),
        lab: plan.lab.clone(),
        outcome: Outcome::Error,
        error: None,
        started_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        wall_s: 0.0,
        t0_ns: now_ns(),
        git_revision: super::results::git_revision(&sc.file),
        versions: BTreeMap::new(),
        settings: settings.into_iter().chain([provider_setting(&opts.provider.provider, plan)]).collect(),
        host_load: (super::results::loadavg(), String::new()),
        metrics: Metrics::default(),
        expectations: Vec::new(),
        vip_timeline: Vec::new(),
        stack_events: Vec::new(),
        events: Vec::new(),
        report: sc.report.clone(),
        study: opts.place.clone(),
    }
}

/// Every traffic's samples and metrics, even after a failed step: the samples are the
/// evidence. Returns why the run cannot be judged, if it cannot.
fn collect_traffics(st: &Lab, ctx: &mut Ctx, samples: &Path, metrics: &mut Metrics) -> Option<String> {
    let mut err = None;
    let faults = (ctx.first_fault_ns, ctx.last_fault_ns);
    for r in ctx.traffics.iter_mut() {
        if let Err(e) = traffic::collect(st, r, faults, samples, metrics) {
            err.get_or_insert(format!("collecting {}: {e:#}", r.t.name));
        }
    }
    // A load generator that hit a limit of its own (ports, descriptors, a full conntrack
    // table) says nothing about the stack: the run is an infrastructure error naming it.
    if let Some((traffic, why)) = metrics.of_traffics(&AB_LOAD_LIMIT).find_map(|(t, v)| Some((t, v.as_str()?))) {
        err.get_or_insert(format!("the load generator, not the cluster, limited {traffic}: {why}"));
    }
    err
}

/// The conntrack counters before the fault and now, and the parity of the tables.
fn conntrack_metrics(st: &Lab, ctx: &mut Ctx, metrics: &mut Metrics, evidence: &Path) {
    if let (Some((before, parity)), Some(cl)) = (ctx.ct_before.take(), st.plan.cluster.as_ref()) {
        ctstate::put_before(metrics, &before);
        ctstate::put_after(metrics, &ctstate::counters(st, cl));
        if let Some(p) = parity {
            if let Err(e) = p.write_evidence(evidence) {
                crate::progress::info(&format!("could not write the parity evidence into {}: {e}", evidence.display()));
            }
            p.put(metrics);
        }
    }
}

/// The stack's own events into the record, and detection from them. Returns pacemaker's
/// fencing confirmations among them (time, target).
/// `clocks`: the members' clocks before the steps.
fn stack_event_metrics(
    st: &Lab,
    rec: &mut RunRecord,
    (fault, clocks): (Option<u64>, &BTreeMap<String, crate::node::ClockReading>),
    metrics: &mut Metrics,
) -> Vec<(u64, String)> {
    let Some(cl) = &st.plan.cluster else { return Vec::new() };
    let (evs, clock_errors) = crate::stack::events::collect(st, cl, clocks);
    let worst = clock_errors.values().copied().fold(0.0, f64::max);
    // Detection: the fault to the stack's first own reaction, on any member (the survivor's
    // VRRP transition, pacemaker's membership change). The first event after the fault: the
    // stacks are quiet in steady state.
    // Their clock error: that of the member whose event detection is (it times takeover too),
    // else the largest.
    let mut clock_error = worst;
    if let Some((e, f)) = fault.and_then(|f| evs.iter().find(|e| e.t_ns > f).map(|e| (e, f))) {
        metrics.put(&metric::DETECTION, figure(ms_between(f, e.t_ns)));
        metrics.put(&metric::DETECTION_EVENT, format!("{}: {}", e.node, e.what));
        clock_error = clock_errors.get(&e.node).copied().unwrap_or(worst);
    }
    metrics.put(&metric::STACK_EVENTS_CLOCK_ERROR, figure(clock_error));
    rec.stack_events = evs.iter().map(|e| StackEvent { ms: ms_between(rec.t0_ns, e.t_ns), member: e.node.clone(), what: e.what.clone() }).collect();
    evs.iter().filter_map(|e| crate::fence::confirmed(&e.what).map(|t| (e.t_ns, t))).collect()
}

/// Split brain, and when one member other than the fault-time holder alone held the VIPs
/// (polled). Returns that time.
fn vip_metrics(timeline: &super::watch::Timeline, fault: Option<u64>, holder: Option<&str>, metrics: &mut Metrics) -> Option<u64> {
    metrics.put(&metric::VIP_OVERLAP_MS, figure(timeline.max_overlap_ms()));
    metrics.put(&metric::SPLIT_BRAIN, timeline.max_overlap_ms() > super::watch::SPLIT_BRAIN_MS);
    let (f, h) = fault.zip(holder)?;
    let i = timeline.holders.iter().position(|(t, hs)| *t > f && hs.len() == 1 && hs[0] != h);
    metrics.put(&metric::VIP_MOVED, i.is_some());
    let i = i?;
    let t = timeline.holders[i].0;
    metrics.put(&metric::FAILOVER, figure(ms_between(f, t)));
    if let Some(&before) = timeline.since.get(i).filter(|&&b| b > 0) {
        metrics.put(&metric::FAILOVER_WINDOW, figure(ms_between(before, t)));
    }
    Some(t)
}

/// The fencing metrics, and each power action as a stack event of the fencer.
/// `at_fault`: the first fault, the holder then, and when the VIPs moved.
fn fencing_metrics(
    st: &Lab,
    rec: &mut RunRecord,
    mut confirmations: Vec<(u64, String)>,
    at_fault: (Option<u64>, Option<&str>, Option<u64>),
    metrics: &mut Metrics,
) -> anyhow::Result<()> {
    let Some(cl) = st.plan.cluster.as_ref().filter(|c| c.fencing.on(c.stack)) else { return Ok(()) };
    let acts = crate::fence::actions(&st.plan.lab)?;
    // Pacemaker confirms each fencing on every member that saw it: one per target and time.
    confirmations.sort();
    confirmations.dedup_by(|a, b| a.1 == b.1 && a.0.abs_diff(b.0) < 2_000_000_000);
    let (fault, holder, moved) = at_fault;
    crate::fence::metrics(metrics, &acts, &confirmations, &cl.members, fault, holder, moved);
    for a in acts.iter().filter(|a| a.powers()) {
        let how = match (a.ok, a.done_ns > a.t_ns) {
            // fence_virtd logs requests only: pacemaker's confirmation is their answer.
            (true, false) => "asked".to_string(),
            (true, true) => "done".to_string(),
            (false, _) => a.error.clone().unwrap_or_default(),
        };
        let what = format!("{} {} (asked by {}): {how}", a.action, a.target, a.from);
        rec.stack_events.push(StackEvent { ms: ms_between(rec.t0_ns, a.t_ns), member: "fencer".into(), what });
    }
    rec.stack_events.sort_by(|a, b| a.ms.total_cmp(&b.ms));
    Ok(())
}

pub(crate) fn image_versions(st: &Lab) -> BTreeMap<String, String> {
    // The lab's image: a layer's manifest holds its base's versions and its packages'.
    let mut v: BTreeMap<String, String> = crate::image::build::cached_hash(&st.image_hash).map(|i| i.manifest.versions).unwrap_or_default();
    if let Ok(k) = crate::cmd::run("uname", &["-r"]) {
        v.insert("kernel".into(), k.trim().into());
    }
    v
}
