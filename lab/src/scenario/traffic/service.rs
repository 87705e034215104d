//! `service`: the user's own request, from a node, over and over, as a client of their HA
//! service would make it (an HTTP GET, a database write, a DHCP request). Each attempt is a
//! line `seq start_ns end_ns exit` on the node's wall clock, moved onto the host's at
//! collection. A write probe (`read:` given) is checked the way Jepsen checks a register:
//! each attempt's `{seq}` becomes a unique token `halab-N`; after the run, `read` prints what
//! the service kept, and every acknowledged token missing from it is a lost write.

use crate::measure::metrics::traffic as metric;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::{file, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};
use crate::measure::clock::{figure, ms_between};

pub const KIND: KindDef = KindDef {
    name: "service",
    doc: "the user's own request (`command`, run with sh on `from`; `{to}` is `to`'s address, `{vip}` the cluster's VIP on `from`'s network, `{seq}` a unique token halab-N) every `every` (default 200ms) for `duration` (default 60s), each attempt cut at `timeout` (default 2s): attempts, ok, availability, gap (longest time between two answered attempts), recovered; with `read` (run once after the run, on `from` or on `read_on`: what the service kept) acked and lost (acknowledged writes missing)",
    fields: &[
        ("command", "the request (required)"),
        ("every", "pause between attempts (default 200ms)"),
        ("timeout", "each attempt at most (default 2s)"),
        ("duration", "how long (default 60s)"),
        ("read", "after the run: prints what the service kept (write probes)"),
        ("read_on", "where `read` runs: a node, @active or @standby (default `from`), e.g. a server's own database"),
    ],
    example: "{ name: svc, kind: service, from: client, to: server, command: \"curl -sf http://{vip}/\", every: 100ms, duration: 20s }",
    metrics: metric::SERVICE,
    check,
};

#[derive(Debug)]
struct Service {
    command: String,
    read: Option<String>,
    read_on: Option<crate::scenario::target::Target>,
    every: Duration,
    timeout: Duration,
    duration: Duration,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    let command = f.required("command", "the request it makes, e.g. `command: \"curl -sf http://{vip}/\"`");
    let read = f.optional("read");
    let read_on = f.target("read_on");
    let (command, read_on) = (command?, read_on?);
    Some(Arc::new(Service {
        command,
        read,
        read_on,
        every: f.duration("every", Duration::from_millis(200))?,
        timeout: f.duration("timeout", Duration::from_secs(2))?,
        duration: f.duration("duration", Duration::from_secs(60))?,
    }))
}

/// `{to}` (`to`'s address) and `{vip}` (the cluster's VIP on `from`'s network) filled in, for
/// the request and its read-back alike; `{seq}` stays for the loop (`$tok`).
fn fill(cmd: &str, lab: &crate::lab::Lab, from: &str, to: std::net::Ipv4Addr) -> String {
    let from = lab.plan.node(from);
    let vip = lab.plan.cluster.as_ref().and_then(|c| {
        c.vips.iter().find(|v| from.is_some_and(|n| n.interfaces.iter().any(|i| i.network == v.network))).or(c.vips.first()).map(|v| v.address.to_string())
    });
    cmd.replace("{to}", &to.to_string()).replace("{vip}", &vip.unwrap_or_else(|| to.to_string()))
}

impl Kind for Service {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        // The inner sh expands $tok: each attempt's own token.
        let cmd = fill(&self.command, e.lab, &e.from.name, e.ip).replace("{seq}", "$tok");
        let (log, stop) = (file(t, "attempts"), file(t, "stop"));
        // Bounded by `duration` and the stop file; each attempt by `timeout`.
        let script = format!(
            "rm -f {log} {stop}; end=$(( $(date +%s) + {d} )); n=0\nwhile [ $(date +%s) -lt $end ] && [ ! -e {stop} ]; do\n  n=$((n+1)); tok=halab-$n; export tok; s=$(date +%s%N)\n  timeout {to:.3} sh -c {c} >/dev/null 2>&1; r=$?\n  echo \"$n $s $(date +%s%N) $r\" >> {log}\n  sleep {every:.3}\ndone\necho 0 > {rc}\n",
            d = self.duration.as_secs().max(1),
            to = self.timeout.as_secs_f64(),
            c = crate::cmd::sh_quote(&cmd),
            every = self.every.as_secs_f64(),
            rc = file(t, "rc"),
        );
        e.from.put(&file(t, "sh"), &script, 0o755, "root:root")?;
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", &file(t, "sh")])
    }

    fn stop(&self, r: &Running, from: &crate::node::Node) -> Result<()> {
        // The loop ends after its attempt in flight, so its last line is whole.
        from.run(&["touch", &file(&r.t, "stop")])?;
        for _ in 0..((self.timeout + self.every).as_millis() / 50 + 20) {
            if !from.service_running(&format!("traffic-{}", r.t.name)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        from.service_stop(&format!("traffic-{}", r.t.name))
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let text = c.from.run(&["cat", &file(&r.t, "attempts")]).unwrap_or_default();
        std::fs::write(c.samples.join(format!("{name}.service.txt")), &text)?;
        let shift = c.from.wall_clock_shift_ns()?;
        let attempts = parse(&text, shift);
        let a = analyse(&attempts);
        c.put(name, &metric::SERVICE_ATTEMPTS, attempts.len());
        c.put(name, &metric::SERVICE_OK, a.ok);
        c.put(name, &metric::SERVICE_AVAILABILITY, a.availability.map(|x| (x * 1000.0).round() / 1000.0));
        c.put(name, &metric::GAP_OR_NONE, a.gap_ns.map(|g| figure(ms_between(0, g))));
        c.put(name, &metric::RECOVERED, attempts.last().is_some_and(|x| x.ok));
        if let Some(read) = &self.read {
            let acked: Vec<u64> = attempts.iter().filter(|x| x.ok).map(|x| x.seq).collect();
            let on = match &self.read_on {
                Some(t) => c.lab.node(&crate::scenario::target::resolve(c.lab, t)?)?,
                None => c.from.clone(),
            };
            let kept = read_back(&on, &fill(read, c.lab, &r.t.from, r.ip), self.timeout);
            c.put(name, &metric::SERVICE_ACKED, acked.len());
            match kept {
                Some(out) => {
                    std::fs::write(c.samples.join(format!("{name}.read.txt")), &out)?;
                    c.put(name, &metric::SERVICE_LOST, Some(lost(&acked, &out).len()));
                }
                None => c.put(name, &metric::SERVICE_LOST, None),
            }
        }
        Ok(())
    }
}

/// The read-back, tried for up to 30 s (the service may still be settling after the run).
fn read_back(on: &crate::node::Node, read: &str, timeout: Duration) -> Option<String> {
    let cmd = format!("timeout {:.3} sh -c {}", timeout.as_secs_f64() * 5.0, crate::cmd::sh_quote(read));
    let mut out = None;
    let _ = crate::wait::settle(
        Duration::from_secs(30),
        Duration::from_millis(500),
        || {
            out = on.run(&["sh", "-c", &cmd]).ok();
            Ok(out.is_some())
        },
        String::new,
    );
    out
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub seq: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub ok: bool,
}

/// The attempt lines, on the host's clock (`host = wall - shift`); a torn line is skipped.
pub fn parse(text: &str, shift_ns: i128) -> Vec<Attempt> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let [seq, s, e, rc] = w.as_slice() else { return None };
            let host = |x: &str| x.parse::<i128>().ok().map(|v| (v - shift_ns).max(0) as u64);
            Some(Attempt { seq: seq.parse().ok()?, start_ns: host(s)?, end_ns: host(e)?, ok: *rc == "0" })
        })
        .collect()
}

pub struct Analysis {
    pub ok: usize,
    pub availability: Option<f64>,
    /// The longest time between two answered attempts (their ends); None with fewer than two.
    pub gap_ns: Option<u64>,
}

pub fn analyse(a: &[Attempt]) -> Analysis {
    let ends: Vec<u64> = a.iter().filter(|x| x.ok).map(|x| x.end_ns).collect();
    Analysis {
        ok: ends.len(),
        availability: (!a.is_empty()).then(|| ends.len() as f64 / a.len() as f64),
        gap_ns: ends.windows(2).map(|w| w[1].saturating_sub(w[0])).max(),
    }
}

/// The acknowledged writes whose token (`halab-N`, whole) the read-back does not show.
pub fn lost(acked: &[u64], read: &str) -> Vec<u64> {
    let kept: std::collections::HashSet<u64> =
        read.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).filter_map(|w| w.strip_prefix("halab-").and_then(|n| n.parse().ok())).collect();
    acked.iter().copied().filter(|s| !kept.contains(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_is_the_longest_time_between_answers_and_lost_writes_are_the_missing_tokens() {
        let text = "1 1000 2000 0\n2 3000 4000 0\n3 5000 9000 124\n4 10000 12000 1\n5 13000 14500 0\n6 15000 16000 0\ntorn";
        let a = parse(text, 1000);
        assert_eq!(a.len(), 6);
        assert_eq!((a[0].start_ns, a[0].end_ns), (0, 1000), "moved onto the host's clock");
        let s = analyse(&a);
        assert_eq!((s.ok, s.gap_ns), (4, Some(10500)), "from attempt 2's answer to attempt 5's");
        assert!((s.availability.unwrap() - 4.0 / 6.0).abs() < 1e-9);
        // halab-1 and halab-2 were kept; halab-5 was acknowledged and is gone; halab-50 is not halab-5.
        assert_eq!(lost(&[1, 2, 5], "row halab-1\nhalab-2,halab-50"), vec![5]);
        assert_eq!(analyse(&[]).availability, None);
    }
}
