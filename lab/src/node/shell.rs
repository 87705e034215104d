//! How halab reaches a node: run a command, write a file, run a service, read its clock. One
//! trait, two ways in: nsenter into a netns node, SSH (russh) into a VM or a real host. What
//! breaks a node (power, cables, loss, freeze) is not here: see `provider::Actuators`.

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Result};

/// A service's log inside the node: /var/log/halab/NAME.log on every provider.
pub const LOG_DIR: &str = "/var/log/halab";

pub trait Shell: Send + Sync {
    /// Run argv on the node; whatever it exits with comes back.
    fn exec(&self, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output>;

    /// Write a file on the node (parent dirs made), with a mode and owner.
    fn put(&self, path: &str, content: &[u8], mode: u32, owner: &str) -> Result<()> {
        let script = format!("set -e; mkdir -p \"$(dirname \"$1\")\"; cat > \"$1\"; chmod {mode:o} \"$1\"; chown {owner} \"$1\"");
        let o = self.exec(&["sh", "-c", &script, "sh", path], Some(content), crate::cmd::limit::SCRIPT)?;
        if !o.status.success() {
            bail!("failed to write {path}: {}", String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(())
    }

    /// Start a long-running service (in the foreground), logging to LOG_DIR/NAME.log; a no-op
    /// when it runs already.
    fn service_start(&self, name: &str, argv: &[&str]) -> Result<()>;
    fn service_stop(&self, name: &str) -> Result<()>;
    fn service_running(&self, name: &str) -> bool;

    /// The node's CLOCK_MONOTONIC minus the host's, in ns: 0 where the node shares the host's
    /// kernel (netns); measured over SSH for VMs and hosts.
    fn clock_offset_ns(&self) -> Result<i64> {
        Ok(0)
    }
}
