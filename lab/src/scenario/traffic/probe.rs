//! `probe`: halab's own gap probe inside the nodes, a tick over UDP and over one TCP
//! connection, echoed back; the gap is the longest silence around the fault.

use crate::measure::metrics::traffic as metric;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::json;

use super::{file, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};
use crate::measure::clock::{figure, ms_between, now_ns};
use crate::measure::gap::{longest_gap, GapOutcome};
use crate::measure::probe::{tick_late_max, tick_late_p99, ProbeSamples};

/// Probe samples on the host's clock are `samples/<traffic><PROBE_SAMPLES>`; reports find every
/// probe of a run by this ending, whatever the traffic is called.
pub const PROBE_SAMPLES: &str = ".probe.json";

pub const KIND: KindDef = KindDef {
    name: "probe",
    doc: "halab's gap probe: a tick over UDP and over one TCP connection, echoed back; the gap is the longest silence around the fault",
    fields: &[
        ("every", "tick interval (default 10ms)"),
        ("duration", "how long at most (default 60s); `stop` ends it sooner; a probe that ended before the fault is an error, never a gap of 0"),
    ],
    example: "{ name: ping, kind: probe, from: client, to: server, every: 10ms, duration: 30s }",
    metrics: metric::PROBE,
    check,
};

#[derive(Debug)]
struct Probe {
    every: Duration,
    duration: Duration,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    let every = f.duration("every", Duration::from_millis(10));
    let duration = f.duration("duration", Duration::from_secs(60));
    Some(Arc::new(Probe { every: every?, duration: duration? }))
}

impl Kind for Probe {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn on_node_clock(&self) -> bool {
        true
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        let port = e.port.to_string();
        let srv = format!("{}s", self.duration.as_secs() + 120);
        e.to.service_start(&format!("probe-srv-{}", t.name), &["halab", "probe", "server", "--port", &port, "--duration", &srv])?;
        std::thread::sleep(Duration::from_millis(100));
        let every = format!("{}ms", self.every.as_millis().max(1));
        let secs = format!("{}s", self.duration.as_secs().max(1));
        let out = file(t, "json");
        e.from.service_start(
            &format!("traffic-{}", t.name),
            &["halab", "probe", "client", &e.ip.to_string(), "--port", &port, "--interval", &every, "--duration", &secs, "--out", &out],
        )
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let path = file(&r.t, "json");
        crate::wait::settle(
            Duration::from_secs(5),
            crate::wait::EVERY,
            || Ok(c.from.succeeds(&["test", "-s", &path])),
            || format!("the probe on {} wrote no samples", r.t.from),
        )?;
        let text = c.from.run(&["cat", &path])?;
        let mut s: ProbeSamples = serde_json::from_str(&text).context("the probe's samples do not parse")?;
        if let Some(start) = r.clock_at_start.filter(|c| c.1 != 0) {
            let end = (now_ns(), c.from.clock_offset_ns()?);
            std::fs::write(c.samples.join(format!("{name}.probe.node-clock.json")), &text)?;
            std::fs::write(c.samples.join(format!("{name}.clock.json")), serde_json::to_vec(&json!({ "host_ns_and_offset_ns": [start, end] }))?)?;
            to_host_clock(&mut s, start, end);
            c.put(name, &metric::PROBE_CLOCK_DRIFT, figure((end.1 - start.1) as f64 / 1e6));
        }
        std::fs::write(c.samples.join(format!("{name}{PROBE_SAMPLES}")), serde_json::to_vec(&s)?)?;
        let after = c.fault_ns.unwrap_or(s.start_ns);
        let slack = (self.every.as_secs_f64() * 1000.0 * 20.0).max(200.0);
        let udp: Vec<u64> = s.udp.iter().map(|x| x.2).collect();
        let tcp: Vec<u64> = s.tcp.iter().map(|x| x.2).collect();
        let g = longest_gap(&udp, after, s.end_ns.saturating_sub(200_000_000), slack);
        let tg = longest_gap(&tcp, after, s.end_ns.saturating_sub(200_000_000), slack);
        c.put(name, &metric::GAP, figure(g.gap_ms));
        c.put(name, &metric::RECOVERED, g.outcome == GapOutcome::Recovered);
        c.put(name, &metric::GAP_OUTCOME, g.outcome);
        c.put(name, &metric::PROBE_TCP_GAP, figure(tg.gap_ms));
        c.put(name, &metric::PROBE_TCP_SURVIVED, tg.outcome == GapOutcome::Recovered && s.tcp_error.is_none());
        c.put(name, &metric::PROBE_TCP_OUTCOME, tg.outcome);
        c.put(name, &metric::PROBE_UDP_SENT, s.udp_sent);
        if let Some(late) = tick_late_p99(&s) {
            c.put(name, &metric::PROBE_TICK_LATE_P99, figure(late));
        }
        if let Some(late) = tick_late_max(&s) {
            c.put(name, &metric::PROBE_TICK_LATE_MAX, figure(late));
        }
        c.put(name, &metric::PROBE_UDP_RECEIVED, s.udp.len());
        if let Some(l) = c.last_fault_ns {
            // The last fault's own silence (a failback after a crash): the longest between
            // echoes received after it, so neither the first fault's gap nor a silence still
            // running when it came counts.
            let end = s.end_ns.saturating_sub(200_000_000);
            let after = |v: &[u64]| -> Vec<u64> { v.iter().copied().filter(|t| *t >= l).collect() };
            c.put(name, &metric::PROBE_LAST_FAULT_GAP, figure(longest_gap(&after(&udp), l, end, slack).gap_ms));
            c.put(name, &metric::PROBE_LAST_FAULT_TCP_GAP, figure(longest_gap(&after(&tcp), l, end, slack).gap_ms));
        }
        if let Some(f) = c.fault_ns {
            // Where the silence sits relative to the fault: its end is when traffic flowed again.
            c.put(name, &metric::PROBE_GAP_START, figure(ms_between(f, g.from_ns)));
            c.put(name, &metric::PROBE_RECOVERED_AFTER_FAULT, figure(ms_between(f, g.to_ns)));
        }
        let _ = c.lab.node(&r.t.to)?.service_stop(&format!("probe-srv-{name}"));
        if g.outcome == GapOutcome::NotCovered {
            // A slow bench (TCG VMs, real hosts) spent the probe's time on the steps before
            // the fault: no gap was measured, which is not a gap of 0.
            bail!(
                "the probe `{name}` ended {:.1} s before the fault, so it measured nothing around it: its `duration: {}s` is too short for this bench",
                (g.to_ns - g.from_ns) as f64 / 1e9,
                self.duration.as_secs()
            );
        }
        Ok(())
    }
}

/// Move samples taken on a node's own clock onto the host's: the offset is measured at the
/// start and the end of the probe and interpolated in between (a TCG guest's clock drifts).
fn to_host_clock(s: &mut ProbeSamples, start: (u64, i64), end: (u64, i64)) {
    let span = end.0.saturating_sub(start.0).max(1) as f64;
    let conv = |g: u64| -> u64 {
        let approx = g as i64 - start.1;
        let frac = ((approx - start.0 as i64) as f64 / span).clamp(0.0, 1.0);
        let off = start.1 as f64 + (end.1 - start.1) as f64 * frac;
        (g as f64 - off).max(0.0) as u64
    };
    s.start_ns = conv(s.start_ns);
    s.end_ns = conv(s.end_ns);
    for x in s.udp.iter_mut().chain(s.tcp.iter_mut()) {
        x.1 = conv(x.1);
        x.2 = conv(x.2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    /// A node clock 5 s ahead of the host's at host time 100 s, drifting 2 ms over the next
    /// 60 s (a TCG guest), as (host ns, offset ns) at both ends, and the node's time at host `h`.
    const START: (u64, i64) = (100 * S, 5_000_000_000);
    const END: (u64, i64) = (160 * S, 5_002_000_000);
    fn node(h: u64) -> u64 {
        let drift = (END.1 - START.1) as f64 * (h as f64 - START.0 as f64) / (END.0 - START.0) as f64;
        (h as f64 + START.1 as f64 + drift) as u64
    }

    #[test]
    fn node_clock_samples_move_onto_the_host_clock() {
        let mut s = ProbeSamples { start_ns: node(100 * S), end_ns: node(160 * S), ..Default::default() };
        s.udp = vec![(0, node(130 * S), node(130 * S + 1_000_000))];
        s.tcp = vec![(0, node(145 * S), node(145 * S))];
        to_host_clock(&mut s, START, END);
        // Where the offsets were measured, exactly.
        assert_eq!((s.start_ns, s.end_ns), (100 * S, 160 * S));
        // In between, interpolated: the start's offset alone would be 1 ms off at 130 s, the
        // end's 1 ms the other way; locating the sample by the start's offset costs ~33 ns.
        let near = |got: u64, want: u64| got.abs_diff(want) < 100;
        assert!(near(s.udp[0].1, 130 * S) && near(s.udp[0].2, 130 * S + 1_000_000), "{:?}", s.udp);
        assert!(near(s.tcp[0].1, 145 * S), "{:?}", s.tcp);
    }

    #[test]
    fn outside_the_measured_span_the_nearest_offset_holds() {
        // A node behind the host (negative offset): before the start and after the end.
        let (start, end) = ((10 * S, -3_000_000_000), (20 * S, -2_990_000_000));
        let mut s = ProbeSamples { start_ns: 5 * S - 3 * S, end_ns: 30 * S - 2_990_000_000, ..Default::default() };
        to_host_clock(&mut s, start, end);
        assert_eq!((s.start_ns, s.end_ns), (5 * S, 30 * S));
    }
}
