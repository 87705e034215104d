//! What breaks a netns node: cable pull, power cut, power on, reboot, freeze, loss.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::up::{boot_nodes, node_dir, wait_ready};
use super::{init_pid, kill_processes, wiring};
use crate::labstate::LabState;
use crate::ledger::{process_alive, Ledger, Object};

/// Pull (`up = false`) or plug a node's cable: the fabric-side end goes down and the node
/// sees NO-CARRIER, its addresses stay (as on a real NIC).
pub fn set_link(st: &LabState, node: &str, ifname: &str, up: bool) -> Result<()> {
    let ni = st.node_index(node)?;
    wiring::set_port(st, ni, ifname, up)
}

/// Power cut: SIGKILL of the node's init kills everything in it at once; then its namespace
/// and cables go, so no kernel state (addresses, VIPs, conntrack, nft rules) survives.
pub fn power_off(st: &LabState, node: &str) -> Result<()> {
    let ni = st.node_index(node)?;
    let mut ledger = Ledger::open(&st.plan.lab)?;
    let what = format!("init {node}");
    // A boot under way stops too (the power goes while the machine boots).
    let _ = std::fs::remove_file(booting_file(st, node));
    kill_processes(&ledger, |w| w == what)?;
    forget_init(&mut ledger, &what)?;
    wiring::unwire_node(st, &mut ledger, ni)
}

/// While a powered-on node boots: the file names that boot, so that a power cut meanwhile
/// (another process: the fencer, a fault) ends it.
fn booting_file(st: &LabState, node: &str) -> std::path::PathBuf {
    node_dir(&st.plan.lab, node).join("booting")
}

/// Powered on and not yet up (within the topology's `boot_time`): a marker whose process
/// still waits out the boot (one killed meanwhile left a boot that never ends).
pub fn booting(st: &LabState, node: &str) -> bool {
    let Ok(token) = std::fs::read_to_string(booting_file(st, node)) else { return false };
    token.split_whitespace().next().and_then(|p| p.parse::<i32>().ok()).is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// Boot a powered-off node again from its upper dir (its "disk"); services restart. As on a
/// machine, its network comes up only after the topology's `boot_time`: without it a fenced
/// member would be back in 0.1 s and carry traffic before the survivor took over.
pub fn power_on(st: &LabState, node: &str) -> Result<()> {
    let ni = st.node_index(node)?;
    if init_pid(&st.plan.lab, node).is_some() {
        bail!("node `{node}` is already running");
    }
    boot_wait(st, node)?;
    let mut ledger = Ledger::open(&st.plan.lab)?;
    if wiring::netns_exists(&super::names::node_ns(&st.plan, node)) {
        wiring::unwire_node(st, &mut ledger, ni)?;
    }
    wiring::wire_nodes(st, &mut ledger, &[ni])?;
    boot_nodes(st, &mut ledger, &[ni])?;
    wait_ready(st, &[ni], Duration::from_secs(30))
}

/// The boot itself: `boot_time` with the node unwired, ended early by a power cut (the marker
/// gone or another boot's) or an interrupt; the marker never outlives it.
fn boot_wait(st: &LabState, node: &str) -> Result<()> {
    let boot = Duration::from_millis(st.plan.boot_time_ms.into());
    if boot.is_zero() {
        return Ok(());
    }
    let marker = booting_file(st, node);
    let token = format!("{} {}", std::process::id(), crate::measure::clock::now_ns());
    std::fs::write(&marker, &token)?;
    let mine = || std::fs::read_to_string(&marker).is_ok_and(|t| t == token);
    let end = std::time::Instant::now() + boot;
    let booted = || {
        if !mine() {
            bail!("node `{node}` was powered off while it booted");
        }
        Ok(std::time::Instant::now() >= end)
    };
    let waited = crate::wait::until(boot + Duration::from_secs(1), crate::wait::EVERY, booted, || format!("the boot of node `{node}`"));
    if mine() {
        let _ = std::fs::remove_file(&marker);
    }
    waited.map(|_| ())
}

/// Graceful reboot: SIGTERM to init (services get 3 s to stop), then power on.
pub fn reboot(st: &LabState, node: &str) -> Result<()> {
    let Some(pid) = init_pid(&st.plan.lab, node) else { bail!("node `{node}` is not running") };
    let start = crate::ledger::proc_start_time(pid).unwrap_or(0);
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    // A grace period for a clean shutdown; then the power goes anyway.
    let _ = crate::wait::settle(Duration::from_secs(5), Duration::from_millis(10), || Ok(!process_alive(pid, start)), String::new);
    power_off(st, node)?;
    power_on(st, node)
}

fn forget_init(ledger: &mut Ledger, what: &str) -> Result<()> {
    ledger.forget(|o| matches!(o, Object::Process { what: w, .. } if w == what))
}

/// Freeze: SIGSTOP to every process of the node (its init and what descends from it); thaw
/// with SIGCONT. Unlike a suspended VM, the node's kernel side (ARP, ICMP echo, conntrack)
/// still answers: the netns kernel is the host's. Commands halab is running in the node
/// through nsenter (the VIP watcher's `ip addr`, log readers) are visitors, not the node's:
/// they are left running. Stopping one also stopped its nsenter on the host (nsenter passes
/// a child's stop on to itself), which no thaw of the node resumes: the watcher went blind
/// for its query's whole timeout and missed the survivor's takeover.
pub fn freeze(st: &LabState, node: &str, frozen: bool) -> Result<()> {
    let Some(init) = init_pid(&st.plan.lab, node) else { bail!("node `{node}` is not running") };
    let ns = std::fs::read_link(format!("/proc/{init}/ns/pid"))?;
    let node_pids = || -> Result<Vec<i32>> {
        let in_ns: BTreeSet<i32> = std::fs::read_dir("/proc")?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|n| n == ns))
            .collect();
        Ok(in_ns.iter().copied().filter(|p| descends_from(*p, init, &in_ns)).collect())
    };
    let sig = if frozen { Signal::SIGSTOP } else { Signal::SIGCONT };
    let mut pids = node_pids()?;
    // Thaw init first, stop it last, so it never sees a half-frozen node.
    pids.sort_by_key(|p| (*p == init) == frozen);
    for p in &pids {
        let _ = kill(Pid::from_raw(*p), sig);
    }
    if !frozen {
        return Ok(());
    }
    // A process stops only when it next runs (later on a loaded box), and a child forked
    // meanwhile got no signal: frozen means every process of the node shows stopped.
    crate::wait::until(
        Duration::from_secs(10),
        crate::wait::EVERY,
        || {
            let running: Vec<i32> = node_pids()?.into_iter().filter(|p| !matches!(crate::ledger::proc_state(*p), Some('T' | 't' | 'Z' | 'X') | None)).collect();
            for p in &running {
                let _ = kill(Pid::from_raw(*p), Signal::SIGSTOP);
            }
            Ok(running.is_empty())
        },
        || format!("node `{node}` did not freeze: some of its processes kept running"),
    )?;
    Ok(())
}

/// Does `pid` descend from `init` without leaving the namespace's processes `in_ns`? A
/// process nsenter put in the namespace has its parent outside it.
fn descends_from(mut pid: i32, init: i32, in_ns: &BTreeSet<i32>) -> bool {
    for _ in 0..in_ns.len() + 1 {
        if pid == init {
            return true;
        }
        match crate::ledger::proc_ppid(pid) {
            Some(p) if in_ns.contains(&p) => pid = p,
            _ => return false,
        }
    }
    false
}

/// One netns node's actuators.
pub struct NetnsNode<'a> {
    pub st: &'a LabState,
    pub node: String,
}

impl crate::provider::Actuators for NetnsNode<'_> {
    fn describe(&self, part: crate::provider::Part) -> String {
        use crate::provider::Part::*;
        match part {
            Power => "netns: SIGKILL of the node's init, its namespace and links removed (a power cut)",
            Cable => "netns: the bridge port of the link set down (carrier loss)",
            Loss => "netns: nft drop on the fabric side",
            Freeze => "netns: SIGSTOP to every process of the node",
        }
        .into()
    }
    fn running(&self) -> bool {
        init_pid(&self.st.plan.lab, &self.node).is_some()
    }
    fn booting(&self) -> bool {
        booting(self.st, &self.node)
    }
    fn set_link(&self, ifname: &str, up: bool, _heal_after: Option<Duration>) -> Result<()> {
        set_link(self.st, &self.node, ifname, up)
    }
    fn power_off(&self) -> Result<()> {
        power_off(self.st, &self.node)
    }
    fn power_on(&self) -> Result<()> {
        power_on(self.st, &self.node)
    }
    fn reboot(&self) -> Result<()> {
        reboot(self.st, &self.node)
    }
    fn freeze(&self, frozen: bool) -> Result<()> {
        freeze(self.st, &self.node, frozen)
    }
    fn set_loss(&self, ifname: &str, percent: u32, _heal_after: Option<Duration>) -> Result<()> {
        super::loss::set_loss(self.st, &self.node, ifname, percent)
    }
}
