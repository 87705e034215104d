//! `halab hosts`, the provider's own command: an inventory's machines, their pinned keys,
//! health and leases; and the health checks a nightly runs first.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use super::{health, inventory, trust};

#[derive(Parser)]
#[command(name = "halab hosts", about = "Existing machines of an inventory")]
struct HostsCli {
    #[command(subcommand)]
    cmd: HostsCmd,
}

#[derive(Subcommand)]
enum HostsCmd {
    /// Fetch and pin the SSH host key of hosts (all without a name), printing each
    /// fingerprint to compare with the host's console.
    Trust {
        #[arg(long)]
        inventory: PathBuf,
        hosts: Vec<String>,
        /// Replace a pinned key the host no longer shows (a reinstalled host).
        #[arg(long)]
        replace: bool,
    },
    /// Health-check every host (SSH with its pinned key, its lab NICs, its power driver);
    /// a failing host is quarantined with the reason, a passing one released. Exit 3 when
    /// any host fails.
    Check {
        #[arg(long)]
        inventory: PathBuf,
    },
    /// Each host: its address, whether its key is pinned, who holds its lease until when.
    Ls {
        #[arg(long)]
        inventory: PathBuf,
        /// JSON (shape: `halab schema hosts-ls`).
        #[arg(long)]
        json: bool,
    },
}

/// `halab hosts ARGS` (clap prints help and usage errors itself, as for every command).
pub fn run(args: &[String]) -> Result<()> {
    let c = HostsCli::parse_from(std::iter::once("halab hosts".to_string()).chain(args.iter().cloned())).cmd;
    match c {
        HostsCmd::Trust { inventory, hosts, replace } => {
            let inv = inventory::load(&inventory)?;
            for line in trust::trust(&inv, &hosts, replace)? {
                println!("{line}");
            }
        }
        HostsCmd::Check { inventory } => {
            let report = check_and_print(&inventory, "")?;
            let bad = report.iter().filter(|r| !r.failures.is_empty()).count();
            if bad > 0 {
                bail!("{bad} of {} hosts failed their health check and are quarantined", report.len());
            }
        }
        HostsCmd::Ls { inventory, json } => {
            let entries = super::listing::hosts(&inventory::load(&inventory)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                super::listing::lines(&entries).iter().for_each(|l| println!("{l}"));
            }
        }
    }
    Ok(())
}

/// Health-check every host of `inventory`, one line each (`prefix` before the host name).
fn check_and_print(inventory: &Path, prefix: &str) -> Result<Vec<health::Health>> {
    let inv = inventory::load(inventory)?;
    let report = health::check(&inv)?;
    for r in &report {
        match r.failures.as_slice() {
            [] => println!("{prefix}{}: healthy ({:.2} s)", r.host, r.took.as_secs_f64()),
            f => println!("{prefix}{}: QUARANTINED: {} ({:.2} s)", r.host, f.join("; "), r.took.as_secs_f64()),
        }
    }
    Ok(report)
}

/// A nightly's first step: every host's health, printed and written to `out/health.xml`.
pub fn nightly_health(inventory: &Path, out: &Path) -> Result<()> {
    let report = check_and_print(inventory, "health ")?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("health.xml"), health::junit(&report)?)?;
    Ok(())
}
