//! `ab`: ApacheBench against the destination's web server, run so that a failover cannot make
//! it end without its statistics, and what the failover cost: requests answered and lost, the
//! request rate before, during and after, and the longest window without a served request.
//!
//! ab aborts without statistics when its poll times out (`-s`) and waits forever for a
//! connection the failover lost for good (a flow the new active firewall never saw is dropped as
//! invalid). So a guard beside it watches ab's CPU time: ab idle for `stall` (longer than TCP's
//! retransmission backoff after any gap the lab has) means whatever is still in flight is lost, and the guard interrupts ab (SIGINT), on which ab prints its
//! statistics; also at `limit`, or when the run stops the traffic. ab's `-s` is set past both,
//! so it always ends by itself too. The timeline comes from the web server's log
//! (`node::web`, 1 ms stamps): ab stamps a request's start only to the second.

use crate::measure::gap::GapOutcome;
use crate::measure::metrics::traffic as metric;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::{file, Collect, Ends, Fields, Kind, KindDef, Running, Traffic};
use crate::measure::clock::figure;
use crate::measure::dip::{self, Timeline};

pub const KIND: KindDef = KindDef {
    name: "ab",
    doc: "ApacheBench against the destination's web server: requests answered and lost, the rate's dip, the longest window without a served request",
    fields: &[
        ("requests", "how many (default 2000)"),
        ("concurrency", "at once, 1 to 20000 (default 4)"),
        ("stall", "ab idle this long: the rest is lost, ab is stopped and prints its statistics (default 30s, ab's own timeout)"),
        ("limit", "the whole run at most (default 300s)"),
    ],
    example: "{ name: web, kind: ab, from: client, to: server, requests: 100000, concurrency: 1000 }",
    metrics: metric::AB,
    check,
};

/// ab's own limit on concurrency.
const MAX_CONCURRENCY: u32 = 20_000;
/// Timeline bins (s).
const BIN: f64 = 0.1;
/// ab's CPU time over its wall time before the fault, from which the run is flagged: the load
/// generator, not the cluster, set the rate.
pub const SATURATED: f64 = 0.95;

#[derive(Debug)]
struct Ab {
    requests: u32,
    concurrency: u32,
    stall: Duration,
    limit: Duration,
}

fn check(f: &mut Fields) -> Option<Arc<dyn Kind>> {
    let within = |max: u32| move |s: &str| s.parse::<u32>().ok().filter(|n| (1..=max).contains(n));
    let requests = f.parsed("requests", 2000, within(1_000_000), "a whole number from 1 to 1000000", "");
    let concurrency = f.parsed("concurrency", 4, within(MAX_CONCURRENCY), "a whole number from 1 to 20000", "ab opens at most 20000 connections");
    // Not shorter than TCP's backoff after the gap: a 7.5 s gap (pacemaker) is followed by
    // nothing until the retransmissions ~12.6 s (data) and 15 s (SYN) after the loss.
    let stall = f.duration("stall", Duration::from_secs(30));
    let limit = f.duration("limit", Duration::from_secs(300));
    Some(Arc::new(Ab { requests: requests?, concurrency: concurrency?, stall: stall?, limit: limit? }))
}

/// The client's wrapper: ab in the background, the guard in the foreground. The guard logs
/// ab's CPU ticks every 0.2 s (`.cpu`: ns, ticks) and says why it stopped ab (`.guard`).
fn script(t: &Traffic, ab: &Ab, url: &str) -> String {
    let ticks = |d: Duration| (d.as_millis() / 200).max(1);
    format!(
        "ulimit -n \"$(ulimit -Hn)\"\nrm -f {stop}\n\
         ab -r -s {s} -n {n} -c {c} {url} > {out} 2>&1 &\npid=$!\n\
         trap 'touch {stop}' TERM INT\n\
         last=; idle=0; ticks=0; why=\n: > {cpu}\n\
         while :; do\n  sleep 0.2; ticks=$((ticks+1))\n  set -- $(cat /proc/$pid/stat 2>/dev/null)\n  [ -z \"$3\" ] || [ \"$3\" = Z ] && break\n\
         \x20 now=\"${{14}} ${{15}}\"; echo \"$(date +%s%N) $((${{14}}+${{15}}))\" >> {cpu}\n\
         \x20 if [ \"$now\" = \"$last\" ]; then idle=$((idle+1)); else idle=0; last=$now; fi\n\
         \x20 [ -e {stop} ] && why=asked\n  [ $idle -ge {stall} ] && why=stall\n  [ $ticks -ge {limit} ] && why=limit\n\
         \x20 if [ -n \"$why\" ]; then kill -INT $pid; for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done; kill -KILL $pid 2>/dev/null; break; fi\n\
         done\nwait $pid; rc=$?\necho \"$why\" > {guard}\necho $rc > {rc}\n",
        stop = file(t, "stop"),
        s = (ab.limit + ab.stall).as_secs() + 30,
        n = ab.requests,
        c = ab.concurrency,
        out = file(t, "ab"),
        cpu = file(t, "cpu"),
        stall = ticks(ab.stall),
        limit = ticks(ab.limit),
        guard = file(t, "guard"),
        rc = file(t, "rc"),
    )
}

/// What ab printed: its statistics (complete or after SIGINT), or the abort line.
#[derive(Debug, Default, PartialEq)]
pub struct AbOutput {
    pub answered: Option<u64>,
    pub failed: Option<u64>,
    /// Connect, receive, length, exceptions.
    pub errors: Option<[u64; 4]>,
    pub non_2xx: u64,
    pub rps: Option<f64>,
    /// ab's last words when it gave up without statistics.
    pub abort: Option<String>,
}

pub fn parse(text: &str) -> AbOutput {
    let field = |label: &str| text.lines().find_map(|l| l.trim_start().strip_prefix(label)).and_then(|r| r.split_whitespace().next());
    let num = |label: &str| field(label).and_then(|x| x.parse::<u64>().ok());
    let errors = text.lines().find_map(|l| l.trim().strip_prefix("(Connect:")).map(|l| {
        let n: Vec<u64> = l.split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).collect();
        [0, 1, 2, 3].map(|i| n.get(i).copied().unwrap_or(0))
    });
    let total = text.lines().find_map(|l| l.strip_prefix("Total of ")).and_then(|r| r.split_whitespace().next()).and_then(|x| x.parse().ok());
    // ab's fatal errors end `: reason (errno)`; no statistics follow them.
    let fatal = |l: &&str| {
        let l = l.trim_end();
        l.contains(": ") && l.ends_with(')') && l.rsplit_once('(').is_some_and(|(_, n)| n.trim_end_matches(')').parse::<i64>().is_ok())
    };
    let abort = text.lines().rev().find(fatal).map(|l| l.trim().to_string());
    AbOutput {
        answered: num("Complete requests:").or(total),
        failed: num("Failed requests:"),
        // ab details its failures only when there are some.
        errors: errors.or_else(|| num("Failed requests:").map(|_| [0; 4])),
        non_2xx: num("Non-2xx responses:").unwrap_or(0),
        rps: field("Requests per second:").and_then(|x| x.parse().ok()),
        abort,
    }
}

impl Kind for Ab {
    fn name(&self) -> &'static str {
        KIND.name
    }

    fn start(&self, t: &Traffic, e: &Ends) -> Result<()> {
        let url = format!("http://{}/", e.ip);
        e.from.service_start(&format!("traffic-{}", t.name), &["sh", "-c", &script(t, self, &url)])
    }

    /// Ask the guard to interrupt ab, so that it prints its statistics, before the service goes.
    fn stop(&self, r: &Running, from: &crate::node::Node) -> Result<()> {
        from.sh(&format!("touch {}", file(&r.t, "stop")))?;
        let service = format!("traffic-{}", r.t.name);
        // ab prints its statistics on the guard's SIGINT: a grace period, then it is stopped.
        let _ = crate::wait::settle(Duration::from_secs(15), Duration::from_millis(100), || Ok(!from.service_running(&service)), String::new);
        from.service_stop(&service)
    }

    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()> {
        let name = r.t.name.as_str();
        let text = c.from.run(&["cat", &file(&r.t, "ab")]).unwrap_or_default();
        std::fs::write(c.samples.join(format!("{name}.ab.txt")), &text)?;
        let out = parse(&text);
        let asked = u64::from(self.requests);
        let answered = out.answered.unwrap_or(0);
        let stopped = c.from.run(&["cat", &file(&r.t, "guard")]).unwrap_or_default().trim().to_string();
        c.put(name, &metric::COMPLETED, c.rc == Some(0) && answered == asked);
        c.put(name, &metric::AB_ASKED, asked);
        c.put(name, &metric::AB_ANSWERED, answered);
        c.put(name, &metric::AB_UNANSWERED, asked.saturating_sub(answered));
        c.put(name, &metric::AB_FAILED, out.failed);
        for (i, m) in metric::AB_ERRORS.iter().enumerate() {
            c.put(name, m, out.errors.map(|e| e[i]));
        }
        c.put(name, &metric::AB_NON_2XX, out.non_2xx);
        c.put(name, &metric::AB_RPS, out.rps.map(figure));
        c.put(name, &metric::AB_STOPPED, (!stopped.is_empty()).then_some(stopped));
        let cpu = c.from.run(&["cat", &file(&r.t, "cpu")]).unwrap_or_default();
        // The guard stamps with the client's wall clock.
        let fault_wall = match c.fault_ns {
            Some(f) => Some((f as i128 + c.from.wall_clock_shift_ns()?) as u64),
            None => None,
        };
        c.put(name, &metric::AB_CLIENT_CPU, client_cpu(&cpu, fault_wall).map(|x| (x * 100.0).round() / 100.0));
        c.put(name, &metric::AB_LOAD_LIMIT, super::load::limit(c, &out, self.concurrency)?);
        let served = self.timeline(r, c, name)?;
        // Served by the server, but the answer went down with its connection: for requests
        // that change something, the client cannot tell whether they were done.
        c.put(name, &metric::AB_SERVED_UNANSWERED, served.saturating_sub(answered));
        Ok(())
    }
}

impl Ab {
    /// The requests the server logged from this client while the traffic ran: the rate in 0.1 s
    /// bins, its dip, and the longest window without one. Returns how many there were.
    fn timeline(&self, r: &Running, c: &mut Collect, name: &str) -> Result<u64> {
        let to = c.lab.node(&r.t.to)?;
        // nginx stamps with the node's wall clock: host = wall - shift.
        let shift = to.wall_clock_shift_ns()?;
        let client = c.lab.plan.node(&r.t.from).and_then(|n| n.interfaces.first()).map(|i| i.address.to_string()).unwrap_or_default();
        let log = to.run(&["cat", crate::node::web::ACCESS_LOG]).unwrap_or_default();
        let end_ns = r.done_ns.unwrap_or(u64::MAX);
        let mut ms: Vec<f64> = log
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (t, _status, from) = (f.next()?.parse::<f64>().ok()?, f.next()?, f.next()?);
                let host_ns = ((t * 1e9) as i128 - shift) as i64;
                (from == client && host_ns >= r.started_ns as i64 && host_ns as u64 <= end_ns).then(|| (host_ns - r.started_ns as i64) as f64 / 1e6)
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let lines: Vec<String> = ms.iter().map(|x| format!("{x:.1}")).collect();
        std::fs::write(c.samples.join(format!("{name}.served_ms.txt")), lines.join("\n"))?;
        let mut gap = ms.windows(2).map(|w| w[1] - w[0]).fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        // Nothing served after the fault: the window is open at the end, a lower bound.
        let fault_ms = c.fault_ns.map(|f| (f as f64 - r.started_ns as f64) / 1e6);
        let recovered = fault_ms.is_none_or(|f| ms.last().is_some_and(|l| *l > f));
        if !recovered {
            let end_ms = r.done_ns.map(|d| (d as f64 - r.started_ns as f64) / 1e6).unwrap_or(0.0);
            gap = Some(end_ms - ms.last().copied().unwrap_or(0.0));
        }
        c.put(name, &metric::GAP_OUTCOME, if recovered { GapOutcome::Recovered } else { GapOutcome::NeverRecovered });
        let secs: Vec<f64> = ms.iter().map(|x| x / 1e3).collect();
        c.put(name, &metric::AB_SERVED, ms.len());
        c.put(name, &metric::GAP_OR_NONE, gap.map(figure));
        let bins = dip::bin(&secs, BIN);
        c.put_rate(
            r,
            &metric::AB_RATE,
            Timeline { what: format!("{name}: requests served (nginx log)"), unit: "req/s".into(), width_s: BIN, start_ns: r.started_ns, bins },
        )?;
        Ok(ms.len() as u64)
    }
}

/// ab's CPU time over its wall time, before the fault (after it ab waits on the failover):
/// from the guard's `ns ticks` lines (ticks of 10 ms).
fn client_cpu(log: &str, fault_ns: Option<u64>) -> Option<f64> {
    let pts: Vec<(u64, u64)> = log.lines().filter_map(|l| l.split_once(' ').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))).collect();
    let (first, rest) = pts.split_first()?;
    let last = rest.iter().rev().find(|p| fault_ns.is_none_or(|f| p.0 <= f))?;
    let wall = last.0.checked_sub(first.0)? as f64 / 1e9;
    (wall >= 0.5).then(|| (last.1 - first.1) as f64 / 100.0 / wall)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERRUPTED: &str = "Benchmarking 198.18.2.10 (be patient)\nCompleted 10000 requests\n\nServer Software:        nginx/1.22.1\n\nConcurrency Level:      1000\nTime taken for tests:   31.2 seconds\nComplete requests:      99640\nFailed requests:        12\n   (Connect: 0, Receive: 2, Length: 10, Exceptions: 0)\nNon-2xx responses:      3\nRequests per second:    3193.61 [#/sec] (mean)\n";

    #[test]
    fn statistics_after_an_interrupt_are_read() {
        let o = parse(INTERRUPTED);
        assert_eq!((o.answered, o.failed, o.errors, o.non_2xx), (Some(99640), Some(12), Some([0, 2, 10, 0]), 3));
        assert_eq!((o.rps, o.abort), (Some(3193.61), None));
    }

    #[test]
    fn an_abort_keeps_the_count_and_the_reason() {
        let o = parse(
            "Benchmarking x\nTest aborted after 10 failures\n\napr_socket_connect(): Cannot assign requested address (99)\nTotal of 4 requests completed\n",
        );
        assert_eq!((o.answered, o.failed), (Some(4), None));
        assert_eq!(o.abort.as_deref(), Some("apr_socket_connect(): Cannot assign requested address (99)"));
        let o = parse("Benchmarking x\n\nTest aborted after 10 failures\n\napr_socket_connect(): Cannot assign requested address (99)\n");
        assert_eq!((o.answered, o.abort.is_some()), (None, true), "nothing answered: no `Total of` line");
    }

    #[test]
    fn cpu_share_is_measured_before_the_fault() {
        let log = "1000000000 0\n2000000000 50\n3000000000 100\n4000000000 100\n";
        assert_eq!(client_cpu(log, Some(3_000_000_000)), Some(0.5));
        assert_eq!(client_cpu(log, None), Some(100.0 / 100.0 / 3.0));
    }
}
