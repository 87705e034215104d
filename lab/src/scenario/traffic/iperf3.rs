//! `iperf3`: throughput through the cluster in 0.1 s intervals: before the fault, its dip,
//! the end.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};

use super::{file, round, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};

pub const KIND: KindDef = KindDef {
    name: "iperf3",
    doc: "iperf3 throughput in 0.1 s intervals: before the fault, its dip, the end",
    fields: &[("duration", "how long (default 60s)")],
    example: "{ name: iperf, kind: iperf3, from: client, to: server, duration: 12s }",
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
        let cmd = format!("iperf3 -c {} -t {} -i 0.1 --json > {} 2>&1; echo $? > {}", e.ip, self.duration.as_secs().max(1), file(t, "json"), file(t, "rc"));
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let text = c.from.run(&["cat", &file(&r.t, "json")]).unwrap_or_default();
        std::fs::write(c.samples.join(format!("{name}.iperf3.json")), &text)?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let ivals: Vec<(f64, f64)> = v["intervals"]
            .as_array()
            .map(|a| a.iter().map(|i| (i["sum"]["end"].as_f64().unwrap_or(0.0), i["sum"]["bits_per_second"].as_f64().unwrap_or(0.0) / 1e6)).collect())
            .unwrap_or_default();
        let fault_s = c.fault_ns.map(|f| (f as f64 - r.started_ns as f64) / 1e9);
        let med = |xs: Vec<f64>| crate::measure::stats::summary(&xs).map(|s| s.median);
        let before: Vec<f64> = ivals.iter().filter(|(t, _)| fault_s.is_none_or(|f| *t < f)).map(|x| x.1).collect();
        let after: Vec<f64> = ivals.iter().filter(|(t, _)| fault_s.is_some_and(|f| *t >= f)).map(|x| x.1).collect();
        c.put(name, "completed", json!(c.rc == Some(0)));
        c.put(name, "mbps", json!(v["end"]["sum_received"]["bits_per_second"].as_f64().map(|b| round(b / 1e6))));
        c.put(name, "mbps_before", json!(med(before).map(round)));
        c.put(name, "mbps_min_after_fault", json!(after.iter().cloned().fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.min(x)))).map(round)));
        c.put(name, "mbps_last", json!(ivals.last().map(|x| round(x.1))));
        c.put(name, "intervals", json!(ivals.len()));
        Ok(())
    }
}
