//! `ab`: ApacheBench against the destination's web server: the connection rate through the
//! cluster and the requests that failed.

use std::sync::Arc;

use anyhow::Result;
use serde_json::json;

use super::{file, round, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};

pub const KIND: KindDef = KindDef {
    name: "ab",
    doc: "ApacheBench against the destination's web server: request rate and failed requests",
    fields: &[("requests", "how many (default 2000)"), ("concurrency", "at once (default 4)")],
    example: "{ name: web, kind: ab, from: client, to: server, requests: 5000, concurrency: 4 }",
    check,
};

#[derive(Debug)]
struct Ab {
    requests: u32,
    concurrency: u32,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    let number = |s: &str| s.parse::<u32>().ok();
    let requests = f.parsed("requests", 2000, number, "a whole number", "");
    let concurrency = f.parsed("concurrency", 4, number, "a whole number", "");
    Some(Arc::new(Ab { requests: requests?.min(1_000_000), concurrency: concurrency?.clamp(1, 100) }))
}

impl Kind for Ab {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        let (n, c) = (self.requests, self.concurrency);
        let cmd = format!("ab -q -n {n} -c {c} -s 5 -r http://{}/ > {} 2>&1; echo $? > {}", e.ip, file(t, "ab"), file(t, "rc"));
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let text = c.from.run(&["cat", &file(&r.t, "ab")]).unwrap_or_default();
        std::fs::write(c.samples.join(format!("{name}.ab.txt")), &text)?;
        let field = |label: &str| {
            text.lines().find(|l| l.starts_with(label)).and_then(|l| l[label.len()..].split_whitespace().next()).and_then(|x| x.parse::<f64>().ok())
        };
        c.put(name, "completed", json!(c.rc == Some(0)));
        c.put(name, "rps", json!(field("Requests per second:").map(round)));
        c.put(name, "failed", json!(field("Failed requests:")));
        c.put(name, "requests", json!(field("Complete requests:")));
        Ok(())
    }
}
