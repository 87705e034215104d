//! HA stacks, generated from the Plan and run through `Node` on any provider: files, a start
//! order, and readiness checks that return only when the stack is really ready.

pub mod cib;
pub mod conntrackd;
pub mod corosync;
pub mod crm;
pub mod firewall;
pub mod keepalived;
pub mod pacemaker;
pub mod ready;
pub mod status;
pub mod switchover;

use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::Lab;
use crate::node::Node;
use crate::progress::Step;
use crate::topology::{PlanCluster, Stack};

/// What every stack does its own way. (Seam under construction: the rest of the stack's
/// behaviour moves behind it.)
pub trait HaStack: Sync {
    /// Stop the stack cleanly on one member (the `stop_stack` fault): the others take over.
    fn stop(&self, node: &Node) -> Result<()>;
    /// The configuration file `remove_config` takes away from a member.
    fn config_file(&self) -> &'static str;
}

struct NoStack;
struct KeepalivedStack;
struct PacemakerStack;

impl HaStack for NoStack {
    fn stop(&self, _: &Node) -> Result<()> {
        anyhow::bail!("stack `none` has nothing to stop")
    }
    fn config_file(&self) -> &'static str {
        conntrackd::CONFIG
    }
}

impl HaStack for KeepalivedStack {
    fn stop(&self, node: &Node) -> Result<()> {
        node.service_stop("keepalived")
    }
    fn config_file(&self) -> &'static str {
        keepalived::CONFIG
    }
}

impl HaStack for PacemakerStack {
    fn stop(&self, node: &Node) -> Result<()> {
        node.service_stop("pacemaker")
    }
    fn config_file(&self) -> &'static str {
        corosync::CONFIG
    }
}

/// The implementation of a stack.
pub fn of(s: Stack) -> &'static dyn HaStack {
    match s {
        Stack::None => &NoStack,
        Stack::Keepalived => &KeepalivedStack,
        Stack::Pacemaker => &PacemakerStack,
    }
}

/// How long `up` waits for a stack to be ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// READY_TIMEOUT, longer on slow (TCG) nodes.
pub fn ready_timeout(st: &Lab) -> Duration {
    READY_TIMEOUT * st.time_scale()
}

/// Run `f` on every cluster member in parallel; the first error wins.
pub fn on_members<F>(st: &Lab, cl: &PlanCluster, f: F) -> Result<()>
where
    F: Fn(&Node) -> Result<()> + Sync,
{
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let hs: Vec<_> = cl
            .members
            .iter()
            .map(|m| {
                let f = &f;
                s.spawn(move || {
                    let node = st.node(m)?;
                    f(&node)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")))).collect()
    });
    results.into_iter().collect()
}

/// Files every member gets whatever the stack: the firewall (or, without one, a ruleset that
/// only tracks connections so conntrackd has state to sync) and conntrackd's config.
fn base_setup(st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
    let plan = &st.plan;
    let pn = plan.node(&node.name).context("member not in plan")?;
    if cl.firewall.enabled || conntrackd::enabled(cl) {
        node.put("/etc/halab/nftables.conf", &firewall::ruleset(plan, cl, pn), 0o644, "root:root")?;
        node.run(&["nft", "-f", "/etc/halab/nftables.conf"])?;
        // Exists once conntrack is active in the node's netns (after a `ct` rule). With 0 a
        // takeover node without synced state drops mid-stream packets as invalid.
        node.run(&["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_loose=0"])?;
    }
    let mgmt = st.node_mgmt_addr(st.node_index(&node.name)?);
    if let Some(conf) = conntrackd::config(plan, cl, pn, mgmt) {
        node.put(conntrackd::CONFIG, &conf, 0o644, "root:root")?;
    }
    Ok(())
}

/// Configure and start the lab's stack; return when it is ready.
pub fn bring_up(st: &Lab) -> Result<()> {
    let Some(cl) = &st.plan.cluster else { return Ok(()) };
    let step = Step::start(format!("stack {} on {}", cl.stack, cl.members.join(", ")));
    step.message("firewall and conntrackd config");
    on_members(st, cl, |n| base_setup(st, cl, n))?;
    match cl.stack {
        Stack::None => {}
        Stack::Keepalived => {
            step.message("starting conntrackd and keepalived");
            on_members(st, cl, |n| keepalived_start(st, cl, n))?;
        }
        Stack::Pacemaker => {
            step.message("starting corosync and pacemaker (pre-seeded CIB)");
            on_members(st, cl, |n| pacemaker::start(st, cl, n))?;
        }
    }
    if cl.stack != Stack::None {
        step.message("waiting until the stack is ready");
        ready::wait(st, cl, ready_timeout(st))?;
    }
    step.done("ready");
    Ok(())
}

fn keepalived_start(st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
    let pn = st.plan.node(&node.name).context("member not in plan")?;
    node.put(conntrackd::NOTIFY_PATH, &conntrackd::notify_script(), 0o755, "root:root")?;
    node.put(keepalived::CONFIG, &keepalived::config(cl, pn), 0o644, "root:root")?;
    if conntrackd::enabled(cl) {
        node.service_start("conntrackd", &["/usr/sbin/conntrackd", "-C", conntrackd::CONFIG])?;
        ready::until(
            Duration::from_secs(10) * st.time_scale(),
            || Ok(node.succeeds(&["/usr/sbin/conntrackd", "-C", conntrackd::CONFIG, "-s"])),
            || format!("conntrackd does not answer on `{}`", node.name),
        )?;
    }
    node.service_start(
        "keepalived",
        &["/usr/sbin/keepalived", "-n", "-l", "-D", "-f", keepalived::CONFIG, "-p", "/run/keepalived.pid", "-r", "/run/keepalived_vrrp.pid"],
    )
}

/// Daemons of a stack, as `halab logs` and status name them.
pub fn daemons(cl: &PlanCluster) -> Vec<&'static str> {
    let mut d = match cl.stack {
        Stack::None => vec![],
        Stack::Keepalived => vec!["keepalived"],
        Stack::Pacemaker => vec!["corosync", "pacemaker"],
    };
    if conntrackd::enabled(cl) {
        d.push("conntrackd");
    }
    d
}

/// Log files of a daemon inside a node.
pub fn log_files(daemon: &str) -> Vec<&'static str> {
    match daemon {
        "keepalived" => vec!["/var/log/halab/keepalived.log", "/var/log/halab/ha-notify.log"],
        "conntrackd" => vec!["/var/log/halab/conntrackd.log", "/var/log/halab/conntrackd-events.log"],
        "corosync" => vec!["/var/log/halab/corosync.log", "/var/log/halab/corosync-events.log"],
        "pacemaker" => vec![pacemaker::LOG, "/var/log/halab/pacemaker.log"],
        "sshd" => vec!["/var/log/halab/sshd.log"],
        "web" => vec!["/var/log/halab/web.log"],
        "iperf3" => vec!["/var/log/halab/iperf3.log"],
        _ => vec![],
    }
}
