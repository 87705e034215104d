//! A VM's identity, handed in as a tar through fw_cfg and unpacked over its own overlay by the
//! image's `halab-identity` unit early at boot: the common identity (hostname, machine-id,
//! hosts, host key, authorized key), the NICs to name by MAC (`/etc/halab/links`), the same
//! `ip -batch` a netns node's init runs (`/etc/halab/ip.batch`) and the node's sysctls.
//!
//! No networkd, no DHCP: the unit names and addresses the NICs itself, before sshd starts.
//! This is also why a pulled cable means the same as on netns: the kernel keeps addresses and
//! routes on carrier loss (networkd would drop them unless told IgnoreCarrierLoss=yes, which
//! changes how keepalived and pacemaker react).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::labstate::LabState;
use crate::labstate::MGMT_IF as NODE_MGMT_IF;
use crate::provider::identity;
use crate::topology::validate::mac_for;

/// Write node `ni`'s identity below `staging` and pack it into `tar`; returns its known_hosts line.
pub fn write_identity(st: &LabState, lab_dir: &Path, ni: usize, staging: &Path, tar: &Path) -> Result<String> {
    let known = identity::write_node(st, lab_dir, ni, staging)?;
    write_network(st, ni, staging)?;
    crate::cmd::run("tar", &["--owner=0", "--group=0", "--numeric-owner", "-C", &staging.to_string_lossy(), "-cf", &tar.to_string_lossy(), "."])
        .context("failed to pack the VM identity")?;
    Ok(known)
}

pub fn mgmt_mac(st: &LabState, node: &str) -> String {
    mac_for(&st.plan.lab, node, NODE_MGMT_IF)
}

fn write_network(st: &LabState, ni: usize, root: &Path) -> Result<()> {
    let node = &st.plan.nodes[ni];
    let dir = root.join("etc/halab");
    fs::create_dir_all(&dir)?;
    let mut links = format!("{} {NODE_MGMT_IF}\n", mgmt_mac(st, &node.name));
    for i in &node.interfaces {
        links.push_str(&format!("{} {}\n", i.mac, i.ifname));
    }
    fs::write(dir.join("links"), links)?;
    fs::write(dir.join("ip.batch"), identity::ip_batch(st, ni))?;
    let sysctl = root.join("etc/sysctl.d");
    fs::create_dir_all(&sysctl)?;
    fs::write(
        sysctl.join("90-halab.conf"),
        format!(
            "net.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.default.disable_ipv6 = 1\nnet.ipv4.ip_forward = {}\n",
            u8::from(st.plan.forwards_at_boot(node))
        ),
    )?;
    Ok(())
}
