//! Connection state around a fault, for the run record: conntrackd's cache sizes and sync
//! counters (`conntrackd -s`), the firewall's invalid counter, and parity: are the traffic's
//! own flows that the active tracks (its internal cache) in every standby's external cache,
//! so a takeover can commit them?

use std::collections::{BTreeMap, BTreeSet};

use crate::lab::Lab;
use crate::measure::metrics::{run as metric, Metrics};
use crate::node::Node;
use crate::stack::conntrackd;
use crate::topology::PlanCluster;

/// What `conntrackd -s` and the nft counter say on one member.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counters {
    pub internal: u64,
    pub external: u64,
    pub pkts_sent: u64,
    pub pkts_recv: u64,
    pub errors: u64,
    pub lost: u64,
    pub malformed: u64,
    /// `Packets before` of `conntrackd -s network`: messages older than the last one received.
    pub out_of_sequence: u64,
    pub invalid: u64,
    /// conntrackd answered `-s`: without it the numbers above are not zeros but unknown, and
    /// the run records none of them (a killed conntrackd is not an empty one).
    pub answered: bool,
}

/// The numbers of `conntrackd -s` and `-s network`: the first field after "current active connections:" of
/// each cache, and the pairs of the traffic and message blocks.
pub fn parse(stats: &str) -> Counters {
    let mut c = Counters::default();
    let mut section = "";
    let num = |s: &str| s.trim().parse::<u64>().unwrap_or(0);
    for line in stats.lines() {
        let l = line.trim();
        if l.starts_with("cache internal") {
            c.answered = true;
            section = "internal";
        } else if l.starts_with("cache external") {
            section = "external";
        } else if let Some(v) = l.strip_prefix("current active connections:") {
            match section {
                "internal" => c.internal = num(v),
                "external" => c.external = num(v),
                _ => {}
            }
        }
        if let Some(v) = l.strip_prefix("Packets before:") {
            c.out_of_sequence = num(v);
        }
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            [a, "Pckts", "sent", b, "Pckts", "recv"] => (c.pkts_sent, c.pkts_recv) = (num(a), num(b)),
            [a, "Error", "send", b, "Error", "recv"] => c.errors = num(a) + num(b),
            [a, "Malformed", "msgs", b, "Lost", "msgs"] => (c.malformed, c.lost) = (num(a), num(b)),
            _ => {}
        }
    }
    c
}

/// `packets N` of the ruleset's `invalid` counter.
fn invalid(node: &Node) -> u64 {
    let t = node.sh("nft list counter inet halab invalid 2>/dev/null || true").unwrap_or_default();
    t.split_whitespace().skip_while(|w| *w != "packets").nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The flows of a cache (`-i` internal, `-e` external) between `addrs`, as
/// `proto src:sport -> dst:dport` of the original direction.
fn flows(node: &Node, cache: &str, addrs: &BTreeSet<String>) -> BTreeSet<String> {
    let t = node.sh(&format!("conntrackd -C {} {cache} 2>/dev/null || true", conntrackd::CONFIG)).unwrap_or_default();
    t.lines().filter_map(|l| flow(l, addrs)).collect()
}

fn flow(line: &str, addrs: &BTreeSet<String>) -> Option<String> {
    let field = |k: &str| line.split_whitespace().find_map(|w| w.strip_prefix(k)).map(str::to_string);
    let proto = line.split_whitespace().next()?;
    let (src, dst) = (field("src=")?, field("dst=")?);
    (addrs.contains(&src) && addrs.contains(&dst))
        .then(|| format!("{proto} {src}:{} -> {dst}:{}", field("sport=").unwrap_or_default(), field("dport=").unwrap_or_default()))
}

/// Counters of every running member, by name.
pub fn counters(lab: &Lab, cl: &PlanCluster) -> BTreeMap<String, Counters> {
    let mut out = BTreeMap::new();
    for m in cl.members.iter().filter(|m| lab.running(m)) {
        if let Ok(n) = lab.node(m) {
            let mut c = parse(
                &n.sh(&format!("conntrackd -C {0} -s 2>/dev/null; conntrackd -C {0} -s network 2>/dev/null; true", conntrackd::CONFIG)).unwrap_or_default(),
            );
            c.invalid = invalid(&n);
            out.insert(m.clone(), c);
        }
    }
    out
}

/// Parity before a fault: the traffic's flows the active tracks, and those missing from some
/// other member's external cache, each with the members that lack it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parity {
    pub flows: usize,
    pub missing: BTreeMap<String, Vec<String>>,
    /// When a flow is missing, what each member showed right then (member -> text): the
    /// caches, conntrackd's queues and log, the kernel's entries. Written into the run folder.
    pub evidence: BTreeMap<String, String>,
}

impl Parity {
    /// The evidence of a missing flow into `dir` (`parity-<member>.txt`).
    pub fn write_evidence(&self, dir: &std::path::Path) -> std::io::Result<()> {
        if self.evidence.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(dir)?;
        for (m, text) in &self.evidence {
            std::fs::write(dir.join(format!("parity-{m}.txt")), text)?;
        }
        Ok(())
    }

    /// `ct.parity`, `ct.parity_flows`, `ct.parity_missing` (a count) and, naming them,
    /// `ct.parity_missing_flows` ("tcp 198.18.1.10:40000 -> 198.18.2.10:7 not on fw2").
    pub fn put(&self, m: &mut Metrics) {
        m.put(&metric::CT_PARITY, self.missing.is_empty());
        m.put(&metric::CT_PARITY_FLOWS, self.flows);
        m.put(&metric::CT_PARITY_MISSING, self.missing.len());
        m.put(&metric::CT_PARITY_MISSING_FLOWS, self.missing.iter().map(|(f, on)| format!("{f} not on {}", on.join(", "))).collect());
    }
}

/// Parity of the traffic's flows that `active` tracks (its internal cache) against every
/// other running member's external cache. None without an active or without such flows.
pub fn missing(lab: &Lab, cl: &PlanCluster, active: &str, addrs: &BTreeSet<String>) -> Option<Parity> {
    let tracked = flows(&lab.node(active).ok()?, "-i", addrs);
    if tracked.is_empty() {
        return None;
    }
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in cl.members.iter().filter(|m| *m != active && lab.running(m)) {
        let synced = flows(&lab.node(m).ok()?, "-e", addrs);
        for f in tracked.difference(&synced) {
            missing.entry(f.clone()).or_default().push(m.clone());
        }
    }
    let evidence = if missing.is_empty() { BTreeMap::new() } else { parity_evidence(lab, cl, &missing) };
    Some(Parity { flows: tracked.len(), missing, evidence })
}

/// What tells why a flow is missing, on every running member, taken at once: conntrackd's
/// counters and queues (a message still waiting for its acknowledgement is in `rsqueue`),
/// both caches in full, the kernel's entries of the missing flows' hosts with their ids and
/// ages, and the end of conntrackd's own log (resyncs, netlink overruns).
fn parity_evidence(lab: &Lab, cl: &PlanCluster, missing: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    let c = conntrackd::CONFIG;
    let hosts: BTreeSet<&str> = missing.keys().flat_map(|f| f.split_whitespace().filter_map(|w| w.rsplit_once(':').map(|(h, _)| h))).collect();
    let kernel = hosts.iter().map(|h| format!("conntrack -L -s {h} -o id,extended")).collect::<Vec<_>>().join("; ");
    // One script per member, so the members are read close together and each in one exec.
    let script: String = [
        ("conntrackd -s", format!("conntrackd -C {c} -s")),
        ("conntrackd -s network", format!("conntrackd -C {c} -s network")),
        ("conntrackd -s queue", format!("conntrackd -C {c} -s queue")),
        ("conntrackd -s rsqueue", format!("conntrackd -C {c} -s rsqueue")),
        ("conntrackd -i (internal cache)", format!("conntrackd -C {c} -i")),
        ("conntrackd -e (external cache)", format!("conntrackd -C {c} -e")),
        ("conntrack -L (kernel, from where the missing flows start)", kernel),
        ("conntrackd log (tail)", format!("tail -n 60 {}", conntrackd::LOG)),
    ]
    .iter()
    .map(|(title, cmd)| format!("echo '### {title}'; {{ {cmd}; }} 2>&1; echo; "))
    .chain(["true".to_string()])
    .collect();
    let head = format!("missing: {}\n", missing.iter().map(|(f, on)| format!("{f} not on {}", on.join(", "))).collect::<Vec<_>>().join("; "));
    let mut out = BTreeMap::new();
    for m in cl.members.iter().filter(|m| lab.running(m)) {
        let Ok(n) = lab.node(m) else { continue };
        out.insert(m.clone(), head.clone() + &n.sh(&script).unwrap_or_else(|e| format!("({e:#})")));
    }
    out
}

/// Into the run's metrics, before the fault: `ct.before.<member>.internal|external|invalid|sync_sent|sync_recv`.
pub fn put_before(m: &mut Metrics, c: &BTreeMap<String, Counters>) {
    put_members(m, &metric::CT_BEFORE, c);
}

/// At the end: `ct.after.<member>...`, and totals over the members: `sync.lost`,
/// `sync.errors`, `sync.out_of_sequence`, `nft.invalid`.
pub fn put_after(m: &mut Metrics, c: &BTreeMap<String, Counters>) {
    put_members(m, &metric::CT_AFTER, c);
    m.put(&metric::SYNC_LOST, c.values().map(|x| x.lost + x.malformed).sum::<u64>());
    m.put(&metric::SYNC_ERRORS, c.values().map(|x| x.errors).sum::<u64>());
    m.put(&metric::SYNC_OUT_OF_SEQUENCE, c.values().map(|x| x.out_of_sequence).sum::<u64>());
    m.put(&metric::NFT_INVALID, c.values().map(|x| x.invalid).sum::<u64>());
}

fn put_members(m: &mut Metrics, at: &metric::Counters, c: &BTreeMap<String, Counters>) {
    for (member, x) in c {
        m.put_member(&at.invalid, member, x.invalid);
        if !x.answered {
            continue;
        }
        m.put_member(&at.internal, member, x.internal);
        m.put_member(&at.external, member, x.external);
        m.put_member(&at.sync_sent, member, x.pkts_sent);
        m.put_member(&at.sync_recv, member, x.pkts_recv);
        m.put_member(&at.out_of_sequence, member, x.out_of_sequence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "cache internal:\ncurrent active connections:\t           3\nconnections created:\t\t           6\tfailed:\t           0\n\ncache external:\ncurrent active connections:\t           2\n\ntraffic processed:\n                   0 Bytes                         0 Pckts\n\nmulticast traffic (active device=heartbeat):\n                2656 Bytes sent                 1808 Bytes recv\n                 115 Pckts sent                  101 Pckts recv\n                   1 Error send                    2 Error recv\n\nmessage tracking:\n                   0 Malformed msgs                    4 Lost msgs\n\nsequence tracking statistics:\n\trecv:\n\t\tPackets lost:\t\t                   0\n\t\tPackets before:\t\t                  12\n";

    #[test]
    fn conntrackd_stats_parse() {
        let c = parse(STATS);
        assert_eq!(
            c,
            Counters {
                internal: 3,
                external: 2,
                pkts_sent: 115,
                pkts_recv: 101,
                errors: 3,
                lost: 4,
                malformed: 0,
                out_of_sequence: 12,
                invalid: 0,
                answered: true
            }
        );
        assert!(!parse("can't connect: is conntrackd running?").answered, "a dead conntrackd answers nothing");
    }

    #[test]
    fn a_flow_between_the_traffics_addresses() {
        let addrs: BTreeSet<String> = ["198.18.1.10".to_string(), "198.18.2.10".to_string()].into();
        let l = "tcp      6 ESTABLISHED src=198.18.1.10 dst=198.18.2.10 sport=40000 dport=22 src=198.18.2.10 dst=198.18.1.10 sport=22 dport=40000 [ASSURED] mark=0 [active since 3s]";
        assert_eq!(flow(l, &addrs).as_deref(), Some("tcp 198.18.1.10:40000 -> 198.18.2.10:22"));
        assert_eq!(flow("udp 17 src=198.18.3.1 dst=225.0.0.50 sport=1 dport=2", &addrs), None);
    }
}
