//! Traffic inside the nodes, with real programs: the gap probe (halab itself), scp (OpenSSH,
//! rate-limited, checksum compared), iperf3 (--json, 0.1 s intervals) and ab.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::plan::{Traffic, TrafficKind};
use crate::lab::Lab;
use crate::measure::clock::now_ns;
use crate::measure::gap::{longest_gap, GapOutcome};
use crate::measure::probe::ProbeSamples;
use crate::node::Node;

/// Probe samples on the host's clock are `samples/<traffic><PROBE_SAMPLES>`; reports find every
/// probe of a run by this ending, whatever the traffic is called.
pub const PROBE_SAMPLES: &str = ".probe.json";

/// A traffic kind as `halab vocabulary` and validation name it.
pub struct KindDef {
    pub name: &'static str,
    pub doc: &'static str,
    /// Its own fields (besides name, kind, from, to), with their defaults.
    pub fields: &'static [(&'static str, &'static str)],
    pub example: &'static str,
}

pub const KINDS: &[KindDef] = &[
    KindDef {
        name: "probe",
        doc: "halab's gap probe: a tick over UDP and over one TCP connection, echoed back; the gap is the longest silence around the fault",
        fields: &[("every", "tick interval (default 10ms)"), ("duration", "how long at most (default 60s)")],
        example: "{ name: ping, kind: probe, from: client, to: server, every: 10ms, duration: 30s }",
    },
    KindDef {
        name: "scp",
        doc: "copy a file with OpenSSH, rate-limited so the transfer spans the fault; completion and checksum",
        fields: &[("size", "file size (default 64MiB)"), ("rate", "rate limit like 24Mbit (default none)")],
        example: "{ name: bulk, kind: scp, from: client, to: server, size: 48MiB, rate: 24Mbit }",
    },
    KindDef {
        name: "iperf3",
        doc: "iperf3 throughput in 0.1 s intervals: before the fault, its dip, the end",
        fields: &[("duration", "how long (default 60s)")],
        example: "{ name: iperf, kind: iperf3, from: client, to: server, duration: 12s }",
    },
    KindDef {
        name: "ab",
        doc: "ApacheBench against the destination's web server: request rate and failed requests",
        fields: &[("requests", "how many (default 2000)"), ("concurrency", "at once (default 4)")],
        example: "{ name: web, kind: ab, from: client, to: server, requests: 5000, concurrency: 4 }",
    },
];

pub struct Running {
    pub t: Traffic,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub started_ns: u64,
    pub done_ns: Option<u64>,
    /// (host ns, node clock minus host clock) when a probe started, for nodes with a clock of
    /// their own (VMs): their samples are moved onto the host's clock.
    pub clock_at_start: Option<(u64, i64)>,
}

fn file(t: &Traffic, ext: &str) -> String {
    format!("/tmp/halab-{}.{ext}", t.name)
}

/// The address traffic goes to: the destination node's first lab interface.
fn address(st: &Lab, node: &str) -> Result<Ipv4Addr> {
    st.plan.node(node).and_then(|n| n.interfaces.first()).map(|i| i.address).with_context(|| format!("node `{node}` has no address"))
}

/// `from` may log into `to` as root over the lab network with a pinned host key.
fn ssh_trust(from: &Node, to: &Node, ip: Ipv4Addr) -> Result<()> {
    from.sh("test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519")?;
    let key = from.run(&["cat", "/root/.ssh/id_ed25519.pub"])?;
    let o = to.exec(&["sh", "-c", "cat >> /root/.ssh/authorized_keys"], Some(key.as_bytes()), crate::node::EXEC_TIMEOUT)?;
    if !o.status.success() {
        bail!("failed to authorize {}'s key on {}", from.name, to.name);
    }
    let hostkey = to.run(&["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])?;
    let mut f = hostkey.split_whitespace();
    let line = format!("{ip} {} {}\n", f.next().unwrap_or(""), f.next().unwrap_or(""));
    let o = from.exec(&["sh", "-c", "cat >> /root/.ssh/known_hosts"], Some(line.as_bytes()), crate::node::EXEC_TIMEOUT)?;
    if !o.status.success() {
        bail!("failed to pin {}'s host key on {}", to.name, from.name);
    }
    Ok(())
}

pub fn start(st: &Lab, t: &Traffic, port: u16) -> Result<Running> {
    let from = st.node(&t.from)?;
    let to = st.node(&t.to)?;
    let ip = address(st, &t.to)?;
    let secs = format!("{}s", t.duration.as_secs().max(1));
    let rc = file(t, "rc");
    from.sh(&format!("rm -f {rc} {}", file(t, "json")))?;
    match &t.kind {
        TrafficKind::Probe { every } => {
            let srv = format!("{}s", t.duration.as_secs() + 120);
            to.service_start(&format!("probe-srv-{}", t.name), &["halab", "probe", "server", "--port", &port.to_string(), "--duration", &srv])?;
            std::thread::sleep(Duration::from_millis(100));
            let every = format!("{}ms", every.as_millis().max(1));
            let out = file(t, "json");
            from.service_start(
                &format!("traffic-{}", t.name),
                &["halab", "probe", "client", &ip.to_string(), "--port", &port.to_string(), "--interval", &every, "--duration", &secs, "--out", &out],
            )?;
        }
        TrafficKind::Scp { bytes, rate_kbit } => {
            ssh_trust(&from, &to, ip)?;
            let bin = file(t, "bin");
            from.sh(&format!("head -c {bytes} /dev/urandom > {bin}"))?;
            let limit = if *rate_kbit > 0 { format!("-l {rate_kbit}") } else { String::new() };
            // Alive checks bound a stalled transfer: 20 s without an answer and scp gives up.
            let cmd = format!(
                "scp -q -o BatchMode=yes -o ServerAliveInterval=2 -o ServerAliveCountMax=10 -o ConnectTimeout=10 {limit} {bin} root@{ip}:{bin}; echo $? > {rc}"
            );
            from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])?;
        }
        TrafficKind::Iperf3 => {
            if !to.service_running("iperf3") {
                to.service_start("iperf3", &["/usr/bin/iperf3", "-s"])?;
                std::thread::sleep(Duration::from_millis(200));
            }
            let cmd = format!("iperf3 -c {ip} -t {} -i 0.1 --json > {} 2>&1; echo $? > {rc}", t.duration.as_secs().max(1), file(t, "json"));
            from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])?;
        }
        TrafficKind::Ab { requests, concurrency } => {
            let cmd = format!("ab -q -n {requests} -c {concurrency} -s 5 -r http://{ip}/ > {} 2>&1; echo $? > {rc}", file(t, "ab"));
            from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &cmd])?;
        }
    }
    let clock_at_start = match t.kind {
        TrafficKind::Probe { .. } => Some((now_ns(), st.node(&t.from)?.clock_offset_ns()?)),
        _ => None,
    };
    Ok(Running { t: t.clone(), ip, port, started_ns: now_ns(), done_ns: None, clock_at_start })
}

pub fn finished(st: &Lab, r: &mut Running) -> Result<bool> {
    if r.done_ns.is_some() {
        return Ok(true);
    }
    let from = st.node(&r.t.from)?;
    let done = !from.service_running(&format!("traffic-{}", r.t.name));
    if done {
        r.done_ns = Some(now_ns());
    }
    Ok(done)
}

pub fn stop(st: &Lab, r: &mut Running) -> Result<()> {
    let from = st.node(&r.t.from)?;
    from.service_stop(&format!("traffic-{}", r.t.name))?;
    r.done_ns.get_or_insert_with(now_ns);
    Ok(())
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

fn put(m: &mut BTreeMap<String, Value>, name: &str, key: &str, v: Value) {
    m.insert(format!("{name}.{key}"), v);
}

/// Stop if still running, fetch the raw output into `samples_dir`, and turn it into metrics.
/// `fault_ns`: the first fault's time (gaps are measured around it).
pub fn collect(st: &Lab, r: &mut Running, fault_ns: Option<u64>, samples_dir: &Path, m: &mut BTreeMap<String, Value>) -> Result<()> {
    if !finished(st, r)? {
        stop(st, r)?;
    }
    let from = st.node(&r.t.from)?;
    let name = r.t.name.clone();
    std::fs::create_dir_all(samples_dir)?;
    let rc: Option<i32> =
        from.exec(&["cat", &file(&r.t, "rc")], None, crate::node::EXEC_TIMEOUT).ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
    match &r.t.kind {
        TrafficKind::Probe { every } => {
            let path = file(&r.t, "json");
            crate::stack::ready::until(
                Duration::from_secs(5),
                || Ok(from.succeeds(&["test", "-s", &path])),
                || format!("the probe on {} wrote no samples", r.t.from),
            )?;
            let text = from.run(&["cat", &path])?;
            let mut s: ProbeSamples = serde_json::from_str(&text).context("the probe's samples do not parse")?;
            if let Some(start) = r.clock_at_start.filter(|c| c.1 != 0) {
                let end = (now_ns(), st.node(&r.t.from)?.clock_offset_ns()?);
                std::fs::write(samples_dir.join(format!("{name}.probe.node-clock.json")), &text)?;
                std::fs::write(samples_dir.join(format!("{name}.clock.json")), serde_json::to_vec(&json!({ "host_ns_and_offset_ns": [start, end] }))?)?;
                to_host_clock(&mut s, start, end);
                put(m, &name, "clock_offset_drift_ms", json!(round((end.1 - start.1) as f64 / 1e6)));
            }
            std::fs::write(samples_dir.join(format!("{name}{PROBE_SAMPLES}")), serde_json::to_vec(&s)?)?;
            let after = fault_ns.unwrap_or(s.start_ns);
            let slack = (every.as_secs_f64() * 1000.0 * 20.0).max(200.0);
            let udp: Vec<u64> = s.udp.iter().map(|x| x.2).collect();
            let tcp: Vec<u64> = s.tcp.iter().map(|x| x.2).collect();
            let g = longest_gap(&udp, after, s.end_ns.saturating_sub(200_000_000), slack);
            let tg = longest_gap(&tcp, after, s.end_ns.saturating_sub(200_000_000), slack);
            put(m, &name, "gap", json!(round(g.gap_ms)));
            put(m, &name, "recovered", json!(g.outcome == GapOutcome::Recovered));
            put(m, &name, "gap_outcome", json!(g.outcome));
            put(m, &name, "tcp.gap", json!(round(tg.gap_ms)));
            put(m, &name, "tcp.survived", json!(tg.outcome == GapOutcome::Recovered && s.tcp_error.is_none()));
            put(m, &name, "tcp.outcome", json!(tg.outcome));
            put(m, &name, "udp.sent", json!(s.udp_sent));
            // How late the prober's ticks left (scheduling delay): a starved host shows here.
            if let Some(&(seq0, sent0, _)) = s.udp.iter().min_by_key(|x| x.0) {
                let step = s.interval_ns as f64;
                let late: Vec<f64> = s.udp.iter().map(|&(q, t, _)| (t as f64 - (sent0 as f64 + (q - seq0) as f64 * step)) / 1e6).collect();
                put(m, &name, "tick_late_p99", json!(crate::measure::stats::percentile(&late, 99.0).map(round)));
            }
            put(m, &name, "udp.received", json!(s.udp.len()));
            if let Some(f) = fault_ns {
                // Where the silence sits relative to the fault: its end is when traffic flowed again.
                put(m, &name, "gap_start_after_fault", json!(round((g.from_ns as f64 - f as f64) / 1e6)));
                put(m, &name, "recovered_after_fault", json!(round((g.to_ns as f64 - f as f64) / 1e6)));
            }
            let to = st.node(&r.t.to)?;
            let _ = to.service_stop(&format!("probe-srv-{name}"));
        }
        TrafficKind::Scp { .. } => {
            let bin = file(&r.t, "bin");
            let sum = |n: &Node| n.run(&["sha256sum", &bin]).ok().and_then(|s| s.split_whitespace().next().map(str::to_string));
            let to = st.node(&r.t.to)?;
            let (a, b) = (sum(&from), sum(&to));
            let completed = rc == Some(0);
            put(m, &name, "completed", json!(completed));
            put(m, &name, "checksum_ok", json!(completed && a.is_some() && a == b));
            put(m, &name, "exit_code", json!(rc));
            put(m, &name, "duration", json!(round((r.done_ns.unwrap_or_else(now_ns) - r.started_ns) as f64 / 1e6)));
            let _ = from.sh(&format!("rm -f {bin}"));
            let _ = to.sh(&format!("rm -f {bin}"));
        }
        TrafficKind::Iperf3 => {
            let text = from.run(&["cat", &file(&r.t, "json")]).unwrap_or_default();
            std::fs::write(samples_dir.join(format!("{name}.iperf3.json")), &text)?;
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let ivals: Vec<(f64, f64)> = v["intervals"]
                .as_array()
                .map(|a| a.iter().map(|i| (i["sum"]["end"].as_f64().unwrap_or(0.0), i["sum"]["bits_per_second"].as_f64().unwrap_or(0.0) / 1e6)).collect())
                .unwrap_or_default();
            let fault_s = fault_ns.map(|f| (f as f64 - r.started_ns as f64) / 1e9);
            let med = |xs: Vec<f64>| crate::measure::stats::summary(&xs).map(|s| s.median);
            let before: Vec<f64> = ivals.iter().filter(|(t, _)| fault_s.is_none_or(|f| *t < f)).map(|x| x.1).collect();
            let after: Vec<f64> = ivals.iter().filter(|(t, _)| fault_s.is_some_and(|f| *t >= f)).map(|x| x.1).collect();
            put(m, &name, "completed", json!(rc == Some(0)));
            put(m, &name, "mbps", json!(v["end"]["sum_received"]["bits_per_second"].as_f64().map(|b| round(b / 1e6))));
            put(m, &name, "mbps_before", json!(med(before).map(round)));
            put(m, &name, "mbps_min_after_fault", json!(after.iter().cloned().fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.min(x)))).map(round)));
            put(m, &name, "mbps_last", json!(ivals.last().map(|x| round(x.1))));
            put(m, &name, "intervals", json!(ivals.len()));
        }
        TrafficKind::Ab { .. } => {
            let text = from.run(&["cat", &file(&r.t, "ab")]).unwrap_or_default();
            std::fs::write(samples_dir.join(format!("{name}.ab.txt")), &text)?;
            let field = |label: &str| {
                text.lines().find(|l| l.starts_with(label)).and_then(|l| l[label.len()..].split_whitespace().next()).and_then(|x| x.parse::<f64>().ok())
            };
            put(m, &name, "completed", json!(rc == Some(0)));
            put(m, &name, "rps", json!(field("Requests per second:").map(round)));
            put(m, &name, "failed", json!(field("Failed requests:")));
            put(m, &name, "requests", json!(field("Complete requests:")));
        }
    }
    Ok(())
}

pub fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
