//! Planned switchover: every VIP (and the promoted conntrackd) moves to another member, and
//! the call returns when the stack is ready again. How the VIPs move is the stack's
//! (`HaStack::switchover`): keepalived reprioritises and reloads, pacemaker moves the group.

use anyhow::{bail, Result};

use super::ready;
use crate::lab::Lab;

/// Move the VIPs to `to` (by default the first member not holding them); returns the holder.
pub fn switchover(st: &Lab, to: Option<&str>) -> Result<String> {
    let Some(cl) = &st.plan.cluster else { bail!("lab `{}` has no cluster", st.plan.lab) };
    let Some(current) = ready::check(st, cl)? else { bail!("the cluster is not in a ready state; see `halab status {}`", st.plan.lab) };
    let target = match to {
        Some(t) if cl.members.iter().any(|m| m == t) => t.to_string(),
        Some(t) => bail!("`{t}` is not a cluster member ({})", cl.members.join(", ")),
        None => cl.members.iter().find(|m| **m != current).cloned().unwrap_or_default(),
    };
    if target == current {
        return Ok(target);
    }
    super::of(cl.stack).switchover(st, cl, &current, &target)?;
    crate::wait::until(
        super::ready_timeout(st),
        crate::wait::EVERY,
        || Ok(ready::check(st, cl)?.as_deref() == Some(target.as_str())),
        || format!("the switchover to `{target}` did not complete:\n{}", ready::diagnose(st, cl)),
    )?;
    Ok(target)
}
