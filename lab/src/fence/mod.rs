//! Fencing: how a pacemaker cluster in a lab powers off a member it lost, through its own
//! fencer (stonith-ng) and a real fence agent, never around it.
//!
//! - `halab` (any provider): the members run `fence_halab` (`agent.rs`, built on the
//!   fence-agents library), which asks the lab's fencer (`fencer/`, one host process per lab,
//!   in the ledger) on the management network, authenticated by a per-lab key. The fencer
//!   powers the node off and on with the same primitives as the `crash` and `power_on`
//!   faults, so a fenced member rejoins per `cluster.rejoin`.
//! - `virt` (libvirt, its default): Debian's fence_virt in the members, fence_virtd on the
//!   host (`fencer/virtd.rs`), run by the same per-lab fencer process.
//!
//! Here is what the members and the reports need (the agent, the key, the method, the log of
//! actions and the metrics from it); the fencer, which acts on the lab, is `fencer/`, above it.
//! Every action the fencer took is a line of `fence.log` in the lab's directory: the runner's
//! fencing numbers come from there.

pub mod agent;
mod log;
mod metrics;

pub use log::{actions, append, Action};
pub use metrics::{confirmed, metrics};

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::diag::{Diagnostic, InputError};
use crate::ledger::lab_dir;
use crate::topology::{FenceMethod, Plan};

/// The fencer's TCP port on the host's management address (one address per lab).
pub const PORT: u16 = 7410;
/// The lab's key inside each member (root only).
pub const KEY_FILE: &str = "/etc/halab/fence.key";
/// fence_virtd's tcp port (its default) on the lab's management address (`virt`).
pub const VIRTD_PORT: u16 = 1229;
/// The lab's key in each member for fence_virt: its default path, so no device parameter.
pub const VIRT_KEY_FILE: &str = "/etc/cluster/fence_xvm.key";
/// The fencer's name in the ledger.
pub const WHAT: &str = "fencer";
/// fence_virtd, the `virt` method's daemon (the fencer's child, in the ledger on its own).
pub const DAEMON: &str = "fence_virtd";

/// The method this provider will fence with: the topology's if the provider can, its own first
/// one when the topology says nothing. A method it cannot do is bad input at the topology's
/// line (exit 2).
pub fn resolve(plan: &mut Plan, provider: &str, methods: &[FenceMethod]) -> Result<()> {
    let Some(cl) = plan.cluster.as_mut() else { return Ok(()) };
    let f = &mut cl.fencing;
    match f.method {
        None => f.method = methods.first().copied(),
        Some(FenceMethod::Off) => {}
        Some(m) if methods.contains(&m) => {}
        Some(m) => {
            let at = f.at.clone().unwrap_or_else(|| crate::diag::Span::whole_file(&plan.topology));
            let can: Vec<&str> = methods.iter().map(|x| x.name()).collect();
            return Err(InputError::one(Diagnostic::at(
                &at,
                "cluster.fencing.method",
                &format!("the {provider} provider cannot fence with `{}`", m.name()),
                &format!("it can: {}, or off", can.join(", ")),
            ))
            .into());
        }
    }
    Ok(())
}

/// A member's libvirt domain (the name fence_virtd is asked for).
pub fn domain_name(lab: &str, node: &str) -> String {
    format!("{lab}-{node}")
}

pub(crate) fn key_path(lab: &str) -> PathBuf {
    lab_dir(lab).join("fence.key")
}

/// The lab's key (made at `start`).
pub fn key(lab: &str) -> Result<String> {
    Ok(std::fs::read_to_string(key_path(lab)).context("the lab has no fence key")?.trim().to_string())
}
