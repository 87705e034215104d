//! `halab hosts`: an inventory's machines, their pinned keys and leases.

use anyhow::Result;

use super::args::HostsCmd;
use crate::provider::hosts::{inventory, lease, trust};

pub fn run(c: HostsCmd) -> Result<()> {
    match c {
        HostsCmd::Trust { inventory, hosts, replace } => {
            let inv = inventory::load(&inventory)?;
            for line in trust::trust(&inv, &hosts, replace)? {
                println!("{line}");
            }
        }
        HostsCmd::Ls { inventory } => {
            let inv = inventory::load(&inventory)?;
            println!("{:<12} {:<16} {:<8} LEASE", "HOST", "ADDRESS", "KEY");
            for h in &inv.hosts {
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
