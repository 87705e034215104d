//! Planned switchover: every VIP (and the promoted conntrackd) moves to another member, and
//! the call returns when the stack is ready again. keepalived: the target gets the highest
//! priority and every member reloads its config (the new priorities stay). pacemaker: the
//! VIP group is moved, then the move constraint is cleared (stickiness keeps it there).

use anyhow::{bail, Result};

use super::{keepalived, ready};
use crate::lab::Lab;
use crate::topology::Stack;

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
    match cl.stack {
        Stack::None => bail!("stack `none` has no switchover: the first member holds the VIPs"),
        Stack::Keepalived => {
            let mut cl2 = cl.clone();
            let top = cl2.keepalived.priorities.iter().map(|(_, p)| *p).max().unwrap_or(150);
            for (m, p) in cl2.keepalived.priorities.iter_mut() {
                if *m == target {
                    *p = (top + 10).min(254);
                } else if *p >= top {
                    *p = top.saturating_sub(10).max(1);
                }
            }
            for m in &cl2.members {
                let n = st.node(m)?;
                let pn = st.plan.node(m).ok_or_else(|| anyhow::anyhow!("no node {m}"))?;
                n.put(keepalived::CONFIG, &keepalived::config(&cl2, pn), 0o644, "root:root")?;
                n.sh("kill -HUP \"$(cat /run/keepalived.pid)\"")?;
            }
        }
        Stack::Pacemaker => {
            let n = st.node(&current)?;
            n.run(&["crm_resource", "--move", "--resource", "vips", "--node", &target])?;
            ready::until(
                super::ready_timeout(st),
                || Ok(ready::check(st, cl)?.as_deref() == Some(target.as_str())),
                || format!("the VIPs did not move to `{target}`:\n{}", ready::diagnose(st, cl)),
            )?;
            n.run(&["crm_resource", "--clear", "--resource", "vips"])?;
        }
    }
    ready::until(
        super::ready_timeout(st),
        || Ok(ready::check(st, cl)?.as_deref() == Some(target.as_str())),
        || format!("the switchover to `{target}` did not complete:\n{}", ready::diagnose(st, cl)),
    )?;
    Ok(target)
}
