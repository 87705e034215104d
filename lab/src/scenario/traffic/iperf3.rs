//! `iperf3`: throughput through the cluster in 0.1 s intervals: before the fault, its dip,
//! the end.

use crate::measure::metrics::traffic as metric;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::{file, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};
use crate::measure::clock::figure;
use crate::measure::dip::Timeline;

/// iperf3's reporting interval (s).
const BIN: f64 = 0.1;

pub const KIND: KindDef = KindDef {
    name: "iperf3",
    doc: "iperf3 throughput in 0.1 s intervals: before the fault, its dip (depth, time below half, back to 90 %), retransmits",
    fields: &[("duration", "how long (default 60s)")],
    example: "{ name: iperf, kind: iperf3, from: client, to: server, duration: 12s }",
    metrics: metric::IPERF3,
    check,
};

#[derive(Debug)]
struct Iperf3 {
    duration: Duration,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    Some(Arc::new(Iperf3 { duration: f.duration("duration", Duration::from_secs(60))? }))
}

impl Kind for Iperf3 {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        if !e.to.service_running("iperf3") {
            e.to.service_start("iperf3", &["/usr/bin/iperf3", "-s"])?;
            std::thread::sleep(Duration::from_millis(200));
        }
        let cmd = format!("iperf3 -c {} -t {} -i {BIN} --json > {} 2>&1; echo $? > {}", e.ip, self.duration.as_secs().max(1), file(t, "json"), file(t, "rc"));
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let text = c.from.run(&["cat", &file(&r.t, "json")]).unwrap_or_default();
        std::fs::write(c.samples.join(format!("{name}.iperf3.json")), &text)?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let ivals: &[Value] = v["intervals"].as_array().map(Vec::as_slice).unwrap_or_default();
        // iperf3's last interval is a remainder shorter than 0.1 s: left out of the dip.
        let bins: Vec<(f64, f64)> = ivals
            .iter()
            .filter(|i| i["sum"]["seconds"].as_f64().unwrap_or(0.0) >= BIN * 0.9)
            .map(|i| (i["sum"]["end"].as_f64().unwrap_or(0.0), i["sum"]["bits_per_second"].as_f64().unwrap_or(0.0) / 1e6))
            .collect();
        c.put(name, &metric::COMPLETED, c.rc == Some(0));
        c.put(name, &metric::IPERF_MBPS, v["end"]["sum_received"]["bits_per_second"].as_f64().map(|b| figure(b / 1e6)));
        c.put(name, &metric::IPERF_MBPS_LAST, bins.last().map(|x| figure(x.1)));
        c.put(name, &metric::IPERF_INTERVALS, bins.len());
        // Bins count from halab starting the client; iperf3 connects a few ms later.
        let tl = Timeline { what: format!("{name}: iperf3 throughput"), unit: "Mbit/s".into(), width_s: BIN, start_ns: r.started_ns, bins };
        let d = c.put_rate(r, &metric::IPERF_RATE, tl)?;
        let fault_s = c.fault_ns.map(|f| (f as f64 - r.started_ns as f64) / 1e9);
        c.put(name, &metric::IPERF_RETRANSMITS, v["end"]["sum_sent"]["retransmits"].as_u64());
        let in_fault = |i: &&Value| fault_s.is_some_and(|f| i["sum"]["end"].as_f64().is_some_and(|e| e > f && e <= f + d.back_90_s.unwrap_or(f64::INFINITY)));
        let rt: Option<u64> = fault_s.map(|_| ivals.iter().filter(in_fault).filter_map(|i| i["sum"]["retransmits"].as_u64()).sum());
        c.put(name, &metric::IPERF_RETRANSMITS_IN_DIP, rt);
        Ok(())
    }
}
