//! A node's power as the rest of halab uses it: power on, reboot, a boot the cluster's fencing
//! caused; each boot ends with the member rejoining its cluster (`cluster.rejoin`). The
//! provider only switches the power (`provider::Actuators`); the lab knows its nodes; the
//! stack knows how a member rejoins. Here the three meet, above all of them.

use std::time::Duration;

use anyhow::Result;

use crate::lab::Lab;

/// Boot a powered-off node; a cluster member then rejoins (`cluster.rejoin`). A node that is
/// on already (the cluster's fencing booted it) is left as it is.
pub fn power_on(lab: &Lab, node: &str) -> Result<()> {
    if lab.booting(node) {
        // Powered on by someone else (the fencer): that boot ends it, rejoin included.
        let boot = Duration::from_millis(lab.plan.boot_time_ms.into());
        let what = || format!("node `{node}` did not finish the boot it was powered on for");
        crate::wait::until(boot + Duration::from_secs(60), crate::wait::EVERY, || Ok(lab.running(node)), what)?;
    }
    if lab.running(node) {
        return Ok(());
    }
    lab.actuators(node)?.power_on()?;
    booted(lab, node)
}

/// Reboot a node; a cluster member then rejoins (`cluster.rejoin`).
pub fn reboot(lab: &Lab, node: &str) -> Result<()> {
    lab.actuators(node)?.reboot()?;
    booted(lab, node)
}

/// The cluster's fencing booted a member (the fencer saw it): once it answers, it rejoins as
/// after `power_on`.
pub fn booted_by_fencing(lab: &Lab, node: &str) -> Result<()> {
    lab.actuators(node)?.booted()?;
    booted(lab, node)
}

/// A new boot: a new shell, then the member's stack.
fn booted(lab: &Lab, node: &str) -> Result<()> {
    lab.forget_shell(node)?;
    crate::stack::rejoin(lab, node)
}
