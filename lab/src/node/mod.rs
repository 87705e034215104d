//! A lab node as stacks and scenarios see it: run commands, write files, start and stop
//! services, read logs. Never a provider: the same calls work on every provider.

pub mod cli;
pub mod service;

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::labstate::LabState;

/// Default time a command inside a node may take.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Node<'a> {
    pub lab: &'a LabState,
    pub name: String,
}

impl<'a> Node<'a> {
    pub fn new(lab: &'a LabState, name: &str) -> Result<Node<'a>> {
        lab.node_index(name)?;
        Ok(Node { lab, name: name.to_string() })
    }

    /// Run argv inside the node; returns whatever it exited with.
    pub fn exec(&self, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
        crate::provider::of(self.lab).exec(&self.name, argv, stdin, timeout).with_context(|| format!("on node `{}`: `{}`", self.name, argv.join(" ")))
    }

    /// Run argv; fail (naming node, command and stderr) unless it exits 0.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let o = self.exec(argv, None, EXEC_TIMEOUT)?;
        if !o.status.success() {
            bail!("on node `{}`: `{}` failed ({}): {}", self.name, argv.join(" "), o.status, String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Run a shell script with `sh -c`.
    pub fn sh(&self, script: &str) -> Result<String> {
        self.run(&["sh", "-c", script])
    }

    /// True when argv exits 0 (a check, not an error).
    pub fn succeeds(&self, argv: &[&str]) -> bool {
        self.exec(argv, None, EXEC_TIMEOUT).is_ok_and(|o| o.status.success())
    }

    /// Write a file inside the node (parent dirs made), with a mode and owner.
    pub fn put(&self, path: &str, content: &str, mode: u32, owner: &str) -> Result<()> {
        crate::provider::of(self.lab).put(&self.name, path, content.as_bytes(), mode, owner)
    }

    /// Is the node powered on?
    pub fn running(&self) -> bool {
        crate::provider::of(self.lab).running(&self.name)
    }

    /// Start a long-running service (in the foreground), logging to /var/log/halab/NAME.log
    /// inside the node: a transient systemd unit `halab-NAME` where systemd is PID 1 (VMs,
    /// hosts), else a session of its own under halab's init (netns).
    pub fn service_start(&self, name: &str, argv: &[&str]) -> Result<()> {
        if !crate::provider::of(self.lab).systemd() {
            let mut args = vec!["halab", "_svc", "start", name, "--"];
            args.extend_from_slice(argv);
            return self.run(&args).map(|_| ());
        }
        // One round trip: running already, or clear a failed earlier run (it keeps the unit
        // name taken) and start the transient unit.
        let script = "u=$1 log=$2 dir=$3; shift 3\n\
            systemctl is-active --quiet \"$u\" && exit 0\n\
            systemctl reset-failed \"$u\" 2>/dev/null\n\
            mkdir -p \"$dir\"\n\
            exec systemd-run --quiet --collect --unit \"$u\" -p \"StandardOutput=append:$log\" -p \"StandardError=append:$log\" -- \"$@\"";
        let unit = format!("halab-{name}");
        let log = format!("{}/{name}.log", service::LOG_DIR);
        let mut args = vec!["sh", "-c", script, "sh", &unit, &log, service::LOG_DIR];
        args.extend_from_slice(argv);
        self.run(&args).map(|_| ())
    }

    pub fn service_stop(&self, name: &str) -> Result<()> {
        if !crate::provider::of(self.lab).systemd() {
            return self.run(&["halab", "_svc", "stop", name]).map(|_| ());
        }
        let unit = format!("halab-{name}");
        if self.service_running(name) {
            self.run(&["systemctl", "stop", &unit])?;
        }
        Ok(())
    }

    pub fn service_running(&self, name: &str) -> bool {
        if crate::provider::of(self.lab).systemd() {
            self.succeeds(&["systemctl", "is-active", "--quiet", &format!("halab-{name}")])
        } else {
            self.succeeds(&["halab", "_svc", "status", name])
        }
    }

    /// A service's log (the last `lines` lines; 0 = all).
    pub fn logs(&self, name: &str, lines: usize) -> Result<String> {
        let path = format!("{}/{name}.log", service::LOG_DIR);
        if lines == 0 {
            self.run(&["cat", &path])
        } else {
            self.run(&["tail", "-n", &lines.to_string(), &path])
        }
    }
}
