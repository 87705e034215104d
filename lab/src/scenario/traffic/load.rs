//! Was it the load generator, not the cluster, that failed a load traffic? A client out of
//! local ports or file descriptors, or a member whose conntrack table was full, makes the run an
//! infrastructure error naming the limit (exit 3), never a stack's failed expectation.

use anyhow::Result;

use super::ab::AbOutput;
use super::Collect;

/// The limit that stopped the load, if one did.
pub fn limit(c: &Collect, out: &AbOutput, concurrency: u32) -> Result<Option<String>> {
    let why = out.abort.as_deref().unwrap_or("");
    if why.contains("Cannot assign requested address") {
        let range = c.from.run(&["cat", "/proc/sys/net/ipv4/ip_local_port_range"]).unwrap_or_default();
        let r: Vec<u64> = range.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let held = match r[..] {
            [a, b] => format!("ip_local_port_range {a}-{b} holds {} ports", b.saturating_sub(a) + 1),
            _ => "its local port range is too small".into(),
        };
        return Ok(Some(format!("the client ran out of local ports ({why}): {held} for concurrency {concurrency}")));
    }
    if why.contains("Too many open files") {
        let n = c.from.sh("ulimit -Hn").unwrap_or_default();
        return Ok(Some(format!("the client ran out of file descriptors ({why}): limit {}, concurrency {concurrency}", n.trim())));
    }
    for m in c.lab.plan.cluster.iter().flat_map(|cl| cl.members.iter()).filter(|m| c.lab.running(m)) {
        let stats = c.lab.node(m)?.run(&["conntrack", "-S"]).unwrap_or_default();
        let dropped: u64 = stats
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| matches!(*k, "drop" | "early_drop"))
            .filter_map(|(_, v)| v.parse::<u64>().ok())
            .sum();
        if dropped > 0 {
            let max = c.lab.node(m)?.run(&["cat", "/proc/sys/net/netfilter/nf_conntrack_max"]).unwrap_or_default();
            return Ok(Some(format!("conntrack table full on {m}: {dropped} packets dropped (nf_conntrack_max {})", max.trim())));
        }
    }
    Ok(None)
}
