//! Is each host cabled as the inventory says? Every node pings every other node on each
//! network they share (one echo, 1 s), before any stack runs: a NIC on the wrong switch fails
//! `up` here, naming both ends, instead of as a cluster that never forms.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::Settings;
use crate::labstate::LabState;

/// Every pair (from, to, network, address) that did not answer; an error listing them.
pub fn check(st: &LabState, s: &Settings) -> Result<Duration> {
    let t0 = Instant::now();
    let pairs: Vec<(String, String, String, String)> = st
        .plan
        .nodes
        .iter()
        .flat_map(|a| {
            a.interfaces.iter().flat_map(move |ia| {
                st.plan.nodes.iter().filter(move |b| b.name != a.name).flat_map(move |b| {
                    b.interfaces
                        .iter()
                        .filter(move |ib| ib.network == ia.network)
                        .map(move |ib| (a.name.clone(), b.name.clone(), ia.network.clone(), ib.address.to_string()))
                })
            })
        })
        .collect();
    let by_node: Vec<String> = st.plan.nodes.iter().map(|n| n.name.clone()).collect();
    let missing = crate::parallel::try_each(&by_node, |from| {
        let mine: Vec<&(String, String, String, String)> = pairs.iter().filter(|p| p.0 == *from).collect();
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let script: String =
            mine.iter().enumerate().map(|(i, p)| format!("ping -n -q -c 1 -W 1 {} >/dev/null 2>&1 || echo {i} &\n", p.3)).collect::<String>() + "wait\n";
        let o = crate::transport::exec(&s.target(from)?, &["sh", "-c", &script], None, crate::cmd::limit::SCRIPT)?;
        let lost: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.trim().parse::<usize>().ok())
            .filter_map(|i| mine.get(i))
            .map(|p| {
                let host = |n: &str| s.binding(n).map(|b| b.host.name.clone()).unwrap_or_default();
                format!("{} (host {}) does not reach {} (host {}) at {} on {}", p.0, host(&p.0), p.1, host(&p.1), p.3, p.2)
            })
            .collect();
        Ok(lost)
    })?;
    let lost: Vec<String> = missing.into_iter().flatten().collect();
    if !lost.is_empty() {
        bail!("the hosts are not cabled as the inventory says:\n  {}", lost.join("\n  "));
    }
    Ok(t0.elapsed())
}
