//! Reaching a netns node: nsenter into the namespaces of its init. Services run under halab's
//! own init (`halab _svc`), since a netns node has no systemd.

use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::ledger::{proc_start_time, process_alive};
use crate::node::Shell;

pub struct NsShell {
    lab: String,
    node: String,
    /// The init PID and its start time, re-read from the ledger once it is gone (power cycle).
    init: Mutex<Option<(i32, u64)>>,
}

impl NsShell {
    pub fn new(lab: &str, node: &str) -> NsShell {
        NsShell { lab: lab.into(), node: node.into(), init: Mutex::new(None) }
    }

    fn init_pid(&self) -> Result<i32> {
        let mut cached = self.init.lock().map_err(|_| anyhow::anyhow!("a thread panicked holding the node's PID"))?;
        if let Some((pid, st)) = *cached {
            if process_alive(pid, st) {
                return Ok(pid);
            }
        }
        let Some(pid) = super::init_pid(&self.lab, &self.node) else {
            *cached = None;
            bail!("node `{}` of lab `{}` is not running (powered off?)", self.node, self.lab)
        };
        *cached = Some((pid, proc_start_time(pid).unwrap_or(0)));
        Ok(pid)
    }

    fn svc(&self, args: &[&str]) -> Result<Output> {
        let mut argv = vec!["halab", "_svc"];
        argv.extend_from_slice(args);
        self.exec(&argv, None, crate::cmd::limit::SCRIPT)
    }
}

fn checked(o: Output, what: &str) -> Result<()> {
    if !o.status.success() {
        bail!("{what} failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr).trim());
    }
    Ok(())
}

impl Shell for NsShell {
    fn exec(&self, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
        let pid = self.init_pid()?;
        crate::cmd::output_timeout(super::nsenter(pid, argv), stdin, timeout)
    }
    fn service_start(&self, name: &str, argv: &[&str]) -> Result<()> {
        let mut args = vec!["start", name, "--"];
        args.extend_from_slice(argv);
        checked(self.svc(&args)?, "halab _svc start")
    }
    fn service_stop(&self, name: &str) -> Result<()> {
        checked(self.svc(&["stop", name])?, "halab _svc stop")
    }
    fn service_running(&self, name: &str) -> bool {
        self.svc(&["status", name]).is_ok_and(|o| o.status.success())
    }
}
