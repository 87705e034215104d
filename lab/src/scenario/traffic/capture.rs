//! `capture`: tcpdump on the `from` node, of the UDP packets `to` sends it (the probe's
//! echoes): the longest silence on the wire, an independent check of the probe's gap.

use crate::measure::metrics::traffic as metric;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::{file, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};
use crate::measure::clock::figure;
use crate::measure::gap::longest_gap;

pub const KIND: KindDef = KindDef {
    name: "capture",
    doc: "tcpdump on `from` of the UDP packets `to` sends it (the probe's echoes): the longest silence on the wire, to check the probe's gap",
    fields: &[("duration", "how long at most (default 60s)")],
    example: "{ name: wire, kind: capture, from: client, to: server, duration: 30s }",
    metrics: metric::CAPTURE,
    check,
};

#[derive(Debug)]
struct Capture {
    duration: Duration,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    Some(Arc::new(Capture { duration: f.duration("duration", Duration::from_secs(60))? }))
}

impl Kind for Capture {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        let (pcap, log) = (file(t, "pcap"), file(t, "log"));
        // Every interface: the echoes come in on whichever faces the cluster. Nanosecond
        // stamps; immediate mode and -U write each packet as it comes, so stopping the
        // capture loses none (without them the last ~0.6 s sat in the kernel's ring).
        let cmd = format!(
            "timeout {} tcpdump -i any -n -U --immediate-mode --time-stamp-precision=nano -w {pcap} 'udp and src host {}' 2> {log}; echo $? > {}",
            self.duration.as_secs().max(1),
            e.ip,
            file(t, "rc")
        );
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])?;
        crate::wait::settle(
            Duration::from_secs(5),
            crate::wait::EVERY,
            || Ok(e.from.succeeds(&["grep", "-q", "listening on", &log])),
            || format!("tcpdump on `{}` did not start listening", t.from),
        )?;
        Ok(())
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let shift = c.from.wall_clock_shift_ns()?;
        let text = c.from.sh(&format!("tcpdump -r {} -n -tt --time-stamp-precision=nano 2>/dev/null | cut -d' ' -f1", file(&r.t, "pcap")))?;
        let mut times = Vec::new();
        for stamp in text.lines().filter(|l| !l.is_empty()) {
            let (s, ns) = stamp.split_once('.').with_context(|| format!("tcpdump printed a stamp `{stamp}`"))?;
            let wall = s.parse::<i128>()? * 1_000_000_000 + ns.parse::<i128>()?;
            times.push(u64::try_from(wall - shift).context("a packet stamped before the host clock started")?);
        }
        std::fs::write(c.samples.join(format!("{name}.capture.json")), serde_json::to_vec(&times)?)?;
        c.put(name, &metric::CAPTURE_PACKETS, times.len());
        // Silences between captured packets only: the capture's own end is not a silence.
        let last = times.iter().copied().max().unwrap_or(0);
        let g = longest_gap(&times, c.fault_ns.unwrap_or(0), last, f64::MAX);
        c.put(name, &metric::GAP, figure(g.gap_ms));
        c.put(name, &metric::GAP_OUTCOME, g.outcome);
        Ok(())
    }
}
