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

    /// The node's clocks against the host's: exact where the node shares the host's kernel
    /// (netns); measured over SSH for VMs and hosts (`transport::clock`).
    fn clock(&self) -> Result<ClockReading> {
        let mono = crate::measure::clock::now_ns();
        let wall = crate::measure::clock::realtime_ns();
        Ok(ClockReading { offset_ns: 0, shift_ns: i128::from(wall) - i128::from(mono), error_ns: 0 })
    }
}

/// A node's clocks against the host's CLOCK_MONOTONIC (the run's clock), as read once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockReading {
    /// The node's CLOCK_MONOTONIC minus the host's, ns.
    pub offset_ns: i64,
    /// The node's wall clock minus the host's CLOCK_MONOTONIC, ns: a stamp the node took on its
    /// wall clock (keepalived's notify, pacemaker's alerts, tcpdump) is at `wall - shift` on the host.
    pub shift_ns: i128,
    /// How far off both may be: half the round trip of the read (0 on the host's own kernel).
    pub error_ns: u64,
}
