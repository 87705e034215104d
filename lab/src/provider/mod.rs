//! Providers: where a lab's nodes and networks live. `netns` is the embedded default; `libvirt`
//! runs the same plan as VMs. Stacks, scenarios and the CLI only see the `Provider` trait.

pub mod identity;
pub mod netns;

#[cfg(feature = "libvirt")]
pub mod libvirt;

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::labstate::LabState;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Linux namespaces over the image rootfs (seconds, any Linux box, CI).
    #[default]
    Netns,
    /// Debian VMs on libvirt networks, reached over SSH.
    Libvirt,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Netns => "netns",
            Kind::Libvirt => "libvirt",
        })
    }
}

/// What a running lab's nodes can be asked, whatever they run on.
pub trait Provider {
    /// Run argv on the node; whatever it exits with comes back.
    fn exec(&self, node: &str, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output>;
    /// Write a file on the node (parent dirs made), with a mode and owner.
    fn put(&self, node: &str, path: &str, content: &[u8], mode: u32, owner: &str) -> Result<()> {
        let script = format!("set -e; mkdir -p \"$(dirname \"$1\")\"; cat > \"$1\"; chmod {mode:o} \"$1\"; chown {owner} \"$1\"");
        let o = self.exec(node, &["sh", "-c", &script, "sh", path], Some(content), crate::node::EXEC_TIMEOUT)?;
        if !o.status.success() {
            bail!("on node `{node}`: failed to write {path}: {}", String::from_utf8_lossy(&o.stderr).trim());
        }
        Ok(())
    }
    /// Is the node powered on?
    fn running(&self, node: &str) -> bool;
    /// Services run under systemd (VMs, hosts) rather than halab's own init (netns).
    fn systemd(&self) -> bool;
    /// Pull (`up == false`) or plug the cable of one interface; the node sees carrier loss.
    fn set_link(&self, node: &str, ifname: &str, up: bool) -> Result<()>;
    /// Power cut: nothing of the node's running state survives.
    fn power_off(&self, node: &str) -> Result<()>;
    /// Boot a powered-off node; returns once it answers again.
    fn power_on(&self, node: &str) -> Result<()>;
    fn reboot(&self, node: &str) -> Result<()>;
    /// Freeze (every process of the node stops, its links stay up) or thaw.
    fn freeze(&self, node: &str, frozen: bool) -> Result<()>;
    /// Packet loss on one interface, in percent (0 = none).
    fn set_loss(&self, node: &str, ifname: &str, percent: u32) -> Result<()>;
    /// The node's CLOCK_MONOTONIC minus the host's, in ns: 0 where the node shares the host's
    /// kernel (netns); measured over SSH for VMs.
    fn clock_offset_ns(&self, _node: &str) -> Result<i64> {
        Ok(0)
    }
}

/// The provider a lab runs on.
pub fn of(st: &LabState) -> Box<dyn Provider + '_> {
    match st.provider {
        Kind::Netns => Box::new(netns::NetnsLab(st)),
        #[cfg(feature = "libvirt")]
        Kind::Libvirt => Box::new(libvirt::LibvirtLab(st)),
        #[cfg(not(feature = "libvirt"))]
        Kind::Libvirt => Box::new(Unavailable),
    }
}

#[cfg(not(feature = "libvirt"))]
struct Unavailable;

#[cfg(not(feature = "libvirt"))]
impl Provider for Unavailable {
    fn exec(&self, _: &str, _: &[&str], _: Option<&[u8]>, _: Duration) -> Result<Output> {
        bail!(NO_LIBVIRT)
    }
    fn running(&self, _: &str) -> bool {
        false
    }
    fn systemd(&self) -> bool {
        true
    }
    fn set_link(&self, _: &str, _: &str, _: bool) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn power_off(&self, _: &str) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn power_on(&self, _: &str) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn reboot(&self, _: &str) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn freeze(&self, _: &str, _: bool) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn set_loss(&self, _: &str, _: &str, _: u32) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
}

#[cfg(not(feature = "libvirt"))]
pub const NO_LIBVIRT: &str = "this halab was built without the `libvirt` feature: rebuild with default features (needs libvirt-dev)";
