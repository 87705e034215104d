//! A lab node as stacks and scenarios see it: run commands, write files, start and stop
//! services, read logs. Never a provider: the same calls work on every provider.

pub mod service;

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::labstate::LabState;
use crate::provider::netns;

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
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let c = netns::exec_command(self.lab, &self.name, &args)?;
        crate::cmd::output_timeout(c, stdin, timeout).with_context(|| format!("on node `{}`: `{}`", self.name, argv.join(" ")))
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
        let script = format!("set -e; mkdir -p \"$(dirname \"$1\")\"; cat > \"$1\"; chmod {mode:o} \"$1\"; chown {owner} \"$1\"");
        let o = self.exec(&["sh", "-c", &script, "sh", path], Some(content.as_bytes()), EXEC_TIMEOUT)?;
        if !o.status.success() {
            bail!("on node `{}`: failed to write {path}: {}", self.name, String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(())
    }

    /// Start a long-running service (in the foreground of its own session), logging to
    /// /var/log/halab/NAME.log inside the node.
    pub fn service_start(&self, name: &str, argv: &[&str]) -> Result<()> {
        let mut args = vec!["halab", "_svc", "start", name, "--"];
        args.extend_from_slice(argv);
        self.run(&args).map(|_| ())
    }

    pub fn service_stop(&self, name: &str) -> Result<()> {
        self.run(&["halab", "_svc", "stop", name]).map(|_| ())
    }

    pub fn service_running(&self, name: &str) -> bool {
        self.succeeds(&["halab", "_svc", "status", name])
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
