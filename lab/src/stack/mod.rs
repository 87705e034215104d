//! HA stacks, generated from the Plan and run through `Node` on any provider: files, a start
//! order, and readiness checks that return only when the stack is really ready.
//!
//! Each stack is one `HaStack` (keepalived/, pacemaker/, none.rs) and `of` is the only place
//! that picks one; what every stack shares (firewall, conntrackd, the VIP holder, the bring-up
//! and switchover flows, status) stays at this level and asks the stack for the rest.

pub mod conntrackd;
pub mod ctstate;
pub mod events;
pub mod firewall;
pub mod keepalived;
mod none;
pub mod pacemaker;
pub mod ready;
pub mod service;
pub mod status;
pub mod switchover;

pub use pacemaker::{cib, corosync, crm};

use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::Lab;
use crate::node::Node;
use crate::progress::Step;
use crate::topology::{PlanCluster, Rejoin, Stack};

/// A member's role as `halab status` shows it, from the member and the VIPs it holds now.
pub type Roles = Box<dyn Fn(&Node, &[String]) -> String>;

/// What every stack does its own way.
pub trait HaStack: Sync {
    /// The stack's name as the user writes it (`cluster.stack`, `--stack`).
    fn name(&self) -> &'static str;
    /// The stack's own daemons, as `halab logs` and status name them (conntrackd apart).
    fn daemons(&self) -> &'static [&'static str];
    /// Log files inside a node of one of `daemons()`; empty for any other daemon.
    fn log_files(&self, daemon: &str) -> &'static [&'static str];
    /// Directories where the stack keeps cluster state across restarts. A member must start
    /// with them empty (an old CIB would join an old cluster); on an existing machine the
    /// host's own copy is kept aside and put back at `down`.
    fn state_dirs(&self) -> &'static [&'static str];
    /// The configuration file `remove_config` takes away from a member.
    fn config_file(&self) -> &'static str;
    /// Status lines with the settings that change the numbers (after `stack NAME`).
    fn settings(&self, cl: &PlanCluster) -> Vec<String>;
    /// What bring-up says while `start` runs on the members.
    fn starting(&self) -> &'static str;
    /// Write the stack's files on one member, after the shared base setup (once, at `up`).
    fn configure(&self, lab: &Lab, cl: &PlanCluster, node: &Node) -> Result<()>;
    /// Start the stack's daemons on one member: at `up`, and when a member boots again and
    /// rejoins with the files its disk kept (a pacemaker member takes the cluster's CIB then).
    fn start(&self, lab: &Lab, cl: &PlanCluster, node: &Node) -> Result<()>;
    /// Is the member back in the cluster: its daemons running and seen by the others
    /// (keepalived: MASTER or BACKUP; pacemaker: online with its resources probed)?
    fn joined(&self, lab: &Lab, cl: &PlanCluster, node: &Node) -> Result<bool>;
    /// Stop the stack cleanly on one member (the `stop_stack` fault): the others take over.
    fn stop(&self, node: &Node) -> Result<()>;
    /// The stack's own part of readiness, once `holder` alone holds every VIP.
    fn ready(&self, lab: &Lab, cl: &PlanCluster, nodes: &[Node], holder: &str) -> Result<bool>;
    /// Reads what the members share once (pacemaker: one crm_mon), then names each one's role.
    fn roles(&self, lab: &Lab, cl: &PlanCluster) -> Roles;
    /// The member that holds the VIPs of a freshly started cluster, when the stack can leave
    /// them elsewhere. keepalived cannot (the highest priority preempts); pacemaker can.
    fn preferred<'a>(&self, _cl: &'a PlanCluster) -> Option<&'a str> {
        None
    }
    /// Move every VIP from `current` to `target`; the caller waits until ready there.
    fn switchover(&self, lab: &Lab, cl: &PlanCluster, current: &str, target: &str) -> Result<()>;
    /// Standby on or off for one member: it stays up but may not hold the VIPs.
    fn standby(&self, _lab: &Lab, _cl: &PlanCluster, _node: &str, _on: bool) -> Result<()> {
        anyhow::bail!("stack `{}` has no standby", self.name())
    }
    /// The cluster's maintenance mode: resources stay where they are, unmanaged.
    fn maintenance(&self, _lab: &Lab, _cl: &PlanCluster, _on: bool) -> Result<()> {
        anyhow::bail!("stack `{}` has no maintenance mode (pacemaker has)", self.name())
    }
    /// Appended to a member's line when the stack is not ready (e.g. its own state).
    fn member_detail(&self, _node: &Node) -> String {
        String::new()
    }
    /// Appended after the members when the stack is not ready (e.g. the cluster's view).
    fn diagnose(&self, _lab: &Lab, _cl: &PlanCluster) -> String {
        String::new()
    }
    /// A stack without daemons starts nothing, not even conntrackd: nothing to wait for.
    fn runs(&self) -> bool {
        !self.daemons().is_empty()
    }
}

/// The implementation of a stack.
pub fn of(s: Stack) -> &'static dyn HaStack {
    match s {
        Stack::None => &none::NoStack,
        Stack::Keepalived => &keepalived::Keepalived,
        Stack::Pacemaker => &pacemaker::Pacemaker,
    }
}

/// Every stack, in the order `Stack::names` lists them.
pub fn all() -> impl Iterator<Item = &'static dyn HaStack> {
    <Stack as clap::ValueEnum>::value_variants().iter().map(|s| of(*s))
}

/// Stop every daemon of the stack on a node, the last started first (pacemaker before
/// corosync): a clean shutdown, after which the others no longer wait for this member's
/// timers (corosync leaving says so at once; killed, it costs a token timeout).
pub fn stop_all(stack: &dyn HaStack, node: &Node) -> Result<()> {
    stack.daemons().iter().rev().try_for_each(|d| node.service_stop(d))
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

const NFT_CONF: &str = "/etc/halab/nftables.conf";

/// Files every member gets whatever the stack: the firewall (or, without one, a ruleset that
/// only tracks connections so conntrackd has state to sync) and conntrackd's config.
fn base_files(st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
    let plan = &st.plan;
    let pn = plan.node(&node.name).context("member not in plan")?;
    if cl.firewall.enabled || conntrackd::enabled(cl) {
        node.put(NFT_CONF, &firewall::ruleset(plan, cl, pn), 0o644, "root:root")?;
    }
    let mgmt = st.node_mgmt_addr(st.node_index(&node.name)?);
    if let Some(conf) = conntrackd::config(plan, cl, pn, mgmt) {
        node.put(conntrackd::CONFIG, &conf, 0o644, "root:root")?;
    }
    Ok(())
}

/// What a member's boot does before the stack starts: load the firewall, then forward (a
/// member boots without forwarding: `Plan::forwards_at_boot`), then the user's `prepare`
/// commands (`boot` is `up` or `rejoin` in their $HALAB_BOOT).
fn base_start(plan: &crate::topology::Plan, cl: &PlanCluster, node: &Node, boot: &str) -> Result<()> {
    if cl.firewall.enabled || conntrackd::enabled(cl) {
        node.run(&["nft", "-f", NFT_CONF])?;
        // Exists once conntrack is active in the node's netns (after a `ct` rule). With 0 a
        // takeover node without synced state drops mid-stream packets as invalid.
        node.run(&["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_loose=0"])?;
    }
    if plan.node(&node.name).is_some_and(|n| n.forwarding) {
        node.run(&["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
    }
    prepare(cl, node, boot)
}

/// The user's `cluster.prepare` commands, in order, each up to 5 minutes; a failure names the
/// command and shows its output.
fn prepare(cl: &PlanCluster, node: &Node, boot: &str) -> Result<()> {
    let env = format!("HALAB_NODE={} HALAB_MEMBERS='{}' HALAB_BOOT={boot}", node.name, cl.members.join(" "));
    for cmd in &cl.service.prepare {
        let o = node.exec(&["sh", "-c", &format!("export {env}; {cmd}")], None, std::time::Duration::from_secs(300))?;
        if !o.status.success() {
            let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            let tail: Vec<&str> = out.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
            anyhow::bail!("cluster.prepare `{cmd}` failed on `{}` ({}):\n{}", node.name, o.status, tail.join("\n"));
        }
    }
    Ok(())
}

/// A member that booted again: with `rejoin: auto` it loads its firewall and starts its
/// stack from the files its disk kept, as a machine whose units are enabled does at boot.
/// halab runs these steps once the node answers (netns nodes have no init system, and the VM
/// image's units are not enabled), so "boot" here ends when the stack's start commands return.
pub fn rejoin(st: &Lab, node: &str) -> Result<()> {
    let Some(cl) = &st.plan.cluster else { return Ok(()) };
    if !cl.members.iter().any(|m| m == node) || cl.rejoin == Rejoin::Manual {
        return Ok(());
    }
    // Two hands can see one boot (a `power_on` fault and the fencer watching fence_virtd's
    // boots): under the node's lock, the first rejoins and marks the boot in its /run (a new
    // tmpfs at every boot, netns and VM alike); the other finds the mark.
    let lock = std::fs::File::create(crate::ledger::lab_dir(&st.plan.lab).join(format!("rejoin-{node}.lock")))?;
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| anyhow::anyhow!("failed to lock {node}'s rejoin: {e}"))?;
    let n = st.node(node)?;
    if n.succeeds(&["test", "-e", REJOINED]) {
        return Ok(());
    }
    base_start(&st.plan, cl, &n, "rejoin")
        .and_then(|_| of(cl.stack).start(st, cl, &n))
        .and_then(|_| n.run(&["touch", REJOINED]).map(drop))
        .with_context(|| format!("`{node}` could not rejoin the cluster"))
}

/// The mark of a boot whose rejoin is done (see `rejoin`).
const REJOINED: &str = "/run/halab-rejoined";

/// The member's files on its disk, not only in its page cache: a power cut soon after `up`
/// must not leave them empty for the next boot (seen on a TCG VM: keepalived.conf empty after
/// a crash 20 s after `up`, ext4 writing back after ~30 s; keepalived then had no config).
fn persist(node: &Node) -> Result<()> {
    node.run(&["sync"]).map(drop)
}

/// Configure and start the lab's stack; return when it is ready.
pub fn bring_up(st: &Lab) -> Result<()> {
    let Some(cl) = &st.plan.cluster else { return Ok(()) };
    let stack = of(cl.stack);
    let step = Step::start(format!("stack {} on {}", cl.stack, cl.members.join(", ")));
    step.message("firewall, conntrackd config, cluster.prepare");
    on_members(st, cl, |n| base_files(st, cl, n).and_then(|_| base_start(&st.plan, cl, n, "up")))?;
    if stack.runs() {
        step.message(stack.starting());
        on_members(st, cl, |n| stack.configure(st, cl, n).and_then(|_| persist(n)).and_then(|_| stack.start(st, cl, n)))?;
        step.message("waiting until the stack is ready");
        let holder = ready::wait(st, cl, ready_timeout(st))?;
        if let Some(preferred) = stack.preferred(cl).filter(|p| *p != holder) {
            // A lab starts as its topology says: a scenario that names the preferred member
            // names the active.
            step.message(&format!("the VIPs came up on {holder}: moving them to the preferred member, {preferred}"));
            switchover::switchover(st, Some(preferred))?;
        }
    }
    step.done("ready");
    Ok(())
}

/// Daemons of a cluster, as `halab logs` and status name them: the stack's and conntrackd.
pub fn daemons(cl: &PlanCluster) -> Vec<&'static str> {
    let mut d = of(cl.stack).daemons().to_vec();
    if conntrackd::enabled(cl) {
        d.push("conntrackd");
    }
    d
}

/// Where a cluster's stack keeps state across restarts (`HaStack::state_dirs`).
pub fn state_dirs(cl: &PlanCluster) -> &'static [&'static str] {
    of(cl.stack).state_dirs()
}

/// What a cluster's stack runs and keeps on a member (`LabState::footprint`).
pub fn footprint(cl: &PlanCluster) -> crate::labstate::Footprint {
    crate::labstate::Footprint {
        daemons: daemons(cl).iter().map(|d| d.to_string()).collect(),
        state_dirs: state_dirs(cl).iter().map(|d| d.to_string()).collect(),
        nft_table: firewall::TABLE.to_string(),
    }
}

/// Log files of a daemon inside a node.
pub fn log_files(daemon: &str) -> Vec<&'static str> {
    let shared: &[&str] = match daemon {
        "conntrackd" => &["/var/log/halab/conntrackd.log", conntrackd::LOG],
        "sshd" => &["/var/log/halab/sshd.log"],
        "web" => &["/var/log/halab/web.log"],
        "iperf3" => &["/var/log/halab/iperf3.log"],
        _ => &[],
    };
    all().map(|s| s.log_files(daemon)).find(|f| !f.is_empty()).unwrap_or(shared).to_vec()
}

#[cfg(test)]
mod tests;
