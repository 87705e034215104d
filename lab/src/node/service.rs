//! `halab _svc start|stop|status NAME`, run *inside* a node: a service is a process in its own
//! session, its PID (and start time, against PID reuse) in /run/halab/svc/NAME.pid, its output
//! in /var/log/halab/NAME.log. Orphaned services are reaped by the node's init.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::ledger::process_alive;

/// A service a topology can name (`services: [web]`): its name and command line inside a node,
/// the same on every provider.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Service {
    pub name: String,
    pub argv: Vec<String>,
}

/// The command line of a known service.
pub fn known(name: &str) -> Option<Service> {
    let argv: &[&str] = match name {
        "sshd" => &["/usr/sbin/sshd", "-D", "-e"],
        "web" => return Some(Service { name: name.into(), argv: super::web::argv() }),
        "iperf3" => &["/usr/bin/iperf3", "-s"],
        _ => return None,
    };
    Some(Service { name: name.into(), argv: argv.iter().map(|s| s.to_string()).collect() })
}

use super::shell::LOG_DIR;
const PID_DIR: &str = "/run/halab/svc";

fn pid_of(name: &str) -> Option<(i32, u64)> {
    let text = std::fs::read_to_string(format!("{PID_DIR}/{name}.pid")).ok()?;
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

pub fn running(name: &str) -> bool {
    pid_of(name).is_some_and(|(p, s)| process_alive(p, s))
}

pub fn start(name: &str, argv: &[String]) -> Result<()> {
    if running(name) {
        return Ok(());
    }
    std::fs::create_dir_all(PID_DIR)?;
    std::fs::create_dir_all(LOG_DIR)?;
    let (prog, args) = argv.split_first().context("no command given")?;
    let mut c = Command::new(prog);
    c.args(args);
    // When this process exits, the node's init adopts and reaps it.
    let (pid, start) = crate::cmd::spawn_daemon(c, Path::new(&format!("{LOG_DIR}/{name}.log")))?;
    std::fs::write(format!("{PID_DIR}/{name}.pid"), format!("{pid} {start}\n"))?;
    Ok(())
}

pub fn stop(name: &str) -> Result<()> {
    let Some((pid, st)) = pid_of(name) else { return Ok(()) };
    if process_alive(pid, st) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        // 10 s to end cleanly, then SIGKILL.
        let gone = || Ok(!process_alive(pid, st));
        if crate::wait::settle(Duration::from_secs(10), Duration::from_millis(10), gone, String::new).is_err() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            crate::wait::settle(Duration::from_secs(1), Duration::from_millis(10), gone, || format!("service {name} (pid {pid}) does not stop"))?;
        }
    }
    let _ = std::fs::remove_file(format!("{PID_DIR}/{name}.pid"));
    Ok(())
}
