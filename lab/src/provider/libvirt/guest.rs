//! A VM's identity, handed in as a tar through fw_cfg and unpacked over its own overlay by the
//! image's `halab-identity` unit before udev, networkd and sshd start: the common identity
//! (hostname, machine-id, hosts, host key, authorized key) plus the VM's network: each NIC
//! named as in the plan by its MAC (systemd .link), static addresses and routes (networkd), the
//! node's sysctls.
//!
//! A pulled cable means the same as on netns: the addresses stay (IgnoreCarrierLoss=yes; by
//! default networkd would drop them on carrier loss, which changes how keepalived and
//! pacemaker react), the link shows NO-CARRIER.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::labstate::LabState;
use crate::provider::netns::names::NODE_MGMT_IF;
use crate::topology::validate::mac_for;
use crate::topology::Stack;

/// Write node `ni`'s identity below `staging` and pack it into `tar`; returns its known_hosts line.
pub fn write_identity(st: &LabState, lab_dir: &Path, ni: usize, staging: &Path, tar: &Path) -> Result<String> {
    let known = crate::provider::identity::write_node(st, lab_dir, ni, staging)?;
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
    let netdir = root.join("etc/systemd/network");
    fs::create_dir_all(&netdir)?;
    let mut ifaces: Vec<(String, String, Vec<String>)> =
        vec![(NODE_MGMT_IF.to_string(), mgmt_mac(st, &node.name), vec![format!("{}/{}", st.node_mgmt_addr(ni), st.management.prefix_len())])];
    for i in &node.interfaces {
        ifaces.push((i.ifname.clone(), i.mac.clone(), vec![format!("{}/{}", i.address, i.prefix_len)]));
    }
    // Without a stack the first cluster member holds the VIPs, so the lab routes end to end.
    if let Some(cl) = &st.plan.cluster {
        if cl.stack == Stack::None && cl.members.first() == Some(&node.name) {
            for v in &cl.vips {
                if let Some(e) = ifaces.iter_mut().find(|e| e.0 == v.ifname) {
                    e.2.push(format!("{}/{}", v.address, v.prefix_len));
                }
            }
        }
    }
    for (name, mac, addrs) in &ifaces {
        fs::write(netdir.join(format!("10-halab-{name}.link")), format!("[Match]\nMACAddress={mac}\n\n[Link]\nName={name}\n"))?;
        let mut net = format!(
            "[Match]\nMACAddress={mac}\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\nIgnoreCarrierLoss=yes\n"
        );
        for a in addrs {
            net.push_str(&format!("Address={a}\n"));
        }
        let subnets: Vec<ipnet::Ipv4Net> = addrs.iter().filter_map(|a| a.parse::<ipnet::Ipv4Net>().ok()).collect();
        for r in node.routes.iter().filter(|r| subnets.iter().any(|s| s.contains(&r.via))) {
            net.push_str(&format!("\n[Route]\nDestination={}\nGateway={}\n", r.to, r.via));
        }
        fs::write(netdir.join(format!("10-halab-{name}.network")), net)?;
    }
    let sysctl = root.join("etc/sysctl.d");
    fs::create_dir_all(&sysctl)?;
    fs::write(
        sysctl.join("90-halab.conf"),
        format!("net.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.default.disable_ipv6 = 1\nnet.ipv4.ip_forward = {}\n", u8::from(node.forwarding)),
    )?;
    Ok(())
}
