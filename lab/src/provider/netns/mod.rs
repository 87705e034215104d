//! The netns provider (the embedded default): each node is a set of Linux namespaces over an
//! overlay of the cached image rootfs, with halab's init as PID 1; networks are bridges in a
//! per-lab fabric namespace. Nodes are reached with nsenter (`shell.rs`).

pub mod boot;
pub mod faults;
pub mod init;
pub mod loss;
pub mod names;
pub mod shell;
pub mod supervisor;
pub mod teardown;
pub mod up;
pub mod wiring;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::image::Image;
use crate::labstate::LabState;
use crate::ledger::{process_alive, Ledger, Object};
use crate::node::Shell;
use crate::provider::{Actuators, Options, Provider};

pub struct Netns;

impl Provider for Netns {
    fn name(&self) -> &'static str {
        "netns"
    }
    fn preflight(&self) -> Result<()> {
        if !nix::unistd::Uid::effective().is_root() {
            bail!("halab needs root (namespaces, bridges, mounts): run halab as root");
        }
        for tool in ["ip", "nsenter", "unshare", "ssh-keygen"] {
            crate::image::build::which(tool).with_context(|| format!("`{tool}` is needed: apt-get install iproute2 util-linux openssh-client"))?;
        }
        Ok(())
    }
    fn own_kernel(&self) -> bool {
        false
    }
    fn decide(&self, _: &crate::topology::Plan, _: &Options, _: &Image) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }
    fn up(&self, st: &LabState, ledger: &mut Ledger, _: &Image) -> Result<()> {
        up::up(st, ledger)
    }
    fn teardown(&self, ledger: &Ledger) -> Result<()> {
        teardown::teardown(ledger)
    }
    fn garbage_reason(&self, l: &Ledger) -> Option<String> {
        // The supervisor holds the nodes: without it the lab is dead.
        (supervisor_alive(l) != Some(true)).then(|| "its supervisor is gone".into())
    }
    fn shell(&self, st: &LabState, node: &str) -> Result<Arc<dyn Shell>> {
        st.node_index(node)?;
        Ok(Arc::new(shell::NsShell::new(&st.plan.lab, node)))
    }
    fn actuators<'a>(&self, st: &'a LabState, node: &str) -> Result<Box<dyn Actuators + 'a>> {
        st.node_index(node)?;
        Ok(Box::new(faults::NetnsNode { st, node: node.to_string() }))
    }
    fn host_pid(&self, st: &LabState, node: &str) -> Option<i32> {
        init_pid(&st.plan.lab, node)
    }
    fn interactive(&self, st: &LabState, node: &str, argv: &[String]) -> Result<Option<Command>> {
        exec_command(st, node, argv).map(Some)
    }
    fn helper(&self, name: &str, arg: &std::path::Path) -> Result<()> {
        match name {
            "init" => init::run(arg),
            "supervise" => supervisor::serve(arg),
            _ => bail!("provider `netns` has no helper `{name}`"),
        }
    }
}

/// Is the supervisor of the ledger's netns nodes alive? None: it records none.
pub fn supervisor_alive(l: &Ledger) -> Option<bool> {
    l.data.objects.iter().find_map(|o| match o {
        Object::Process { pid, start_time, what } if what == "supervisor" => Some(process_alive(*pid, *start_time)),
        _ => None,
    })
}

/// PID (in the host namespace) of a running node's init, verified against the ledger.
pub fn init_pid(lab: &str, node: &str) -> Option<i32> {
    let ledger = Ledger::open(lab).ok()?;
    let what = format!("init {node}");
    ledger.data.objects.iter().find_map(|o| match o {
        Object::Process { pid, start_time, what: w } if *w == what && process_alive(*pid, *start_time) => Some(*pid),
        _ => None,
    })
}

/// Kill the processes of the ledger: node inits first (SIGKILL: everything in each node dies),
/// then the supervisor. Waits until they are gone.
pub fn kill_processes(ledger: &Ledger, filter: impl Fn(&str) -> bool) -> Result<()> {
    let mut waiting = Vec::new();
    for o in &ledger.data.objects {
        if let Object::Process { pid, start_time, what } = o {
            if filter(what) && process_alive(*pid, *start_time) {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                waiting.push((*pid, *start_time, what.clone()));
            }
        }
    }
    let alive = || waiting.iter().filter(|(pid, st, _)| process_alive(*pid, *st)).map(|(pid, _, what)| format!("{pid} ({what})")).collect::<Vec<_>>();
    let why = || format!("process(es) {} did not die after SIGKILL", alive().join(", "));
    crate::wait::settle(Duration::from_secs(10), Duration::from_millis(2), || Ok(alive().is_empty()), why)?;
    Ok(())
}

/// Run a command inside a node, in all its namespaces, with a clean environment.
pub fn exec_command(st: &LabState, node: &str, argv: &[String]) -> Result<Command> {
    st.node_index(node)?;
    let Some(pid) = init_pid(&st.plan.lab, node) else { bail!("node `{node}` of lab `{}` is not running (powered off?)", st.plan.lab) };
    Ok(nsenter(pid, argv))
}

/// `nsenter` into every namespace of the node whose init is `pid`.
pub fn nsenter<S: AsRef<std::ffi::OsStr>>(pid: i32, argv: &[S]) -> Command {
    let mut c = Command::new("nsenter");
    // `-r -w`: the node's own root and cwd. Entering its mount namespace alone sets the
    // namespace's first root, which is the node's only when halab's own root is its namespace's
    // (not in a chroot or some containers, where the node's pivot_root leaves it unchanged).
    c.arg("-t").arg(pid.to_string()).args(["-a", "-r", "-w", "--", "/usr/bin/env", "-i"]);
    c.arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").arg("HOME=/root").arg("LANG=C.UTF-8");
    if let Ok(term) = std::env::var("TERM") {
        c.arg(format!("TERM={term}"));
    }
    c.args(argv);
    c
}
