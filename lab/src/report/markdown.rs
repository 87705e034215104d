//! report.md: the headline table first (in the spirit of the 2011 keepalived/heartbeat table),
//! then what the numbers rest on, then every cell in detail, then every run with its seed and
//! the waits it drew, so any run can be replayed.

use std::fmt::Write;

use super::phase::{drawn_text, waits_text};
use super::Analysis;
use crate::measure::metrics::{traffic as tm, Def};

pub fn render(a: &Analysis) -> String {
    let mut s = String::new();
    headlines(&mut s, a);
    if let Some(st) = &a.study {
        super::study_render::markdown(&mut s, st);
    }
    basis(&mut s, a);
    cells(&mut s, a);
    runs(&mut s, a);
    s
}

/// The title and the headline table, with each comparison under it.
fn headlines(s: &mut String, a: &Analysis) {
    let _ = writeln!(s, "# {}\n", super::title(a));
    let _ = writeln!(s, "Every number is a median over independent runs (fresh lab each), with min–max and n (and p5–p95 from 20 runs on); raw samples are in each run's folder.\n");
    if a.headlines.is_empty() {
        let _ = writeln!(s, "{}", super::NO_HEADLINES);
    } else {
        let _ = writeln!(s, "| | {} |", a.stacks.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(a.stacks.len()));
    }
    for h in &a.headlines {
        let cells: Vec<String> = a.stacks.iter().map(|st| h.cells.get(st).cloned().unwrap_or_else(|| "-".into())).collect();
        let _ = writeln!(s, "| {} | {} |", h.row, cells.join(" | "));
    }
    let _ = writeln!(s);
    for h in &a.headlines {
        if let Some(c) = &h.comparison_text {
            let _ = writeln!(s, "- {}: {c}", h.row);
        }
    }
}

/// What the numbers rest on: revisions, versions, settings, methods, seeds, left-out runs.
fn basis(s: &mut String, a: &Analysis) {
    let _ = writeln!(s, "\n## What the numbers rest on\n");
    let _ = writeln!(s, "- git revision: {}", a.git_revisions.join(", "));
    let v: Vec<String> = a.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(s, "- versions: {}", v.join(", "));
    for (stack, set) in &a.settings {
        let _ = writeln!(s, "- {stack}: {}", set.join("; "));
    }
    let _ = writeln!(s, "- {}", super::METHODS);
    let has = |m: &Def| a.runs.iter().any(|r| r.record.metrics.of_traffics(m).next().is_some());
    if has(&tm::PROBE_TCP_GAP.def) {
        let _ = writeln!(s, "- gap = longest silence of a 10 ms UDP echo probe around the fault; TCP stall = the same over one long-lived TCP connection; \"never recovered\" is reported as such, not as a small gap.");
    }
    if has(&tm::SERVICE_AVAILABILITY.def) {
        let _ = writeln!(s, "- service probes (the user's command, from a node, on its wall clock moved onto the host's): gap = the longest time between two answered attempts, so at least one period (the scenario's `every` plus the attempt's own time) even when nothing failed, and resolved to that period; availability = answered / attempts; lost = acknowledged writes (`{{seq}}` tokens answered) missing from what `read` printed after the run.");
    }
    if has(&tm::AB_CLIENT_CPU.def) {
        let _ = writeln!(s, "- HTTP load (ab, `-r`): ab runs beside a guard that interrupts it (SIGINT, on which ab prints its statistics) once it has been idle for the traffic's `stall` (default 30 s, longer than TCP's backoff after the gap): what is still in flight then rides on connections the failover lost; lost = asked − answered. The request rate and the longest window without a served request come from the web server's log (nginx `$msec`, 1 ms stamps, 0.1 s bins; ab stamps starts only to the second). The client's open files are raised to its hard limit (20000, ab's own maximum concurrency); a client out of ports or descriptors, or a member's full conntrack table, makes the run an infrastructure error, not a stack's failure; a run whose ab used >= {:.0} % of a core before the fault is left out as saturated.", crate::scenario::traffic::AB_SATURATED * 100.0);
    }
    if has(&tm::DIP_S.def) {
        let _ = writeln!(s, "- rate dips (iperf3 throughput, requests served): 0.1 s bins; before = median of the bins before the fault; below half = the longest run of bins under half of that after the fault; back to 90 % = the fault to the end of the first bin at 90 % or more after the lowest one; after = median from there on. Resolution one bin (0.1 s); iperf3's bins count from halab starting the client, a few ms before it connects.");
    }
    let clock_errors: Vec<f64> = a.runs.iter().filter_map(|r| r.record.metrics.f64(&crate::measure::metrics::run::STACK_EVENTS_CLOCK_ERROR)).collect();
    if let Some(worst) = clock_errors.iter().copied().reduce(f64::max).filter(|e| *e > 0.0) {
        let _ = writeln!(s, "- stack events (detection, takeover) on members with their own clock were moved onto the host's clock by a clock read over one SSH channel, best of 9 asks: detection's event off by at most {worst:.1} ms in any run (half the read's round trip plus how much that member's clock moved during the run, a reboot's jump included; per run as `stack_events.clock_error`).");
    }
    let mut seeds: Vec<u64> = a.runs.iter().filter(|r| r.record.run_seed != 0).map(|r| r.record.seed).collect();
    seeds.sort();
    seeds.dedup();
    if !seeds.is_empty() {
        let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "- seed (`--seed`): {}; each run's seed derives from it, the scenario, the stack and the repeat, and draws its ranged waits: `halab run SCENARIO --seed S --stack STACK --repeat R` draws them again for repeats 1 to R.", seeds.join(", "));
    }
    starvation(s, a);
}

/// Which runs the host starved, and which nothing measured: "no run was starved" is said only
/// of runs whose lateness was measured.
fn starvation(s: &mut String, a: &Analysis) {
    let unmeasured = a.unmeasured();
    let measured = a.runs.len() - unmeasured;
    let saturated = format!("no load generator saturated (ab below {:.0} % of a core)", crate::scenario::traffic::AB_SATURATED * 100.0);
    if !a.starved.is_empty() {
        let _ = writeln!(s, "- left out of the statistics, host starved or load generator saturated:");
        for x in &a.starved {
            let _ = writeln!(s, "  - {x}");
        }
    } else if measured > 0 {
        let of = if unmeasured == 0 { String::new() } else { format!(" of the {measured} whose lateness was measured") };
        let _ = writeln!(
            s,
            "- no run{of} was starved (tick lateness p99 within the larger of {} ms and {:.0} % of the run's shortest gap: the probe's, or halab's own sampler's where no probe ran) and {saturated}.",
            super::STARVED_TICK_MS,
            super::STARVED_SHARE * 100.0
        );
    } else {
        let _ = writeln!(s, "- {saturated}.");
    }
    if unmeasured > 0 {
        let _ = writeln!(s, "- starvation not measured in {unmeasured} of {} runs (records from before halab measured it in every run: no probe, no sampler): they are used, but nothing says their host kept time.", a.runs.len());
    }
}

/// Each scenario and stack: its runs, its ranged waits, every metric's distribution.
fn cells(s: &mut String, a: &Analysis) {
    let _ = writeln!(s, "\n## Cells\n");
    for c in &a.cells {
        let _ = writeln!(s, "### {} on {}\n", c.scenario, c.stack);
        let _ = writeln!(s, "{} runs, {} passed, {} infrastructure errors, {} used in the statistics.\n", c.runs, c.passed, c.errors, c.used);
        if !c.settings.is_empty() {
            let _ = writeln!(s, "This cell's lab: {}.\n", c.settings.join("; "));
        }
        for w in &c.waits {
            let _ = writeln!(s, "Ranged wait: {}.\n", waits_text(w));
        }
        let _ = writeln!(s, "| metric | n | min | p5 | median | p95 | max | not recovered |\n|---|---|---|---|---|---|---|---|");
        let numeric: std::collections::BTreeSet<&String> = c.numbers.keys().chain(c.not_recovered.keys()).collect();
        for m in numeric {
            let left = c.left_out(m).unwrap_or_default();
            match c.numbers.get(m) {
                Some(x) => {
                    let (p5, p95) = (x.p5.map(num).unwrap_or_default(), x.p95.map(num).unwrap_or_default());
                    let _ = writeln!(s, "| {m} | {} | {} | {p5} | {} | {p95} | {} | {left} |", x.n, num(x.min), num(x.median), num(x.max));
                }
                None => {
                    let _ = writeln!(s, "| {m} | 0 | | | | | | {left} |");
                }
            }
        }
        for (m, (t, n)) in &c.flags {
            let _ = writeln!(s, "| {m} | {n} | | | {t}/{n} true | | | |");
        }
        let _ = writeln!(s);
    }
}

/// Every run with its seed and drawn waits, so any run can be replayed.
fn runs(s: &mut String, a: &Analysis) {
    let _ = writeln!(
        s,
        "## Runs\n\n| scenario | stack | # | outcome | wall s | tick late p99 | run seed | drawn waits | failed expectations | folder |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in &a.runs {
        let failed: Vec<&str> = r.record.expectations.iter().filter(|e| !e.held).map(|e| e.expect.as_str()).collect();
        let mut failed = failed.join("; ");
        if let Some(e) = &r.record.error {
            failed = format!("error: {}", e.lines().next().unwrap_or(""));
        }
        // Records from before seeded schedules carry no run seed (0).
        let seed = if r.record.run_seed == 0 { "-".to_string() } else { r.record.run_seed.to_string() };
        let late = super::lateness_text(&r.record);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} | {late} | {seed} | {} | {} | {} |",
            r.record.scenario,
            r.record.stack,
            r.record.repeat,
            r.record.outcome,
            r.record.wall_s,
            drawn_text(&r.record.drawn),
            failed,
            r.dir.display()
        );
    }
}

fn num(x: f64) -> String {
    format!("{x:.1}")
}
