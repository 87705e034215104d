//! A lab node as stacks and scenarios see it: run commands, write files, start and stop
//! services, read logs. It holds its `Shell` (nsenter or SSH), so the same calls work on every
//! provider and nothing here knows which one it is.

pub mod cli;
pub mod service;
pub mod shell;
pub mod web;

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub use shell::{ClockReading, Shell};

#[derive(Clone)]
pub struct Node {
    pub name: String,
    shell: Arc<dyn Shell>,
}

impl Node {
    pub fn new(name: &str, shell: Arc<dyn Shell>) -> Node {
        Node { name: name.to_string(), shell }
    }

    /// Run argv inside the node; returns whatever it exited with.
    pub fn exec(&self, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
        self.shell.exec(argv, stdin, timeout).with_context(|| format!("on node `{}`: `{}`", self.name, argv.join(" ")))
    }

    /// Run argv; fail (naming node, command and stderr) unless it exits 0.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let o = self.exec(argv, None, crate::cmd::limit::SCRIPT)?;
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
        self.exec(argv, None, crate::cmd::limit::SCRIPT).is_ok_and(|o| o.status.success())
    }

    /// Write a file inside the node (parent dirs made), with a mode and owner.
    pub fn put(&self, path: &str, content: &str, mode: u32, owner: &str) -> Result<()> {
        self.put_bytes(path, content.as_bytes(), mode, owner)
    }

    pub fn put_bytes(&self, path: &str, content: &[u8], mode: u32, owner: &str) -> Result<()> {
        self.shell.put(path, content, mode, owner).with_context(|| format!("on node `{}`", self.name))
    }

    /// Start a long-running service, logging to /var/log/halab/NAME.log inside the node.
    pub fn service_start(&self, name: &str, argv: &[&str]) -> Result<()> {
        self.shell.service_start(name, argv).with_context(|| format!("on node `{}`: failed to start {name}", self.name))
    }

    pub fn service_stop(&self, name: &str) -> Result<()> {
        self.shell.service_stop(name).with_context(|| format!("on node `{}`: failed to stop {name}", self.name))
    }

    pub fn service_running(&self, name: &str) -> bool {
        self.shell.service_running(name)
    }

    /// The node's monotonic clock minus the host's, in ns.
    pub fn clock_offset_ns(&self) -> Result<i64> {
        Ok(self.clock()?.offset_ns)
    }

    /// For stamps this node takes on its wall clock (keepalived's notify, pacemaker's alerts,
    /// tcpdump): wall ns minus host CLOCK_MONOTONIC ns, so `host = wall - shift`.
    pub fn wall_clock_shift_ns(&self) -> Result<i128> {
        Ok(self.clock()?.shift_ns)
    }

    /// Both, and their error (see `transport::clock` for the method).
    pub fn clock(&self) -> Result<ClockReading> {
        self.shell.clock().with_context(|| format!("on node `{}`: reading its clock", self.name))
    }

    /// A service's log (the last `lines` lines; 0 = all).
    pub fn logs(&self, name: &str, lines: usize) -> Result<String> {
        let path = format!("{}/{name}.log", shell::LOG_DIR);
        if lines == 0 {
            self.run(&["cat", &path])
        } else {
            self.run(&["tail", "-n", &lines.to_string(), &path])
        }
    }
}
