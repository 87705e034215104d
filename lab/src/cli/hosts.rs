//! `halab hosts`: an inventory's machines, their pinned keys and leases.

use anyhow::{bail, Result};

use super::args::HostsCmd;
use crate::provider::hosts::{health, inventory, lease, trust};

pub fn run(c: HostsCmd) -> Result<()> {
    match c {
        HostsCmd::Trust { inventory, hosts, replace } => {
            let inv = inventory::load(&inventory)?;
            for line in trust::trust(&inv, &hosts, replace)? {
                println!("{line}");
            }
        }
        HostsCmd::Check { inventory } => {
            let inv = inventory::load(&inventory)?;
            let report = health::check(&inv)?;
            for r in &report {
                match r.failures.as_slice() {
                    [] => println!("{}: healthy ({:.2} s)", r.host, r.took.as_secs_f64()),
                    f => println!("{}: QUARANTINED ({:.2} s): {}", r.host, r.took.as_secs_f64(), f.join("; ")),
                }
            }
            let bad = report.iter().filter(|r| !r.failures.is_empty()).count();
            if bad > 0 {
                bail!("{bad} of {} hosts failed their health check and are quarantined", report.len());
            }
        }
        HostsCmd::Ls { inventory } => {
            let inv = inventory::load(&inventory)?;
            println!("{:<12} {:<16} {:<8} LEASE", "HOST", "ADDRESS", "KEY");
            let q = health::quarantined(&inv);
            for h in &inv.hosts {
                if let Some((_, why)) = q.iter().find(|(n, _)| *n == h.name) {
                    println!("{:<12} {:<16} {:<8} QUARANTINED: {why}", h.name, h.address, "-");
                    continue;
                }
                let (pin, state) = match trust::target(&inv, h) {
                    Err(_) => ("none", "unknown: pin its key with `halab hosts trust`".to_string()),
                    Ok(t) => (
                        "pinned",
                        match lease::show(&t) {
                            Ok(lease::Shown::Free) => "free".into(),
                            Ok(lease::Shown::Leased { owner, lab, left_s }) if left_s >= 0 => format!("{owner} (lab {lab}), {left_s} s left"),
                            Ok(lease::Shown::Leased { owner, lab, left_s }) => format!("expired {} s ago: {owner} (lab {lab})", -left_s),
                            Err(e) => format!("unreachable: {e:#}"),
                        },
                    ),
                };
                println!("{:<12} {:<16} {:<8} {state}", h.name, h.address, pin);
            }
        }
    }
    Ok(())
}
