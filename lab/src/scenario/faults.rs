//! Faults of a scenario, applied through the provider primitives and `Node`. Timed faults
//! (`duration:`) are undone in the background so the scenario goes on meanwhile.

use std::time::Duration;

use anyhow::{Context, Result};

use super::plan::{Fault, FaultKind, Target};
use crate::lab::Lab;
use crate::stack::{self, ready};

/// Resolve `@active` / `@standby` to a member now.
pub fn resolve(st: &Lab, t: &Target) -> Result<String> {
    let cl = st.plan.cluster.as_ref();
    match t {
        Target::Node(n) => Ok(n.clone()),
        Target::Active | Target::Standby => {
            let cl = cl.context("no cluster")?;
            let mut holder = None;
            for m in &cl.members {
                let n = st.node(m)?;
                if st.running(m) && !ready::vips_held(&n, cl)?.is_empty() {
                    holder = Some(m.clone());
                    break;
                }
            }
            let holder = holder.context("no member holds the VIPs now")?;
            if *t == Target::Active {
                return Ok(holder);
            }
            cl.members.iter().find(|m| **m != holder).cloned().context("there is no standby member")
        }
    }
}

fn later(d: Option<Duration>, f: impl FnOnce() + Send + 'static) -> Option<std::thread::JoinHandle<()>> {
    d.map(|d| {
        std::thread::spawn(move || {
            std::thread::sleep(d);
            f();
        })
    })
}

/// Apply a fault; returns the node it hit and an undo thread for timed faults.
pub fn apply(st: &Lab, f: &Fault) -> Result<(String, Option<std::thread::JoinHandle<()>>)> {
    let node = match &f.node {
        Some(t) => resolve(st, t)?,
        None => String::new(),
    };
    let iface = f.iface.clone().unwrap_or_default();
    let cl = st.plan.cluster.clone();
    let mut undo = None;
    let prim = if node.is_empty() { None } else { Some(st.actuators(&node)?) };
    let prim = || prim.as_deref().context("this fault needs a node");
    match f.kind {
        FaultKind::Crash => prim()?.power_off()?,
        FaultKind::PowerOn => prim()?.power_on()?,
        FaultKind::Reboot => prim()?.reboot()?,
        FaultKind::CablePull => {
            prim()?.set_link(&iface, false)?;
            let (st2, n2, i2) = (st.clone(), node.clone(), iface.clone());
            undo = later(f.duration, move || {
                let _ = st2.actuators(&n2).and_then(|a| a.set_link(&i2, true));
            });
        }
        FaultKind::CablePlug => prim()?.set_link(&iface, true)?,
        FaultKind::Block | FaultKind::Loss => {
            prim()?.set_loss(&iface, f.percent)?;
            let (st2, n2, i2) = (st.clone(), node.clone(), iface.clone());
            undo = later(f.duration, move || {
                let _ = st2.actuators(&n2).and_then(|a| a.set_loss(&i2, 0));
            });
        }
        FaultKind::Switchover => {
            let to = f.to.clone();
            let holder = stack::switchover::switchover(st, to.as_deref())?;
            return Ok((holder, None));
        }
        FaultKind::StopStack => {
            let cl = cl.context("no cluster")?;
            stack::of(cl.stack).stop(&st.node(&node)?)?;
        }
        FaultKind::KillDaemon => {
            let d = f.daemon.clone().unwrap_or_default();
            let n = st.node(&node)?;
            // Inside the node's own PID namespace, by PID: nothing outside the node is touched.
            // pidof matches whole program names; pgrep -x stops at 15 characters (pacemaker-controld).
            let pids = n.run(&["pidof", &d]).with_context(|| format!("no `{d}` runs on {node}"))?;
            for pid in pids.split_whitespace() {
                n.run(&["kill", "-9", pid])?;
            }
        }
        FaultKind::HeartbeatPartition => {
            let cl = cl.context("no cluster")?;
            let mut nets: Vec<String> = cl.corosync.links.clone();
            nets.extend(cl.sync.network.clone());
            nets.sort();
            nets.dedup();
            let pn = st.plan.node(&node).context("node")?;
            let ifs: Vec<String> = pn.interfaces.iter().filter(|i| nets.contains(&i.network)).map(|i| i.ifname.clone()).collect();
            for i in &ifs {
                prim()?.set_loss(i, 100)?;
            }
            let (st2, n2) = (st.clone(), node.clone());
            undo = later(f.duration, move || {
                for i in &ifs {
                    let _ = st2.actuators(&n2).and_then(|a| a.set_loss(i, 0));
                }
            });
        }
        FaultKind::RemoveConfig => {
            let cl = cl.context("no cluster")?;
            st.node(&node)?.run(&["chmod", "000", stack::of(cl.stack).config_file()])?;
        }
    }
    Ok((node, undo))
}
