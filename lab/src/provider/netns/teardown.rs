//! Removing a netns lab from its ledger alone: processes (node inits, then the supervisor),
//! the host's management veth, namespaces. Idempotent: what is gone already is skipped.

use anyhow::{anyhow, Result};

use super::kill_processes;
use super::wiring::netns_exists;
use crate::cmd;
use crate::ledger::{Ledger, Object};

pub fn teardown(ledger: &Ledger) -> Result<()> {
    let objs = &ledger.data.objects;
    // 1. Processes: node inits (a power cut of every node), then the supervisor.
    kill_processes(ledger, |w| w.starts_with("init "))?;
    kill_processes(ledger, |_| true)?;
    // 2. Links: the host's management veth, synchronously (its name lives in the host
    //    namespace, so a quick re-`up` must not find it). Links inside a namespace that goes
    //    too are left to the kernel's (asynchronous, batched) namespace cleanup: deleting
    //    veths one by one costs an RCU grace period each.
    let mut errors = Vec::new();
    let mut by_ns: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for o in objs {
        match o {
            Object::Link { netns: None, name } if std::path::Path::new("/sys/class/net").join(name).exists() => {
                if let Err(e) = cmd::run("ip", &["link", "del", name]) {
                    errors.push(e);
                }
            }
            Object::Link { netns: Some(ns), name } => by_ns.entry(ns.as_str()).or_default().push(name.as_str()),
            _ => {}
        }
    }
    let doomed: Vec<&str> = objs.iter().filter_map(|o| if let Object::Netns { name } = o { Some(name.as_str()) } else { None }).collect();
    for (ns, links) in by_ns {
        if netns_exists(ns) && !doomed.contains(&ns) {
            let batch: String = links.iter().map(|l| format!("link del {l}\n")).collect();
            // -force: go on past links that are gone already; what is left is checked below.
            let _ = cmd::run_input("ip", &["-force", "-n", ns, "-batch", "-"], Some(&batch));
            let left = cmd::run("ip", &["-n", ns, "-o", "link"]).unwrap_or_default();
            let remaining: Vec<&str> = links.iter().copied().filter(|l| left.contains(&format!(": {l}@"))).collect();
            if !remaining.is_empty() {
                errors.push(anyhow!("links {} in {ns} could not be deleted", remaining.join(", ")));
            }
        }
    }
    // 3. Namespaces, in one batch.
    let names: Vec<&str> = doomed.iter().copied().filter(|n| netns_exists(n)).collect();
    if !names.is_empty() {
        let batch: String = names.iter().map(|n| format!("netns del {n}\n")).collect();
        let _ = cmd::run_input("ip", &["-force", "-batch", "-"], Some(&batch));
        for n in names.iter().filter(|n| netns_exists(n)) {
            errors.push(anyhow!("network namespace {n} could not be deleted"));
        }
    }
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
