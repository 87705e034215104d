//! Did the host keep time during a run? How late its wakes came (the probe's ticks, else
//! halab's own sampler), and the guard that leaves a starved run out of every statistic.

use super::Analysis;
use crate::measure::metrics::{run as rm, traffic as tm};
use crate::scenario::results::RunRecord;

/// The starvation guard, sized by the error late wakes cause in the figure it guards: a late
/// tick lengthens the silence a gap is read from by up to its lateness, so a run is starved
/// when its tick lateness (p99) exceeds the larger of one tick (10 ms, the resolution the gap is
/// measured at anyway) and 1 % of its shortest probe gap (a 9 s crash gap allows 90 ms, a
/// 13 ms switchover 10 ms). A fixed 10 ms threw away pacemaker runs whose 11.5 ms was 0.1 % of
/// their gap.
pub const STARVED_TICK_MS: f64 = 10.0;
pub const STARVED_SHARE: f64 = 0.01;

/// The lateness a run may have before its numbers are out (`STARVED_TICK_MS`, `STARVED_SHARE`).
pub fn starvation_allowance(r: &RunRecord) -> f64 {
    let shortest = r.metrics.of_traffics(&tm::GAP).filter_map(|(_, v)| v.as_f64()).reduce(f64::min);
    shortest.map_or(STARVED_TICK_MS, |g| (g * STARVED_SHARE).max(STARVED_TICK_MS))
}

/// How late wakes came on the host during a run: the p99 of its probes' ticks when it ran
/// probes (the latest probe's), else of halab's own sampler.
#[derive(Debug, Clone, PartialEq)]
pub struct Lateness {
    /// The metric it comes from (`probe.tick_late_p99`, `sampler_tick_late_p99`).
    pub key: String,
    /// `probe` or `sampler`.
    pub by: &'static str,
    pub p99_ms: f64,
}

/// None in records from before halab measured it in every run: nothing says whether their
/// host kept time.
pub fn lateness(r: &RunRecord) -> Option<Lateness> {
    let probe = &tm::PROBE_TICK_LATE_P99;
    let worst = r.metrics.of_traffics(probe).filter_map(|(t, v)| Some((t, v.as_f64()?))).max_by(|a, b| a.1.total_cmp(&b.1));
    match worst {
        Some((t, x)) => Some(Lateness { key: format!("{t}.{}", probe.def.key), by: "probe", p99_ms: x }),
        None => r.metrics.f64(&rm::SAMPLER_TICK_LATE_P99).map(|x| Lateness { key: rm::SAMPLER_TICK_LATE_P99.def.key.into(), by: "sampler", p99_ms: x }),
    }
}

/// `lateness` as a report shows it beside each run.
pub fn lateness_text(r: &RunRecord) -> String {
    lateness(r).map(|l| format!("{} ms ({})", l.p99_ms, l.by)).unwrap_or_else(|| "not measured".into())
}

impl Analysis {
    /// The runs whose lateness nothing measured.
    pub fn unmeasured(&self) -> usize {
        self.runs.iter().filter(|r| lateness(&r.record).is_none()).count()
    }
}

/// Why a run's numbers are out: the host starved it (`lateness`), or its load generator ran
/// at a full core (then the generator, not the cluster, set the rate).
pub fn starved(r: &RunRecord) -> Option<String> {
    // The sampler speaks where no probe ran: no gap to size the allowance by.
    let late = lateness(r).and_then(|l| {
        let allowed = if l.by == "probe" { starvation_allowance(r) } else { STARVED_TICK_MS };
        (l.p99_ms > allowed).then(|| {
            format!(
                "{} = {} ms > {allowed:.0} ms (the larger of {STARVED_TICK_MS} ms and 1 % of the run's shortest gap; host load {})",
                l.key, l.p99_ms, r.host_load.0
            )
        })
    });
    let (cpu, sat) = (&tm::AB_CLIENT_CPU, crate::scenario::traffic::AB_SATURATED);
    late.or_else(|| {
        r.metrics.of_traffics(cpu).find_map(|(t, v)| {
            v.as_f64().filter(|x| *x >= sat).map(|x| {
                format!("{t}.{} = {x}: the load generator used {:.0} % of a core before the fault (>= {:.0} %: saturated)", cpu.def.key, x * 100.0, sat * 100.0)
            })
        })
    })
}
