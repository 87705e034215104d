//! The libvirt provider (feature `libvirt`): the same plan as real Debian VMs on libvirt
//! networks, reached over SSH (russh, `crate::transport`). The image's rootfs becomes a qcow2
//! base; each VM boots the image's kernel directly from its own overlay and takes its
//! identity from fw_cfg at first boot.

pub mod accel;
pub mod clock;
pub mod conn;
pub mod faults;
pub mod guest;
pub mod up;
pub mod xml;

use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::labstate::LabState;
use crate::provider::identity::ssh_target;

/// The default libvirt URI (`--libvirt-uri` or HALAB_LIBVIRT_URI to change).
pub const DEFAULT_URI: &str = "qemu:///system";

/// A libvirt lab behind the `Provider` trait.
pub struct LibvirtLab<'a>(pub &'a LabState);

impl crate::provider::Provider for LibvirtLab<'_> {
    fn exec(&self, node: &str, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
        let t = ssh_target(self.0, self.0.node_index(node)?)?;
        crate::transport::exec(&t, argv, stdin, timeout)
    }
    fn put(&self, node: &str, path: &str, content: &[u8], mode: u32, owner: &str) -> Result<()> {
        let t = ssh_target(self.0, self.0.node_index(node)?)?;
        let dir = std::path::Path::new(path).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into());
        let mkdir = crate::transport::exec(&t, &["mkdir", "-p", &dir], None, crate::node::EXEC_TIMEOUT)?;
        if !mkdir.status.success() {
            bail!("on node `{node}`: mkdir -p {dir} failed: {}", String::from_utf8_lossy(&mkdir.stderr).trim());
        }
        crate::transport::put(&t, path, content, mode, crate::node::EXEC_TIMEOUT)?;
        if !matches!(owner, "root" | "root:root" | "0:0") {
            let o = crate::transport::exec(&t, &["chown", owner, path], None, crate::node::EXEC_TIMEOUT)?;
            if !o.status.success() {
                bail!("on node `{node}`: chown {owner} {path} failed: {}", String::from_utf8_lossy(&o.stderr).trim());
            }
        }
        Ok(())
    }
    fn running(&self, node: &str) -> bool {
        faults::running(self.0, node)
    }
    fn systemd(&self) -> bool {
        true
    }
    fn set_link(&self, node: &str, ifname: &str, up: bool) -> Result<()> {
        faults::set_link(self.0, node, ifname, up)
    }
    fn power_off(&self, node: &str) -> Result<()> {
        faults::power_off(self.0, node)
    }
    fn power_on(&self, node: &str) -> Result<()> {
        faults::power_on(self.0, node)
    }
    fn reboot(&self, node: &str) -> Result<()> {
        faults::reboot(self.0, node)
    }
    fn freeze(&self, node: &str, frozen: bool) -> Result<()> {
        faults::freeze(self.0, node, frozen)
    }
    fn clock_offset_ns(&self, node: &str) -> Result<i64> {
        clock::offset_ns(&ssh_target(self.0, self.0.node_index(node)?)?)
    }
    fn set_loss(&self, node: &str, ifname: &str, percent: u32) -> Result<()> {
        faults::set_loss(self.0, node, ifname, percent)
    }
}
